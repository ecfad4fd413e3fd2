"""Settings from the environment (and a `.env` file in the working directory).

Names are fixed by CONTRACT.md. Nothing here is read at import time: call `Settings.from_env()`
once at start-up and pass the object down.

Embedded mode is the bare-machine default: SQLite and no REDIS_URL. Only there are demo secrets
filled in (and the start-up log says so); anywhere else a missing secret stops start-up.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.accounts import DEMO_APPID, DEMO_SECRET, DEMO_TOKEN, AccountCredentials

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite://data/clubbot.sqlite3"
QUEUE_VISIBILITY_SECONDS = 20.0
"""The default of `queue_visibility_seconds` (`bot.queue.VISIBILITY_S`)."""


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    wechat_appid: str = ""
    wechat_secret: SecretStr = SecretStr("")
    wechat_token: SecretStr = SecretStr("")
    wechat_aes_key: SecretStr | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    redis_url: str | None = Field(default=None, repr=False)
    database_replica_url: str | None = Field(default=None, repr=False)
    """A read-only PostgreSQL replica the reports read from (unset: they read DATABASE_URL)."""
    redis_prefix: str = Field(default="clubbot", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
    """What every Redis key of this deployment starts with (`<prefix>:`), the queue's stream
    too: deployments, or a bot and a test suite, sharing one Redis keep apart by it."""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    club_tz: str = "Asia/Shanghai"
    club_config: Path | None = None
    wechat_dry_run: bool | None = None

    # Additions of ours (documented in the README).
    wechat_max_clock_skew: int = Field(default=300, ge=0)
    """Seconds a callback's timestamp may be off our clock before it is refused (replays)."""
    reply_budget_seconds: float = Field(default=4.0, gt=0, le=4.8)
    """After this long a slow handler's answer goes out by the customer-service API instead."""
    wechat_api_timeout_seconds: float = Field(default=10.0, gt=0, le=60, allow_inf_nan=False)
    """How long one outbound WeChat API call may take in all. A send given up after its request
    went out is "outcome unknown" (WeChat may have delivered it), so this is not to be tight."""
    wechat_api_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60, allow_inf_nan=False)
    """How long connecting to WeChat may take (within the whole call's limit, which counts
    connecting too); nothing was sent yet, so the call is retried. At most 60 s each: a larger
    number is more likely milliseconds typed as seconds."""
    queue_visibility_seconds: float = Field(
        default=QUEUE_VISIBILITY_SECONDS, ge=1, le=3600, allow_inf_nan=False
    )
    """How long a sending task a queue worker took may go untouched before another worker takes
    it over (its worker died). A live worker touches its running tasks every third of it; the
    workers look for such tasks every quarter of it, at most every 5 s."""
    log_level: str = "INFO"
    trusted_proxies: str = ""
    """Comma-separated IP addresses of the reverse proxies in front (nginx): from them alone
    X-Forwarded-For gives the client's address (`bot.forwarded`: the logs, anything keyed by
    address) and X-Forwarded-Proto the scheme (the console's cookie is Secure over HTTPS)."""

    embedded: bool = False
    """Set by `from_env`: SQLite with no REDIS_URL, demo secrets allowed."""

    @field_validator("wechat_aes_key", mode="before")
    @classmethod
    def _blank_aes_key_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("redis_url", "database_replica_url", mode="before")
    @classmethod
    def _blank_redis_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("wechat_api_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        # Compared with a connection's peer address, so a name or a network would never match:
        # the proxy would go untrusted without a word.
        for entry in (a.strip() for a in value.split(",")):
            if not entry:
                continue
            try:
                ipaddress.ip_address(entry)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address (give each proxy's own address, "
                    "comma-separated; names and networks are not taken)"
                ) from None
        return value

    @field_validator("club_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _aes_key_shape(self) -> Settings:
        key = self.wechat_aes_key
        if key is not None and len(key.get_secret_value()) != 43:
            raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        return self

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Read the environment, fill demo values in embedded mode, refuse missing secrets."""
        try:
            raw = cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']).upper() or 'settings'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"invalid configuration: {problems}") from None
        return raw.resolved()

    def resolved(self) -> Settings:
        embedded = self.redis_url is None and self.database_url.startswith("sqlite")
        changes: dict[str, Any] = {"embedded": embedded}
        if embedded:
            if not self.wechat_appid:
                changes["wechat_appid"] = DEMO_APPID
            if not self.wechat_secret.get_secret_value():
                changes["wechat_secret"] = SecretStr(DEMO_SECRET)
            if not self.wechat_token.get_secret_value():
                changes["wechat_token"] = SecretStr(DEMO_TOKEN)
            if self.wechat_dry_run is None:
                changes["wechat_dry_run"] = True
        else:
            missing = [
                name
                for name, value in (
                    ("WECHAT_APPID", self.wechat_appid),
                    ("WECHAT_SECRET", self.wechat_secret.get_secret_value()),
                    ("WECHAT_TOKEN", self.wechat_token.get_secret_value()),
                )
                if not value
            ]
            if missing:
                raise ConfigError(
                    "missing secrets: "
                    + ", ".join(missing)
                    + " (only the embedded demo, SQLite with no REDIS_URL, fills them in)"
                )
            if self.wechat_dry_run is None:
                changes["wechat_dry_run"] = False
        if self.database_replica_url and not self.database_replica_url.startswith(
            ("postgres://", "postgresql://", "asyncpg://")
        ):
            raise ConfigError("DATABASE_REPLICA_URL must be a postgres:// URL (a read replica)")
        return self.model_copy(update=changes)

    @property
    def trusted_proxy_addresses(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.trusted_proxies.split(",") if a.strip())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.club_tz)

    @property
    def dry_run(self) -> bool:
        return bool(self.wechat_dry_run)

    @property
    def credentials(self) -> AccountCredentials:
        """The Official Account of WECHAT_*, the one place its credentials are read: with
        several accounts, the default (first) one an account registry starts from."""
        aes_key = self.wechat_aes_key
        return AccountCredentials(
            appid=self.wechat_appid,
            secret=self.wechat_secret.get_secret_value(),
            token=self.wechat_token.get_secret_value(),
            aes_key=None if aes_key is None else aes_key.get_secret_value(),
        )

    def describe(self) -> str:
        """One log line about the mode we run in; never a secret."""
        mode = "embedded demo" if self.embedded else "production"
        aes = "off" if self.wechat_aes_key is None else "on"
        return (
            f"mode={mode} database={_redact_url(self.database_url)} "
            f"store={'in-process' if self.redis_url is None else _redact_url(self.redis_url)} "
            f"dry_run={self.dry_run} aes={aes} tz={self.club_tz} "
            f"api_base={self.wechat_api_base}"
        )


def _redact_url(url: str) -> str:
    """Hide the password of a DSN: postgres://user:***@host/db."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
