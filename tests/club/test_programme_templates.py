"""The programme's template mapping, checked when it loads: a bad one is refused with the
announcement's and the field's names, so a template message never goes out saying nothing."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from club.messaging.message import field_limit, fit, template
from club.programme import ProgrammeError, load_programme, parse_programme
from club.programme.demo import DEMO_TOML


def with_templates(**tables: Any) -> dict[str, Any]:
    data = tomllib.loads(DEMO_TOML)
    data["templates"] = tables
    return data


def test_the_demo_maps_every_announcement() -> None:
    programme = load_programme(None)
    mapping = programme.template_for("tier_upgrade")
    assert mapping is not None and mapping.template_id == "demo-tmpl-tier-change"
    assert mapping.render({"tier": "金卡", "date": "2026年12月4日", "content": ""}) == {
        "thing1": "金卡",
        "time2": "2026年12月4日",
        "thing3": "新等级权益已为您开启",
    }


def test_a_mapping_that_misses_what_its_announcement_must_tell_is_refused() -> None:
    data = with_templates(tier_upgrade={"id": "T1", "fields": {"time2": "{date}"}})
    with pytest.raises(ProgrammeError) as refused:
        parse_programme(data)
    message = str(refused.value)
    assert message.startswith("templates.tier_upgrade.fields:")
    assert "announcement 'tier_upgrade' must tell {tier}" in message
    assert "fields: time2" in message


def test_points_expiry_must_tell_both_the_points_and_the_date() -> None:
    data = with_templates(points_expiry={"id": "T2", "fields": {"number1": "{points}"}})
    with pytest.raises(ProgrammeError, match=r"must tell \{date\}"):
        parse_programme(data)


def test_content_carries_everything_an_announcement_must_tell() -> None:
    data = with_templates(tier_upgrade={"id": "T1", "fields": {"keyword1": "{content}"}})
    mapping = parse_programme(data).template_for("tier_upgrade")
    assert mapping is not None and mapping.fields == (("keyword1", "{content}"),)


@pytest.mark.parametrize(
    ("tables", "key", "says"),
    [
        (
            {"tier_upgrade": {"id": "T", "fields": {"thing1": "{tierr}"}}},
            "templates.tier_upgrade.fields.thing1",
            "{tierr} is not a value of announcement",
        ),
        (
            {"birthdays": {"id": "T", "fields": {"thing1": "{name}"}}},
            "templates.birthdays",
            "not an announcement the club makes",
        ),
        ({"reply": {"fields": {"thing1": "{content}"}}}, "templates.reply.id", "template id"),
        ({"reply": {"id": "T", "fields": {}}}, "templates.reply.fields", "the template's fields"),
        (
            {"reply": {"id": "T", "fields": {"thing 1": "{content}"}}},
            "templates.reply.fields.thing 1",
            "letters, digits and _",
        ),
        (
            {"reply": {"id": "T", "fields": {"thing1": "{content"}}},
            "templates.reply.fields.thing1",
            "literal brace",
        ),
        (
            {"reply": {"id": "T", "url": "http://x", "fields": {"thing1": "{content}"}}},
            "templates.reply.url",
            "https://",
        ),
        (
            {"reply": {"id": "T", "colour": "red", "fields": {"thing1": "{content}"}}},
            "templates.reply.colour",
            "only id, fields and url",
        ),
    ],
)
def test_bad_mappings_are_refused_naming_the_key(
    tables: dict[str, Any], key: str, says: str
) -> None:
    with pytest.raises(ProgrammeError) as refused:
        parse_programme(with_templates(**tables))
    assert str(refused.value).startswith(f"{key}:")
    assert says in str(refused.value)


def test_the_old_template_ids_by_kind_are_refused_with_the_way_forward() -> None:
    data = tomllib.loads(DEMO_TOML)
    data["delivery"]["templates"] = {"birthday": "T"}
    with pytest.raises(ProgrammeError, match=r"^delivery\.templates: .*\[templates\] table"):
        parse_programme(data)


def test_the_points_of_an_expired_voucher_are_told_by_their_own_template() -> None:
    """`voucher_expired` goes when no points came back: a mapping that tells {points} there
    (`已过期，退回0积分`, as the demo's did) is refused, naming the announcement that tells them."""
    fields = {"thing1": "{reward}", "thing3": "已过期，退回{points}积分"}
    data = with_templates(voucher_expired={"id": "T", "fields": fields})
    with pytest.raises(ProgrammeError) as refused:
        parse_programme(data)
    assert str(refused.value) == (
        "templates.voucher_expired.fields.thing3: {points} is no longer a value of announcement "
        "'voucher_expired': map [templates.voucher_expired_refunded] to tell it"
    )
    data = with_templates(voucher_expired_refunded={"id": "T", "fields": fields})
    assert parse_programme(data).template_for("voucher_expired_refunded") is not None


def test_without_templates_announcements_go_by_customer_service_only() -> None:
    data = tomllib.loads(DEMO_TOML)
    del data["templates"]
    assert parse_programme(data).templates == ()


def test_values_are_cut_to_what_each_new_style_field_type_takes() -> None:
    assert (field_limit("thing12"), field_limit("phrase3"), field_limit("keyword1")) == (20, 5, 200)
    assert fit("一二三四五六", 5) == "一二三四…"
    long = template("T", {"thing1": "醇" * 30, "phrase2": "很好很好很好", "time3": "2026年12月4日"})
    assert long.fields == {
        "thing1": "醇" * 19 + "…",
        "phrase2": "很好很好…",
        "time3": "2026年12月4日",
    }
