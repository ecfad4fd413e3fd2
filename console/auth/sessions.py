"""Console sessions, kept server-side in the shared store (Redis) with an expiry.

The browser holds only a random token in an HttpOnly cookie; the store keeps the session under
the token's SHA-256, so a copy of the store does not hand out working cookies. Deleting the key
signs the session out at once, on every worker. A session remembers when the account's password
was in force: a new password (or a deactivated account, checked on every request) ends it too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime

from bot import keys
from bot.kv import Redis

IDLE_TTL_S = 8 * 3600
"""A session unused this long ends (a shift); each request starts the period again."""
MAX_AGE_S = 24 * 3600
"""A session ends this long after sign-in however busy it is."""
FLASH_TTL_S = 300
TOKEN_BYTES = 32
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def session_key(digest: str) -> str:
    return keys.console(f"session:{digest}")


def flash_key(digest: str) -> str:
    return keys.console(f"flash:{digest}")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(value: str | None) -> bool:
    """`value` could be one of `new_token`'s (URL-safe base64, ASCII). A cookie of anything else
    (undecodable bytes arrive as lone surrogates) was written back into the page: a 500."""
    return value is not None and len(value) <= 128 and _TOKEN_CHARS.fullmatch(value) is not None


def tokens_match(sent: object, expected: str | None) -> bool:
    """A form's CSRF token against the one issued, in constant time. `hmac.compare_digest`
    raises TypeError on text that is not ASCII (a 500); no token of ours is such text."""
    return (
        isinstance(sent, str)
        and is_token(expected)
        and sent.isascii()
        and hmac.compare_digest(sent, expected or "")
    )


@dataclass(frozen=True)
class Session:
    digest: str
    staff_id: int
    csrf: str
    """Every form of this session carries it; a POST without it is refused."""
    password_stamp: str | None
    """The password in force at sign-in (`club.staff.passwords.password_stamp`)."""
    created_at: str


class SessionStore:
    def __init__(self, store: Redis) -> None:
        self._store = store

    async def create(
        self, staff_id: int, password_stamp: str | None, now: datetime
    ) -> tuple[str, Session]:
        """A new session; returns the cookie token (the only place it exists) and the session."""
        token = new_token()
        session = Session(
            digest=_digest(token),
            staff_id=staff_id,
            csrf=new_token(),
            password_stamp=password_stamp,
            created_at=now.isoformat(),
        )
        await self._store.set(
            session_key(session.digest), json.dumps(asdict(session)), ex=IDLE_TTL_S
        )
        return token, session

    async def load(self, token: str | None, now: datetime) -> Session | None:
        if not token or len(token) > 128:
            return None
        key = session_key(_digest(token))
        raw = await self._store.get(key)
        if raw is None:
            return None
        session = Session(**json.loads(raw))
        if (now - datetime.fromisoformat(session.created_at)).total_seconds() > MAX_AGE_S:
            await self.revoke(session)
            return None
        await self._store.expire(key, IDLE_TTL_S)
        return session

    async def revoke(self, session: Session) -> None:
        await self._store.delete(session_key(session.digest), flash_key(session.digest))

    async def push_flash(self, session: Session, text: str) -> None:
        """A note for the next page this session shows (after a redirect)."""
        key = flash_key(session.digest)
        await self._store.rpush(key, text.encode("utf-8"))
        await self._store.expire(key, FLASH_TTL_S)

    async def pop_flashes(self, session: Session) -> list[str]:
        key = flash_key(session.digest)
        async with self._store.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            items, _ = await pipe.execute()
        return [bytes(i).decode("utf-8") for i in items]
