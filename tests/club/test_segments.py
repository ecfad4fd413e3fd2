"""Segment rules on hand-built members: each rule, and/or/not nesting, tags and fixed lists, in
one SQL statement (run on SQLite, and on PostgreSQL in the real-servers pass)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from club.db.models.ledger import ChannelLevel, Store
from club.db.models.members import Member, MemberStatus
from club.db.models.value import MemberChurn
from club.points import ledger
from club.programme.demo import demo_programme
from club.rules.kinds import EntryKind
from club.sales.purchases import record_purchase, record_return
from club.segments import rules as r
from club.segments import service, tags
from club.segments.identify import BadEntry, Identifier, entries, parse_csv, resolve
from tests.club.value.fixtures import valued

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
PROGRAMME = demo_programme()


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
async def base(db: None) -> dict[str, int]:
    """Five members with distinct, documented facts."""
    await Store.create(id="S1", name="经销商一", channel_level=ChannelLevel.DEALER)
    await Store.create(id="S2", name="小店二", channel_level=ChannelLevel.SMALL_SHOP)
    joined = {"consent_at": ago(300), "consent_version": "v1"}
    ann = await Member.create(
        openid="o-ann",
        name="Ann",
        phone="13800000001",
        tier="gold",
        joined_at=ago(300),
        source_kind="store",
        source_ref="S1",
        birthday_mmdd=1123,
        followed_at=ago(300),
        **joined,
    )
    bob = await Member.create(
        openid="o-bob",
        name="Bob",
        phone="13800000002",
        tier="silver",
        joined_at=ago(10),
        language="en",
        status=MemberStatus.UNFOLLOWED,
        unfollowed_at=ago(2),
        **joined,
    )
    cat = await Member.create(openid="o-cat", name="Cat", birthday_lunar_month=8)  # not joined
    dan = await Member.create(
        openid="o-dan",
        name="Dan",
        phone="13800000004",
        tier="gold",
        joined_at=ago(100),
        birthday_mmdd=521,
        **joined,
    )
    eve = await Member.create(openid="o-eve", name="Eve", joined_at=ago(5), **joined)
    # Ann bought at S2 three days ago; Dan at S1 100 days ago and at S2 400 days ago; Eve's
    # only purchase was wholly returned.
    await record_purchase(
        order_id="A1",
        amount_fen=50_000,
        now=ago(3),
        programme=PROGRAMME,
        member_id=ann.id,
        store_id="S2",
    )
    await record_purchase(
        order_id="D1",
        amount_fen=30_000,
        now=ago(100),
        programme=PROGRAMME,
        member_id=dan.id,
        store_id="S1",
    )
    await record_purchase(
        order_id="D0",
        amount_fen=20_000,
        now=ago(400),
        programme=PROGRAMME,
        member_id=dan.id,
        store_id="S2",
    )
    await record_purchase(
        order_id="E1", amount_fen=8_000, now=ago(4), programme=PROGRAMME, member_id=eve.id
    )
    await record_return(order_id="E1", amount_fen=8_000, now=ago(3))
    # Ann: 300 bonus points expiring in 10 days.
    await ledger.credit(
        ann.id,
        300,
        kind=EntryKind.BONUS,
        ref="t:ann",
        reason="test",
        now=ago(1),
        expires_at=NOW + timedelta(days=10),
    )
    await tags.add_tag("vip", [ann.id, bob.id], now=NOW, staff_id=None)
    await tags.add_tag("banquet", [bob.id, dan.id], now=NOW, staff_id=None)
    return {"ann": ann.id, "bob": bob.id, "cat": cat.id, "dan": dan.id, "eve": eve.id}


async def who(document: dict[str, Any]) -> set[str]:
    rule = r.parse(document)
    preview = await service.preview_rule(rule, PROGRAMME, NOW, sample=50)
    names = {m.name or "" for m in preview.sample}
    assert preview.count == len(names)
    return {n.lower() for n in names}


CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"rule": "tier", "tiers": ["gold"]}, {"ann", "dan"}),
    # No tier is the lowest tier (taste).
    ({"rule": "tier", "tiers": ["taste"]}, {"cat", "eve"}),
    ({"rule": "status", "statuses": ["unfollowed"]}, {"bob"}),
    ({"rule": "joined"}, {"ann", "bob", "dan", "eve"}),
    ({"rule": "joined", "within_days": 30}, {"bob", "eve"}),
    ({"rule": "joined", "more_than_days": 200}, {"ann"}),
    ({"rule": "joined", "after": "2026-08-01T00:00:00+08:00"}, {"bob", "dan", "eve"}),
    ({"rule": "unfollowed", "within_days": 7}, {"bob"}),
    ({"rule": "last_purchase", "within_days": 30}, {"ann"}),  # Eve's was returned
    ({"rule": "last_purchase", "more_than_days": 30}, {"dan"}),
    ({"rule": "spend", "min_fen": 25_000}, {"ann", "dan"}),
    ({"rule": "spend", "period": "lifetime", "min_fen": 40_000}, {"ann", "dan"}),
    ({"rule": "spend", "max_fen": 0}, {"bob", "cat", "eve"}),
    ({"rule": "purchase_count", "min": 2}, {"dan"}),
    ({"rule": "purchase_count", "min": 1, "within_days": 365}, {"ann", "dan"}),
    ({"rule": "store", "stores": ["S1"], "via": "origin"}, {"ann"}),
    ({"rule": "store", "stores": ["S2"], "via": "purchase"}, {"ann", "dan"}),
    ({"rule": "channel_level", "levels": ["dealer"], "via": "purchase"}, {"dan"}),
    ({"rule": "channel_level", "levels": ["dealer"], "via": "origin"}, {"ann"}),
    ({"rule": "birthday_month", "months": [11]}, {"ann"}),
    ({"rule": "birthday_month", "months": [8], "calendar": "lunar"}, {"cat"}),
    ({"rule": "points_balance", "min": 1}, {"ann", "dan"}),
    ({"rule": "points_balance", "max": 0}, {"bob", "cat", "eve"}),
    ({"rule": "points_expiring", "within_days": 14}, {"ann"}),
    ({"rule": "points_expiring", "within_days": 5}, set()),
    ({"rule": "language", "languages": ["en"]}, {"bob"}),
    ({"rule": "tags", "tags": ["vip", "banquet"]}, {"ann", "bob", "dan"}),
    ({"rule": "tags", "tags": ["vip", "banquet"], "match": "all"}, {"bob"}),
]


@pytest.mark.parametrize(("document", "expected"), CASES, ids=[str(c[0]) for c in CASES])
async def test_each_rule_matches_exactly_its_members(
    base: dict[str, int], document: dict[str, Any], expected: set[str]
) -> None:
    assert await who(document) == expected


async def test_and_or_not_nest(base: dict[str, int]) -> None:
    gold = {"rule": "tier", "tiers": ["gold"]}
    recent = {"rule": "last_purchase", "within_days": 30}
    vip = {"rule": "tags", "tags": ["vip"]}
    assert await who({"rule": "and", "rules": [gold, recent]}) == {"ann"}
    assert await who({"rule": "or", "rules": [recent, vip]}) == {"ann", "bob"}
    assert await who({"rule": "not", "of": gold}) == {"bob", "cat", "eve"}
    lapsed_gold = {"rule": "and", "rules": [gold, {"rule": "not", "of": recent}]}
    assert await who(lapsed_gold) == {"dan"}
    nested = {
        "rule": "or",
        "rules": [lapsed_gold, {"rule": "and", "rules": [vip, {"rule": "not", "of": gold}]}],
    }
    assert await who(nested) == {"dan", "bob"}


async def test_not_of_a_rule_on_missing_values_keeps_those_members(base: dict[str, int]) -> None:
    # Only Ann came from a store: everyone else is "not from S1", the unset column included.
    assert await who(
        {"rule": "not", "of": {"rule": "store", "stores": ["S1"], "via": "origin"}}
    ) == {
        "bob",
        "cat",
        "dan",
        "eve",
    }
    assert await who({"rule": "not", "of": {"rule": "birthday_month", "months": [11]}}) == {
        "bob",
        "cat",
        "dan",
        "eve",
    }
    assert await who({"rule": "not", "of": {"rule": "joined"}}) == {"cat"}


async def test_a_fixed_list_is_a_segment_and_a_rule(base: dict[str, int]) -> None:
    ids = await resolve(
        Identifier.PHONE, entries(Identifier.PHONE, ["138 0000 0001", "+86 13800000004"])
    )
    listed = await service.create_list_segment(
        "phones", ids, description="", now=NOW, staff_id=None
    )
    preview = await service.preview_segment(listed.id, PROGRAMME, NOW)
    assert {m.name for m in preview.sample} == {"Ann", "Dan"} and preview.count == 2
    assert all("****" in m.phone for m in preview.sample)
    on_list = {"rule": "in_list", "segment_id": listed.id}
    assert await who(
        {"rule": "and", "rules": [on_list, {"rule": "tags", "tags": ["banquet"]}]}
    ) == {"dan"}


async def test_value_rules_read_the_value_refresh_and_the_churn_scan(
    base: dict[str, int],
) -> None:
    # Stored by the daily jobs: Ann class A, Bob B, Dan C (Cat and Eve never valued); Bob
    # flagged for silence and falling spend (high), Dan for silence alone (medium).
    for name, value_class in (("ann", "A"), ("bob", "B"), ("dan", "C")):
        await valued(base[name], NOW, value_class)
    for name, fell in (("bob", True), ("dan", False)):
        await MemberChurn.create(
            member_id=base[name],
            day=NOW.date(),
            since=NOW.date(),
            purchases=3,
            rhythm_days=30,
            silence_days=90,
            spend_fen=0,
            spend_before_fen=1,
            silent=True,
            spend_fell=fell,
            reason_zh="-",
            reason_en="-",
        )
    assert await who({"rule": "value_class", "classes": ["A"]}) == {"ann"}
    assert await who({"rule": "value_class", "classes": ["B", "C"]}) == {"bob", "dan"}
    assert await who({"rule": "not", "of": {"rule": "value_class", "classes": ["A"]}}) == {
        "bob",
        "cat",
        "dan",
        "eve",
    }
    assert await who({"rule": "churn_risk", "levels": ["high"]}) == {"bob"}
    assert await who({"rule": "churn_risk", "levels": ["medium", "high"]}) == {"bob", "dan"}
    assert await who({"rule": "churn_risk", "levels": ["low"]}) == {"ann", "cat", "eve"}
    segment = await service.create_rule_segment(
        "key and drifting",
        r.parse(
            {
                "rule": "and",
                "rules": [
                    {"rule": "value_class", "classes": ["B", "C"]},
                    {"rule": "churn_risk", "levels": ["high", "medium"]},
                ],
            }
        ),
        description="",
        programme=PROGRAMME,
        now=NOW,
        staff_id=None,
    )
    assert (await service.preview_segment(segment.id, PROGRAMME, NOW)).count == 2


async def test_unknown_tiers_and_non_lists_are_refused(base: dict[str, int]) -> None:
    with pytest.raises(service.SegmentError, match="unknown tier code 'diamond'"):
        await service.check_rule(r.parse({"rule": "tier", "tiers": ["diamond"]}), PROGRAMME, NOW)
    saved = await service.create_rule_segment(
        "gold",
        r.parse({"rule": "tier", "tiers": ["gold"]}),
        description="",
        programme=PROGRAMME,
        now=NOW,
        staff_id=None,
    )
    with pytest.raises(service.SegmentError, match="not a fixed list"):
        await service.check_rule(
            r.parse({"rule": "in_list", "segment_id": saved.id}), PROGRAMME, NOW
        )


async def test_csv_lists_name_their_bad_line(base: dict[str, int]) -> None:
    identifier, found = parse_csv("\ufeffname,phone\nAnn,13800000001\n\nDan,13800000004\n")
    assert identifier is Identifier.PHONE
    assert [e.where for e in found] == ["line 2", "line 4"]
    assert len(await resolve(identifier, found)) == 2
    identifier, found = parse_csv("openid\no-ann\no-nobody\n")
    with pytest.raises(BadEntry, match="line 3: no member with openid o-nobody"):
        await resolve(identifier, found)
    with pytest.raises(BadEntry, match="line 3: not a mobile number"):
        await resolve(*parse_csv("phone\n13800000001\n12345\n"))
    with pytest.raises(BadEntry, match="line 1: the first line must name the column"):
        parse_csv("13800000001\n")
    # A whole phone number never appears in a refusal.
    with pytest.raises(BadEntry, match=r"138\*\*\*\*9999"):
        await resolve(*parse_csv("phone\n13800009999\n"))
