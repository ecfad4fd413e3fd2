"""Member search and the member page's forms over HTTP (both database passes)."""

from __future__ import annotations

from club.db.models.ledger import LedgerEntry, Purchase
from club.db.models.members import Member
from club.db.models.staff import AuditLog
from tests.bot.test_staff_api_support import joined_member
from tests.console.support import Client, page_token, sign_in, staff_with_password


async def _signed_in(client: Client, role: str) -> str:
    await staff_with_password(f"{role}-1", role)
    await sign_in(client, f"{role}-1")
    return await page_token(client, "/console/members")


async def test_search_by_each_key_staff_have(console_client: Client) -> None:
    await _signed_in(console_client, "clerk")
    alice = await joined_member("o-alice-1", name="王小明", phone="13812345678")
    bob = await joined_member("o-bob-22", name="李四", phone="13900005678")
    await joined_member("o-carol-3", name="王芳", phone="13700000001")
    cases = {
        "5678": {alice.id, bob.id},
        "13812345678": {alice.id},
        "o-bob-22": {bob.id},
        str(alice.id): {alice.id},
        "小明": {alice.id},
        "王": {alice.id} | {m.id for m in await Member.filter(name="王芳")},
        "nobody": set(),
    }
    for query, expected in cases.items():
        resp = await console_client.get("/console/members", params={"q": query})
        assert resp.status == 200
        html = await resp.text()
        found = {m.id for m in await Member.all() if f'href="/console/members/{m.id}"' in html}
        assert found == expected, query
    # A clerk sees masked phones only; the search itself is audited without what was typed.
    resp = await console_client.get("/console/members", params={"q": "13812345678"})
    html = await resp.text()
    assert "<td>138****5678</td>" in html and "<td>13812345678</td>" not in html
    rows = await AuditLog.filter(action="member.search").order_by("id")
    assert len(rows) == len(cases) + 1
    assert all("13812345678" not in str(r.summary) for r in rows)


async def test_a_clerk_may_not_adjust_points_and_nothing_changes(console_client: Client) -> None:
    token = await _signed_in(console_client, "clerk")
    member = await joined_member()
    resp = await console_client.post(
        f"/console/members/{member.id}/adjust",
        data={"csrf_token": token, "points": "100", "reason": "please"},
    )
    assert resp.status == 403
    assert await LedgerEntry.all().count() == 0


async def test_bad_adjustments_name_the_field_and_change_nothing(console_client: Client) -> None:
    token = await _signed_in(console_client, "admin")
    member = await joined_member()
    for data, status, words in (
        ({"points": "ten", "reason": "typo"}, 422, "points: must be a whole number"),
        ({"points": "0", "reason": "nothing"}, 422, "points must not be zero"),
        ({"points": "-5", "reason": "too much"}, 409, "has 0 points, 5 needed"),
        ({"points": "5", "reason": "x"}, 422, "reason"),
    ):
        resp = await console_client.post(
            f"/console/members/{member.id}/adjust", data={"csrf_token": token, **data}
        )
        assert resp.status == status, data
        assert words in (await resp.text()).lower(), data
    assert await LedgerEntry.all().count() == 0
    refused = await AuditLog.filter(action="points.adjust").order_by("id")
    # Those that reached the endpoint are audited as refused, as the API's are.
    assert [r.status for r in refused] == [422, 409, 422]


async def test_the_same_adjustment_form_sent_twice_adjusts_once(console_client: Client) -> None:
    token = await _signed_in(console_client, "admin")
    member = await joined_member()
    data = {"csrf_token": token, "points": "40", "reason": "double click", "ref": "console-ab12"}
    for _ in range(2):
        resp = await console_client.post(f"/console/members/{member.id}/adjust", data=data)
        assert resp.status == 200
    assert (await Member.get(id=member.id)).points_balance == 40


async def test_tier_floor_lifts_the_member(console_client: Client) -> None:
    token = await _signed_in(console_client, "marketer")
    member = await joined_member()
    resp = await console_client.post(
        f"/console/members/{member.id}/tier-floor",
        data={"csrf_token": token, "tier": "gold", "reason": "banquet client"},
    )
    assert resp.status == 200
    assert "保级已保存" in await resp.text()
    stored = await Member.get(id=member.id)
    assert (stored.tier, stored.tier_floor) == ("gold", "gold")
    [row] = await AuditLog.filter(action="tier.floor")
    assert row.summary["via"] == "console" and row.summary["reason"] == "banquet client"


async def test_purchase_and_return_from_the_till_page(console_client: Client) -> None:
    token = await _signed_in(console_client, "clerk")
    member = await joined_member()
    page = await console_client.get("/console/purchases")
    assert page.status == 200
    resp = await console_client.post(
        "/console/purchases",
        data={
            "csrf_token": token,
            "member_id": str(member.id),
            "order_id": "A-1",
            "amount": "88.5",
        },
    )
    assert resp.status == 200
    assert "订单 A-1 已录入，获得 88 积分" in await resp.text()
    [purchase] = await Purchase.filter(order_id="A-1")
    assert purchase.amount_fen == 8850
    resp = await console_client.post(
        "/console/returns",
        data={"csrf_token": token, "order_id": "A-1", "amount": "44.25", "ref": "r-1"},
    )
    assert resp.status == 200
    assert "扣回 44 积分" in await resp.text()
    for data, words in (
        ({"member_id": str(member.id), "order_id": "A-2", "amount": "1.234"}, "amount"),
        ({"member_id": "x", "order_id": "A-2", "amount": "1"}, "member_id"),
        ({"member_id": "999999", "order_id": "A-2", "amount": "1"}, "no member"),
    ):
        resp = await console_client.post("/console/purchases", data={"csrf_token": token, **data})
        assert resp.status in (404, 422), data
        assert words in await resp.text(), data
    assert await Purchase.all().count() == 1
