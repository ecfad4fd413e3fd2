"""What the member-facing dialogs share: answer words, step freshness, the join invitation.

A dialog's state expires in the store after `STATE_TTL_S` without a step. Each step also records
when it was taken by the club's clock, and a step older than the expiry counts as gone even if
the store still holds it, so "within its expiry" means the same thing on every backend and in
tests that move the clock.
"""

from __future__ import annotations

from bot.fsm import Scalar
from bot.keys import STATE_TTL_S
from bot.messages import normalise
from bot.replies import Reply, TextReply
from bot.router import Context
from handlers.texts import t

# Each step accepts what its prompt asks for, in either language (a member may switch language
# in the middle of a dialog), and nothing else: consent and erasure are not given by an "ok".
AGREE = frozenset({"同意", "agree"})
CONFIRM = frozenset({"确认", "confirm"})
SKIP = frozenset({"跳过", "skip"})
JOIN_WORDS = ("入会", "加入会员", "join")

_AT = "at"
"""Dialog data key: when the last step was taken (POSIX seconds, club clock)."""


def said(ctx: Context, words: frozenset[str]) -> bool:
    """The member's text is one of `words` (case and full-width folded)."""
    return normalise(ctx.text) in words


async def enter(ctx: Context, state: str, **data: Scalar) -> None:
    """Go to `state` with `data` (replacing the old data), stamped with the time of this step."""
    await ctx.state.set(state, **data, **{_AT: ctx.now.timestamp()})


async def live_data(ctx: Context) -> dict[str, Scalar] | None:
    """The dialog's data, or None (and the state cleared) when its last step is too old."""
    data = await ctx.state.data()
    at = data.pop(_AT, None)
    data.pop("lang", None)  # dialogs saved before the member's language was kept on the member
    if not isinstance(at, int | float) or ctx.now.timestamp() - at > STATE_TTL_S:
        await ctx.state.clear()
        return None
    return data


def invite_to_join(ctx: Context) -> Reply:
    """For a feature that needs membership, asked by someone who has not joined."""
    return TextReply(t("join_first", ctx.lang, bonus=ctx.deps.programme.earning.welcome_bonus))


def expired(ctx: Context, word_key: str) -> Reply:
    """A step that came after its dialog expired: nothing was done; how to start again."""
    return TextReply(t("dialog_expired", ctx.lang, again=t(word_key, ctx.lang)))
