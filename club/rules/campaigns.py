"""A campaign's lifecycle and its holdout draw: pure rules, standard library only.

Lifecycle (one-off): draft -> scheduled -> sending -> done; scheduled and sending may be paused
(and resumed to where they were), and anything not finished may be cancelled. An automation
(`daily_at` set) is scheduled while it is active: each day's run sends and the campaign stays
scheduled; it ends only by cancellation.

The holdout is drawn per member from the campaign's seed with an integer hash that SQLite and
PostgreSQL compute alike (`HOLDOUT_SQL`): products stay below 2^62, so neither overflows, and
the same seed and member always give the same draw. `held_out` is the same function in Python
(a test holds the two together).
"""

from __future__ import annotations

from enum import StrEnum


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class RunStatus(StrEnum):
    SENDING = "sending"
    """Chunks are being sent (customer service and template messages)."""
    MASS = "mass"
    """The rest goes by one mass send: tagging, sending, waiting for WeChat's outcome."""
    DONE = "done"
    CANCELLED = "cancelled"


class RecipientState(StrEnum):
    PENDING = "pending"
    """Frozen, not yet handled."""
    HOLDOUT = "holdout"
    """Held out: gets nothing (the control group)."""
    MESSAGED = "messaged"
    """Its outbox row was written: the row says how it went."""
    SKIPPED = "skipped"
    """Left out, with the reason (unfollowed, frequency cap, mass-send limit, ...)."""
    MASS = "mass"
    """To go by the run's mass send."""
    MASS_SENT = "mass_sent"
    """In a mass send WeChat accepted."""
    MASS_UNKNOWN = "mass_unknown"
    """In a mass send WeChat never answered, however often it was asked: it may have reached
    them (counted as the outbox counts a message whose outcome is unknown)."""


class MassStatus(StrEnum):
    TAGGING = "tagging"
    """Tagging; once claimed for sending (`sent_at`), sending or waiting to send again."""
    SENT = "sent"
    """WeChat accepted the send; its outcome arrives as MASSSENDJOBFINISH."""
    FINISHED = "finished"
    FAILED = "failed"
    """WeChat refused it (or the campaign was cancelled first): it did not go."""
    UNKNOWN = "unknown"
    """No attempt was answered (timeouts, dropped connections): it may have gone."""


class Action(StrEnum):
    SCHEDULE = "schedule"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    FINISH = "finish"


class TransitionRefused(ValueError):
    """The campaign is not in a status that allows this."""


_ALLOWED: dict[Action, frozenset[CampaignStatus]] = {
    Action.SCHEDULE: frozenset({CampaignStatus.DRAFT}),
    Action.START: frozenset({CampaignStatus.SCHEDULED}),
    Action.PAUSE: frozenset({CampaignStatus.SCHEDULED, CampaignStatus.SENDING}),
    Action.RESUME: frozenset({CampaignStatus.PAUSED}),
    Action.CANCEL: frozenset(
        {
            CampaignStatus.DRAFT,
            CampaignStatus.SCHEDULED,
            CampaignStatus.SENDING,
            CampaignStatus.PAUSED,
        }
    ),
    Action.FINISH: frozenset({CampaignStatus.SENDING}),
}


def next_status(
    status: CampaignStatus, action: Action, *, recurring: bool, resume_to: CampaignStatus
) -> CampaignStatus:
    """The status after `action`, or TransitionRefused naming the status it is in.

    `resume_to`: where a paused campaign goes back to (scheduled, or sending when a run had
    started); a recurring campaign's run finishing leaves it scheduled for the next day.
    """
    if status not in _ALLOWED[action]:
        raise TransitionRefused(f"a {status.value} campaign cannot be {_PAST[action]}")
    if action is Action.SCHEDULE:
        return CampaignStatus.SCHEDULED
    if action is Action.START:
        return CampaignStatus.SENDING
    if action is Action.PAUSE:
        return CampaignStatus.PAUSED
    if action is Action.RESUME:
        return resume_to
    if action is Action.CANCEL:
        return CampaignStatus.CANCELLED
    return CampaignStatus.SCHEDULED if recurring else CampaignStatus.DONE


_PAST = {
    Action.SCHEDULE: "sent (scheduled)",
    Action.START: "started",
    Action.PAUSE: "paused",
    Action.RESUME: "resumed",
    Action.CANCEL: "cancelled",
    Action.FINISH: "finished",
}

BASIS = 10_000
"""Holdout shares are in basis points: 1000 = 10%."""
_PRIME = 2_147_483_647  # 2^31 - 1
_MULTIPLIER = 48_271
HOLDOUT_SQL = (
    "((((({member} % 2147483647) * 48271 + {seed}) % 2147483647) "
    "* (((({member} % 2147483647) * 48271 + {seed}) % 2147483647 + {seed}) % 2147483647) "
    "% 2147483647) % 10000) < {share}"
)
"""Whether member `{member}` is held out by seed `{seed}` at share `{share}` (basis points):
x = (member * 48271 + seed) mod p, then x * ((x + seed) mod p) mod p mod 10000 < share. The square
breaks the linear pattern consecutive member ids would otherwise show."""


def seed_range() -> tuple[int, int]:
    """Seeds are drawn from [1, p): every product stays below 2^62."""
    return 1, _PRIME - 1


def held_out(member_id: int, seed: int, share_bp: int) -> bool:
    x = ((member_id % _PRIME) * _MULTIPLIER + seed) % _PRIME
    return (x * ((x + seed) % _PRIME) % _PRIME) % BASIS < share_bp
