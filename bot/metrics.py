"""Prometheus metrics, one registry per app (a fresh app per test must not collide)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


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
