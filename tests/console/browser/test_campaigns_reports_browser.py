"""Campaigns, reports and tickets in a real browser (Chromium) against a real server on
PostgreSQL and Redis, WeChat being the fake API: build a segment and see its count, compose,
test and send a campaign and watch its progress reach done, open each report and download its
CSV, answer a ticket. One browser for all of it (the suite's time is short); each page
photographed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.deps import DEPS
from club.db.models.campaigns import Campaign
from club.db.models.ledger import Purchase
from club.db.models.members import Member
from club.db.models.service import Ticket, TicketMessage
from club.db.models.staff import AuditLog
from club.reports import ranker as ranker_module
from club.rules.periods import Preset, preset_period
from club.staff.wechat import bind, new_code
from club.value.churn import scan_churn
from club.value.refresh import refresh_values
from config import Settings
from tests.club.campaign_support import member
from tests.club.value.fixtures import SlowRanking
from tests.conftest import make_settings
from tests.console.browser.conftest import Console
from tests.console.browser.steps import play_scheduler, sign_in, watch_problems
from tests.console.support import staff_with_password
from tests.fakes import FakeWeChat

REPORTS = ("pareto", "rfm", "classes", "quadrants", "churn", "exits", "channels", "tiers")


@pytest.fixture(name="settings")
def settings_with_fake_wechat(fake_wechat: FakeWeChat) -> Settings:
    return make_settings(wechat_api_base=fake_wechat.base_url, wechat_dry_run=False)


async def test_segment_campaign_progress_reports_and_a_ticket(
    live_console: Console,
    fake_wechat: FakeWeChat,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c, page = live_console, live_console.page
    problems = watch_problems(page)
    assert c.app is not None
    deps = c.app[DEPS]
    now = deps.clock.now()
    staff_id = await staff_with_password("ada", "admin")
    code = await new_code(staff_id, now)
    assert await bind("o-ada-wechat", code.code, now) is not None
    await member("o-ada-wechat", now, window=True, name="Ada")  # her WeChat follows the account
    for i in range(3):
        gold = await member(f"o-gold-{i}", now, tier="gold", window=i == 0)
        for k in range(1 + 3 * i):  # a few buyers make most of the sales: a Pareto curve
            await Purchase.create(
                order_id=f"P-{i}-{k}", member=gold, channel_level="consumer",
                amount_fen=(5_000_00 if i == 2 else 800_00), cost_fen=300_00, points_earned=0,
                balance_after=0, tier_before="gold", tier_after="gold",
                created_at=now - timedelta(days=3 + k),
            )  # fmt: skip
    customer = await member("o-taste", now, window=True, name="赵六")
    ticket = await Ticket.create(member_id=customer.id, opened_at=now, last_member_message_at=now)
    await TicketMessage.create(ticket=ticket, text="想订二十箱，怎么联系？", at=now)
    await sign_in(c, "ada")

    # Build a segment: gold members; the live count comes from the segments API's preview.
    await page.goto(c.url("/console/campaigns/new"))
    await page.get_by_label("活动名称").fill("金卡品鉴会")
    await page.get_by_label("添加条件").select_option("tier")
    await page.get_by_role("button", name="添加", exact=True).click()
    await page.get_by_label("金卡").check()
    await page.wait_for_selector('#segment-count[data-count="3"]')  # not the taste members
    # AND NOT: gold and not gold is nobody; removing the condition brings the three back.
    await page.get_by_role("button", name="添加", exact=True).click()
    second = page.locator(".rule-row").nth(1)
    await second.get_by_label("排除（非）").check()
    await second.get_by_label("金卡").check()
    await page.wait_for_selector('#segment-count[data-count="0"]')
    rule = json.loads(await page.locator("#c-rule").input_value())
    assert rule["rule"] == "and" and rule["rules"][1] == {
        "rule": "not",
        "of": {"rule": "tier", "tiers": ["gold"]},
    }
    await second.get_by_role("button", name="删除").click()
    await page.wait_for_selector('#segment-count[data-count="3"]')
    await page.get_by_label("消息正文（中文）").fill("金卡会员专享：本周六品鉴会，回复 1 报名")
    assert "本周六品鉴会" in await page.locator("#preview-bubble").inner_text()
    await page.get_by_label("每人奖励积分").fill("10")
    await page.get_by_label("积分预算").fill("100")
    await page.get_by_label("对照组比例（%）").fill("0")
    await c.shot("10-campaign-composer")
    await page.set_viewport_size({"width": 768, "height": 1024})  # a tablet held upright
    assert await page.evaluate("document.documentElement.scrollWidth") <= 768
    await page.set_viewport_size({"width": 1280, "height": 860})
    await page.get_by_role("button", name="保存草稿").click()
    await page.wait_for_selector("#channel-plan")
    campaign = await Campaign.get(name="金卡品鉴会")
    assert page.url == c.url(f"/console/campaigns/{campaign.id}")
    assert "王先生" not in await page.locator("#preview-bubble").inner_text()
    await c.shot("11-campaign-draft")

    # Test to my own WeChat, then send, and watch the bar while the workers send.
    await page.get_by_role("button", name="发给我的微信测试").click()
    await page.wait_for_selector(".flash")
    assert "测试消息已发送到您的微信" in await page.locator(".flash").inner_text()
    await page.get_by_role("button", name="立即发送").click()
    await page.wait_for_selector('#progress[data-status="scheduled"]')
    await play_scheduler(deps)
    await page.wait_for_selector('#progress[data-status="done"]', timeout=15_000)
    assert await page.locator("#progress-bar").get_attribute("value") == "100"
    assert await page.locator("#campaign-status").inner_text() == "已完成"
    await c.shot("12-campaign-done")
    recipients = await page.request.get(c.url(f"/console/campaigns/{campaign.id}/recipients.csv"))
    assert recipients.status == 200
    assert recipients.headers["x-frame-options"] == "DENY"  # streamed, still the console's headers
    lines = (await recipients.text()).splitlines()
    assert lines[0].startswith("member_id,") and len(lines) == 1 + 3
    sent = {call.body["touser"] for call in fake_wechat.calls("message/custom/send")}
    assert {"o-ada-wechat", "o-gold-0"} <= sent  # the test, and a member inside the window
    await page.goto(c.url("/console/campaigns"))
    assert "金卡品鉴会" in await page.locator("#campaigns").inner_text()
    await c.shot("13-campaign-list")

    # Each report opens, draws, and downloads its CSV.
    # The daily value jobs (RFM, classes, quadrants, churn read what they computed).
    today = now.astimezone(deps.settings.tz).date()
    await refresh_values(today, now, deps.programme)
    await scan_churn(today, now, deps.programme)
    period = f"from={(now - timedelta(days=60)).date()}&to={now.date()}"  # ranked live
    for name in REPORTS:
        await page.goto(c.url(f"/console/reports/{name}?{period}"))
        await page.wait_for_selector("#csv")
        async with page.expect_download() as waiting:
            await page.locator("#csv").click()
        download = await waiting.value
        saved = tmp_path / f"{name}.csv"
        await download.save_as(str(saved))
        assert saved.read_bytes().startswith(b"\xef\xbb\xbf"), name  # UTF-8 BOM for Excel
        await c.shot(f"2{REPORTS.index(name)}-report-{name}")
    assert await AuditLog.filter(action="report.read").count() >= 2 * len(REPORTS)

    # The named periods beside the dates: one click reads last month's report.
    await page.goto(c.url("/console/reports/pareto"))
    await page.get_by_role("navigation", name="常用期间").get_by_role("link", name="上月").click()
    await page.wait_for_selector("#csv")
    first, last = preset_period(Preset.LAST_MONTH, today)
    assert page.url == c.url(f"/console/reports/pareto?from={first}&to={last}")
    assert await page.locator('.periods a[aria-current="true"]').inner_text() == "上月"
    await c.shot("27a-report-named-period")

    # A period whose customers take long to rank (a large club): the page says so and asks
    # again by itself after Retry-After; once ranked, the same page shows the report.
    slow = SlowRanking()
    monkeypatch.setattr(ranker_module, "ranking_for", slow)
    deps.ranker.wait = 0.05
    period = f"from={(now - timedelta(days=90)).date()}&to={(now - timedelta(days=1)).date()}"
    await page.goto(c.url(f"/console/reports/pareto?{period}"))
    assert "正在为这个时段的全部客户排名" in await page.locator("#pending").inner_text()
    await c.shot("29-report-ranking")
    slow.gate.set()
    await page.wait_for_selector("#csv", timeout=15_000)  # the page came back by itself
    assert await page.locator("#pending").count() == 0 and slow.started >= 1

    # The member page shows the value class the refresh gave and the churn flag.
    top = await Member.get(openid="o-gold-2")
    await page.goto(c.url(f"/console/members/{top.id}"))
    assert await page.locator("#member-value-class").inner_text() == "A"
    await c.shot("28-member-value")

    # A ticket: the queue, the conversation, the answer sent to the member.
    await page.goto(c.url("/console/tickets"))
    await c.shot("29-ticket-queue")
    await page.get_by_role("link", name="赵六").click()
    await page.get_by_label("回复内容").fill("您好，客户经理稍后与您电话联系。")
    await page.get_by_role("button", name="发送回复").click()
    await page.wait_for_selector(".flash")
    assert "客户经理稍后" in await page.locator("#conversation").inner_text()
    await c.shot("30-ticket-answered")
    await deps.delivery.send_due()
    told = [call.body for call in fake_wechat.calls("message/custom/send")]
    assert any(b["touser"] == "o-taste" and "客户经理" in b["text"]["content"] for b in told)
    await page.goto(c.url("/console/stores"))
    await c.shot("31-stores")

    # Stores from a CSV as Excel saves it, then a store's QR code drawn and downloaded to print.
    excel = "\ufeffid,name,channel_level\r\nQR-01,扫码体验店,重点客户\r\n"
    await page.get_by_label("CSV 文件").set_input_files(
        files=[{"name": "stores.csv", "mimeType": "text/csv", "buffer": excel.encode()}]
    )
    await page.get_by_role("button", name="上传并导入").click()
    await page.wait_for_selector(".flash")
    assert "新增 1 家门店" in await page.locator(".flash").inner_text()
    await page.get_by_role("link", name="二维码 QR-01").click()
    await page.get_by_role("button", name="生成二维码").click()
    image = page.locator("img.qr-code")
    await image.wait_for()
    assert await image.evaluate("img => img.complete && img.naturalWidth > 0")
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="下载 PNG（打印用）").click()
    assert (await waiting.value).suggested_filename == "store_QR-01.png"
    await c.shot("32-store-qrcode")
    assert problems == []  # no script error, nothing refused by the security policy
