"""The bottle-code limits of the programme: failed attempts per hour and per day."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from club.programme import ProgrammeError, load_programme, parse_programme
from club.programme.demo import DEMO_TOML


def _data(**limits: Any) -> dict[str, Any]:
    data = tomllib.loads(DEMO_TOML)
    data["bottle_codes"].update(limits)
    return data


def test_demo_limits() -> None:
    limits = load_programme(None).bottle_codes
    assert (limits.per_hour, limits.per_day) == (10, 30)
    assert (limits.failed_per_hour, limits.failed_per_day) == (5, 10)


def test_failed_limits_are_optional() -> None:
    data = tomllib.loads(DEMO_TOML)
    del data["bottle_codes"]["failed_per_hour"], data["bottle_codes"]["failed_per_day"]
    limits = parse_programme(data).bottle_codes
    assert (limits.failed_per_hour, limits.failed_per_day) == (5, 10)


def test_failed_limits_are_read() -> None:
    limits = parse_programme(_data(failed_per_hour=3, failed_per_day=7)).bottle_codes
    assert (limits.failed_per_hour, limits.failed_per_day) == (3, 7)


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        ({"failed_per_hour": 0}, "bottle_codes.failed_per_hour: 0 is out of range"),
        ({"failed_per_day": -1}, "bottle_codes.failed_per_day: -1 is out of range"),
        ({"failed_per_hour": "5"}, "bottle_codes.failed_per_hour: expected an integer"),
        ({"failed_per_day": True}, "bottle_codes.failed_per_day: expected an integer"),
        (
            {"failed_per_hour": 8, "failed_per_day": 4},
            "bottle_codes.failed_per_day: 4 is below failed_per_hour (8)",
        ),
    ],
)
def test_errors_name_the_key(limits: dict[str, Any], named: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(_data(**limits))
    assert named in str(caught.value)
