"""Finding a member by openid: the one place it is written, for every concept that does it
(members, sales, messaging, the console's search).

An openid is one follower of one Official Account. With several accounts
(docs/design/several-accounts.md, §2) a member is found by (account, openid) through the
`follower` table: these take the account then, and their callers keep their shape.

Here beside the models rather than in `club.members`, since club.members imports points,
tiers and value, which import club.messaging: messaging importing club.members would close a
circle between the domain's concepts (the import contract refuses it). The callback's batched
read of the contact columns (`club.members.contact._contact_rows`) is plain SQL on the same
unique index, kept apart because it runs for every message.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet

from club.db.models.members import Member


def with_openid(openid: str) -> QuerySet[Member]:
    """The member behind an openid, as a query to read, update or narrow: at most one row, and
    none for an erased member (no openid left to find)."""
    return Member.filter(openid=openid)


async def get_or_create(openid: str, **fields: Any) -> tuple[Member, bool]:
    """The member behind an openid, created with `fields` at first contact (True: by this
    call). Safe under concurrent calls: the one that loses the race reads the winner's row."""
    member = await with_openid(openid).get_or_none()
    if member is not None:
        return member, False
    try:
        return await Member.create(openid=openid, **fields), True
    except IntegrityError:  # another worker created it a moment ago
        return await with_openid(openid).get(), False
