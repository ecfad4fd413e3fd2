"""The programme's `[value]` and `[churn]` tables: defaults, shares as basis points, bad keys."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from club.programme import ProgrammeError, load_programme, parse_programme
from club.programme.demo import DEMO_TOML
from club.rules.periods import Preset


def test_demo_value_and_churn_rules() -> None:
    p = load_programme(None)
    assert p.value.point_value_fen == 2
    assert p.value.service_bp("key_account") == 1_500
    assert p.value.service_bp("consumer") == 200
    assert (p.value.pareto_share_bp, p.value.class_a_bp, p.value.class_b_bp) == (
        8_000,
        8_000,
        9_500,
    )
    assert p.value.rfm_bins == 5 and p.value.months == 12
    assert p.churn.silence_factor_pct == 200 and p.churn.min_purchases == 3
    assert p.churn.spend_drop_bp == 5_000 and p.churn.dormant_days == 180
    assert p.value.ranked_ahead == (
        Preset.LAST_MONTH,
        Preset.LAST_QUARTER,
        Preset.YEAR_TO_DATE,
        Preset.LAST_YEAR,
    )


def test_optional_keys_take_their_defaults() -> None:
    data = tomllib.loads(DEMO_TOML)
    for key in ("months", "pareto_share", "class_a_share", "class_b_share", "rfm_bins"):
        data["value"].pop(key)
    data["value"].pop("ranked_ahead")
    data.pop("churn")  # optional as a whole: the domain's defaults
    p = parse_programme(data)
    assert (p.value.pareto_share_bp, p.value.rfm_bins, p.value.months) == (8_000, 5, 12)
    assert p.value.ranked_ahead == tuple(Preset)
    assert p.churn.silence_factor_pct == 200 and p.churn.dormant_days == 180


def test_shares_as_percent_text_and_factor_with_decimals() -> None:
    data = tomllib.loads(DEMO_TOML)
    data["value"]["pareto_share"] = "75%"
    data["churn"]["silence_factor"] = 1.5
    p = parse_programme(data)
    assert p.value.pareto_share_bp == 7_500
    assert p.churn.silence_factor_pct == 150


def _broken(change: Any) -> str:
    data = tomllib.loads(DEMO_TOML)
    change(data)
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(data)
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d.pop("value"), "value: missing"),
        (lambda d: d["value"].pop("point_value_fen"), "value.point_value_fen: missing"),
        (lambda d: d["value"].update(point_value_fen=-1), "value.point_value_fen"),
        (lambda d: d["value"]["service_cost"].pop("dealer"), "value.service_cost.dealer: missing"),
        (
            lambda d: d["value"]["service_cost"].update(hypermarket=0.1),
            "value.service_cost.hypermarket: not a channel level",
        ),
        (lambda d: d["value"]["service_cost"].update(online=1.5), "value.service_cost.online"),
        (lambda d: d["value"].update(pareto_share=0.80001), "value.pareto_share: 0.80001 is finer"),
        (lambda d: d["value"].update(pareto_share=0), "value.pareto_share: 0 is out of range"),
        (lambda d: d["value"].update(pareto_share="most"), "value.pareto_share: expected a share"),
        (lambda d: d["value"].update(class_b_share=0.5), "value.class_b_share: must not be below"),
        (lambda d: d["value"].update(rfm_bins=1), "value.rfm_bins"),
        (
            lambda d: d["value"].update(ranked_ahead=["last_week"]),
            "value.ranked_ahead: 'last_week' is not a period name",
        ),
        (
            lambda d: d["value"].update(ranked_ahead=["last_year", "last_year"]),
            "value.ranked_ahead: a period is named twice",
        ),
        (lambda d: d["value"].update(ranked_ahead="last_year"), "value.ranked_ahead: expected"),
        (lambda d: d["churn"].update(silence_factor=0.5), "churn.silence_factor"),
        (lambda d: d["churn"].update(silence_factor=2.125), "churn.silence_factor"),
        (lambda d: d["churn"].update(min_purchases=2), "churn.min_purchases"),
        (lambda d: d["churn"].update(dormant_days=7), "churn.dormant_days"),
    ],
)
def test_errors_name_the_key(change: Any, named: str) -> None:
    assert named in _broken(change)


def test_no_period_ranked_ahead() -> None:
    data = tomllib.loads(DEMO_TOML)
    data["value"]["ranked_ahead"] = []
    assert parse_programme(data).value.ranked_ahead == ()


def test_a_points_value_under_campaigns_is_refused_naming_where_it_went() -> None:
    """A point has one value, `[value] point_value_fen`, for a campaign's cost and for profit;
    a file that still sets one under `[campaigns]` is told where it moved."""
    data = tomllib.loads(DEMO_TOML)
    data["campaigns"]["point_value_fen"] = 1
    with pytest.raises(ProgrammeError, match=r"campaigns.point_value_fen: moved to \[value\]"):
        parse_programme(data)
