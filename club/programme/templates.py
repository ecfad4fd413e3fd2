"""Template messages in the programme: which template each announcement uses, and how it fills
the template's fields. Checked when the programme loads.

A brand's template messages are its own: ids issued to its Official Account and field names
such as `first`, `keyword1`, `remark` (old style) or `thing2`, `time3`, `amount4` (new style).
The programme maps each announcement the club makes to one template:

    [templates.tier_upgrade]
    id = "Xk2...your template id"
    fields = { thing1 = "{tier}", time2 = "{date}", thing3 = "新等级权益已开启" }
    # url = "https://..."   (optional: where tapping the message leads)

A field's text may use the announcement's values as `{placeholders}` (`ANNOUNCEMENTS` below).
Each announcement names the values it must tell; a mapping whose fields carry none of them is
refused, naming the announcement and the value, so that a template message never goes out
without what it was sent to say. `{content}` is the whole customer-service text in the member's
language and carries every value (for a generic notice template).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Any

from club.rules.programme import ProgrammeError, TemplateMapping
from club.rules.wording import fill


@dataclass(frozen=True)
class Announcement:
    values: Mapping[str, object]
    """Each value it offers to a template, with a sample of what is passed."""
    required: tuple[str, ...] = ()
    """Values a template must carry (or `{content}`)."""
    moved: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Values it had once that another announcement tells now: {value: that announcement}."""


_CONTENT = {"content": "会员通知", "date": "2026年12月4日"}

ANNOUNCEMENTS: Mapping[str, Announcement] = {
    "birthday": Announcement({**_CONTENT, "name": "王先生", "tier": "金卡", "gift": 200}),
    "festival": Announcement({**_CONTENT, "festival": "中秋", "gift": 100}),
    "points_expiry": Announcement(
        {**_CONTENT, "points": 80, "year": 2027, "month": 12, "day": 31},
        required=("points", "date"),
    ),
    "tier_upgrade": Announcement({**_CONTENT, "tier": "金卡"}, required=("tier",)),
    "tier_downgrade": Announcement(
        {**_CONTENT, "tier": "银卡", "regain_tier": "金卡", "amount": 10000, "months": 12},
        required=("tier",),
    ),
    "purchase_upgrade": Announcement(
        {**_CONTENT, "tier": "金卡", "points": 120, "balance": 680, "amount": "120", "order": "A1"},
        required=("tier",),
    ),
    "reply": Announcement(_CONTENT, required=("content",)),
    "points_earned": Announcement(
        {**_CONTENT, "points": 120, "balance": 680, "amount": "120", "order": "A1001"},
        required=("points", "balance"),
    ),
    "points_reversed": Announcement(
        {**_CONTENT, "points": 60, "balance": 620, "amount": "60", "order": "A1001"},
        required=("points", "balance"),
    ),
    "ticket_answer": Announcement({**_CONTENT, "text": "已为您补发积分"}, required=("text",)),
    "ticket_closed": Announcement(_CONTENT),
    "voucher_expired": Announcement(
        {**_CONTENT, "reward": "品鉴杯", "code": "K7P2-9QX4"},
        required=("reward",),
        moved={"points": "voucher_expired_refunded"},
    ),
    "voucher_expired_refunded": Announcement(
        {**_CONTENT, "reward": "品鉴杯", "code": "K7P2-9QX4", "points": 500},
        required=("reward", "points"),
    ),
    "points_adjusted": Announcement(
        {**_CONTENT, "change": "+100", "points": 100, "balance": 780, "reason": "补录"},
        required=("change", "balance"),
    ),
    "campaign": Announcement(
        {**_CONTENT, "name": "王先生", "tier": "gold", "campaign": "中秋品鉴"},
        required=("content",),
    ),
}
"""Every announcement the club makes, by the name the programme's [templates] table uses."""

_FIELD_NAME_MAX = 32


def parse_templates(data: Any, key: str = "templates") -> tuple[TemplateMapping, ...]:
    """The [templates] table, checked; `data` is its parsed TOML (absent: none)."""
    if data is None:
        return ()
    if not isinstance(data, Mapping):
        raise ProgrammeError(f"{key}: expected a table of announcements")
    return tuple(_mapping(name, value, f"{key}.{name}") for name, value in sorted(data.items()))


def _mapping(name: str, data: Any, key: str) -> TemplateMapping:
    spec = ANNOUNCEMENTS.get(name)
    if spec is None:
        known = ", ".join(sorted(ANNOUNCEMENTS))
        raise ProgrammeError(f"{key}: not an announcement the club makes (known: {known})")
    if not isinstance(data, Mapping):
        raise ProgrammeError(f"{key}: expected a table with id and fields")
    unknown = sorted(set(data) - {"id", "fields", "url"})
    if unknown:
        raise ProgrammeError(f"{key}.{unknown[0]}: expected only id, fields and url")
    template_id = data.get("id")
    if not isinstance(template_id, str) or not template_id.strip():
        raise ProgrammeError(f"{key}.id: expected the template id (a non-empty string)")
    url = data.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith("https://")):
        raise ProgrammeError(f"{key}.url: expected an https:// address")
    fields = data.get("fields")
    if not isinstance(fields, Mapping) or not fields:
        raise ProgrammeError(f"{key}.fields: expected a table of the template's fields")
    used: set[str] = set()
    for field, text in fields.items():
        used |= _check_field(name, spec, f"{key}.fields.{field}", field, text)
    if "content" not in used:
        for value in spec.required:
            if value not in used:
                raise ProgrammeError(
                    f"{key}.fields: announcement {name!r} must tell {{{value}}}, and no field "
                    f"carries it (fields: {', '.join(fields)}); map it to a field, or use "
                    "{content}"
                )
    return TemplateMapping(
        announcement=name,
        template_id=template_id.strip(),
        fields=tuple((str(f), str(t)) for f, t in fields.items()),
        url=url,
    )


def _check_field(
    announcement: str, spec: Announcement, key: str, field: str, text: Any
) -> set[str]:
    """The placeholders the field's text uses; ProgrammeError naming the field if it is bad."""
    if not (field.isascii() and field.replace("_", "").isalnum()) or len(field) > _FIELD_NAME_MAX:
        raise ProgrammeError(f"{key}: a template field name is letters, digits and _ (thing2)")
    if not isinstance(text, str) or not text.strip():
        raise ProgrammeError(f"{key}: expected the field's text (a non-empty string)")
    allowed = ", ".join("{" + v + "}" for v in sorted(spec.values))
    try:
        names = {n for _, n, _, _ in Formatter().parse(text) if n is not None}
    except ValueError as exc:
        raise ProgrammeError(f"{key}: {exc} (write a literal brace as {{{{ or }}}})") from None
    for placeholder in names:
        if placeholder in spec.moved:
            raise ProgrammeError(
                f"{key}: {{{placeholder}}} is no longer a value of announcement "
                f"{announcement!r}: map [templates.{spec.moved[placeholder]}] to tell it"
            )
        if placeholder not in spec.values:
            raise ProgrammeError(
                f"{key}: {{{placeholder}}} is not a value of announcement {announcement!r} "
                f"(it has: {allowed})"
            )
    try:
        fill(text, spec.values)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ProgrammeError(f"{key}: cannot be filled in: {exc!r}") from None
    return names
