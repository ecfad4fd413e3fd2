"""Logging for every clubbot process: one key=value line per record, nothing private in it.

Lines look like `ts=2026-11-23T10:00:00.123+08:00 level=INFO logger=bot.serve pid=41
msg="listening" port=8080`: fields passed with `extra=` are appended as key=value pairs, so log
search can filter on them without parsing free text.

Two things never reach the output (STYLE.md): a mainland mobile number appears as `138****5678`
(with or without +86 and separators), and the values of our secrets appear as `***`, as do
bearer tokens, passwords in URLs, and the query parameters that authenticate a request or name
a member (`signature`, `msg_signature`, `echostr`, `access_token`, `secret`; `openid` keeps its
first four and last two characters, enough to follow one member through the log:
`mask_openid`, the one mask of an openid, which the staff API shows too). The masking runs
on the finished line, so messages, extras, tracebacks and the access log (LOG_LEVEL=DEBUG) are
all covered, at every level and in every process: the server, the scheduler, the queue worker
and the CLI commands all call `setup_logging`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from aiohttp.http_exceptions import HttpProcessingError

from config.settings import ConfigError

if TYPE_CHECKING:
    from config import Settings

# 11 digits starting 13-19, optionally after +86 / 86 and with spaces or dashes between the
# groups, not part of a longer run of digits (order ids, timestamps).
PHONE = re.compile(r"(?<!\d)((?:\+?86[ -]?)?1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
ACCESS_TOKEN = re.compile(r"(access_token=)[^&\s\"']+")
# Query parameters whose value authenticates a request (a replayable signature, WeChat's echo
# string) or is a credential.
SECRET_PARAMS = re.compile(
    r"([?&](?:signature|msg_signature|echostr|access_token|secret)=)[^&\s\"']*", re.IGNORECASE
)
OPENID_PARAM = re.compile(r"([?&]openid=)([^&\s\"']*)", re.IGNORECASE)
BEARER = re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE)
URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s\"']*:)[^@/\s\"']+(@)", re.IGNORECASE)
OPENID_HEAD, OPENID_TAIL = 4, 2
"""Characters of an openid kept at its start and end (WeChat's are 28 long)."""
QUIET_TRACEBACKS = frozenset({"asyncpg.pool"})
"""Loggers whose tracebacks are expected noise: asyncpg's pool logs one with every attempt to
reconnect while the database is down. Their exception is kept as one `error=` field."""
# Secrets shorter than this are not searched for: masking every "ab" would shred the log.
MIN_SECRET_LENGTH = 6

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_BARE_VALUE = re.compile(r"[^\s=\"\\]+")


def mask_phones(text: str) -> str:
    return PHONE.sub(r"\1****\3", text)


def mask_openid(openid: str) -> str:
    """Enough of an openid to tell members apart in a log, not enough to message them; none of
    one too short to hide the rest."""
    if len(openid) <= 2 * OPENID_HEAD:
        return "***"
    return f"{openid[:OPENID_HEAD]}***{openid[-OPENID_TAIL:]}"


def _shorten_openid(found: re.Match[str]) -> str:
    return found.group(1) + mask_openid(found.group(2))


def mask_urls(text: str) -> str:
    """Sensitive query parameters, URL passwords and bearer tokens."""
    text = SECRET_PARAMS.sub(r"\1***", text)
    text = ACCESS_TOKEN.sub(r"\1***", text)
    text = OPENID_PARAM.sub(_shorten_openid, text)
    text = URL_PASSWORD.sub(r"\1***\2", text)
    return BEARER.sub(r"\1***", text)


class Redactor:
    """Replaces phone numbers, secret values and access tokens in a piece of text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._secrets = re.compile("|".join(re.escape(s) for s in values)) if values else None

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub("***", text)
        # Phones first: a phone number in an openid parameter is masked as a phone wherever it
        # stands, then shortened further as an openid.
        return mask_urls(mask_phones(text))


class RedactingFilter(logging.Filter):
    """Masks a record's message in place, for any handler it is attached to.

    Our formatter masks the finished line as well (extras and tracebacks); the filter is what a
    handler with another formatter (a file handler, a log shipper) needs.
    """

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._redact(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class MalformedRequests(logging.Filter):
    """aiohttp logs a request it cannot parse (a byte not allowed in a path, both
    Transfer-Encoding and Content-Length, a header over 8 KiB) at ERROR with a traceback, and
    answers it 400 itself. That is the client's fault, not ours: one INFO line with the parser's
    complaint as `error=`, as for a client that went away (`bot.limits`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info, record.exc_text = None, None
        record.error = f"{type(exc).__name__}: {exc}"
        return logging.getLogger().isEnabledFor(logging.INFO)


class KeyValueFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")
        fields = [
            ("ts", ts),
            ("level", record.levelname),
            ("logger", record.name),
            ("pid", str(record.process)),
            ("msg", record.getMessage()),
        ]
        fields += [
            (key, str(value)) for key, value in vars(record).items() if key not in _STANDARD_ATTRS
        ]
        line = " ".join(f"{key}={_quote(value)}" for key, value in fields)
        if record.exc_info and record.name in QUIET_TRACEBACKS:
            kind, exc, _ = record.exc_info
            name = kind.__name__ if kind is not None else "error"
            line += " error=" + _quote(f"{name}: {exc}")
        elif record.exc_info:
            # One line per record keeps the output greppable; the traceback follows escaped.
            line += " exc=" + _quote(self.formatException(record.exc_info))
        if record.stack_info:
            line += " stack=" + _quote(record.stack_info)
        return self._redact(line)


def _quote(value: str) -> str:
    if value and _BARE_VALUE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def secret_values(settings: Settings) -> list[str]:
    """The strings that must never be printed: the WeChat secrets and DSN passwords."""
    values = list(settings.credentials.secret_values())
    for url in (settings.database_url, settings.redis_url or ""):
        password = _dsn_password(url)
        if password:
            values.append(password)
    return values


def _dsn_password(url: str) -> str | None:
    _, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    creds = rest.rpartition("@")[0]
    _, colon, password = creds.partition(":")
    return password if colon else None


def setup_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Route every logger to one redacting key=value handler on stderr at settings.log_level.

    Called once per process (the server, each worker, a CLI command). Returns the handler so a
    caller (a test) can remove it again.
    """
    redact = Redactor(secret_values(settings))
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(KeyValueFormatter(redact))
    handler.addFilter(RedactingFilter(redact))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "clubbot", False)]:
        root.removeHandler(old)
    handler.clubbot = True  # type: ignore[attr-defined]  # marks ours for a repeated setup
    root.addHandler(handler)
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise ConfigError(f"LOG_LEVEL: unknown level {settings.log_level!r}")
    root.setLevel(level)
    # Libraries that are chatty at INFO about things an operator does not act on.
    # At DEBUG, tortoise and aiosqlite would print every query with its values (names, phones,
    # openids): they stay at WARNING whatever the level.
    for name in ("tortoise", "aiosqlite", "asyncio", "apscheduler"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    server = logging.getLogger("aiohttp.server")
    for old_filter in [f for f in server.filters if isinstance(f, MalformedRequests)]:
        server.removeFilter(old_filter)
    server.addFilter(MalformedRequests())
    logging.captureWarnings(True)
    return handler
