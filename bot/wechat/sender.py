"""The club's `Sender` port (`club.messaging.sending`), implemented by WeChat and by a dry run.

`WeChatSender` maps each kind of content to its API call and each WeChat error to what it means
for the message (`Failure`): the API client has already retried what can safely be retried
(`bot.wechat.api`), so whatever reaches here is the outcome of this attempt. `DryRunSender`
(WECHAT_DRY_RUN) calls nobody: the outbox row itself is the destination.
"""

from __future__ import annotations

from bot.wechat.api import WeChatAPI
from bot.wechat.errors import (
    MemberUnreachable,
    OutsideWindow,
    QuotaExceeded,
    RateLimited,
    TokenInvalid,
    TransportError,
    WeChatAPIError,
)
from bot.wechat.types import Article, SendResult
from club.messaging.message import Content, Image, LinkCard, Template, Text
from club.messaging.sending import Failure, Receipt, SendFailed


class WeChatSender:
    def __init__(self, api: WeChatAPI) -> None:
        self._api = api

    async def send(self, openid: str, content: Content, *, ref: str) -> Receipt:
        try:
            result = await self._call(openid, content, ref)
        except WeChatAPIError as exc:
            raise SendFailed(failure_of(exc), f"{exc.errcode} {exc.errmsg}") from None
        return Receipt(msgid=result.msgid)

    async def _call(self, openid: str, content: Content, ref: str) -> SendResult:
        api = self._api
        if isinstance(content, Text):
            return await api.send_text(openid, content.text)
        if isinstance(content, LinkCard):
            article = Article(content.title, content.description, content.url, content.picurl)
            return await api.send_news(openid, (article,))
        if isinstance(content, Image):
            return await api.send_image(openid, content.media_id)
        assert isinstance(content, Template)
        # `ref` names this message for WeChat's own de-duplication of template sends.
        return await api.send_template(
            openid, content.template_id, content.fields, content.url, client_msg_id=ref
        )


def failure_of(exc: WeChatAPIError) -> Failure:
    """What a WeChat error means for the message it answered."""
    if isinstance(exc, OutsideWindow):
        return Failure.OUTSIDE_WINDOW
    if isinstance(exc, MemberUnreachable):
        return Failure.UNREACHABLE
    if isinstance(exc, QuotaExceeded):
        return Failure.QUOTA
    if isinstance(exc, RateLimited | TokenInvalid):
        return Failure.NOT_SENT  # WeChat answered and did not take it
    if isinstance(exc, TransportError):
        return Failure.AMBIGUOUS if exc.written else Failure.NOT_SENT
    return Failure.REJECTED


class DryRunSender:
    """Records instead of sending (WECHAT_DRY_RUN): `python -m bot chat` shows these rows."""

    async def send(self, openid: str, content: Content, *, ref: str) -> Receipt:
        return Receipt(dry_run=True)
