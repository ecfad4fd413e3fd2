"""A store's channel level on a past day, from its history (pure), and CSV parsing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from club.rules.channels import ChannelLevel, parse_level
from club.sales.store_csv import StoreCsvError, parse_store_csv
from club.sales.stores import LevelChange, level_at

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 1, 10, 0, tzinfo=TZ)
KA, DEALER, SHOP = ChannelLevel.KEY_ACCOUNT, ChannelLevel.DEALER, ChannelLevel.SMALL_SHOP


def change(days: int, old: ChannelLevel | None, new: ChannelLevel) -> LevelChange:
    return LevelChange(T0 + timedelta(days=days), old, new, None, None)


@pytest.mark.parametrize(
    ("history", "current", "days", "expected"),
    [
        ([], SHOP, 0, SHOP),  # no history kept: always its current level
        ([change(0, None, KA)], KA, -5, KA),  # before its creation: the level it was created at
        ([change(0, None, KA), change(30, KA, DEALER)], DEALER, 29, KA),
        ([change(0, None, KA), change(30, KA, DEALER)], DEALER, 30, DEALER),
        ([change(30, SHOP, DEALER)], DEALER, 10, SHOP),  # a store older than its history
        ([change(0, None, KA), change(5, KA, SHOP), change(9, SHOP, KA)], KA, 7, SHOP),
    ],
)
def test_level_at(
    history: list[LevelChange], current: ChannelLevel, days: int, expected: ChannelLevel
) -> None:
    assert level_at(history, current, T0 + timedelta(days=days)) is expected


def test_levels_by_code_or_chinese_name() -> None:
    assert parse_level("KEY_ACCOUNT") is KA and parse_level(" 重点客户 ") is KA
    assert parse_level("小店") is SHOP and parse_level("big") is None


def test_csv_rows_in_file_order_with_line_numbers() -> None:
    rows = parse_store_csv("region,id,channel_level,name\n华东,A1,dealer,一店\n\n,B2,小店,二店\n")
    assert [(r.line, r.id, r.region, r.channel_level) for r in rows] == [
        (2, "A1", "华东", DEALER),
        (4, "B2", None, SHOP),
    ]
    with pytest.raises(StoreCsvError) as caught:
        parse_store_csv('id,name,channel_level\nA1,"line\nbreak",dealer\n')
    assert caught.value.column == "name"
