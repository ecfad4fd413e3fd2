"""The staff console in a real browser (Chromium) against a real server on PostgreSQL and Redis:
what marketers, admins and store clerks do every day, each page photographed."""

from __future__ import annotations

from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.db.models.staff import AuditLog, StaffUser
from tests.bot.test_staff_api_support import joined_member
from tests.console.browser.conftest import Console
from tests.console.browser.steps import sign_in
from tests.console.support import staff_with_password


async def test_sign_in_find_a_member_and_adjust_points(live_console: Console) -> None:
    c, page = live_console, live_console.page
    await staff_with_password("ada", "admin")
    member = await joined_member(name="王小明", phone="13812345678", points_balance=0)
    await joined_member("o-other", name="李四", phone="13900001111")
    await page.goto(c.url("/console/login"))
    await c.shot("01-sign-in")
    await sign_in(c, "ada")
    assert page.url == c.url("/console")
    await c.shot("02-dashboard")

    # Find by the last four digits of the phone, then by part of the name.
    await page.goto(c.url("/console/members"))
    await page.get_by_label("查找会员").fill("5678")
    await page.get_by_role("button", name="搜索").click()
    await page.wait_for_load_state()
    rows = page.locator("table tbody tr")
    assert await rows.count() == 1
    assert "王小明" in await rows.first.inner_text()
    assert "13812345678" in await rows.first.inner_text()  # an admin sees the whole number
    await c.shot("03-member-search")
    await page.get_by_label("查找会员").fill("小明")
    await page.get_by_role("button", name="搜索").click()
    await page.get_by_role("link", name="王小明").click()
    await page.wait_for_url(c.url(f"/console/members/{member.id}"))

    # Adjust points with a reason: the ledger shows the movement, the balance follows.
    await page.get_by_label("积分（扣减用负数）").fill("250")
    await page.get_by_label("原因", exact=True).first.fill("门店活动补发")
    await page.get_by_role("button", name="调整").click()
    await page.wait_for_url(c.url(f"/console/members/{member.id}"))
    assert "已调整 250 积分" in await page.locator(".flash").inner_text()
    assert await page.locator("#member-balance").inner_text() == "250"
    first_row = await page.locator("#ledger tbody tr").first.inner_text()
    assert "+250" in first_row and "门店活动补发" in first_row
    await c.shot("04-member-adjusted")
    [entry] = await LedgerEntry.filter(member_id=member.id)
    assert (entry.points, entry.reason) == (250, "门店活动补发")
    [row] = await AuditLog.filter(action="points.adjust")
    assert (row.staff_name, row.status, row.target) == ("ada", 201, f"member:{member.id}")
    assert row.summary["via"] == "console"
    # Reading the member page is audited as the API's member read is.
    assert await AuditLog.filter(action="member.read", target=f"member:{member.id}").count() >= 2


async def test_a_clerk_records_a_purchase_and_sees_the_tier_change(
    live_console: Console,
) -> None:
    c, page = live_console, live_console.page
    await staff_with_password("carl", "clerk")
    member = await joined_member(name="张三", phone="13712340000")
    await sign_in(c, "carl")
    assert page.url == c.url("/console/members")  # a clerk starts at the member search
    await page.goto(c.url(f"/console/members/{member.id}"))
    assert await page.locator("#member-tier").inner_text() == "品鉴会员"
    # A clerk sees a masked phone and no admin forms.
    assert "137****0000" in await page.content()
    assert await page.get_by_role("button", name="调整").count() == 0
    await page.get_by_label("订单号").fill("T-1001")
    await page.get_by_label("金额（元）").fill("3,200.00")
    await page.get_by_role("button", name="录入").click()
    await page.wait_for_url(c.url(f"/console/members/{member.id}"))
    flash = await page.locator(".flash").inner_text()
    assert "订单 T-1001 已录入" in flash and "已升级为银卡" in flash
    assert await page.locator("#member-tier").inner_text() == "银卡"
    assert "T-1001" in await page.locator("#purchases").inner_text()
    await c.shot("05-clerk-purchase-upgrade")
    stored = await Member.get(id=member.id)
    assert (stored.tier, stored.points_balance) == ("silver", 3200)

    # The admin pages are refused to a clerk, even typed into the address bar.
    response = await page.goto(c.url("/console/staff"))
    assert response is not None and response.status == 403
    assert "店员角色无权" in await page.inner_text("main")
    await c.shot("06-clerk-refused")
    assert await page.get_by_role("link", name="员工").count() == 0


