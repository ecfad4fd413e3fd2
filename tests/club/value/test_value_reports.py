"""The RFM, classes and quadrants reports over the hand-computed consumers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from club.reports.classes import ChangeKind, classes_report
from club.reports.filters import ReportFilter, build_filter
from club.reports.quadrants import Quadrant, quadrants_report
from club.reports.rfm import rfm_report
from club.sales.purchases import PurchaseLine, record_purchase
from club.value.refresh import refresh_values
from tests.club.value.fixtures import NOW, PROGRAMME, TZ, YUAN, build_consumers

pytestmark = pytest.mark.usefixtures("db")


def period(**kwargs: object) -> ReportFilter:
    return build_filter(today=NOW.date(), tz=TZ, months=12, **kwargs)  # type: ignore[arg-type]


async def test_rfm_grid_scores_and_rows() -> None:
    ids = await build_consumers()
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    report = await rfm_report(period(), 5, limit=10, offset=0)
    assert report.as_of == NOW.date() and report.members == 6 and report.bins == 5
    assert {(c.r, c.f): c.members for c in report.cells} == {
        (4, 5): 1,
        (5, 1): 1,
        (1, 1): 2,
        (2, 4): 1,
        (3, 1): 1,
    }
    cell = next(c for c in report.cells if (c.r, c.f) == (1, 1))  # M3 and M5
    assert (cell.monetary_fen, cell.profit_fen) == (500 * YUAN, 100 * YUAN)
    assert [(s.score, s.members) for s in report.r_scores] == [
        (5, 1),
        (4, 1),
        (3, 1),
        (2, 1),
        (1, 2),
    ]
    assert [(s.score, s.members) for s in report.m_scores] == [
        (5, 1),
        (4, 1),
        (3, 1),
        (2, 1),
        (1, 2),
    ]
    # Best first by R + F + M: M1 (13), M4 (10), M2 (9), M6 (5), M3 (4), M5 (3).
    names = {v: k for k, v in ids.items()}
    assert [names[r.member_id] for r in report.rows] == ["M1", "M4", "M2", "M6", "M3", "M5"]
    # Narrowed to a period: only the members who bought in it.
    spring = await rfm_report(
        period(start=date(2026, 1, 1), end=date(2026, 3, 31)), 5, limit=10, offset=0
    )
    assert [names[r.member_id] for r in spring.rows] == ["M4", "M3"] and spring.members == 2
    assert {(c.r, c.f): c.members for c in spring.cells} == {(2, 4): 1, (1, 1): 1}
    second = await rfm_report(
        period(start=date(2026, 1, 1), end=date(2026, 3, 31)), 5, limit=1, offset=1
    )
    assert [names[r.member_id] for r in second.rows] == ["M3"] and second.members == 2


async def test_classes_with_the_changes_of_the_period() -> None:
    ids = await build_consumers()
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    await record_purchase(
        member_id=ids["M2"],
        order_id="C-more",
        amount_fen=3_000 * YUAN,
        items=[PurchaseLine("BAIJIU-500", 1, 3_000 * YUAN, 1_000 * YUAN)],
        now=NOW + timedelta(hours=12),
        programme=PROGRAMME,
    )
    tomorrow = NOW + timedelta(days=1)
    await refresh_values(tomorrow.date(), tomorrow, PROGRAMME)
    flt = build_filter(today=tomorrow.date(), tz=TZ, months=12)
    report = await classes_report(flt, change=ChangeKind.MOVED, limit=10, offset=0)
    assert report.as_of == tomorrow.date()
    summary = {c.value_class: (c.members, c.profit_fen) for c in report.classes}
    # A: M2 2,380 + M4 1,520 + M1 1,404 = 5,304 yuan; C: M3 100, M5 and M6 unknown.
    assert summary == {"A": (3, 5_304 * YUAN), "C": (3, 100 * YUAN)}
    assert next(c for c in report.classes if c.value_class == "A").profit_share == round(
        5_304 / 5_404, 6
    )
    assert [(c.from_class, c.to_class, c.members) for c in report.changes] == [
        (None, "A", 2),
        (None, "B", 1),
        (None, "C", 3),
        ("B", "A", 1),
    ]
    [row] = report.rows
    assert (row.member_id, row.day, row.from_class, row.to_class) == (
        ids["M2"],
        tomorrow.date(),
        "B",
        "A",
    )
    assert row.current_class == "A" and row.name == "M2"
    down = await classes_report(flt, change=ChangeKind.DOWN, limit=10, offset=0)
    assert down.rows == []
    new = await classes_report(flt, change=ChangeKind.NEW, limit=10, offset=0)
    assert len(new.rows) == 6


async def test_quadrants_and_the_potential_key_customers() -> None:
    ids = await build_consumers()
    await refresh_values(NOW.date(), NOW, PROGRAMME)
    report = await quadrants_report(period(), quadrant=None, limit=10, offset=0)
    assert [(q.quadrant, q.members, q.rising, q.near_tier) for q in report.quadrants] == [
        ("grow", 1, 0, 1),
        ("keep", 1, 0, 0),
        ("develop", 2, 2, 0),
        ("economise", 2, 0, 0),
    ]
    develop = await quadrants_report(period(), quadrant=Quadrant.DEVELOP, limit=10, offset=0)
    names = {v: k for k, v in ids.items()}
    # Known profit first (M2's 500), the unknown (M6) after.
    assert [names[r.member_id] for r in develop.rows] == ["M2", "M6"]
    assert develop.rows[0].potential == "rising" and develop.rows[1].profit_fen is None
    # Narrowed to a period: only the members who bought in it, counted and listed alike.
    spring = await quadrants_report(
        period(start=date(2026, 1, 1), end=date(2026, 3, 31)), quadrant=None, limit=10, offset=0
    )
    assert sum(q.members for q in spring.quadrants) == 2
    assert {names[r.member_id] for r in spring.rows} == {"M3", "M4"}
    profits = [r.profit_fen for r in spring.rows]
    assert profits == sorted(profits, key=lambda p: (p is None, -(p or 0)))
