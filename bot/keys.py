"""Every Redis key and expiry, in one place.

All keys start with `clubbot:` so a shared Redis can be inspected and flushed per application.
Every key that is not a lock or a counter window carries an expiry.
"""

from __future__ import annotations

PREFIX = "clubbot"

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


# Access token.
TOKEN_LOCK_TTL_S = 15
FORCE_REFRESH_INTERVAL_S = 30


def dedup(message_key: str) -> str:
    return f"{PREFIX}:dedup:{message_key}"


def state(openid: str) -> str:
    return f"{PREFIX}:state:{openid}"


def member_lock(openid: str) -> str:
    return f"{PREFIX}:lock:member:{openid}"


def busy_notice(openid: str) -> str:
    """Present while a member has had a busy notice in the last `BUSY_NOTICE_TTL_S` seconds."""
    return f"{PREFIX}:busy:{openid}"


def access_token(appid: str) -> str:
    return f"{PREFIX}:token:{appid}"


def access_token_lock(appid: str) -> str:
    return f"{PREFIX}:token-lock:{appid}"


def force_refresh_guard(appid: str) -> str:
    return f"{PREFIX}:token-force:{appid}"


def job_run(job: str, day: str) -> str:
    return f"{PREFIX}:job:{job}:{day}"


# Scheduled jobs: the lock is refreshed while the job runs, so a killed run frees it soon.
JOB_LOCK_TTL_S = 60
OUTBOX_DISPATCH_LOCK_TTL_S = 50
OUTBOX_WATERMARK_TTL_S = 7 * 24 * 3600


def outbox_dispatch_lock() -> str:
    return f"{PREFIX}:outbox:dispatch-lock"


def outbox_watermark() -> str:
    """Up to when rows with a `not_before` have been handed to the queue workers."""
    return f"{PREFIX}:outbox:watermark"


def rate_window(name: str, subject: str, window: str) -> str:
    return f"{PREFIX}:rate:{name}:{subject}:{window}"


def pace(name: str) -> str:
    """A rate shared by every sender (`bot.pacing`): expires a minute after its last use."""
    return f"{PREFIX}:pace:{name}"
