"""Ledger reasons: how each points movement is described, written and read in one place.

Pure: standard library only. A reason is stored as Chinese text (`购买 A-1001`), which is what
staff read in the API, the console and exports. A member reads it in their own language: `shown`
recognises every form written here (and the older forms rows already hold) and says it again in
English, so old and new rows read alike. Text no form recognises (a staff adjustment's reason,
typed by a person) is shown as it was written.

A credit cut by an earning cap carries the cap after the reason (`购买 A-1（单日积分上限 150）`),
written by `capped` and recognised by `shown` after any form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from string import Formatter

from club.rules.wording import fill

__all__ = ["FORMS", "Form", "capped", "shown", "write"]


@dataclass(frozen=True)
class Form:
    zh: str
    """How it is stored (and shown in Chinese)."""
    en: str
    """How it is shown in English (`{n:day|days}` for plurals)."""
    older: tuple[str, ...] = ()
    """Forms earlier versions stored, recognised too."""


FORMS: Mapping[str, Form] = {
    "welcome": Form("入会礼", "Welcome bonus"),
    "purchase": Form("购买 {order}", "Purchase {order}"),
    "return": Form("退货 {order}", "Return {order}"),
    "counter": Form("门店消费 {order}（入会前）", "In-store purchase {order} (before joining)"),
    "bottle_code": Form("瓶盖码 {code}", "Bottle code {code}"),
    "checkin_bonus": Form(
        "签到 连续{days}天 含连续奖励", "Check-in, {days:day|days} in a row, with the streak bonus"
    ),
    "checkin": Form("签到 连续{days}天", "Check-in, {days:day|days} in a row"),
    "redeem": Form("兑换 {reward}", "Redeemed {reward}"),
    "redeem_cancelled": Form("取消兑换 {reward}", "Redemption cancelled: {reward}"),
    "voucher_refund": Form("兑换券过期退回 {reward}", "Expired voucher returned: {reward}"),
    "expired": Form("积分过期", "Points expired"),
    # {campaign} is the campaign's name as staff wrote it.
    "campaign_bonus": Form(
        "活动奖励 {campaign}",
        "Campaign bonus: {campaign}",
        older=("活动奖励 / campaign bonus: {campaign}",),
    ),
    "birthday_gift": Form("生日礼 {year}", "Birthday gift {year}", older=("birthday gift {year}",)),
    # {festival} is the festival's Chinese name; `shown` takes the programme's names to say it in
    # English. The older form stored the English name.
    "festival_gift": Form(
        "{festival}礼 {year}", "{festival} gift {year}", older=("{festival} gift {year}",)
    ),
}

_CAPS: Mapping[str, tuple[str, str]] = {
    "order": ("单笔", "per-order"),
    "day": ("单日", "daily"),
    "month": ("单月", "monthly"),
}
_CAPPED_ZH = "（{cap}积分上限 {limit}）"
_CAPPED_EN = " ({cap} points limit: {limit})"
_CAPPED = re.compile(r"（(单笔|单日|单月)积分上限 (\d+)）$")


def write(form: str, **values: object) -> str:
    """The stored (Chinese) text of a reason: `write("purchase", order="A-1")` -> `购买 A-1`."""
    return fill(FORMS[form].zh, values)


def capped(reason: str, cap: str, limit: int) -> str:
    """A reason whose credit an earning cap (`order`, `day`, `month`) cut to `limit`."""
    return reason + fill(_CAPPED_ZH, {"cap": _CAPS[cap][0], "limit": limit})


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """A template as a whole-text pattern, each placeholder a named group."""
    parts = []
    for literal, name, _, _ in Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            parts.append(rf"(?P<{name}>\d+)" if name in ("days", "year") else rf"(?P<{name}>.+?)")
    return re.compile("".join(parts) + "$")


def _read(text: str) -> tuple[Form, dict[str, str]] | None:
    for form in FORMS.values():
        for template in (*form.older, form.zh):  # an older form may be the more specific
            found = _pattern(template).match(text)
            if found:
                return form, found.groupdict()
    return None


def shown(
    stored: str, lang: str, festival_names: Mapping[str, tuple[str, str]] | None = None
) -> str:
    """A stored reason as a member reads it in `lang` ("en", else Chinese). `festival_names`
    maps a festival's name in either language to its (Chinese, English) names."""
    body, cap = stored, None
    cut = _CAPPED.search(stored)
    if cut is not None:
        body, cap = stored[: cut.start()], cut
    read = _read(body)
    if read is not None:
        form, values = read
        words: dict[str, object] = {k: int(v) if v.isdigit() else v for k, v in values.items()}
        festival = values.get("festival")
        if festival is None:
            body = fill(form.en if lang == "en" else form.zh, words)
        elif festival_names and festival in festival_names:
            words["festival"] = festival_names[festival][1 if lang == "en" else 0]
            body = fill(form.en if lang == "en" else form.zh, words)
        # A festival the programme no longer names: the reason as it was stored.
    if cap is None:
        return body
    name = next(k for k, (zh, _) in _CAPS.items() if zh == cap.group(1))
    zh, en = _CAPS[name]
    template = _CAPPED_EN if lang == "en" else _CAPPED_ZH
    return body + fill(template, {"cap": en if lang == "en" else zh, "limit": int(cap.group(2))})
