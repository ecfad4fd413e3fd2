"""Callback signatures and the AES message envelope ("safe mode").

The cipher and padding come from wechatpy; the checks are ours. wechatpy compares signatures and
the appid with `!=` and does not validate the padding, so a corrupt ciphertext surfaces as any of
several exceptions or as garbage. Here every failure is one of two exceptions, and every
comparison runs in constant time.

Frame (WeChat's "technical plan"): 16 random bytes, 4-byte big-endian length, message, appid;
PKCS#7 padded to 32 bytes; AES-256-CBC with IV = key[:16]; base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from wechatpy.crypto.cryptography import WeChatCipher
from wechatpy.crypto.pkcs7 import PKCS7Encoder

if TYPE_CHECKING:
    from config import AccountCredentials

_BLOCK = 32
_ALPHABET = (string.ascii_letters + string.digits).encode("ascii")


class BadCiphertext(Exception):
    """The Encrypt field is not a well-formed envelope (bad base64, length or padding)."""


class WrongAppId(Exception):
    """The envelope decrypted, but it was made for another account."""


def signature(*parts: str) -> str:
    """WeChat's signature: sha1 over the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324 - protocol


def signature_matches(given: str, *parts: str) -> bool:
    """Constant-time check of a signature from the query string."""
    return hmac.compare_digest(given.lower().encode("ascii", "replace"), signature(*parts).encode())


def random_prefix() -> bytes:
    """16 random letters and digits, as the official samples make them (one read of the
    system's randomness, not sixteen: this runs for every encrypted reply)."""
    return bytes(_ALPHABET[b % len(_ALPHABET)] for b in secrets.token_bytes(16))


class MessageCrypto:
    """Encrypts and decrypts message envelopes for one account."""

    def __init__(
        self,
        *,
        token: str,
        aes_key: str,
        appid: str,
        prefix: Callable[[], bytes] = random_prefix,
    ) -> None:
        try:
            key = base64.b64decode(aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not base64") from exc
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self._key = key
        # wechatpy's cipher holds only the key and IV (key[:16]) and makes a fresh encryptor or
        # decryptor per call, so one serves every message (building it cost ~7 us a message).
        self._cipher = WeChatCipher(key)
        self._token = token
        self._appid = appid.encode("utf-8")
        self._prefix = prefix

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside `encrypted`; raises BadCiphertext or WrongAppId."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadCiphertext("not base64") from exc
        if len(raw) < _BLOCK or len(raw) % 16:
            raise BadCiphertext("bad length")
        plain: bytes = self._cipher.decrypt(raw)
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise BadCiphertext("bad padding")
        content = plain[16:-pad]
        if len(content) < 4:
            raise BadCiphertext("short frame")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise BadCiphertext("bad frame length")
        message, appid = content[4 : 4 + length], content[4 + length :]
        if not hmac.compare_digest(appid, self._appid):
            raise WrongAppId()
        return message

    def encrypt(self, message: bytes) -> str:
        """The Encrypt value for `message` (base64 text)."""
        prefix = self._prefix()
        if len(prefix) != 16:
            raise ValueError("the random prefix must be 16 bytes")
        frame = prefix + struct.pack(">I", len(message)) + message + self._appid
        padded: bytes = PKCS7Encoder.encode(frame)
        return base64.b64encode(self._cipher.encrypt(padded)).decode("ascii")

    def envelope(self, message: bytes, *, timestamp: str, nonce: str) -> str:
        """A signed, encrypted reply body."""
        encrypted = self.encrypt(message)
        sig = signature(self._token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )


def account_crypto(credentials: AccountCredentials) -> MessageCrypto | None:
    """The account's envelope, or None when it has no EncodingAESKey (plaintext only)."""
    if not credentials.aes_key:
        return None
    return MessageCrypto(
        token=credentials.token, aes_key=credentials.aes_key, appid=credentials.appid
    )
