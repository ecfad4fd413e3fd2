"""Every word the bot says to a member, Chinese first and English alongside, in one place.

`t(key, lang, **values)` picks the text and fills its `{placeholders}` (`club.rules.wording`:
`{points:point|points}` writes `1 point`, `5 points`; use it in English wherever a number is a
placeholder). Add a key with both languages; a test checks that no key lacks one.
"""

from __future__ import annotations

from typing import Literal

from club.rules.wording import fill

Lang = Literal["zh", "en"]

TEXTS: dict[str, dict[Lang, str]] = {
    "welcome": {
        "zh": (
            "欢迎关注！这里是品牌会员俱乐部。\n回复「入会」加入俱乐部，回复「帮助」看看能做什么。\n"
            'Send "English" for English.'
        ),
        "en": (
            "Welcome! This is the brand's member club.\n"
            'Send "join" to become a member, or "help" to see what you can do.\n'
            "发送「中文」使用中文。"
        ),
    },
    "hello_member": {"zh": "{name}，您好！", "en": "Hello, {name}!"},
    "hello_member_unnamed": {"zh": "您好！", "en": "Hello!"},
    "language_set": {
        "zh": "好的，以后用中文回复您。",
        "en": "OK: from now on I answer you in English.",
    },
    "language_dialog_goes_on": {
        "zh": "请继续刚才的步骤，或回复「取消」退出。",
        "en": 'Please go on with the step you were at, or send "cancel" to stop.',
    },
    "welcome_back": {
        "zh": "欢迎回来！回复「帮助」看看能做什么。",
        "en": 'Welcome back! Send "help" to see what you can do.',
    },
    "welcome_store": {
        "zh": (
            "感谢您在门店扫码关注！回复「入会」即可加入会员。"
            "在门店消费时向店员报上手机号，{days}天内用这个手机号入会，消费积分自动到账。"
        ),
        "en": (
            'Thank you for following us in store! Send "join" to become a member. Give your '
            "mobile number at the till: join with it within {days:day|days} and the points of "
            "those purchases are added for you."
        ),
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
            "称呼 - 告诉我们怎样称呼您\n"
            "瓶盖码 - 直接发送瓶盖下的编码\n"
            "人工 - 联系人工客服\n"
            "我的数据 - 查看我们保存的您的数据\n"
            "删除我的数据 - 删除您的个人数据\n"
            "取消 - 退出当前操作\n"
            "English - answers in English"
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
            "name - how we should address you\n"
            "the code under a bottle cap - as printed\n"
            "human - talk to our staff\n"
            "my data - what we keep about you\n"
            "delete my data - erase your personal data\n"
            "cancel - leave what you are doing\n"
            "中文 - 使用中文"
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
    # Shared by the member features ------------------------------------------------------
    "join_first": {
        "zh": "这项功能需要先加入会员。回复「入会」立即加入，送 {bonus} 积分。",
        "en": 'This needs a membership. Send "join" to join now and get {bonus:point|points}.',
    },
    "dialog_expired": {
        "zh": "上一步操作已超时，没有做任何更改。请重新发送「{again}」。",
        "en": 'That step timed out and nothing was changed. Please send "{again}" again.',
    },
    "word_redeem": {"zh": "兑换", "en": "redeem"},
    "word_birthday": {"zh": "生日", "en": "birthday"},
    "word_name": {"zh": "称呼", "en": "name"},
    "word_erase": {"zh": "删除我的数据", "en": "delete my data"},
    "not_recorded": {"zh": "未登记", "en": "not recorded"},
    "date": {"zh": "{year}年{month}月{day}日", "en": "{year}-{month:02d}-{day:02d}"},
    "yuan": {"zh": "¥{amount}", "en": "¥{amount}"},
    "birthday_solar_year": {"zh": "{year}年{month}月{day}日", "en": "{year}-{month:02d}-{day:02d}"},
    "birthday_solar": {"zh": "{month}月{day}日", "en": "{month_name} {day}"},
    "birthday_lunar": {"zh": "农历{month}{day}", "en": "lunar {month}-{day}"},
    "birthday_lunar_leap": {"zh": "农历闰{month}{day}", "en": "lunar leap {month}-{day}"},
    "birthday_examples": {
        "zh": "例如：1988-05-20、5月20日、农历八月十五、农历闰四月初八",
        "en": "for example: 1988-05-20, 5-20, lunar 8-15, lunar leap 4-8",
    },
    "birthday_unrecognised": {
        "zh": "没看懂这个日期，请这样发送生日，{examples}。",
        "en": "I could not read that date. Please send your birthday, {examples}.",
    },
    "birthday_invalid_date": {
        "zh": "没有这一天，请检查月份和日期，{examples}。",
        "en": "There is no such day; please check the month and day ({examples}).",
    },
    "birthday_future": {
        "zh": "生日不能晚于今天，请检查年份。",
        "en": "A birthday cannot be after today; please check the year.",
    },
    "birthday_too_old": {
        "zh": "出生年份太早了，请检查年份。",
        "en": "That year is too early; please check the year.",
    },
    # Enrolment dialog (handlers/enrol.py) -----------------------------------------------
    "enrol_consent": {
        "zh": (
            "欢迎加入{club}！入会前请阅读隐私说明（版本 {version}）：\n{consent}\n"
            "回复「同意」继续，回复「取消」退出。"
        ),
        "en": (
            "Welcome to {club}! Before you join, please read our privacy notice "
            "(version {version}):\n{consent}\n"
            'Send "agree" to continue or "cancel" to stop.'
        ),
    },
    "enrol_consent_expected": {
        "zh": "请回复「同意」接受隐私说明后继续，或回复「取消」退出。",
        "en": 'Please send "agree" to accept the privacy notice, or "cancel" to stop.',
    },
    "enrol_phone": {
        "zh": "请发送您的手机号（中国大陆 11 位手机号，例如 13812345678）。",
        "en": "Please send your mobile number (11 digits, mainland China, e.g. 13812345678).",
    },
    "phone_wrong_length": {
        "zh": "手机号应为 11 位数字，请重新发送（例如 13812345678）。",
        "en": "A mobile number has 11 digits; please send it again (e.g. 13812345678).",
    },
    "phone_not_digits": {
        "zh": "手机号只能包含数字，请重新发送（例如 13812345678）。",
        "en": "A mobile number has only digits; please send it again (e.g. 13812345678).",
    },
    "phone_not_mobile": {
        "zh": "这不是有效的中国大陆手机号（以 13-19 开头），请重新发送。",
        "en": "That is not a mainland China mobile number (it starts with 13-19); try again.",
    },
    "enrol_birthday": {
        "zh": "请发送您的生日，{examples}；不想填写请回复「跳过」。",
        "en": 'Please send your birthday, {examples}; or send "skip".',
    },
    "enrol_birthday_expected": {
        "zh": "{problem}\n不想填写请回复「跳过」。",
        "en": '{problem}\nOr send "skip".',
    },
    "enrol_name": {
        "zh": "您希望我们怎样称呼您？例如：王先生、Lily。不想填写请回复「跳过」。",
        "en": 'How would you like us to address you? For example: Mr Wang, Lily. Or send "skip".',
    },
    "enrol_name_expected": {
        "zh": "{problem}\n不想填写请回复「跳过」。",
        "en": '{problem}\nOr send "skip".',
    },
    "name_empty": {
        "zh": "请发送您希望的称呼，例如：王先生。",
        "en": "Please send how you would like to be addressed, e.g. Mr Wang.",
    },
    "name_too_long": {
        "zh": "称呼最多 {max} 个字，请短一些。",
        "en": "A name has at most {max} characters; please send a shorter one.",
    },
    "name_no_letters": {
        "zh": "称呼需要有文字，不能只有数字或符号，请重新发送。",
        "en": "A name needs letters, not only digits or signs; please send it again.",
    },
    "enrol_confirm": {
        "zh": (
            "请确认您的入会信息：\n手机号：{phone}\n生日：{birthday}\n称呼：{name}\n"
            "回复「确认」完成入会，回复「取消」退出。"
        ),
        "en": (
            "Please check your details:\nMobile: {phone}\nBirthday: {birthday}\nName: {name}\n"
            'Send "confirm" to join or "cancel" to stop.'
        ),
    },
    "enrol_confirm_expected": {
        "zh": "回复「确认」完成入会，或回复「取消」退出。",
        "en": 'Send "confirm" to join, or "cancel" to stop.',
    },
    "enrol_resume": {
        "zh": "继续上次的入会：\n{prompt}",
        "en": "Let's continue where you stopped:\n{prompt}",
    },
    "enrol_restart": {
        "zh": "上次的入会已超时，我们重新开始。\n{prompt}",
        "en": "Your earlier sign-up timed out, so we start again.\n{prompt}",
    },
    "enrol_done": {
        "zh": "入会成功！欢迎加入{club}，送您 {points} 积分入会礼。\n{card}",
        "en": (
            "You have joined {club}! Here are your {points:welcome point|welcome points}.\n{card}"
        ),
    },
    "enrol_counter_credited": {
        "zh": "您入会前在门店的 {count} 笔消费已补记 {points} 积分。",
        "en": "We added {points:point|points} for the {count:purchase|purchases} you made in "
        "store before joining.",
    },
    "already_member": {
        "zh": "您已经是会员了，无需再次入会。",
        "en": "You are a member already; there is nothing more to join.",
    },
    # Card, points, tiers, history (handlers/card.py, handlers/points.py) ----------------
    "card": {
        "zh": "【{club}会员卡】\n会员号：{number}\n等级：{tier}\n积分：{balance}\n手机号：{phone}",
        "en": (
            "[{club} card]\nMember no.: {number}\nTier: {tier}\nPoints: {balance}\nMobile: {phone}"
        ),
    },
    "points": {
        "zh": "积分余额：{balance}\n会员等级：{tier}",
        "en": "Points: {balance}\nTier: {tier}",
    },
    "points_next_tier": {
        "zh": "再消费 {amount} 即可升级为{tier}。",
        "en": "Spend {amount} more to reach {tier}.",
    },
    "points_top_tier": {
        "zh": "您已是最高等级。",
        "en": "You are at the top tier.",
    },
    "points_expiring": {
        "zh": "{points} 积分将于 {date} 到期，请尽快使用。",
        "en": "{points:point|points} will expire on {date}; use them soon.",
    },
    "points_debt": {
        "zh": "待抵扣积分：{debt}（退货产生，将从今后获得的积分中扣除）。",
        "en": "Points owed: {debt} (from a return; taken from the points you earn next).",
    },
    "history_header": {"zh": "最近的积分明细：", "en": "Your latest points movements:"},
    "history_line": {"zh": "{date} {points:+d} {reason}", "en": "{date} {points:+d} {reason}"},
    "history_empty": {"zh": "暂无积分记录。", "en": "No points movements yet."},
    "tiers_header": {"zh": "会员等级与权益：", "en": "Tiers and benefits:"},
    "tiers_line": {
        "zh": "{tier}：{condition}，积分 {multiplier} 倍，生日礼 {gift} 积分",
        "en": "{tier}: {condition}, {multiplier}x points, birthday gift {gift:point|points}",
    },
    "tiers_condition": {
        "zh": "近 {months} 个月消费满 {threshold}",
        "en": "{threshold} spent over {months:month|months}",
    },
    "tiers_condition_entry": {"zh": "入会即享", "en": "on joining"},
    "tiers_current": {"zh": "您当前的等级：{tier}", "en": "Your tier: {tier}"},
    # Service tickets (handlers/service.py) -----------------------------------------------
    "ticket_opened": {
        "zh": "已为您转接人工客服（服务单 {ticket}）。接下来您发送的消息都会转给客服，"
        "客服的回复会在这里发给您。发送「结束」可结束本次服务。",
        "en": "A member of our staff will answer you here (ticket {ticket}). Everything you "
        'send now goes to them; send "end" to finish.',
    },
    "ticket_forwarded": {
        "zh": "已转给客服（服务单 {ticket}），请稍候。发送「结束」可结束服务。",
        "en": (
            'Passed on to our staff (ticket {ticket}); they will answer here. Send "end" to finish.'
        ),
    },
    "ticket_ended": {
        "zh": "服务单 {ticket} 已结束，感谢您的耐心。需要时发送「人工」即可再次联系客服。",
        "en": 'Ticket {ticket} is closed. Thank you! Send "human" whenever you need us again.',
    },
    "ticket_was_closed": {
        "zh": "服务单 {ticket} 已由客服结束。如需继续咨询，请发送「人工」。",
        "en": 'Ticket {ticket} was closed by our staff. Send "human" to reach us again.',
    },
    "tiers_account": {
        "zh": "您是团购客户「{account}」的联系人，账户等级：{tier}",
        "en": "You buy for the group account {account}, whose tier is {tier}",
    },
    # Check-in (handlers/checkin.py) ---------------------------------------------------
    "checkin_done": {
        "zh": "签到成功！连续签到 {streak} 天，获得 {points} 积分。当前积分：{balance}",
        "en": ("Checked in! {streak:day|days} in a row, {points:point|points}. Balance: {balance}"),
    },
    "checkin_bonus": {
        "zh": "（含连续签到奖励 {bonus} 积分）",
        "en": " (including a streak bonus of {bonus:point|points})",
    },
    "checkin_already": {
        "zh": "今天已经签到过了（已连续 {streak} 天），明天再来吧！",
        "en": "You have checked in today already ({streak:day|days} in a row). See you tomorrow!",
    },
    # Birthday (handlers/birthday.py) --------------------------------------------------
    "birthday_current": {
        "zh": "您登记的生日：{birthday}。",
        "en": "Your birthday on record: {birthday}.",
    },
    "birthday_ask": {
        "zh": "请发送您的生日，{examples}。回复「取消」退出。",
        "en": 'Please send your birthday, {examples}. Send "cancel" to stop.',
    },
    "birthday_expected": {
        "zh": "{problem}\n回复「取消」退出。",
        "en": '{problem}\nSend "cancel" to stop.',
    },
    "birthday_saved": {
        "zh": "生日已登记：{birthday}。生日当天有惊喜哦！",
        "en": "Birthday saved: {birthday}. Expect a surprise on the day!",
    },
    # Name (handlers/name.py) ---------------------------------------------------------
    "name_current": {"zh": "您现在的称呼：{name}。", "en": "We address you as: {name}."},
    "name_ask": {
        "zh": "请发送您希望的称呼，例如：王先生。回复「取消」退出。",
        "en": 'Please send how you would like to be addressed, e.g. Mr Wang. Send "cancel" '
        "to stop.",
    },
    "name_expected": {
        "zh": "{problem}\n回复「取消」退出。",
        "en": '{problem}\nSend "cancel" to stop.',
    },
    "name_saved": {
        "zh": "好的，以后称呼您{name}。",
        "en": "Noted: we will address you as {name}.",
    },
    # Rewards (handlers/redeem.py) -------------------------------------------------------
    "redeem_none": {
        "zh": "暂时没有您可兑换的礼品，敬请期待。",
        "en": "There are no rewards for you right now; please check back later.",
    },
    "redeem_list_header": {"zh": "可兑换的礼品：", "en": "Rewards you can redeem:"},
    "redeem_list_line": {
        "zh": "{n}. {name}  {cost} 积分",
        "en": "{n}. {name}  {cost:point|points}",
    },
    "redeem_list_description": {"zh": "   {description}", "en": "   {description}"},
    "redeem_list_short": {"zh": "（还差 {short} 积分）", "en": " ({short:point|points} short)"},
    "redeem_list_footer": {
        "zh": "回复序号选择礼品，回复「取消」退出。",
        "en": 'Send a number to choose, or "cancel" to stop.',
    },
    "redeem_list_footer_one": {
        "zh": "回复「1」选择这件礼品，回复「取消」退出。",
        "en": 'Send "1" to choose it, or "cancel" to stop.',
    },
    "redeem_choose_expected": {
        "zh": "请回复 1-{count} 之间的序号选择礼品，或回复「取消」退出。",
        "en": 'Please send a number from 1 to {count}, or "cancel" to stop.',
    },
    "redeem_choose_expected_one": {
        "zh": "请回复「1」选择这件礼品，或回复「取消」退出。",
        "en": 'Please send "1" to choose it, or "cancel" to stop.',
    },
    "redeem_too_expensive": {
        "zh": (
            "兑换「{name}」需要 {cost} 积分，您还差 {short} 积分。"
            "请选择其他序号，或回复「取消」退出。"
        ),
        "en": (
            '"{name}" costs {cost:point|points}; you are {short:point|points} short. '
            'Choose another number, or send "cancel".'
        ),
    },
    "redeem_confirm": {
        "zh": "确认用 {cost} 积分兑换「{name}」？回复「确认」兑换，回复「取消」放弃。",
        "en": 'Redeem "{name}" for {cost:point|points}? Send "confirm" to redeem, or "cancel".',
    },
    "redeem_confirm_expected": {
        "zh": "回复「确认」兑换「{name}」，或回复「取消」放弃。",
        "en": 'Send "confirm" to redeem "{name}", or "cancel".',
    },
    "redeem_done": {
        "zh": "兑换成功！{name}\n券码：{voucher}\n剩余积分：{balance}\n请凭券码领取。",
        "en": (
            "Redeemed: {name}\nVoucher: {voucher}\nPoints left: {balance}\n"
            "Show the voucher to collect it."
        ),
    },
    "redeem_done_until": {
        "zh": "兑换成功！{name}\n券码：{voucher}\n有效期至：{until}\n剩余积分：{balance}\n"
        "请在有效期内凭券码领取。",
        "en": (
            "Redeemed: {name}\nVoucher: {voucher}\nValid until: {until}\n"
            "Points left: {balance}\nShow the voucher to collect it before then."
        ),
    },
    "redeem_refused_not_enough_points": {
        "zh": "积分不足，未能兑换。",
        "en": "Not enough points; nothing was redeemed.",
    },
    "redeem_refused_out_of_stock": {
        "zh": "这件礼品刚刚兑完了，未扣积分。",
        "en": "That reward has just run out; no points were taken.",
    },
    "redeem_refused_member_limit": {
        "zh": "这件礼品您已达到兑换上限。",
        "en": "You have reached the limit for that reward.",
    },
    "redeem_refused_tier_too_low": {
        "zh": "这件礼品仅限更高等级的会员兑换。",
        "en": "That reward is for higher tiers only.",
    },
    "redeem_refused_unavailable": {
        "zh": "这件礼品当前不可兑换。",
        "en": "That reward is not available now.",
    },
    "redeem_refused_other": {
        "zh": "未能兑换，请发送「兑换」重新选择。",
        "en": 'That did not work; send "redeem" to choose again.',
    },
    "member_blocked": {
        "zh": "您的会员账户已暂停积分与兑换，如有疑问请联系俱乐部客服。",
        "en": "Points and rewards are on hold for your membership; please contact the club.",
    },
    "code_capped_day": {
        "zh": "今天获得的积分已达上限（{limit} 积分），这个瓶盖码仍然有效，请明天再发送。",
        "en": (
            "You have reached today's limit of {limit:point|points}; this code stays valid, so "
            "please send it again tomorrow."
        ),
    },
    "code_capped_month": {
        "zh": "本月获得的积分已达上限（{limit} 积分），这个瓶盖码仍然有效，请下个月再发送。",
        "en": (
            "You have reached this month's limit of {limit:point|points}; this code stays "
            "valid, so "
            "please send it again next month."
        ),
    },
    "checkin_capped": {
        "zh": "（今日积分已达上限）",
        "en": " (today's points limit reached)",
    },
    # Bottle codes (handlers/codes.py) ---------------------------------------------------
    "code_earned": {
        "zh": "瓶盖码兑换成功，获得 {points} 积分！当前积分：{balance}",
        "en": "Code accepted: {points:point|points}! Balance: {balance}",
    },
    "code_used_by_you": {
        "zh": "这个瓶盖码您已经兑换过了（{points} 积分），每个码只能用一次。",
        "en": "You have used this code already ({points:point|points}); each code counts once.",
    },
    "code_used_by_other": {
        "zh": "这个瓶盖码已被使用过。",
        "en": "This code has already been used.",
    },
    "code_mistyped": {
        "zh": "瓶盖码 {code} 好像输错了，请核对瓶盖下的编码后重新发送。",
        "en": "The code {code} looks mistyped; please check it under the cap and send it again.",
    },
    "code_unknown": {
        "zh": "没有找到这个瓶盖码，请核对后重新发送。",
        "en": "We could not find this code; please check it and send it again.",
    },
    "code_limit": {
        "zh": "兑换的瓶盖码已达上限（{limit} 个），请稍后再试。",
        "en": "You have reached the limit of {limit:code|codes}; please try again later.",
    },
    "code_paused_hour": {
        "zh": (
            "最近一小时内有{limit}个瓶盖码未能兑换，为保护您的账户，瓶盖码兑换暂停到 {time}。"
            "请核对瓶盖下的编码，届时再发送；如有疑问，请保留瓶盖并联系客服。"
        ),
        "en": (
            "{limit:code|codes} in the last hour did not work, so to keep your account safe, codes "
            "are paused until {time}. Please check the code under the cap and send it then; "
            "if you need help, keep the cap and contact us."
        ),
    },
    "code_paused_day": {
        "zh": (
            "今天已有{limit}个瓶盖码未能兑换，为保护您的账户，瓶盖码兑换暂停到明天。"
            "请核对瓶盖下的编码，明天再发送；如有疑问，请保留瓶盖并联系客服。"
        ),
        "en": (
            "{limit:code|codes} today did not work, so to keep your account safe, codes are paused "
            "until tomorrow. Please check the code under the cap and send it then; if you need "
            "help, keep the cap and contact us."
        ),
    },
    "code_not_ours": {
        "zh": "这不是我们的瓶盖码，请扫描瓶盖下的二维码。",
        "en": "That is not one of our bottle codes; please scan the code under the cap.",
    },
    # Data rights (handlers/data_rights.py) ----------------------------------------------
    "data_export": {
        "zh": (
            "我们保存的您的数据：\n会员号：{number}\n称呼：{name}\n手机号：{phone}\n生日：{birthday}\n"
            "隐私同意：{consent}\n入会时间：{joined}\n等级：{tier}\n积分：{balance}\n"
            "来源：{source}\n"
            "积分记录 {ledger} 条，购买 {purchases} 笔，兑换 {redemptions} 次，"
            "瓶盖码 {codes} 个，签到 {checkins} 次。\n"
            "发送「删除我的数据」可删除您的个人信息。"
        ),
        "en": (
            "What we keep about you:\nMember no.: {number}\nName: {name}\nMobile: {phone}\n"
            "Birthday: {birthday}\nPrivacy consent: {consent}\nJoined: {joined}\n"
            "Tier: {tier}\nPoints: {balance}\nSource: {source}\n"
            "{ledger:points movement|points movements}, {purchases:purchase|purchases}, "
            "{redemptions:redemption|redemptions}, {codes:bottle code|bottle codes}, "
            "{checkins:check-in|check-ins}.\n"
            'Send "delete my data" to erase your personal data.'
        ),
    },
    "source_store": {"zh": "门店 {name}", "en": "store {name}"},
    "source_staff": {"zh": "店员 {name}", "en": "staff member {name}"},
    "data_consent": {"zh": "{date}（版本 {version}）", "en": "{date} (version {version})"},
    "data_erase_ask": {
        "zh": (
            "删除后，您的手机号、生日等个人信息将被清除且无法恢复，积分与会员身份随之失效，"
            "匿名的积分账目会保留。\n回复「确认删除」继续，回复「取消」放弃。"
        ),
        "en": (
            "This erases your mobile number, birthday and other personal data for good; your "
            "points and membership end, and only anonymous bookkeeping is kept.\n"
            'Send "confirm delete" to go ahead, or "cancel" to keep everything.'
        ),
    },
    "data_erase_expected": {
        "zh": "回复「确认删除」删除您的数据，或回复「取消」放弃。",
        "en": 'Send "confirm delete" to erase your data, or "cancel" to keep it.',
    },
    "data_erased": {
        "zh": "您的个人数据已删除。感谢您的陪伴。",
        "en": "Your personal data has been erased. Thank you for having been with us.",
    },
    "staff_bound": {
        "zh": "已绑定员工账号 {name}：活动测试消息将发送到这个微信。",
        "en": "Bound to staff account {name}: campaign tests will come to this WeChat.",
    },
    "staff_bind_failed": {
        "zh": "绑定码无效或已过期，请在员工后台重新获取。",
        "en": "That binding code is unknown or expired: get a new one from the staff API.",
    },
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The text for `key` in `lang` (Chinese if that language is missing), filled in."""
    entry = TEXTS[key]
    text = entry.get(lang) or entry["zh"]
    return fill(text, values) if values else text
