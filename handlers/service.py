"""`人工` / `客服` / `human`: a service ticket; while it is open the member's messages go to it.

Staff answer through the staff API (the answer reaches the member as a message); the member
ends it with `结束` / `end`, or staff close it.
"""

from __future__ import annotations

from bot.replies import Reply, TextReply
from bot.router import Context, Router
from club.value.tickets import add_member_message, close_ticket, open_ticket
from handlers.texts import t

router = Router("service")

END_WORDS = frozenset({"结束", "结束服务", "end", "end chat", "close"})


@router.text("人工", "人工客服", "转人工", "客服", "human", "agent", "customer service")
async def ask_for_staff(ctx: Context) -> Reply | None:
    opened = await open_ticket(ctx.member.member_id, now=ctx.now)
    return TextReply(t("ticket_opened", ctx.lang, ticket=opened.ticket_id))


@router.held()
async def to_the_ticket(ctx: Context) -> Reply | None:
    ticket = ctx.member.ticket_id
    assert ticket is not None  # the dispatcher holds only members with an open ticket
    if (ctx.message.words or "") in END_WORDS:
        await close_ticket(ticket, now=ctx.now, staff_id=None)
        return TextReply(t("ticket_ended", ctx.lang, ticket=ticket))
    text = ctx.text or f"[{ctx.message.msg_type}]"
    if not await add_member_message(ticket, ctx.member.member_id, text, now=ctx.now):
        # Closed by staff a moment ago: this message opens no ticket; say so.
        return TextReply(t("ticket_was_closed", ctx.lang, ticket=ticket))
    return TextReply(t("ticket_forwarded", ctx.lang, ticket=ticket))
