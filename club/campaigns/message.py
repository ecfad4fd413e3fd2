"""What a campaign says, and exactly how it looks on each channel.

A campaign message is a text (Chinese, optionally English), optionally a link card that goes
instead of the text by customer service, and optionally its own template message (template id,
each field's text with `{name}`, `{tier}`, `{campaign}`, `{content}`, `{date}` placeholders).
Without a template of its own, the programme's `campaign` template is used outside the window.
A mass send carries the text (WeChat's mass send takes no link cards and no templates), with
the link's address after it when there is one.

Stored as JSON on the campaign (`to_json` / `from_json`); checked before it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from string import Formatter
from typing import Any

from club.messaging import announcements
from club.messaging.message import TEXT_LIMIT, LinkCard, Template, field_limit, fit
from club.rules.programme import Programme, TemplateMapping, Text
from club.rules.wording import fill

PLACEHOLDERS = frozenset({"name", "tier", "campaign", "content", "date"})
SAMPLE_VALUES = {"name": "王先生", "tier": "金卡", "campaign": "", "content": "", "date": ""}


class MessageError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class CampaignTemplate:
    template_id: str
    fields: tuple[tuple[str, str], ...]
    url: str | None = None


@dataclass(frozen=True)
class CampaignMessage:
    text: str
    text_en: str | None = None
    link: LinkCard | None = None
    template: CampaignTemplate | None = None

    def texts(self) -> Text:
        return Text(zh=self.text, en=self.text_en or self.text)

    def mapping(self) -> TemplateMapping | None:
        if self.template is None:
            return None
        return TemplateMapping(
            announcement="campaign",
            template_id=self.template.template_id,
            fields=self.template.fields,
            url=self.template.url,
        )

    def mass_text(self) -> str:
        if self.link is None:
            return self.text
        return f"{self.text}\n{self.link.title} {self.link.url}"


def say(
    message: CampaignMessage,
    name: str,
    programme: Programme,
    now: datetime,
    *,
    test: bool = False,
) -> announcements.Say:
    return announcements.campaign(
        programme,
        name,
        message.texts(),
        now,
        link=message.link,
        template=message.mapping(),
        test=test,
    )


def check(message: CampaignMessage) -> None:
    """Refuse what WeChat would refuse or what could not be filled in, naming the field."""
    for field, text in (("message.text", message.text), ("message.text_en", message.text_en)):
        if text is not None and not text.strip():
            raise MessageError(field, "must not be empty")
        if text is not None and len(text) > TEXT_LIMIT:
            raise MessageError(field, f"at most {TEXT_LIMIT} characters")
    link = message.link
    if link is not None and not link.url.startswith(("https://", "http://")):
        raise MessageError("message.link.url", "must be an http(s) address")
    if message.template is None:
        return
    if not message.template.fields:
        raise MessageError("message.template.fields", "a template needs its fields")
    for name, text in message.template.fields:
        where = f"message.template.fields.{name}"
        try:
            used = {n for _, n, _, _ in Formatter().parse(text) if n is not None}
        except ValueError as exc:
            raise MessageError(where, f"{exc} (write a literal brace as {{{{ or }}}})") from None
        unknown = sorted(used - PLACEHOLDERS)
        if unknown:
            allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise MessageError(where, f"{{{unknown[0]}}} is not a placeholder ({allowed})")
        try:
            fill(text, SAMPLE_VALUES)
        except (ValueError, IndexError, KeyError) as exc:
            raise MessageError(where, f"cannot be filled in: {exc!r}") from None


def rendered_template(message: CampaignMessage, values: dict[str, object]) -> Template | None:
    """The template as a member sees it (fields filled and cut to their type's length)."""
    mapping = message.mapping()
    if mapping is None:
        return None
    fields = mapping.render(values)
    return Template(
        mapping.template_id, {n: fit(v, field_limit(n)) for n, v in fields.items()}, mapping.url
    )


def to_json(message: CampaignMessage) -> dict[str, Any]:
    data: dict[str, Any] = {"text": message.text}
    if message.text_en is not None:
        data["text_en"] = message.text_en
    if message.link is not None:
        link = message.link
        data["link"] = {
            "title": link.title,
            "url": link.url,
            "description": link.description,
            "picurl": link.picurl,
        }
    if message.template is not None:
        template = message.template
        data["template"] = {
            "template_id": template.template_id,
            "fields": dict(template.fields),
            "url": template.url,
        }
    return data


def from_json(data: dict[str, Any]) -> CampaignMessage:
    link = data.get("link")
    template = data.get("template")
    return CampaignMessage(
        text=str(data["text"]),
        text_en=data.get("text_en"),
        link=LinkCard(
            title=str(link["title"]),
            url=str(link["url"]),
            description=str(link.get("description") or ""),
            picurl=str(link.get("picurl") or ""),
        )
        if link
        else None,
        template=CampaignTemplate(
            template_id=str(template["template_id"]),
            fields=tuple((str(k), str(v)) for k, v in template["fields"].items()),
            url=template.get("url"),
        )
        if template
        else None,
    )
