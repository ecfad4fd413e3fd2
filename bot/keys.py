"""Every Redis key and expiry, in one place.

All keys start with the process's prefix (REDIS_PREFIX, `clubbot` by default) and a colon, the
queue's stream too (`bot.queue`), so one Redis can serve several deployments, or a running bot
and a test suite, without one reading or consuming the other's keys, and can be inspected and
cleared per prefix. Every key that is not a lock or a counter window carries an expiry.
"""

from __future__ import annotations

import re

DEFAULT_PREFIX = "clubbot"
PREFIX_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
"""What REDIS_PREFIX may be: no colon, no glob character (a prefix is cleared by pattern)."""

_prefix = DEFAULT_PREFIX


def use_prefix(prefix: str) -> None:
    """Set the prefix of every key this process builds: once, at start-up, from the settings
    (`bot.resources`, `bot.kv.open_store`), before any key is built."""
    global _prefix
    if not PREFIX_SHAPE.match(prefix):
        raise ValueError(f"not a Redis key prefix: {prefix!r}")
    _prefix = prefix


def prefix() -> str:
    return _prefix


def pattern() -> str:
    """Every key of this prefix, for SCAN."""
    return f"{_prefix}:*"


# Callback de-duplication: WeChat retries a message three times over ~15 s.
DEDUP_TTL_S = 60
"""How long a finished reply is kept for a late retry."""
DEDUP_RUNNING_TTL_S = 30
"""How long a `running` marker lives if its process dies before finishing."""

# Conversation state (multi-step dialogs).
STATE_TTL_S = 30 * 60

# Per-member serialisation of handlers.
MEMBER_LOCK_TTL_S = 30
MEMBER_LOCK_WAIT_S = 3.5
"""The default wait for a member's lock. The callback waits less: until its reply budget
(REPLY_BUDGET_SECONDS) less `BUSY_REPLY_ROOM_S`, so a "busy" notice is always the passive reply
(see `lock_wait`)."""
BUSY_REPLY_ROOM_S = 0.5
"""Kept free inside the reply budget after the lock wait, to render and answer the busy notice."""
BUSY_NOTICE_TTL_S = 60
"""A member gets at most one "busy" notice in this many seconds; later busy messages get none."""


def lock_wait(reply_budget_s: float) -> float:
    """How long the callback waits for a member's lock: the budget less the room for the reply
    (at most half the budget, for very short budgets)."""
    return reply_budget_s - min(BUSY_REPLY_ROOM_S, reply_budget_s / 2)


# Access token (its refresh lock lasts as long as a call to WeChat may: bot.wechat.token).
FORCE_REFRESH_INTERVAL_S = 30


def dedup(message_key: str) -> str:
    return f"{_prefix}:dedup:{message_key}"


def state(openid: str) -> str:
    return f"{_prefix}:state:{openid}"


def member_lock(openid: str) -> str:
    return f"{_prefix}:lock:member:{openid}"


def busy_notice(openid: str) -> str:
    """Present while a member has had a busy notice in the last `BUSY_NOTICE_TTL_S` seconds."""
    return f"{_prefix}:busy:{openid}"


def access_token(appid: str) -> str:
    return f"{_prefix}:token:{appid}"


def access_token_lock(appid: str) -> str:
    return f"{_prefix}:token-lock:{appid}"


def force_refresh_guard(appid: str) -> str:
    return f"{_prefix}:token-force:{appid}"


def job_run(job: str, day: str) -> str:
    return f"{_prefix}:job:{job}:{day}"


# Scheduled jobs: the lock is refreshed while the job runs, so a killed run frees it soon.
JOB_LOCK_TTL_S = 60
OUTBOX_DISPATCH_LOCK_TTL_S = 50
OUTBOX_WATERMARK_TTL_S = 7 * 24 * 3600


def outbox_dispatch_lock() -> str:
    return f"{_prefix}:outbox:dispatch-lock"


def outbox_requeue_lock() -> str:
    """Held by the queue worker feeding again what the database owes after a lost queue."""
    return f"{_prefix}:outbox:requeue-lock"


def outbox_watermark() -> str:
    """Up to when rows with a `not_before` have been handed to the queue workers."""
    return f"{_prefix}:outbox:watermark"


def queue() -> str:
    """The taskiq stream the outbox hands due rows to the queue workers on."""
    return f"{_prefix}:outbox"


def deliveries() -> str:
    """The hash of delivery outcomes `/metrics` reads (`bot.metrics`)."""
    return f"{_prefix}:metrics:outbox_deliveries"


def console(name: str) -> str:
    """A staff console key (`console.auth.sessions`): `session:<digest>`, `flash:<digest>`."""
    return f"{_prefix}:console:{name}"


def rate_window(name: str, subject: str, window: str) -> str:
    return f"{_prefix}:rate:{name}:{subject}:{window}"


def pace(name: str) -> str:
    """A rate shared by every sender (`bot.pacing`): expires a minute after its last use."""
    return f"{_prefix}:pace:{name}"
