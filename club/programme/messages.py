"""The placeholders each programme message (`model.Messages`) may use, checked at load time.

Each message allows a fixed set of `{placeholders}`; the loader checks every text against it, so
a typo in a CLUB_CONFIG file is a load error naming the key instead of a failed send months later.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter

from club.rules.programme import ProgrammeError
from club.rules.wording import fill

# Message -> its placeholders, each with a sample value of the type the sender passes (used to
# try the text once at load time, which also catches bad format specs such as {points:x}).
PLACEHOLDERS: Mapping[str, Mapping[str, object]] = {
    "points_expiry": {"points": 80, "date": "2027-12-31", "year": 2027, "month": 12, "day": 31},
    "tier_upgrade": {"tier": "Gold"},
    "tier_downgrade": {"tier": "Silver"},
    "tier_regain": {"tier": "Gold", "amount": 10000, "months": 12},
    "purchase_upgrade": {"tier": "Gold"},
    "points_earned": {"points": 120, "balance": 680, "amount": "120", "order": "A1001"},
    "points_reversed": {"points": 60, "balance": 620, "amount": "60", "order": "A1001"},
    "points_adjusted": {"change": "+100", "points": 100, "balance": 780, "reason": "补录"},
    "voucher_expired": {"reward": "品鉴杯", "code": "K7P2-9QX4", "points": 0},
    "ticket_answer": {"text": "您好，我们已为您补发积分。"},
    "ticket_closed": {},
    "voucher_expired_refunded": {"reward": "品鉴杯", "code": "K7P2-9QX4", "points": 500},
}
LANGUAGES = ("zh", "en")

OPTIONAL: Mapping[str, Mapping[str, str]] = {
    "points_earned": {
        "zh": "感谢惠顾！本次消费{amount}元，获得{points}积分，当前积分{balance}。",
        "en": "Thank you for your purchase of {amount} yuan: {points:point|points} earned, "
        "{balance} in all.",
    },
    "points_reversed": {
        "zh": "您的订单{order}退货{amount}元，扣回{points}积分，当前积分{balance}。",
        "en": "A return of {amount} yuan (order {order}) took back {points:point|points}: "
        "{balance} left.",
    },
    "points_adjusted": {
        "zh": "您的积分已调整{change}（{reason}），当前积分{balance}。",
        "en": "Your points were adjusted by {change} ({reason}); your balance is {balance}.",
    },
    "ticket_answer": {
        "zh": "【会员服务】{text}",
        "en": "[Member service] {text}",
    },
    "ticket_closed": {
        "zh": "您的人工服务已结束，感谢您的耐心。如需帮助，随时发送“人工”。",
        "en": 'Your conversation with our staff has ended. Send "human" any time you need us.',
    },
    "voucher_expired": {
        "zh": "您兑换的{reward}（券码{code}）已过期。",
        "en": "Your voucher for {reward} ({code}) has expired.",
    },
    "voucher_expired_refunded": {
        "zh": "您兑换的{reward}（券码{code}）已过期，{points}积分已退回您的账户。",
        "en": "Your voucher for {reward} ({code}) has expired; you got {points:point|points} back.",
    },
}
"""Messages a programme file may leave out (added after programmes were written): these texts
are used when it does."""


BIRTHDAY_PLACEHOLDERS: Mapping[str, object] = {"name": "王先生", "gift": 200}
"""What a birthday wish ([birthday.text_zh], [birthday.text_en]) may use."""


def check_text(key: str, message: str, text: str) -> None:
    """Raise ProgrammeError naming `key` if the text uses a placeholder `message` does not have."""
    check_placeholders(key, text, PLACEHOLDERS[message])


def check_placeholders(key: str, text: str, allowed: Mapping[str, object]) -> None:
    """Raise ProgrammeError naming `key` if the text uses a placeholder not in `allowed`, or
    cannot be filled with its sample values (a bad format spec such as {points:x})."""
    names = ", ".join("{" + name + "}" for name in sorted(allowed))
    try:
        fields = [name for _, name, _, _ in Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ProgrammeError(f"{key}: {exc} (write a literal brace as {{{{ or }}}})") from None
    for name in fields:
        if name not in allowed:
            shown = "{" + name + "}" if name else "{} (a placeholder needs a name)"
            raise ProgrammeError(f"{key}: unknown placeholder {shown} (allowed: {names})")
    try:
        fill(text, allowed)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ProgrammeError(f"{key}: cannot be filled in: {exc!r}") from None
