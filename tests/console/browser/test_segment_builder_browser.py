"""The composer's segment builder in a real browser (Chromium) against a real server on
PostgreSQL and Redis: a nested rule built by clicking, written to the rule field, counted as the
segments API counts it, shown again in the builder when a refused form comes back, and saved as
the campaign's audience, which is then sent to exactly the members the rule describes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.async_api import Locator

from bot.deps import DEPS
from club.db.models.campaigns import Campaign, CampaignRecipient
from club.db.models.ledger import Purchase
from club.db.models.members import Member
from club.segments import tags
from club.staff.accounts import create_staff
from club.staff.passwords import set_password
from config import Settings
from tests.bot.test_staff_api_support import NOW
from tests.club.campaign_support import member
from tests.club.value.fixtures import valued
from tests.conftest import make_settings
from tests.console.browser.conftest import Console
from tests.console.browser.steps import play_scheduler, sign_in, watch_problems
from tests.console.support import PASSWORD
from tests.fakes import FakeWeChat

# (tier is gold OR class is A) AND bought within 90 days AND NOT tagged x
NESTED = {
    "rule": "and",
    "rules": [
        {
            "rule": "or",
            "rules": [
                {"rule": "tier", "tiers": ["gold"]},
                {"rule": "value_class", "classes": ["A"]},
            ],
        },
        {"rule": "last_purchase", "within_days": 90},
        {"rule": "not", "of": {"rule": "tags", "tags": ["x"], "match": "any"}},
    ],
}


@pytest.fixture(name="settings")
def settings_with_fake_wechat(fake_wechat: FakeWeChat) -> Settings:
    return make_settings(wechat_api_base=fake_wechat.base_url, wechat_dry_run=False)


async def bought(who: Member, now: datetime, days_ago: int) -> None:
    await Purchase.create(
        order_id=f"P-{who.openid}", member=who, channel_level="consumer", amount_fen=500_00,
        cost_fen=200_00, points_earned=0, balance_after=0, tier_before=who.tier,
        tier_after=who.tier, created_at=now - timedelta(days=days_ago),
    )  # fmt: skip


async def club_members(now: datetime) -> set[int]:
    """Members on both sides of each condition; the ids of those the nested rule takes."""
    gold = await member("o-gold", now, tier="gold")
    await bought(gold, now, 10)
    silver_a = await member("o-silver-a", now, tier="silver")
    await bought(silver_a, now, 30)
    await valued(silver_a.id, now - timedelta(days=1), "A")
    other_tag = await member("o-tagged-y", now, tier="silver")
    await bought(other_tag, now, 20)
    await valued(other_tag.id, now - timedelta(days=1), "A")
    tagged_x = await member("o-tagged-x", now, tier="gold")  # excluded by NOT tagged x
    await bought(tagged_x, now, 10)
    await tags.add_tag("x", [tagged_x.id], now=now, staff_id=None)
    await tags.add_tag("y", [other_tag.id], now=now, staff_id=None)
    long_ago = await member("o-gold-long-ago", now, tier="gold")  # bought 120 days ago
    await bought(long_ago, now, 120)
    class_b = await member("o-taste-b", now)  # neither gold nor class A
    await bought(class_b, now, 5)
    await valued(class_b.id, now - timedelta(days=1), "B")
    await member("o-gold-never", now, tier="gold")  # never bought
    return {gold.id, silver_a.id, other_tag.id}


def own(group: Locator, part: str) -> Locator:
    """A group's own head, list or tools, not those of a group inside it."""
    return group.locator(f":scope > .{part}")


async def add_condition(group: Locator, kind: str) -> Locator:
    tools = own(group, "row-tools")
    await tools.get_by_label("添加条件").select_option(label=kind)
    await tools.get_by_role("button", name="添加", exact=True).click()
    return own(group, "rows").locator(":scope > .rule-row").last


def counted_rule(rule: dict[str, Any]) -> Any:
    """A predicate on responses: the live count's answer for this rule."""

    def test(response: Any) -> bool:
        if not response.url.endswith("/console/segments/count"):
            return False
        sent = parse_qs(response.request.post_data or "")["rule"][0]
        return bool(json.loads(sent) == rule)

    return test


