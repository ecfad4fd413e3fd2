"""churn-scan on hand-computed members (fixtures.DRIFTERS): who is flagged, and why in words."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from club.db.models.value import MemberChurn
from club.reports.churn import Reason, churn_report
from club.reports.filters import build_filter
from club.sales.purchases import record_purchase
from club.value.churn import scan_churn
from club.value.refresh import refresh_values
from tests.club.value.fixtures import NOW, PROGRAMME, TZ, YUAN, build_drifters

pytestmark = pytest.mark.usefixtures("db")


async def test_flags_with_their_reasons_in_words() -> None:
    ids = await build_drifters()
    counts = await scan_churn(NOW.date(), NOW, PROGRAMME)
    assert counts == {
        "flagged": 3,
        "new": 3,
        "cleared": 0,
        "silent": 2,
        "spend_fell": 2,
        "dormant": 2,  # C4 and C5: nothing since 1 January, past 180 days
    }
    names = {v: k for k, v in ids.items()}
    flags = {names[f.member_id]: f for f in await MemberChurn.all()}
    assert set(flags) == {"C1", "C3", "C5"}
    c1, c3, c5 = flags["C1"], flags["C3"], flags["C5"]
    assert (c1.silent, c1.spend_fell, c1.rhythm_days, c1.silence_days) == (True, False, 30, 84)
    assert c1.reason_zh == "已84天未购买，超过其平时购买间隔（约30天）的2倍"
    assert c1.reason_en == "no purchase for 84 days, over 2 times their usual gap of about 30 days"
    assert (c3.silent, c3.spend_fell, c3.rhythm_days, c3.silence_days) == (False, True, 319, 43)
    assert (c3.spend_fen, c3.spend_before_fen) == (2_000 * YUAN, 10_000 * YUAN)
    assert c3.reason_zh == "近12个月消费2000元，比之前12个月的10000元下降80%"
    assert c3.reason_en == (
        "spent 2000 yuan in the last 12 months, down 80% from 10000 yuan the 12 months before"
    )
    assert (c5.silent, c5.spend_fell, c5.rhythm_days, c5.silence_days) == (True, True, 31, 325)
    assert c5.reason_zh == (
        "已325天未购买，超过其平时购买间隔（约31天）的2倍；"
        "近12个月消费1000元，比之前12个月的9000元下降88%"
    )
    assert all(f.since == NOW.date() == f.day for f in flags.values())


async def test_the_list_is_replaced_daily_and_keeps_when_a_flag_began() -> None:
    ids = await build_drifters()
    await scan_churn(NOW.date(), NOW, PROGRAMME)
    again = await scan_churn(NOW.date(), NOW, PROGRAMME)
    assert (again["flagged"], again["new"], again["cleared"]) == (3, 0, 0)
    tomorrow = NOW + timedelta(days=1)
    await record_purchase(
        member_id=ids["C1"], order_id="D-back", amount_fen=500 * YUAN, now=NOW, programme=PROGRAMME
    )
    counts = await scan_churn(tomorrow.date(), tomorrow, PROGRAMME)
    assert (counts["flagged"], counts["new"], counts["cleared"]) == (2, 0, 1)
    c5 = await MemberChurn.get(member_id=ids["C5"])
    assert c5.since == NOW.date() and c5.day == tomorrow.date() and c5.silence_days == 326


async def test_churn_report_counts_and_lists_the_flagged() -> None:
    ids = await build_drifters()
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    await scan_churn(NOW.date(), NOW, PROGRAMME)
    flt = build_filter(today=NOW.date(), tz=TZ, months=12)
    report = await churn_report(flt, reason=Reason.ALL, limit=10, offset=0)
    names = {v: k for k, v in ids.items()}
    assert (report.flagged, report.silent, report.spend_fell, report.new_in_period) == (3, 2, 2, 3)
    assert report.as_of == NOW.date()
    # No costs were given: nobody has a known profit, so everybody is C. C3 and C5 spent their
    # way to gold (10,000 yuan within 12 months) before drifting.
    assert [(g.by, g.key, g.members) for g in report.groups] == [
        ("class", "C", 3),
        ("tier", "gold", 2),
        ("tier", "taste", 1),
    ]
    # Most valuable first: C5 (10,000 yuan over two years), C3 (12,000 -> first), C1 (2,000).
    assert [names[r.member_id] for r in report.rows] == ["C3", "C5", "C1"]
    silent = await churn_report(flt, reason=Reason.SILENT, limit=10, offset=0)
    assert [names[r.member_id] for r in silent.rows] == ["C5", "C1"]
    assert silent.rows[1].reason_zh.startswith("已84天未购买")
    # Narrowed to a period: only members who bought in it (C3 bought in October 2026).
    october = build_filter(
        today=NOW.date(), tz=TZ, months=12, start=date(2026, 10, 1), end=date(2026, 10, 31)
    )
    only = await churn_report(october, reason=Reason.ALL, limit=10, offset=0)
    assert [names[r.member_id] for r in only.rows] == ["C3"] and only.flagged == 1
    assert [(g.by, g.key, g.members) for g in only.groups] == [
        ("class", "C", 1),
        ("tier", "gold", 1),
    ]
    # Pages are cut in that order, and the summary is the whole list's on every page.
    second = await churn_report(flt, reason=Reason.ALL, limit=1, offset=1)
    assert [names[r.member_id] for r in second.rows] == ["C5"]
    assert (second.flagged, second.silent, second.spend_fell) == (3, 2, 2)
    assert [r.name for r in second.rows] == [r.name for r in report.rows[1:2]]
