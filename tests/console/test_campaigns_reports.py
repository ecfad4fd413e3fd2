"""The console's campaign, report and ticket pages over HTTP: each runs the staff API's endpoint
(role, validation, audit with via: console) and shows what it answered."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from club.clock import FixedClock
from club.db.models.campaigns import Campaign
from club.db.models.segments import Segment
from club.db.models.service import Ticket, TicketMessage
from club.db.models.staff import AuditLog
from club.db.models.value import MemberChurn
from tests.club.campaign_support import member
from tests.club.value.fixtures import valued
from tests.console.support import Client, page_token, sign_in, staff_with_password

RULE = {"rule": "tier", "tiers": ["gold"]}


async def _members(clock: FixedClock) -> None:
    now = clock.now()
    await member("o-gold-1", now, tier="gold", window=True)
    await member("o-gold-2", now, tier="gold")
    await member("o-taste", now)


async def test_segment_count_compose_and_the_campaign_page(
    console_client: Client, clock: FixedClock
) -> None:
    await _members(clock)
    await staff_with_password("mia", "marketer")
    await sign_in(console_client, "mia")
    token = await page_token(console_client, "/console/campaigns/new")
    resp = await console_client.post(
        "/console/segments/count", data={"csrf_token": token, "rule": json.dumps(RULE)}
    )
    assert (await resp.json()) == {"count": 2}
    bad = await console_client.post(
        "/console/segments/count", data={"csrf_token": token, "rule": '{"rule": "tier"}'}
    )
    assert bad.status == 422 and "tiers" in (await bad.json())["error"]
    form = {
        "csrf_token": token,
        "name": "金卡品鉴",
        "segment_id": "new",
        "rule": json.dumps(RULE),
        "text": "金卡会员专享品鉴会",
        "template_id": "tmpl-x",
        "template_fields": "thing1={name}，{campaign}\nthing2={content}",
        "bonus_points": "10",
        "budget_points": "100",
        "holdout_percent": "0",
    }
    resp = await console_client.post("/console/campaigns", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    campaign = await Campaign.get()
    assert resp.headers["Location"] == f"/console/campaigns/{campaign.id}"
    assert (await Segment.get(id=campaign.segment_id)).rule == RULE
    page = await (await console_client.get(f"/console/campaigns/{campaign.id}")).text()
    assert "金卡会员专享品鉴会" in page  # the chat bubble
    assert "王先生，金卡品鉴" in page  # the template card, filled for a sample member
    assert re.search(r'id="channel-plan">.*?<b>2</b>', page, re.S)  # the audience
    assert "立即发送" in page
    progress = await (await console_client.get(f"/console/campaigns/{campaign.id}/progress")).json()
    assert progress["status"] == "draft" and progress["percent"] == 0
    listing = await (await console_client.get("/console/campaigns")).text()
    assert "金卡品鉴" in listing
    console_client.session.cookie_jar.update_cookies({"clubbot_console_lang": "en"})
    english = await (await console_client.get("/console/campaigns/new")).text()
    assert "Segment conditions" in english and "Members matching now:" in english
    console_client.session.cookie_jar.update_cookies({"clubbot_console_lang": "zh"})
    rows = await AuditLog.filter(action__in=["segment.create", "campaign.create"]).order_by("id")
    assert [(r.action, r.summary["via"]) for r in rows] == [
        ("segment.create", "console"),
        ("campaign.create", "console"),
    ]
    # An automation: daily at 09:30, listed with its runs (none yet).
    daily = {
        **form,
        "name": "每日欢迎",
        "segment_id": str(campaign.segment_id),
        "daily_at": "09:30",
    }
    resp = await console_client.post("/console/campaigns", data=daily, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    listing = await (await console_client.get("/console/campaigns")).text()
    automations = listing.split('id="automations"')[1]
    assert "每日欢迎" in automations and "09:30" in automations and "尚未运行" in automations
    # A refused campaign keeps what was typed and says why; nothing is half-written.
    form["budget_points"] = "5"
    form["name"] = "另一个"
    resp = await console_client.post("/console/campaigns", data=form)
    assert resp.status == 422 and "budget_points" in await resp.text()
    assert await Campaign.all().count() == 2


async def test_a_clerk_may_not_compose_campaigns(console_client: Client) -> None:
    await staff_with_password("carl", "clerk")
    await sign_in(console_client, "carl")
    assert (await console_client.get("/console/campaigns")).status == 403
    assert (await console_client.get("/console/reports/churn")).status == 403


async def test_reports_render_and_download_csv(console_client: Client, clock: FixedClock) -> None:
    await _members(clock)
    gold = await member("o-gold-3", clock.now(), tier="gold")
    await MemberChurn.create(
        member_id=gold.id,
        day=clock.now().date(),
        since=clock.now().date(),
        purchases=3,
        rhythm_days=30,
        silence_days=95,
        spend_fen=100_00,
        spend_before_fen=900_00,
        silent=True,
        spend_fell=True,
        reason_zh="超过节奏未购买",
        reason_en="silent beyond rhythm",
    )
    await staff_with_password("ada", "admin")
    await sign_in(console_client, "ada")
    for name in ("pareto", "rfm", "classes", "quadrants", "churn", "exits", "channels", "tiers"):
        resp = await console_client.get(f"/console/reports/{name}")
        assert resp.status == 200, (name, await resp.text())
        csv = await console_client.get(f"/console/reports/{name}.csv")
        assert csv.status == 200 and csv.content_type == "text/csv", name
    churn = await (await console_client.get("/console/reports/churn")).text()
    assert "超过节奏未购买" in churn and re.search(r'id="churn-flagged">1<', churn)
    body = (await (await console_client.get("/console/reports/churn.csv")).read()).decode(
        "utf-8-sig"
    )
    assert body.splitlines()[0].startswith("member_id,") and str(gold.id) in body
    bad = await console_client.get("/console/reports/churn?from=2026-13-01")
    assert bad.status == 422
    assert await AuditLog.filter(action="report.read").count() >= 16


async def test_member_page_value_churn_and_tickets_answer_and_close(
    console_client: Client, clock: FixedClock
) -> None:
    now = clock.now()
    m = await member("o-key", now, tier="gold", window=True)
    await valued(m.id, now)
    await MemberChurn.create(
        member_id=m.id,
        day=now.date(),
        since=now.date(),
        purchases=4,
        rhythm_days=20,
        silence_days=70,
        spend_fen=100,
        spend_before_fen=100,
        silent=True,
        spend_fell=False,
        reason_zh="已 70 天未购买",
        reason_en="silent 70 days",
    )
    ticket = await Ticket.create(member_id=m.id, opened_at=now, last_member_message_at=now)
    await TicketMessage.create(ticket=ticket, text="想订二十箱", at=now)
    await staff_with_password("carl", "clerk")
    await sign_in(console_client, "carl")
    page = await (await console_client.get(f"/console/members/{m.id}")).text()
    assert re.search(r'id="member-value-class">A<', page)
    assert "已 70 天未购买" in page and f'href="/console/tickets/{ticket.id}"' in page
    queue = await (await console_client.get("/console/tickets")).text()
    assert "想订二十箱" in queue and "重点客户" in queue
    token = await page_token(console_client, f"/console/tickets/{ticket.id}")
    resp = await console_client.post(
        f"/console/tickets/{ticket.id}/answer",
        data={"csrf_token": token, "text": "好的，稍后联系您"},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    shown = await (await console_client.get(f"/console/tickets/{ticket.id}")).text()
    assert "好的，稍后联系您" in shown
    resp = await console_client.post(
        f"/console/tickets/{ticket.id}/close", data={"csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 303
    assert (await Ticket.get(id=ticket.id)).status == "closed"
    answer = await AuditLog.get(action="ticket.answer")
    assert answer.summary["via"] == "console" and answer.staff_name == "carl"
    clock.advance(timedelta(minutes=1))


async def test_dashboard_shows_campaigns_in_flight_and_value_counts(
    console_client: Client, clock: FixedClock
) -> None:
    now = clock.now()
    m = await member("o-a", now)
    await MemberChurn.create(
        member_id=m.id,
        day=now.date(),
        since=now.date(),
        purchases=2,
        rhythm_days=None,
        silence_days=200,
        spend_fen=0,
        spend_before_fen=100,
        silent=True,
        spend_fell=True,
        reason_zh="x",
        reason_en="x",
    )
    segment = await Segment.create(name="s", kind="rule", rule={"rule": "joined"}, created_at=now)
    await Campaign.create(
        name="春节回馈",
        segment_id=segment.id,
        status="sending",
        message={"text": "x"},
        seed=1,
        created_at=now,
        updated_at=now,
        holdout_bp=0,
        effect_days=30,
    )
    await staff_with_password("mia", "marketer")
    await sign_in(console_client, "mia")
    html = await (await console_client.get("/console")).text()
    assert "春节回馈" in html and 'id="campaigns-in-flight"' in html
    assert re.search(r'id="fig-churn">1<', html) and re.search(r'id="fig-key">0<', html)


async def test_stores_create_move_close_through_the_stores_api(console_client: Client) -> None:
    await staff_with_password("ada", "admin")
    await staff_with_password("carl", "clerk")
    await sign_in(console_client, "ada")
    token = await page_token(console_client, "/console/stores")
    form = {"csrf_token": token, "id": "SH-01", "name": "上海一店", "channel_level": "small_shop"}
    resp = await console_client.post("/console/stores", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    moved = {"csrf_token": token, "name": "上海旗舰店", "channel_level": "key_account"}
    resp = await console_client.post("/console/stores/SH-01", data=moved, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    resp = await console_client.post(
        "/console/stores/SH-01/close", data={"csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 303
    page = await (await console_client.get("/console/stores")).text()
    assert "上海旗舰店" in page and "已关闭" in page
    bad = await console_client.post("/console/stores", data={**form, "id": "bad id!"})
    assert bad.status == 422
    actions = [
        (r.action, r.summary["via"], r.target)
        for r in await AuditLog.filter(action__startswith="store.").order_by("id")
    ]
    assert actions[:3] == [
        ("store.create", "console", "store:SH-01"),
        ("store.update", "console", "store:SH-01"),
        ("store.close", "console", "store:SH-01"),
    ]
    # A clerk reads the list and has no forms; a change is refused.
    await console_client.post("/console/logout", data={"csrf_token": token})
    await sign_in(console_client, "carl")
    clerk_page = await (await console_client.get("/console/stores")).text()
    assert "上海旗舰店" in clerk_page and 'action="/console/stores"' not in clerk_page
    token = await page_token(console_client, "/console/stores")
    resp = await console_client.post("/console/stores/SH-01/reopen", data={"csrf_token": token})
    assert resp.status == 403