async def test_a_nested_rule_built_by_clicking_counted_saved_and_sent(
    live_console: Console, fake_wechat: FakeWeChat
) -> None:
    c, page = live_console, live_console.page
    problems = watch_problems(page)
    assert c.app is not None
    deps = c.app[DEPS]
    now = deps.clock.now()
    expected = await club_members(now)
    _, token = await create_staff("mo", "marketer", now=NOW)
    await set_password("mo", PASSWORD, now=NOW)
    await sign_in(c, "mo")
    await page.goto(c.url("/console/campaigns/new"))
    await page.get_by_label("活动名称").fill("老客回访")
    assert "条件组最多嵌套 3 层" in await page.locator("#b-limits").inner_text()

    # The outer group (AND) holds a group (OR: gold, class A), the last purchase and the tag.
    outer = page.get_by_role("group", name="条件组 1", exact=True)
    await own(outer, "row-tools").get_by_role("button", name="添加条件组").click()
    inner = page.get_by_role("group", name="条件组 1.1", exact=True)
    await own(inner, "group-head").get_by_label("组内之间").select_option(label="满足任一（或）")
    await (await add_condition(inner, "会员等级")).get_by_label("金卡").check()
    await (await add_condition(inner, "价值分类 A/B/C")).get_by_label("A", exact=True).check()
    await page.wait_for_selector('#segment-count[data-count="6"]')  # gold or A, bought or not
    await (await add_condition(outer, "最近消费")).get_by_label("最近 N 天内").fill("90")
    tag_row = await add_condition(outer, "标签")
    await tag_row.get_by_label("标签（逗号分隔）").fill("x")
    await page.wait_for_selector('#segment-count[data-count="1"]')  # the one tagged x
    async with page.expect_response(counted_rule(NESTED)) as answer:
        await tag_row.get_by_label("排除（非）").check()
    shown = (await (await answer.value).json())["count"]
    await page.wait_for_selector(f'#segment-count[data-count="{shown}"]')
    assert json.loads(await page.locator("#c-rule").input_value()) == NESTED
    api = await page.request.post(
        c.url("/api/v1/segments/preview"),
        headers={"Authorization": f"Bearer {token}"},
        data={"rule": NESTED, "sample": 0},
    )
    assert api.status == 200, await api.text()
    assert shown == (await api.json())["count"] == len(expected)
    await page.locator("#b-json summary").click()  # the document beside the builder's groups
    await c.shot("40-nested-segment-builder")
    await page.set_viewport_size({"width": 768, "height": 1024})  # a tablet held upright
    assert await page.evaluate("document.documentElement.scrollWidth") <= 768
    await page.set_viewport_size({"width": 1280, "height": 860})
    # The deepest group offers no deeper one: the limit is shown in its place.
    await own(inner, "row-tools").get_by_role("button", name="添加条件组").click()
    deepest = page.get_by_role("group", name="条件组 1.1.1", exact=True)
    assert await own(deepest, "row-tools").get_by_role("button", name="添加条件组").count() == 0
    assert "最多 3 层" in await own(deepest, "row-tools").inner_text()
    await c.shot("41-deepest-group")
    await own(deepest, "group-head").get_by_role("button", name="删除条件组 1.1.1").click()
    assert json.loads(await page.locator("#c-rule").input_value()) == NESTED  # empty: nothing

    # A refused form comes back with the rule, and the builder shows it again, nested.
    await page.get_by_label("消息正文（中文）").fill("老朋友，好久不见：回复 1 领取回访礼")
    await page.get_by_label("对照组比例（%）").fill("十")
    await page.get_by_role("button", name="保存草稿").click()
    await page.wait_for_selector("p.error")
    assert json.loads(await page.locator("#c-rule").input_value()) == NESTED
    inner = page.get_by_role("group", name="条件组 1.1", exact=True)
    assert await own(inner, "group-head").get_by_label("组内之间").input_value() == "or"
    assert await inner.get_by_label("金卡").is_checked()
    assert await inner.get_by_label("A", exact=True).is_checked()
    last_row = own(outer, "rows").locator(":scope > .rule-row")
    assert await last_row.nth(0).get_by_label("最近 N 天内").input_value() == "90"
    assert await last_row.nth(1).get_by_label("排除（非）").is_checked()
    await page.wait_for_selector(f'#segment-count[data-count="{len(expected)}"]')
    await c.shot("42-nested-rule-loaded")

    # Saved and sent: the campaign reaches exactly the members the rule describes.
    await page.get_by_label("对照组比例（%）").fill("0")
    await page.get_by_role("button", name="保存草稿").click()
    await page.wait_for_selector("#channel-plan")
    campaign = await Campaign.get(name="老客回访")
    await page.get_by_role("button", name="立即发送").click()
    await page.wait_for_selector('#progress[data-status="scheduled"]')
    await play_scheduler(deps)
    rows = await CampaignRecipient.filter(campaign_id=campaign.id).values_list(
        "member_id", flat=True
    )
    assert set(rows) == expected and len(rows) == len(expected)
    # No script error and nothing refused by the security policy (the refused form's page and
    # the count of a condition not filled in yet answer 422, as they should).
    assert [p for p in problems if "status of 422" not in p] == []


