"""Group-purchase accounts: open one, add its contacts, book orders to it, read its tier.

The account's tier comes from its own qualifying spend (the orders booked to it over the tier
review months) on the programme's ladder; its contacts see it beside their own. Orders booked to
an account are the organisation's: they count for the account in the reports and in its tier,
not in the contact's own value or tier (the contact still earns the points, as at any till).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from club.db.models.accounts import GroupAccount, GroupAccountContact
from club.db.models.ledger import Purchase
from club.db.models.members import Member
from club.points.ledger import UnknownMember
from club.rules.programme import Programme, Tier
from club.rules.tiers import months_back

log = logging.getLogger(__name__)


class AccountError(ValueError):
    """The account change cannot be made as asked; nothing was changed."""


class UnknownAccount(LookupError):
    pass


class ContactTaken(AccountError):
    """The member is already a contact of another account."""


@dataclass(frozen=True)
class AccountContact:
    member_id: int
    name: str | None


@dataclass(frozen=True)
class AccountView:
    id: int
    name: str
    contacts: list[AccountContact]
    spend_fen: int
    """Qualifying spend: orders booked to the account over the tier review months."""
    tier: Tier


async def open_account(
    name: str, *, now: datetime, actor_id: int | None
) -> tuple[GroupAccount, bool]:
    """The account named `name`, created if new (True). The same name again is the same account:
    a retried request opens nothing twice."""
    if not name.strip() or len(name) > 128:
        raise AccountError("name must be 1..128 characters")
    existing = await GroupAccount.get_or_none(name=name)
    if existing is not None:
        return existing, False
    try:
        account = await GroupAccount.create(name=name, created_at=now, created_by=actor_id)
    except IntegrityError:
        return await GroupAccount.get(name=name), False
    log.info("group account opened id=%s", account.id)
    return account, True


async def add_contact(account_id: int, member_id: int, *, now: datetime) -> bool:
    """Make the member a contact of the account; False when they already are."""
    if not await GroupAccount.filter(id=account_id).exists():
        raise UnknownAccount(f"no group account with id {account_id}")
    if not await Member.filter(id=member_id).exists():
        raise UnknownMember(member_id)
    async with in_transaction() as conn:
        current = await GroupAccountContact.filter(member_id=member_id).using_db(conn).first()
        if current is not None:
            if current.account_id == account_id:
                return False
            raise ContactTaken(
                f"member {member_id} is already a contact of group account {current.account_id}"
            )
        try:
            await GroupAccountContact.create(
                using_db=conn, account_id=account_id, member_id=member_id, added_at=now
            )
        except IntegrityError:
            raise ContactTaken(f"member {member_id} was just added to another account") from None
    return True


async def check_booking(account_id: int, member_id: int) -> None:
    """An order may be booked to an account only by one of its contacts."""
    if not await GroupAccountContact.filter(account_id=account_id, member_id=member_id).exists():
        if not await GroupAccount.filter(id=account_id).exists():
            raise UnknownAccount(f"no group account with id {account_id}")
        raise AccountError(f"member {member_id} is not a contact of group account {account_id}")


async def account_spend(account_id: int, now: datetime, months: int) -> int:
    rows = (
        await Purchase.filter(
            account_id=account_id, created_at__gt=months_back(now, months), created_at__lte=now
        )
        .annotate(bought=Sum("amount_fen"), back=Sum("returned_fen"))
        .values("bought", "back")
    )
    if not rows:
        return 0
    return int(rows[0]["bought"] or 0) - int(rows[0]["back"] or 0)


async def account_view(account_id: int, now: datetime, programme: Programme) -> AccountView:
    account = await GroupAccount.get_or_none(id=account_id)
    if account is None:
        raise UnknownAccount(f"no group account with id {account_id}")
    links = await GroupAccountContact.filter(account_id=account_id).order_by("id")
    names = dict(await Member.filter(id__in=[c.member_id for c in links]).values_list("id", "name"))
    spend = await account_spend(account_id, now, programme.tier_review.months)
    return AccountView(
        id=account.id,
        name=account.name,
        contacts=[AccountContact(c.member_id, names.get(c.member_id)) for c in links],
        spend_fen=spend,
        tier=programme.tiers.for_spend(spend),
    )


async def account_of_member(
    member_id: int, now: datetime, programme: Programme
) -> AccountView | None:
    """The account the member is a contact of, with its tier (None: not a contact)."""
    link = await GroupAccountContact.filter(member_id=member_id).first()
    if link is None:
        return None
    return await account_view(link.account_id, now, programme)
