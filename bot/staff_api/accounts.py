"""Group-purchase accounts: open one, add contacts, read its tier and contacts."""

from __future__ import annotations

from bot.staff_api.endpoint import Call, Endpoint
from bot.staff_api.value_schemas import AccountContactOut, AccountIn, AccountOut, ContactIn
from club.staff.accounts import Permission
from club.value import accounts


async def _out(call: Call, account_id: int, created: bool = False) -> AccountOut:
    view = await accounts.account_view(account_id, call.now, call.deps.programme)
    return AccountOut(
        id=view.id,
        name=view.name,
        created=created,
        tier=view.tier.code,
        tier_name=view.tier.name_zh,
        spend_fen=view.spend_fen,
        contacts=[AccountContactOut(member_id=c.member_id, name=c.name) for c in view.contacts],
    )


async def open_account(call: Call) -> AccountOut:
    body = call.body_as(AccountIn)
    account, created = await accounts.open_account(body.name, now=call.now, actor_id=call.staff.id)
    call.target = f"account:{account.id}"
    call.summary["created"] = created
    return await _out(call, account.id, created)


async def get_account(call: Call) -> AccountOut:
    return await _out(call, call.path["id"])


async def add_contact(call: Call) -> AccountOut:
    body = call.body_as(ContactIn)
    added = await accounts.add_contact(call.path["id"], body.member_id, now=call.now)
    call.summary["added"] = added
    return await _out(call, call.path["id"])


ENDPOINTS = [
    Endpoint(
        method="POST",
        path="/api/v1/accounts",
        view=open_account,
        operation_id="openAccount",
        summary="Open a group-purchase account (an organisation buying through several members)",
        description=(
            "Orders booked to the account (`account_id` on a purchase) are the organisation's: "
            "the reports analyse it as one customer, a key customer by definition, and its "
            "contacts see its tier. The same name again returns the same account."
        ),
        permission=Permission.MANAGE_ACCOUNTS,
        body=AccountIn,
        response=AccountOut,
        status=201,
        audit="account.open",
    ),
    Endpoint(
        method="GET",
        path="/api/v1/accounts/{id}",
        view=get_account,
        operation_id="getAccount",
        summary="Read a group-purchase account: its tier, spend and contacts",
        permission=Permission.READ_MEMBER,
        response=AccountOut,
        audit="account.read",
    ),
    Endpoint(
        method="POST",
        path="/api/v1/accounts/{id}/contacts",
        view=add_contact,
        operation_id="addAccountContact",
        summary="Add a member as a contact of a group-purchase account",
        description="A member is a contact of one account at most (another: 409).",
        permission=Permission.MANAGE_ACCOUNTS,
        body=ContactIn,
        response=AccountOut,
        errors={409: "The member is already a contact of another account"},
        audit="account.add_contact",
    ),
]
