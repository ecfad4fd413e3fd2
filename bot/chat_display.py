"""How `python -m bot chat` shows what the server sent: a passive reply, a pushed message and
where the push stands (sent, queued until when, skipped and why)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any


def describe_reply(doc: dict[str, Any]) -> str:
    if doc.get("MsgType") == "news":
        items = doc.get("Articles", {}).get("item", [])
        items = items if isinstance(items, list) else [items]
        return "\n".join(
            f"[{i.get('Title', '')}] {i.get('Description', '')} {i.get('Url', '')}".strip()
            for i in items
        )
    return str(doc.get("Content") or f"({doc.get('MsgType', 'unknown')} reply)")


def push_state(row: dict[str, Any], tz: tzinfo | None) -> str:
    """Where an outbox row stands, as the chat shows it: sent, queued (until when), skipped or
    failed (and why)."""
    status = str(row.get("status") or "")
    detail = str(row.get("last_error") or row.get("outcome") or "")
    if status in ("queued", "sending"):
        raw = row.get("not_before")
        if not raw:
            return "queued"
        until = datetime.fromisoformat(str(raw)).astimezone(tz)
        return f"queued until {until:%m-%d %H:%M}"
    if status == "sent":
        return "sent as a template message" if row.get("channel") == "template" else "sent"
    if status == "skipped":
        return "skipped: " + detail.removeprefix("skipped: ") if detail else "skipped"
    return f"{status}: {detail}" if detail else status


def describe_payload(payload: dict[str, Any]) -> str:
    kind = payload.get("msgtype")
    if kind == "text":
        return str(payload.get("text", ""))
    if kind == "news":
        return "\n".join(
            f"[{a.get('title', '')}] {a.get('description', '')}"
            for a in payload.get("articles", [])
        )
    if kind == "template":
        values = " / ".join(str(v) for v in (payload.get("data") or {}).values())
        return f"(template {payload.get('template_id', '')}) {values}"
    return str(payload)
