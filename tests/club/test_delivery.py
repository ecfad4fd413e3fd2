"""Delivery rules: quiet hours, the window and its allowance, the template fallback, who is never
messaged."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from club.messaging.keys import greeting_key
from club.messaging.plan import (
    Channel,
    Contact,
    DeliveryRules,
    Plan,
    Planner,
    QuietHours,
    plan_delivery,
    window_closed,
    window_open,
)

TZ = ZoneInfo("Asia/Shanghai")
RULES = DeliveryRules()
TEMPLATED = frozenset({"birthday"})
"""In these tests the programme maps a template to birthdays only."""


def plan_for(contact: Contact, kind: str, rules: DeliveryRules, now: datetime) -> Plan:
    return plan_delivery(contact, kind, rules, now, has_template=kind in TEMPLATED)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def wrote(when: datetime, *sent: datetime) -> Contact:
    """A member whose last action was a message at `when`; customer-service sends at `sent`."""
    return Contact("active", when, last_message_at=when, custom_sent=sent)


def clicked(when: datetime, *sent: datetime) -> Contact:
    """A member who never wrote and last clicked a menu (or scanned, or followed) at `when`."""
    return Contact("active", when, custom_sent=sent)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(23, 10), at(23, 10)),  # daytime: now
        (at(23, 20, 59), at(23, 20, 59)),
        (at(23, 21), at(24, 9)),  # evening: tomorrow 09:00
        (at(23, 23, 30), at(24, 9)),
        (at(24, 3), at(24, 9)),  # small hours: this morning 09:00
        (at(24, 8, 59), at(24, 9)),
        (at(24, 9), at(24, 9)),
    ],
)
def test_quiet_hours_wait_until_nine(now: datetime, expected: datetime) -> None:
    assert QuietHours().next_allowed(now) == expected


def test_quiet_hours_not_wrapping_midnight_and_none() -> None:
    lunch = QuietHours(time(12), time(14))
    assert lunch.next_allowed(at(23, 13)) == at(23, 14)
    assert lunch.next_allowed(at(23, 15)) == at(23, 15)
    assert QuietHours(time(0), time(0)).next_allowed(at(23, 3)) == at(23, 3)


def test_quiet_hours_need_an_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        QuietHours().next_allowed(datetime(2026, 11, 23, 22))


def test_inside_the_48_hour_window_a_customer_service_message() -> None:
    plan = plan_for(wrote(at(22, 10)), "birthday", RULES, at(23, 10))
    assert plan.channel is Channel.CUSTOM
    assert plan.not_before is None and plan.skipped is None


def test_outside_the_window_the_configured_template() -> None:
    plan = plan_for(wrote(at(21, 9)), "birthday", RULES, at(23, 10))
    assert plan.channel is Channel.TEMPLATE


def test_never_interacted_goes_by_template() -> None:
    plan = plan_for(Contact("active", None), "birthday", RULES, at(23, 10))
    assert plan.channel is Channel.TEMPLATE


def test_no_window_and_no_template_is_skipped_with_the_reason() -> None:
    plan = plan_for(Contact("active", None), "festival", RULES, at(23, 10))
    assert not plan.sendable
    assert plan.skipped is not None
    assert plan.skipped.startswith("skipped: no channel")
    assert "festival" in plan.skipped


def test_the_window_is_judged_when_quiet_hours_end() -> None:
    # Queued at 22:00, sent at 09:00 tomorrow: a window opened yesterday at 23:00 is still open
    # then; one opened yesterday at 08:00 has closed by then.
    plan = plan_for(wrote(at(22, 23)), "birthday", RULES, at(23, 22))
    assert plan.channel is Channel.CUSTOM and plan.not_before == at(24, 9)
    plan = plan_for(wrote(at(22, 8)), "birthday", RULES, at(23, 22))
    assert plan.channel is Channel.TEMPLATE and plan.not_before == at(24, 9)


def test_window_closing_within_the_margin_counts_as_closed() -> None:
    contact = wrote(at(23, 10) - timedelta(hours=47, minutes=50))
    assert plan_for(contact, "birthday", RULES, at(23, 10)).channel is Channel.TEMPLATE


def test_window_message_allowance_used_up_falls_back_to_template() -> None:
    rules = DeliveryRules(messages_after_message=3)
    fresh = wrote(at(23, 0), at(23, 1), at(23, 2))
    used = wrote(at(23, 0), at(23, 1), at(23, 2), at(23, 3))
    assert plan_for(fresh, "birthday", rules, at(23, 10)).channel is Channel.CUSTOM
    assert plan_for(used, "birthday", rules, at(23, 10)).channel is Channel.TEMPLATE


def test_wrote_ten_hours_ago_five_sends_since_means_template() -> None:
    # WeChat's allowance since June 2023: five customer-service messages after a message.
    wrote_at = at(23, 0)
    sent = tuple(wrote_at + timedelta(hours=h) for h in range(1, 6))
    assert plan_for(wrote(wrote_at, *sent[:4]), "birthday", RULES, at(23, 10)).channel is (
        Channel.CUSTOM
    )
    plan = plan_for(wrote(wrote_at, *sent), "birthday", RULES, at(23, 10))
    assert plan.channel is Channel.TEMPLATE
    no_template = plan_for(wrote(wrote_at, *sent), "festival", RULES, at(23, 10))
    assert no_template.skipped is not None
    assert "allowance used: 5 of 5" in no_template.skipped and "festival" in no_template.skipped


def test_sends_before_the_latest_message_do_not_count() -> None:
    # Five sends used up the window of the 23rd's message; writing again opens a fresh one.
    sent = tuple(at(23, h) for h in range(1, 6))
    assert plan_for(wrote(at(23, 0), *sent), "birthday", RULES, at(23, 10)).channel is (
        Channel.TEMPLATE
    )
    plan = plan_for(wrote(at(23, 8), *sent), "birthday", RULES, at(23, 10))
    assert plan.channel is Channel.CUSTOM


def test_a_click_opens_a_short_window_with_fewer_messages() -> None:
    # Default rules (WeChat's): three messages within one minute of a click, scan or follow.
    assert window_open(clicked(at(23, 10)), RULES, at(23, 10)) is False  # the margin is longer
    assert plan_for(clicked(at(23, 9)), "birthday", RULES, at(23, 10)).channel is (Channel.TEMPLATE)
    # With a programme that keeps an event's window open longer, its allowance is the smaller.
    long_events = DeliveryRules(window_after_event=timedelta(hours=48))
    two, three = (at(23, 9, 1), at(23, 9, 2)), (at(23, 9, 1), at(23, 9, 2), at(23, 9, 3))
    assert window_open(clicked(at(23, 9), *two), long_events, at(23, 10))
    assert not window_open(clicked(at(23, 9), *three), long_events, at(23, 10))
    assert window_open(wrote(at(23, 9), *three), long_events, at(23, 10))
    reason = window_closed(clicked(at(23, 9), *three), long_events, at(23, 10))
    assert reason is not None and "3 of 3" in reason and "click" in reason


def test_a_later_click_keeps_the_message_window() -> None:
    # Wrote at 00:00 (two sends since), clicked at 09:00: the message's allowance still holds.
    contact = Contact(
        "active", at(23, 9), last_message_at=at(23, 0), custom_sent=(at(23, 1), at(23, 2))
    )
    assert plan_for(contact, "birthday", RULES, at(23, 10)).channel is Channel.CUSTOM
    # And the click gives no message allowance of its own for later.
    assert plan_for(clicked(at(23, 9)), "birthday", RULES, at(23, 10)).channel is (Channel.TEMPLATE)


@pytest.mark.parametrize("status", ["unfollowed", "blocked", "deleted"])
def test_unfollowed_blocked_deleted_never_messaged(status: str) -> None:
    plan = plan_for(
        Contact(status, at(23, 9), last_message_at=at(23, 9)), "birthday", RULES, at(23, 10)
    )
    assert not plan.sendable
    assert plan.skipped == f"skipped: member {status}"


def test_unreachable_member_not_messaged() -> None:
    plan = plan_for(
        Contact("active", at(23, 9), unreachable=True, last_message_at=at(23, 9)),
        "birthday",
        RULES,
        at(23, 10),
    )
    assert plan.skipped == "skipped: member unreachable"


def test_one_greeting_key_per_member_and_day() -> None:
    day = date(2026, 11, 23)
    assert greeting_key(7, day) == "greeting:7:2026-11-23"
    assert greeting_key(7, day) != greeting_key(7, day + timedelta(days=1))


def test_rules_from_the_programme() -> None:
    from club.messaging.plan import delivery_rules
    from club.programme import load_programme

    rules = delivery_rules(load_programme(None))
    assert rules.quiet == QuietHours(time(21), time(9))
    assert rules.window == timedelta(hours=48)
    assert rules.marketing_per_week == 3
    assert (rules.messages_after_message, rules.messages_after_event) == (5, 3)
    assert rules.window_after_event == timedelta(minutes=1)


_times = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=4 * 24 * 60).map(lambda m: at(20, 0) + timedelta(minutes=m)),
)


@settings(max_examples=400, deadline=None)
@given(
    status=st.sampled_from(["active", "active", "blocked"]),
    unreachable=st.booleans(),
    event=_times,
    message=_times,
    sent=st.lists(
        st.integers(min_value=0, max_value=4 * 24 * 60).map(
            lambda m: at(20, 0) + timedelta(minutes=m)
        ),
        max_size=7,
    ),
    now_minutes=st.integers(min_value=0, max_value=4 * 24 * 60),
    kind=st.sampled_from(["birthday", "festival"]),
)
def test_the_batch_planner_decides_as_plan_delivery_and_window_open_as_window_closed(
    status: str,
    unreachable: bool,
    event: datetime | None,
    message: datetime | None,
    sent: list[datetime],
    now_minutes: int,
    kind: str,
) -> None:
    contact = Contact(status, event, unreachable, message, tuple(sorted(sent)))
    now = at(20, 0) + timedelta(minutes=now_minutes)
    for at_ in (now, now + timedelta(hours=13)):
        assert window_open(contact, RULES, at_) is (window_closed(contact, RULES, at_) is None)
    planner = Planner(RULES, now)
    assert planner.plan(contact, kind, has_template=kind in TEMPLATED) == _plan_delivery_as_written(
        contact, kind, RULES, now
    )
    assert planner.plan(contact, kind, has_template=kind in TEMPLATED) == plan_for(
        contact, kind, RULES, now
    )


def _plan_delivery_as_written(
    contact: Contact, kind: str, rules: DeliveryRules, now: datetime
) -> Plan:
    """plan_delivery as it was before the batch planner (the reference for the test above)."""
    if contact.status != "active":
        return Plan(
            None, skipped=f"skipped: member {contact.status}", reason=f"member_{contact.status}"
        )
    if contact.unreachable:
        return Plan(None, skipped="skipped: member unreachable", reason="unreachable")
    send_at = rules.quiet.next_allowed(now)
    not_before = None if send_at == now else send_at
    closed = window_closed(contact, rules, send_at)
    if closed is None:
        return Plan(Channel.CUSTOM, not_before=not_before)
    if kind in TEMPLATED:
        return Plan(Channel.TEMPLATE, not_before=not_before)
    skipped = f"skipped: no channel ({closed} and no template for {kind!r})"
    return Plan(None, skipped=skipped, reason="no_channel")


# --- the frequency cap ---


def test_marketing_beyond_the_weekly_cap_is_skipped_with_the_reason() -> None:
    rules = DeliveryRules(marketing_per_week=3)
    wrote_today = Contact("active", at(23, 9), last_message_at=at(23, 9), marketing_recent=3)
    plan = plan_delivery(wrote_today, "campaign", rules, at(23, 10), has_template=True)
    assert not plan.sendable
    assert plan.skipped == ("skipped: frequency cap (3 marketing messages in 7 days, at most 3)")
    below = dataclasses.replace(wrote_today, marketing_recent=2)
    assert plan_delivery(below, "festival", rules, at(23, 10), has_template=True).sendable


@pytest.mark.parametrize("kind", ["reply", "tier_change", "points_change", "voucher", "ticket"])
def test_service_messages_are_never_capped(kind: str) -> None:
    rules = DeliveryRules(marketing_per_week=0)  # no marketing at all
    flooded = Contact("active", at(23, 9), last_message_at=at(23, 9), marketing_recent=50)
    assert plan_delivery(flooded, kind, rules, at(23, 10), has_template=False).sendable
    assert not plan_delivery(flooded, "birthday", rules, at(23, 10), has_template=True).sendable
