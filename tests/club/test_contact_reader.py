"""The contact rows of concurrent messages are read in one query, each caller getting its own."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from club.db.models.members import Member
from club.members.contact import ContactReader, record_contact

NOW = datetime.fromisoformat("2026-12-02T10:00:00+08:00")


async def test_concurrent_contacts_are_read_together_and_kept_apart(db: None) -> None:
    await Member.create(openid="oAlice", language="en", joined_at=NOW - timedelta(days=3))
    await Member.create(openid="oBob", last_interaction_at=NOW - timedelta(hours=1))
    reader = ContactReader()
    alice, bob, carol = await asyncio.gather(
        record_contact("oAlice", now=NOW, member_sent=True, reader=reader),
        record_contact("oBob", now=NOW, member_sent=False, reader=reader),
        record_contact("oCarol", now=NOW, member_sent=True, reader=reader),
    )
    assert reader._batcher.batches == 1
    assert (alice.openid, alice.language, alice.joined) == ("oAlice", "en", True)
    assert not alice.is_new
    assert (bob.openid, bob.joined, bob.is_new) == ("oBob", False, False)
    assert carol.is_new and carol.member_id not in (alice.member_id, bob.member_id)
    # The write that follows the read still happens per member.
    bob_row = await Member.get(openid="oBob")
    assert bob_row.last_interaction_at == NOW
    assert bob_row.last_message_at is None
    carol_row = await Member.get(openid="oCarol")
    assert carol_row.last_message_at == NOW


async def test_the_same_member_twice_in_one_batch(db: None) -> None:
    await Member.create(openid="oDan")
    reader = ContactReader()
    first, second = await asyncio.gather(
        record_contact("oDan", now=NOW, member_sent=True, reader=reader),
        record_contact("oDan", now=NOW, member_sent=True, reader=reader),
    )
    assert first.member_id == second.member_id
    assert await Member.filter(openid="oDan").count() == 1


async def test_without_a_reader_the_same_query_serves_one_member(db: None) -> None:
    await Member.create(openid="oEve", language="en")
    eve = await record_contact("oEve", now=NOW, member_sent=True)
    assert (eve.openid, eve.language, eve.is_new) == ("oEve", "en", False)
    frank = await record_contact("oFrank", now=NOW, member_sent=True)
    assert frank.is_new
