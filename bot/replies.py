"""What a handler answers, and its passive-reply XML.

wechatpy's replies put text into CDATA as is, so a member's `]]>` echoed back would close the
section and inject XML. `cdata()` splits every `]]>` across two sections instead.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ARTICLES = 8


@dataclass(frozen=True)
class TextReply:
    content: str


@dataclass(frozen=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    picurl: str = ""


@dataclass(frozen=True)
class NewsReply:
    articles: tuple[Article, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.articles) <= MAX_ARTICLES:
            raise ValueError(f"a news reply has 1 to {MAX_ARTICLES} articles")


Reply = TextReply | NewsReply


def cdata(text: str) -> str:
    """`text` as CDATA that cannot be closed early."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render(reply: Reply, *, to_user: str, from_user: str, create_time: int) -> str:
    """The passive-reply XML for `reply`, addressed to the member `to_user`."""
    head = (
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
    )
    if isinstance(reply, TextReply):
        body = f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(reply.content)}</Content>"
    else:
        items = "".join(
            f"<item><Title>{cdata(a.title)}</Title>"
            f"<Description>{cdata(a.description)}</Description>"
            f"<PicUrl>{cdata(a.picurl)}</PicUrl><Url>{cdata(a.url)}</Url></item>"
            for a in reply.articles
        )
        body = (
            f"<MsgType>{cdata('news')}</MsgType>"
            f"<ArticleCount>{len(reply.articles)}</ArticleCount><Articles>{items}</Articles>"
        )
    return f"<xml>{head}{body}</xml>"
