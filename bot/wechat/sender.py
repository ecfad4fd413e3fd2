"""The club's `Sender` port (`club.messaging.sending`), implemented by WeChat and by a dry run.

`WeChatSender` maps each kind of content to its API call and each WeChat error to what it means
for the message (`Failure`): the API client has already retried what can safely be retried
(`bot.wechat.api`), so whatever reaches here is the outcome of this attempt. `DryRunSender`
(WECHAT_DRY_RUN) calls nobody: the outbox row itself is the destination.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from typing import Any

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
from club.messaging.sending import (
    TAG_BATCH,
    Failure,
    MassReceipt,
    Receipt,
    SendFailed,
)


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


class WeChatMassSender:
    """`club.messaging.sending.MassSender` by WeChat's tags and `message/mass/sendall`."""

    def __init__(self, api: WeChatAPI) -> None:
        self._api = api

    async def create_tag(self, name: str) -> int:
        try:
            return (await self._api.create_tag(name)).id
        except WeChatAPIError as exc:
            raise SendFailed(failure_of(exc), f"{exc.errcode} {exc.errmsg}") from None

    async def tag(self, tag_id: int, openids: Sequence[str]) -> None:
        await self._batch(self._api.tag_members, tag_id, openids)

    async def untag(self, tag_id: int, openids: Sequence[str]) -> None:
        await self._batch(self._api.untag_members, tag_id, openids)

    async def delete_tag(self, tag_id: int) -> None:
        try:
            await self._api.delete_tag(tag_id)
        except WeChatAPIError as exc:
            raise SendFailed(failure_of(exc), f"{exc.errcode} {exc.errmsg}") from None

    async def send_to_tag(self, tag_id: int, text: str, *, clientmsgid: str) -> MassReceipt:
        try:
            result = await self._api.mass_send_text_by_tag(tag_id, text, clientmsgid=clientmsgid)
        except WeChatAPIError as exc:
            raise SendFailed(failure_of(exc), f"{exc.errcode} {exc.errmsg}") from None
        return MassReceipt(msg_id=result.msg_id, duplicate=result.duplicate)

    @staticmethod
    async def _batch(call: Any, tag_id: int, openids: Sequence[str]) -> None:
        if len(openids) > TAG_BATCH:
            raise ValueError(f"at most {TAG_BATCH} openids a tagging call")
        try:
            await call(tag_id, openids)
        except WeChatAPIError as exc:
            raise SendFailed(failure_of(exc), f"{exc.errcode} {exc.errmsg}") from None


class DryRunMassSender:
    """WECHAT_DRY_RUN: nothing is tagged or sent; the campaign's records say what would have."""

    def __init__(self) -> None:
        self._ids = count(1)

    async def create_tag(self, name: str) -> int:
        return next(self._ids)

    async def tag(self, tag_id: int, openids: Sequence[str]) -> None:
        return None

    async def untag(self, tag_id: int, openids: Sequence[str]) -> None:
        return None

    async def delete_tag(self, tag_id: int) -> None:
        return None

    async def send_to_tag(self, tag_id: int, text: str, *, clientmsgid: str) -> MassReceipt:
        return MassReceipt(dry_run=True)