async def test_a_rule_the_builder_cannot_show_is_kept_as_typed(live_console: Console) -> None:
    c, page = live_console, live_console.page
    await create_staff("mo", "marketer", now=NOW)
    await set_password("mo", PASSWORD, now=NOW)
    await sign_in(c, "mo")
    await page.goto(c.url("/console/campaigns/new"))
    typed = {"rule": "joined", "after": "2026-01-01T00:00:00+08:00"}  # no input for `after`
    await page.get_by_label("活动名称").fill("新会员")
    await page.locator("#b-json summary").click()
    await page.get_by_label("规则（JSON，可直接编辑）").fill(json.dumps(typed))
    await page.get_by_label("消息正文（中文）").fill("欢迎")
    await page.get_by_label("对照组比例（%）").fill("十")
    await page.get_by_role("button", name="保存草稿").click()
    await page.wait_for_selector("p.error")
    assert "无法在上方显示" in await page.locator("#b-note").inner_text()
    assert json.loads(await page.get_by_label("规则（JSON，可直接编辑）").input_value()) == typed
    assert await page.locator(".rule-row").count() == 0
    await page.wait_for_selector('#segment-count[data-count="0"]')  # counted as typed
    await c.shot("43-rule-kept-as-typed")


async def test_a_rule_typed_by_hand_after_the_page_opened_is_what_the_builder_shows(
    live_console: Console,
) -> None:
    """The builder follows the rule field as it is typed into: a later click in the builder
    builds on what was typed, never writes its old rule over it; a document it cannot show
    empties it and says so, and the document stays as typed."""
    c, page = live_console, live_console.page
    await create_staff("mo", "marketer", now=NOW)
    await set_password("mo", PASSWORD, now=NOW)
    await sign_in(c, "mo")
    await page.goto(c.url("/console/campaigns/new"))
    problems = watch_problems(page)
    root = page.get_by_role("group", name="条件组 1", exact=True)
    row = await add_condition(root, "会员等级")
    await row.get_by_label("金卡").check()
    field = page.get_by_label("规则（JSON，可直接编辑）")
    await page.locator("#b-json summary").click()
    assert json.loads(await field.input_value()) == {"rule": "tier", "tiers": ["gold"]}

    await field.fill(json.dumps(NESTED))  # typed over by hand
    inner = page.get_by_role("group", name="条件组 1.1", exact=True)
    assert await own(inner, "group-head").get_by_label("组内之间").input_value() == "or"
    assert await inner.get_by_label("金卡").is_checked()
    assert await inner.get_by_label("A", exact=True).is_checked()
    rows = own(root, "rows").locator(":scope > .rule-row")
    assert await rows.count() == 2
    assert await rows.nth(0).get_by_label("最近 N 天内").input_value() == "90"
    # A click in the builder now changes what was typed, and only that.
    await rows.nth(0).get_by_label("最近 N 天内").fill("60")
    changed = json.loads(json.dumps(NESTED))
    changed["rules"][1]["within_days"] = 60
    assert json.loads(await field.input_value()) == changed

    typed = {"rule": "joined", "after": "2026-01-01T00:00:00+08:00"}  # no input for `after`
    await field.fill(json.dumps(typed))
    assert await page.locator(".rule-row").count() == 0
    assert "无法在上方显示" in await page.locator("#b-note").inner_text()
    assert json.loads(await field.input_value()) == typed
    await field.fill("")  # emptied by hand: the builder is empty and says nothing
    assert await page.locator(".rule-row").count() == 0
    assert await page.locator("#b-note").is_hidden()
    assert problems == []
