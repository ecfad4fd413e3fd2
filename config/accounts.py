"""An Official Account's credentials: the one value every part that signs, decrypts, fetches a
token or redacts the log reads them from.

`Settings.credentials` makes it from WECHAT_APPID, WECHAT_SECRET, WECHAT_TOKEN and
WECHAT_AES_KEY, and it is passed down from there (the callback, the API client, the chat, the
log's redactor, the start-up warning). Nothing else reads those settings, so serving several
Official Accounts (docs/design/several-accounts.md) changes where the value comes from, an
account registry handing out one per account, and not the parts that use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_APPID = "wxclubbotdemo0001"
DEMO_SECRET = "clubbot-demo-secret-not-for-production"  # noqa: S105 - a public demo value
DEMO_TOKEN = "clubbotdemotoken"  # noqa: S105 - a public demo value


@dataclass(frozen=True)
class AccountCredentials:
    appid: str
    secret: str = field(repr=False)
    """The AppSecret: what the access token is fetched with."""
    token: str = field(repr=False)
    """The callback Token: what WeChat's signatures are made with."""
    aes_key: str | None = field(default=None, repr=False)
    """The 43-character EncodingAESKey (safe and compatible modes); None: plaintext only."""

    def secret_values(self) -> tuple[str, ...]:
        """The values that must never be printed (the appid is public)."""
        return tuple(v for v in (self.secret, self.token, self.aes_key) if v)

    def demo_names(self) -> list[str]:
        """The settings' names of those values that are the embedded mode's public demo ones."""
        return [
            name
            for name, value, demo in (
                ("WECHAT_APPID", self.appid, DEMO_APPID),
                ("WECHAT_SECRET", self.secret, DEMO_SECRET),
                ("WECHAT_TOKEN", self.token, DEMO_TOKEN),
            )
            if value == demo
        ]
