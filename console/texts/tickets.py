"""The console's words for service tickets: key -> (Chinese, English)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # Tickets
    "tickets_order": (
        "重点客户（A 类、团购联系人）优先，其次 B、C 类，同类中等待最久的在前。",
        "Key customers (class A, group-account contacts) first, then B and C; the longest waiting "
        "first within each.",
    ),
    "ticket_status": ("工单状态", "Ticket status"),
    "ticket_open": ("待处理", "open"),
    "ticket_closed": ("已关闭", "closed"),
    "ticket": ("工单", "Ticket"),
    "opened_at": ("提交时间", "Opened"),
    "last_message": ("最新消息", "Last message"),
    "answered_at": ("回复时间", "Answered"),
    "key_customer": ("重点客户", "key customer"),
    "conversation": ("对话", "Conversation"),
    "staff": ("客服", "staff"),
    "answer": ("回复会员", "Answer"),
    "answer_text": ("回复内容", "Your answer"),
    "send_answer": ("发送回复", "Send answer"),
    "close_ticket": ("关闭工单", "Close ticket"),
    "close_note": ("备注（可选，仅记录在审计日志）", "Note (optional, for the audit log)"),
    "ticket_answered": ("回复已发送给会员。", "The answer was sent to the member."),
    "ticket_closed_note": ("工单已关闭。", "Ticket closed."),
}
