"""Every word the bot says to a member, Chinese first and English alongside, in one place.

`t(key, lang, **values)` picks the text and fills its `{placeholders}`. Add a key with both
languages; a test checks that no key lacks one.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

TEXTS: dict[str, dict[Lang, str]] = {
    "welcome": {
        "zh": (
            "欢迎关注！这里是品牌会员俱乐部。\n回复「入会」加入俱乐部，回复「帮助」看看能做什么。"
        ),
        "en": (
            "Welcome! This is the brand's member club.\n"
            'Send "join" to become a member, or "help" to see what you can do.'
        ),
    },
    "welcome_back": {
        "zh": "欢迎回来！回复「帮助」看看能做什么。",
        "en": 'Welcome back! Send "help" to see what you can do.',
    },
    "welcome_store": {
        "zh": "感谢您在门店扫码关注，店员会为您办理入会。",
        "en": "Thank you for following us in store; the staff will help you join.",
    },
    "scan_store": {
        "zh": "您已扫描门店码，欢迎光临！",
        "en": "You scanned a store code: welcome!",
    },
    "scan_other": {
        "zh": "已收到您的扫码。",
        "en": "We received your scan.",
    },
    "help": {
        "zh": (
            "您可以发送：\n"
            "入会 - 加入会员俱乐部\n"
            "积分 - 查询积分\n"
            "等级 - 查看会员等级\n"
            "明细 - 积分明细\n"
            "兑换 - 积分兑换礼品\n"
            "签到 - 每日签到\n"
            "生日 - 登记生日\n"
            "瓶盖码 - 直接发送瓶盖下的编码\n"
            "取消 - 退出当前操作"
        ),
        "en": (
            "You can send:\n"
            "join - join the member club\n"
            "points - your points balance\n"
            "tier - your member tier\n"
            "history - your points history\n"
            "redeem - rewards for points\n"
            "checkin - daily check-in\n"
            "birthday - record your birthday\n"
            "the code under a bottle cap - as printed\n"
            "cancel - leave what you are doing"
        ),
    },
    "fallback": {
        "zh": "抱歉，没有听懂。回复「帮助」查看可用的指令。",
        "en": 'Sorry, I did not understand. Send "help" for what I can do.',
    },
    "cancelled": {
        "zh": "已取消。",
        "en": "Cancelled.",
    },
    "nothing_to_cancel": {
        "zh": "当前没有进行中的操作。",
        "en": "There is nothing to cancel.",
    },
    "busy": {
        "zh": "正在处理您上一条消息，请稍后再发。",
        "en": "Still working on your previous message; please send this again in a moment.",
    },
    "error": {
        "zh": "抱歉，系统开小差了，请稍后再试。",
        "en": "Sorry, something went wrong on our side. Please try again later.",
    },
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The text for `key` in `lang` (Chinese if that language is missing), filled in."""
    entry = TEXTS[key]
    text = entry.get(lang) or entry["zh"]
    return text.format(**values) if values else text
