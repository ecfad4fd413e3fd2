"""The dashboard's figures from known rows, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from club.db.models.ledger import LedgerEntry
from club.db.models.members import FollowEvent, FollowKind, Member, MemberStatus
from club.db.models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from club.rules.kinds import EntryKind
from console.queries.dashboard import dashboard
from tests.bot.test_staff_api_support import NOW, joined_member
from tests.console.support import Client, sign_in, staff_with_password


async def _fixture() -> None:
    day = timedelta(days=1)
    await joined_member("o-1", tier="gold", joined_at=NOW - 2 * day)
    await joined_member("o-2", tier="silver", joined_at=NOW)
    await joined_member("o-3", tier=None, joined_at=NOW)  # no tier yet: the lowest
    await joined_member("o-4", tier="taste", joined_at=NOW - 40 * day)  # before the period
    await joined_member("o-5", status=MemberStatus.DELETED)
    await Member.create(openid="o-follower")  # followed, never joined
    gone = await joined_member("o-6", status=MemberStatus.UNFOLLOWED, joined_at=NOW - 3 * day)
    await FollowEvent.create(
        member=gone, kind=FollowKind.UNSUBSCRIBE, at=NOW - day, wechat_create_time=1
    )
    # Late evening in Shanghai, early afternoon UTC: counts as today's club day.
    late = NOW.replace(hour=23, minute=30)
    entries = [
        (EntryKind.EARN, 300, NOW),
        (EntryKind.BONUS, 100, late),
        (EntryKind.ADJUST, 50, NOW),
        (EntryKind.ADJUST, -20, NOW),
        (EntryKind.REDEEM, -200, NOW - day),
        (EntryKind.REFUND, 50, NOW),
        (EntryKind.EXPIRE, -30, NOW - 5 * day),
    ]
    for i, (kind, points, at) in enumerate(entries):
        await LedgerEntry.create(
            member_id=gone.id,
            kind=kind,
            points=points,
            balance_after=0,
            reason="r",
            ref=f"ref-{i}",
            created_at=at,
        )
    for i, (channel, status) in enumerate(
        [
            (OutboxChannel.CUSTOM, OutboxStatus.SENT),
            (OutboxChannel.CUSTOM, OutboxStatus.FAILED),
            (OutboxChannel.TEMPLATE, OutboxStatus.SENT),
            (OutboxChannel.TEMPLATE, OutboxStatus.SENT),
        ]
    ):
        await OutboxMessage.create(
            idempotency_key=f"k-{i}",
            openid="o-1",
            kind="notice",
            channel=channel,
            payload={},
            status=status,
            sent_at=NOW if status is OutboxStatus.SENT else None,
        )


async def test_dashboard_figures(db: None) -> None:
    await _fixture()
    # The outbox stamps created_at itself (now); read the dashboard as of the real day then.
    created = (await OutboxMessage.first()).created_at  # type: ignore[union-attr]
    figures = await dashboard(NOW)
    assert figures.members_by_tier == {"gold": 1, "silver": 1, None: 1, "taste": 1}
    assert figures.followers_not_joined == 1
    # Joins as they happened, of members since deleted too; o-4 joined before the period.
    assert figures.growth.total("joined") == 5
    assert figures.growth.values["joined"][-1] == 3
    assert figures.growth.values["unfollowed"][-2] == 1
    assert figures.points.values["issued"][-1] == 300 + 100 + 50
    assert figures.points.total("redeemed") == 200 - 50
    assert figures.points.total("expired") == 30
    later = await dashboard(created.astimezone(NOW.tzinfo))
    assert later.messages == {"custom": {"sent": 1, "failed": 1}, "template": {"sent": 2}}


async def test_dashboard_page_charts_and_numbers(console_client: Client) -> None:
    await _fixture()
    await staff_with_password("mia", "marketer")
    await sign_in(console_client, "mia")
    resp = await console_client.get("/console")
    assert resp.status == 200
    html = await resp.text()
    assert re.search(r'id="fig-members-total">4<', html)  # gold, silver, 2 taste
    assert 'id="no-campaigns"' in html and 'id="no-value"' in html
    option = json.loads(re.search(r'id="chart-tiers">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert {d["name"]: d["value"] for d in option["series"][0]["data"]} == {
        "品鉴会员": 2,
        "银卡": 1,
        "金卡": 1,
        "黑金": 0,
    }
    assert "/console/static/vendor/echarts/echarts.min.js" in html