async def test_a_form_without_its_csrf_token_is_refused(live_console: Console) -> None:
    c, page = live_console, live_console.page
    await staff_with_password("ada", "admin")
    member = await joined_member(name="赵六")
    await sign_in(c, "ada")
    await page.goto(c.url(f"/console/members/{member.id}"))
    # What a forged form from another site would send: everything but the session's token.
    await page.eval_on_selector_all(
        "form[action$='/adjust'] input[name=csrf_token]", "nodes => nodes.forEach(n => n.remove())"
    )
    await page.get_by_label("积分（扣减用负数）").fill("999")
    await page.get_by_label("原因", exact=True).first.fill("forged")
    await page.get_by_role("button", name="调整").click()
    await page.wait_for_load_state()
    assert "安全令牌" in await page.inner_text("main")
    await c.shot("07-csrf-refused")
    assert await LedgerEntry.filter(member_id=member.id).count() == 0
    assert (await Member.get(id=member.id)).points_balance == 0


async def test_six_wrong_passwords_lock_the_account(live_console: Console) -> None:
    c, page = live_console, live_console.page
    await staff_with_password("mia", "marketer")
    for attempt in range(1, 6):
        await sign_in(c, "mia", f"wrong password {attempt}")
        assert "账号或密码不正确" in await page.inner_text("main")
    await sign_in(c, "mia", "wrong password 6")
    assert "账号已锁定" in await page.inner_text("main")
    await sign_in(c, "mia")  # the right password, too late
    assert "账号已锁定" in await page.inner_text("main")
    assert page.url.startswith(c.url("/console/login"))
    await c.shot("08-locked")
    assert (await StaffUser.get(name="mia")).locked_until is not None


async def test_the_console_speaks_english_when_asked(live_console: Console) -> None:
    c, page = live_console, live_console.page
    await staff_with_password("mia", "marketer")
    await sign_in(c, "mia")
    await page.get_by_role("link", name="English").click()
    await page.wait_for_load_state()
    assert await page.get_by_role("link", name="Members").count() == 1
    await page.goto(c.url("/console/members"))
    await c.shot("09-english")


async def test_the_dashboard_draws_its_charts_from_our_own_server(live_console: Console) -> None:
    from tests.console.test_dashboard import _fixture

    c, page = live_console, live_console.page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    await _fixture()
    await staff_with_password("mia", "marketer")
    await sign_in(c, "mia")
    await page.wait_for_selector("html[data-charts-drawn='4']")
    assert await page.locator(".chart canvas").count() == 4
    assert "没有正在发送或待发送" in await page.inner_text("#no-campaigns")
    await c.shot("10-dashboard-charts")
    assert problems == []  # no script error, no refused content (the security policy holds)
    assert all(url.startswith(c.base) for url in requested), requested
    # A tablet held upright: panels stack, nothing needs sideways scrolling.
    await page.set_viewport_size({"width": 768, "height": 1024})
    await page.wait_for_timeout(200)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768
    await c.shot("11-dashboard-tablet")


async def test_programme_pages_and_a_code_batch_for_the_printer(live_console: Console) -> None:
    c, page = live_console, live_console.page
    await staff_with_password("ada", "admin")
    await staff_with_password("carl", "clerk")
    await sign_in(c, "ada")
    await page.goto(c.url("/console/rewards"))
    await page.get_by_label("礼品名称").fill("品鉴杯")
    await page.get_by_label("所需积分").fill("800")
    await page.get_by_label("库存（留空为不限）").fill("12")
    await page.get_by_role("button", name="新增").click()
    await page.wait_for_url(c.url("/console/rewards"))
    assert "品鉴杯" in await page.inner_text("#rewards")
    await c.shot("12-rewards")
    await page.goto(c.url("/console/codes"))
    await page.get_by_label("批次名").fill("2026-Q4-A")
    await page.get_by_label("数量").fill("20")
    await page.get_by_label("每码积分").fill("30")
    await page.get_by_role("button", name="生成").click()
    await page.wait_for_url(c.url("/console/codes"))
    await c.shot("13-codes")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="下载 CSV 2026-Q4-A").click()
    download = await info.value
    text = c.shots / "codes.csv"
    await download.save_as(str(text))
    assert len(text.read_text().splitlines()) == 21
    await page.goto(c.url("/console/programme"))
    assert "中秋" in await page.inner_text("#festivals")
    await c.shot("14-programme")
    await page.goto(c.url("/console/staff"))
    await c.shot("15-staff")
    await page.goto(c.url("/console/purchases"))
    await c.shot("16-till")
