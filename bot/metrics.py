"""Prometheus metrics, one registry per app (a fresh app per test must not collide)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bot import keys
from club.campaigns.progress import active, series


@dataclass(frozen=True)
class KindMetrics:
    messages: Counter
    handler_seconds: Histogram


class Metrics:
    def __init__(self) -> None:
        self._kinds: dict[str, KindMetrics] = {}
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "clubbot_messages_total",
            "WeChat callbacks handled, by message type (event:<name> for events)",
            ["type"],
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "clubbot_handler_seconds",
            "Time from a callback's arrival to its answer",
            ["type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 5, 10),
            registry=self.registry,
        )
        self.duplicates = Counter(
            "clubbot_duplicates_total",
            "WeChat retries answered from the de-duplication cache instead of re-running",
            registry=self.registry,
        )
        self.rejected = Counter(
            "clubbot_callbacks_rejected_total",
            "Callbacks refused, by reason (signature, appid, malformed, stale, too_large)",
            ["reason"],
            registry=self.registry,
        )
        self.deferred = Counter(
            "clubbot_replies_deferred_total",
            "Replies that missed the 5-second budget and went out by the customer-service API",
            registry=self.registry,
        )
        self.api_calls = Counter(
            "clubbot_wechat_api_calls_total",
            "Outbound WeChat API calls, by endpoint and result (ok or the errcode)",
            ["endpoint", "result"],
            registry=self.registry,
        )

    def for_kind(self, kind: str) -> KindMetrics:
        """The per-message-type series, looked up once per type: `labels()` takes a lock and
        builds a key on every call, and the callback counts every message."""
        found = self._kinds.get(kind)
        if found is None:
            found = self._kinds[kind] = KindMetrics(
                self.messages.labels(kind), self.handler_seconds.labels(kind)
            )
        return found

    def render(self) -> bytes:
        return generate_latest(self.registry)


# `keys.deliveries()`: a Redis hash of outbox delivery outcomes, added to by every process that
# sends (queue workers, the embedded sender, the callback's deferred replies) and read by
# `/metrics`: one series for the whole deployment, whichever process sent.


async def count_deliveries(store: Any, counts: Mapping[str, int]) -> None:
    """Add one sending step's outcomes (`club.messaging.delivery.DeliveryStatus` values)."""
    if not counts:
        return
    pipe = store.pipeline(transaction=False)
    for outcome, n in counts.items():
        if n:
            pipe.hincrby(keys.deliveries(), outcome, n)
    await pipe.execute()


async def render_deliveries(store: Any) -> bytes:
    """The deployment's delivery outcomes in the Prometheus text format."""
    counts = await store.hgetall(keys.deliveries())
    lines = [
        "# HELP clubbot_outbox_deliveries_total Outbox sends by outcome (sent, dry_run, "
        "retry_later, failed, outcome_unknown, outside_window, unreachable, quota, ...), "
        "all processes",
        "# TYPE clubbot_outbox_deliveries_total counter",
    ]
    for outcome, n in sorted(counts.items()):
        name = outcome.decode() if isinstance(outcome, bytes) else str(outcome)
        lines.append(f'clubbot_outbox_deliveries_total{{outcome="{name}"}} {int(n)}')
    return ("\n".join(lines) + "\n").encode()


async def render_campaigns() -> bytes:
    """Where each campaign sending now stands, by state and reason (read from the database at
    scrape time: the same figures as the staff API's)."""
    lines = [
        "# HELP clubbot_campaign_recipients Recipients of the campaigns sending now, by state "
        "(held_out, pending, queued, sent, failed, skipped, mass_waiting) and reason (the "
        "channel of the sent, the outcome of the failed, why the skipped were left out)",
        "# TYPE clubbot_campaign_recipients gauge",
    ]
    for campaign_id, found in await active():
        for state, reason, n in series(found):
            labels = f'campaign="{campaign_id}",state="{state}",reason="{_label(reason)}"'
            lines.append(f"clubbot_campaign_recipients{{{labels}}} {n}")
    return ("\n".join(lines) + "\n").encode()


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
