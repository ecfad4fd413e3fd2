"""The built-in demo programme (used when CLUB_CONFIG is unset).

The same text ships as config/programme.example.toml (a test keeps the two equal when loaded).
"""

from __future__ import annotations

from functools import cache

from club.programme.loader import parse_programme_text
from club.rules.programme import Programme

DEMO_TOML = r'''

name_zh = "醇香会"
name_en = "Mellow Club"

# Tiers from the lowest upwards. threshold_fen: qualifying spend over the last
# tier_review.months months that reaches the tier. A purchase crossing a threshold upgrades at
# once; downgrades happen only at the monthly review, one step at most.
[[tiers]]
code = "taste"
name_zh = "品鉴会员"
name_en = "Taster"
threshold_fen = 0
earn_multiplier = 1
birthday_gift_points = 50

[[tiers]]
code = "silver"
name_zh = "银卡"
name_en = "Silver"
threshold_fen = 300000
earn_multiplier = 1.2
birthday_gift_points = 100

[[tiers]]
code = "gold"
name_zh = "金卡"
name_en = "Gold"
threshold_fen = 1000000
earn_multiplier = 1.5
birthday_gift_points = 300

[[tiers]]
code = "black"
name_zh = "黑金"
name_en = "Black Gold"
threshold_fen = 5000000
earn_multiplier = 2
birthday_gift_points = 800

[earning]
points_per_yuan = 1
welcome_bonus = 100
checkin_points = 2
checkin_streak_days = 7
checkin_streak_bonus = 20

# The most points a member earns from purchases, bottle codes and check-ins: per order, per club
# day and per calendar month (0: no cap). A credit that would pass a cap is cut to what is left and
# its ledger reason says so; a bottle code worth more than what is left today waits (it stays
# valid). Birthday and festival gifts, the welcome bonus and staff adjustments do not count.
[earning_caps]
per_order = 0
per_day = 0
per_month = 0

# rule = "end_of_next_year": points expire at the end of the year after the year earned.
# rule = "rolling_days" with days = N: points stay valid to the end of the N-th day after earning.
[expiry]
rule = "end_of_next_year"
reminder_days = 30

[limits]
max_purchase_fen = 100000000
max_credit_points = 100000

# Purchases a store's clerk records for a consumer who is not a member yet wait against the phone
# number given at the till; when that phone joins the club in chat within pending_days, they are
# credited to the new member (once), else they lapse.
[counter]
pending_days = 30

# A redeemed reward's voucher can be used at a store for valid_days (0: forever); after that it
# expires, and its points go back to the member when refund_on_expiry is true.
[vouchers]
valid_days = 30
refund_on_expiry = true

# A staff API token stops working token_days after it was made; `python -m bot staff rotate NAME`
# (or the API) makes a new one.
[staff]
token_days = 90

[bottle_codes]
per_hour = 10
per_day = 30
failed_per_hour = 5
failed_per_day = 10

[birthday]
send_time = "10:00"
# Each tier's wish: {name} is how the member asked to be addressed (尊敬的会员 / dear member when
# they did not say), {gift} the tier's birthday gift points.

[birthday.text_zh]
taste = "{name}，生日快乐！醇香会为您送上{gift}积分生日礼，愿您岁岁安康。"
silver = "{name}，生日快乐！银卡会员专属{gift}积分生日礼已到账，祝您好运常伴。"
gold = "{name}，生日快乐！金卡会员专属{gift}积分生日礼已到账，愿您事事如意，举杯同庆。"
black = "{name}，生日快乐！黑金会员专属{gift}积分生日厚礼已到账，专属顾问随时为您效劳。"

[birthday.text_en]
taste = "Happy birthday, {name}! Mellow Club sends you {gift:birthday point|birthday points}."
silver = "Happy birthday, {name}! Your Silver gift of {gift:point|points} is in your account."
gold = "Happy birthday, {name}! Your Gold gift of {gift:point|points} is in your account. Cheers!"
black = "Happy birthday, {name}! A Black Gold gift of {gift:point|points} is yours. Cheers!"

[delivery]
quiet_start = "21:00"
quiet_end = "09:00"
window_hours = 48
# WeChat's customer-service allowance since June 2023: a member's message allows 5 messages
# within 48 hours; a menu click, QR scan or follow allows 3 within one minute. Beyond it a
# proactive message goes by template (or is skipped with the reason).
window_messages_after_message = 5
window_messages_after_event = 3
window_minutes_after_event = 1
# Marketing messages (greetings, points reminders, campaigns) a member gets in any 7 days at
# most; replies and service notices are never capped. 0 turns marketing messages off.
marketing_per_week = 3

# Template messages: how each announcement fills one of your Official Account's templates.
# `id` is the template id from the admin console; `fields` gives each of the template's fields
# (thing1, time2, keyword1, first, remark...) its text, where {placeholders} are the
# announcement's values:
#   all:              {content} (the whole message in the member's language), {date}
#   birthday:         {name}, {tier}, {gift}
#   festival:         {festival}, {gift}
#   points_expiry:    {points}, {year}, {month}, {day}        (must tell {points} and {date})
#   tier_upgrade, purchase_upgrade: {tier}                     (must tell {tier})
#   tier_downgrade:   {tier}, {regain_tier}, {amount}, {months} (must tell {tier})
#   reply:            (a chat answer that missed WeChat's 5 s; must tell {content})
#   points_earned, points_reversed: {points}, {balance}, {amount} (yuan), {order}
#                                   (must tell {points} and {balance})
#   points_adjusted:  {change} (+100 or -50), {points}, {balance}, {reason}
#                     (must tell {change} and {balance})
#   voucher_expired:  {reward}, {code}; no points came back        (must tell {reward})
#   voucher_expired_refunded: {reward}, {code}, {points} (came back) (must tell {reward} and
#                     {points}; unmapped, the voucher_expired template goes)
#   ticket_answer:    {text}, a staff member's answer (must tell {text}); ticket_closed
#   purchase_upgrade also has the purchase's {points}, {balance}, {amount} and {order}
#   campaign:         {name}, {tier}, {campaign} (its name)     (must tell {content})
# Values are cut to what each new-style field type takes (thing: 20 characters, phrase: 5...).
# An announcement without a template reaches the member only inside the customer-service window.
[templates.birthday]
id = "demo-tmpl-birthday"
fields = { thing1 = "{name}", thing2 = "生日快乐，{gift}积分生日礼已到账", time3 = "{date}" }

[templates.festival]
id = "demo-tmpl-festival"
fields = { thing1 = "{festival}快乐", thing2 = "{content}", time3 = "{date}" }

[templates.points_expiry]
id = "demo-tmpl-points-expiry"
fields = { number1 = "{points}", time2 = "{date}", thing3 = "积分即将到期，请及时兑换" }

[templates.tier_upgrade]
id = "demo-tmpl-tier-change"
fields = { thing1 = "{tier}", time2 = "{date}", thing3 = "新等级权益已为您开启" }

[templates.purchase_upgrade]
id = "demo-tmpl-tier-change"
fields = { thing1 = "{tier}", time2 = "{date}", thing3 = "感谢惠顾，新等级权益已开启" }

[templates.tier_downgrade]
id = "demo-tmpl-tier-change"
fields = { thing1 = "{tier}", time2 = "{date}", thing3 = "{months}个月满{amount}元回{regain_tier}" }

[templates.reply]
id = "demo-tmpl-service-reply"
fields = { thing1 = "{content}", time2 = "{date}" }

[templates.points_earned]
id = "demo-tmpl-points-change"

[templates.points_earned.fields]
thing1 = "消费{amount}元"
character_string2 = "+{points}"
number3 = "{balance}"
time4 = "{date}"

[templates.points_reversed]
id = "demo-tmpl-points-change"

[templates.points_reversed.fields]
thing1 = "退货{amount}元"
character_string2 = "-{points}"
number3 = "{balance}"
time4 = "{date}"

[templates.ticket_answer]
id = "demo-tmpl-service-reply"
fields = { thing1 = "{text}", time2 = "{date}" }

[templates.voucher_expired]
id = "demo-tmpl-voucher"
fields = { thing1 = "{reward}", character_string2 = "{code}", thing3 = "已过期" }

[templates.voucher_expired_refunded]
id = "demo-tmpl-voucher"
fields = { thing1 = "{reward}", character_string2 = "{code}", thing3 = "已过期，退回{points}积分" }

[templates.points_adjusted]
id = "demo-tmpl-points-change"

[templates.points_adjusted.fields]
thing1 = "{reason}"
character_string2 = "{change}"
number3 = "{balance}"
time4 = "{date}"
# A staff campaign without a template of its own goes out of the window by this one.
[templates.campaign]
id = "demo-tmpl-campaign"
fields = { thing1 = "{campaign}", thing2 = "{content}", time3 = "{date}" }

# Staff campaigns (all optional; these are the defaults).
[campaigns]
# Template messages WeChat allows a day (all kinds together); campaigns use what is left, then
# go by one mass send. 45009 from WeChat ends it sooner.
template_daily_quota = 100000
# A campaign to more members than this needs an admin's approval.
approval_threshold = 10000
# The fastest a campaign may send (messages a second).
max_per_second = 500
# Mass messages a member may get a month (WeChat's rule for service accounts).
mass_per_month = 4
# Tagging calls a second when a campaign tags its members for a mass send (50 members a call).
tag_calls_per_second = 50
# Days after sending over which recipients are compared with the held-out members.
effect_days = 30
# What a message costs to send, in fen (a point's value is [value] point_value_fen).
message_cost_fen = 0

[tier_review]
day_of_month = 1
months = 12

# Customer value. Profit of a purchase = net sale (after returns) - its cost - the points it earned
# x point_value_fen - the service cost of the channel level it was sold at (a share of the net
# sale). A purchase without a cost is reported as missing, never counted as free. Shares are
# fractions (0.8 = 80%) to a basis point at most. Value counts the last `months` months.
#   pareto_share: key customers are the smallest set making this share of sales (or of profit)
#     within their channel level; potential_band: the customers just after the cut whose later
#     half of the period sold rising_growth more than the earlier half are potential key ones.
#   class_a_share / class_b_share: A makes the first 80% of profit, B up to 95%, C the rest.
#   rfm_bins: recency, frequency and monetary scores run 1..rfm_bins.
#   trend_months, tier_gap_share: potential = spend of the last trend_months rising against the
#     trend_months before, or spend within tier_gap_share of the next tier's threshold.
#   kept_rankings: other periods a report ranked today, kept so that their pages, lists,
#     levels and downloads answer at once (each one a row per customer: about 270 MB at a
#     million customers); the least recently read goes first.
#   ranked_ahead: named periods (last_month, last_quarter, year_to_date, last_year) the nightly
#     rank-ahead job ranks before anyone asks, with the periods reports asked for the day
#     before, so that their 80/20 reports answer at once; kept all day besides kept_rankings.
[value]
point_value_fen = 2
months = 12
pareto_share = 0.8
potential_band = 0.1
rising_growth = 0.2
class_a_share = 0.8
class_b_share = 0.95
rfm_bins = 5
trend_months = 6
tier_gap_share = 0.2
kept_rankings = 4
ranked_ahead = ["last_month", "last_quarter", "year_to_date", "last_year"]

# Service cost per channel level, a share of sales (consumer: direct sales with no store).
[value.service_cost]
dealer = 0.03
wholesaler = 0.04
key_account = 0.15
small_shop = 0.06
online = 0.08
consumer = 0.02

# Churn early warning: flagged when the silence since the last purchase passes silence_factor
# times the member's own rhythm (the median gap between purchases, once there are min_purchases),
# or when the last 12 months' spend fell by more than spend_drop against the 12 before. A follower
# with no purchase, message or scan for dormant_days has gone dormant (counted as an exit).
[churn]
silence_factor = 2
min_purchases = 3
spend_drop = 0.5
dormant_days = 180

[consent]
version = "2026-11"
text_zh = """\
入会即表示您同意我们保存您的手机号和生日，\
仅用于会员积分、等级与生日祝福；\
您可随时发送“我的数据”查看或“删除我的数据”删除。"""
text_en = """\
By joining you agree that we keep your phone number and birthday, \
only for points, tiers and birthday greetings; \
send "my data" to see it or "delete my data" to erase it at any time."""

# Messages the club sends on its own, in Chinese and English. A text may use only the
# placeholders listed for it (an unknown one is a load error):
#   points_expiry: {points}, {date} (YYYY-MM-DD), {year}, {month}, {day}: the last valid day
#   tier_upgrade, tier_downgrade, purchase_upgrade: {tier}, the new tier's name
#   tier_regain (added after a downgrade): {amount} yuan to spend in {months} months to regain
#     {tier}, the tier just left
#   points_earned, points_reversed (a purchase, a return recorded by staff): {points},
#     {balance}, {amount} (yuan), {order}; a purchase that lifts the tier sends points_earned
#     followed by purchase_upgrade, as one message
#   points_adjusted (by staff): {change} (+100 or -50), {points}, {balance}, {reason}
#   voucher_expired (unused in time): {reward}, {code}; voucher_expired_refunded also {points}
#   ticket_answer (staff answering the member's request for a person): {text}; ticket_closed
# Messages added after a programme was written may be left out; the texts shown here are used.
# Write a literal brace as {{ or }}. In English, {points:point|points} writes the number and the
# word that agrees with it (1 point, 5 points): use it wherever a number is a placeholder.
[messages.points_expiry]
zh = "您有{points}积分将于{month}月{day}日后到期，记得及时兑换哦。"
en = "{points:point|points} will expire after {date}: redeem them soon."

[messages.tier_upgrade]
zh = "恭喜您升级为{tier}会员！"
en = "Congratulations: you are now a {tier} member."

[messages.tier_downgrade]
zh = "感谢您一直以来的支持，您的会员等级调整为{tier}。"
en = "Your tier is now {tier}. Thank you for being with us."

[messages.tier_regain]
zh = "{months}个月内消费满{amount}元即可重回{tier}。"
en = "Spend {amount} yuan in {months:month|months} to regain {tier}."

[messages.points_earned]
zh = "感谢惠顾！本次消费{amount}元，获得{points}积分，当前积分{balance}。"
en = "Thank you for your purchase of {amount} yuan: {points:point|points} earned, {balance} in all."

[messages.points_reversed]
zh = "您的订单{order}退货{amount}元，扣回{points}积分，当前积分{balance}。"
en = "A return of {amount} yuan (order {order}) took back {points:point|points}: {balance} left."

[messages.points_adjusted]
zh = "您的积分已调整{change}（{reason}），当前积分{balance}。"
en = "Your points were adjusted by {change} ({reason}); your balance is {balance}."

[messages.ticket_answer]
zh = "【会员服务】{text}"
en = "[Member service] {text}"

[messages.ticket_closed]
zh = "您的人工服务已结束，感谢您的耐心。如需帮助，随时发送“人工”。"
en = "Your conversation with our staff has ended. Send \"human\" any time you need us."

[messages.voucher_expired]
zh = "您兑换的{reward}（券码{code}）已过期。"
en = "Your voucher for {reward} ({code}) has expired."

[messages.voucher_expired_refunded]
zh = "您兑换的{reward}（券码{code}）已过期，{points}积分已退回您的账户。"
en = "Your voucher for {reward} ({code}) has expired; you got {points:point|points} back."

[messages.purchase_upgrade]
zh = "恭喜您升级为{tier}会员！感谢您的支持，新等级的权益已为您开启。"
en = "Congratulations: you are now a {tier} member. Your new benefits start today."

# The Official Account's menu: `python -m bot menu install` puts it on the account, `python -m bot
# menu show` prints what is there. 1-3 buttons, each either an action or 1-5 sub-buttons
# ([[menu.buttons]]). A name is at most 16 bytes at the top (5 Chinese characters; 4 show in full)
# and 60 in a sub-menu. type = "click" takes a key the chat answers: POINTS, CARD, REDEEM, CHECKIN
# or HELP; "scancode_waitmsg" (or "scancode_push") scans a bottle code and redeems it, with any
# key; "view" opens its url, e.g.  name = "品牌官网", type = "view", url = "https://...".
[[menu]]
name = "会员中心"

[[menu.buttons]]
name = "我的积分"
type = "click"
key = "POINTS"

[[menu.buttons]]
name = "会员卡"
type = "click"
key = "CARD"

[[menu.buttons]]
name = "积分兑换"
type = "click"
key = "REDEEM"

[[menu]]
name = "扫码积分"
type = "scancode_waitmsg"
key = "SCAN_CAP"

[[menu]]
name = "更多"

[[menu.buttons]]
name = "每日签到"
type = "click"
key = "CHECKIN"

[[menu.buttons]]
name = "帮助"
type = "click"
key = "HELP"

# The reward catalogue the club starts with. Each is created once, when the server starts and no
# reward with its key exists; from then on the database holds it, and staff change its price,
# stock and availability through the staff API (editing it here changes nothing that exists).
# Optional: description, stock (omit: unlimited), min_tier, per_member_limit.
[[rewards]]
key = "tasting_glasses"
name = "品鉴酒杯一对"
description = "水晶品鉴杯两只，凭券到门店领取。"
points_cost = 300
stock = 200

[[rewards]]
key = "miniature"
name = "小酒版 100ml"
description = "经典小酒版一瓶，凭券到门店领取。"
points_cost = 500
stock = 100

[[rewards]]
key = "tasting_event"
name = "品鉴会入场券"
description = "季度品鉴会一人次，凭券入场。"
points_cost = 1200
stock = 30
min_tier = "silver"
per_member_limit = 2

[[rewards]]
key = "gift_box"
name = "节日礼盒"
description = "限量节日礼盒，每位会员限兑一份。"
points_cost = 3000
stock = 50
min_tier = "gold"
per_member_limit = 1

[[festivals]]
key = "new_year"
name_zh = "元旦"
name_en = "New Year's Day"
calendar = "solar"
month = 1
day = 1
text_zh = "新年快乐！醇香会祝您新岁安康，万事顺意。"
text_en = "Happy New Year from Mellow Club!"

[[festivals]]
key = "spring"
name_zh = "春节"
name_en = "Spring Festival"
calendar = "lunar"
month = 1
day = 1
text_zh = "春节快乐！醇香会给您拜年，祝阖家团圆，福满新春。"
text_en = "Happy Spring Festival! May your family gather in joy."
gift_points = { silver = 50, gold = 100, black = 300 }

[[festivals]]
key = "lantern"
name_zh = "元宵"
name_en = "Lantern Festival"
calendar = "lunar"
month = 1
day = 15
text_zh = "元宵节快乐！月圆人团圆，愿您甜甜蜜蜜。"
text_en = "Happy Lantern Festival!"

[[festivals]]
key = "dragon_boat"
name_zh = "端午"
name_en = "Dragon Boat Festival"
calendar = "lunar"
month = 5
day = 5
text_zh = "端午安康！醇香会祝您身体健康，诸事顺遂。"
text_en = "Wishing you a healthy Dragon Boat Festival!"

[[festivals]]
key = "qixi"
name_zh = "七夕"
name_en = "Qixi Festival"
calendar = "lunar"
month = 7
day = 7
text_zh = "七夕快乐！愿您与所爱之人共饮佳酿。"
text_en = "Happy Qixi! A toast to you and your loved one."

[[festivals]]
key = "mid_autumn"
name_zh = "中秋"
name_en = "Mid-Autumn Festival"
calendar = "lunar"
month = 8
day = 15
text_zh = "中秋快乐！花好月圆，醇香会祝您阖家幸福。"
text_en = "Happy Mid-Autumn Festival!"
gift_points = { silver = 50, gold = 100, black = 300 }

[[festivals]]
key = "double_ninth"
name_zh = "重阳"
name_en = "Double Ninth Festival"
calendar = "lunar"
month = 9
day = 9
text_zh = "重阳安康！登高望远，祝您和家中长辈福寿绵长。"
text_en = "Wishing you and your elders a healthy Double Ninth Festival."

[[festivals]]
key = "national_day"
name_zh = "国庆"
name_en = "National Day"
calendar = "solar"
month = 10
day = 1
text_zh = "国庆快乐！醇香会祝您假期愉快。"
text_en = "Happy National Day holidays!"
'''


@cache
def demo_programme() -> Programme:
    return parse_programme_text(DEMO_TOML, source="built-in demo programme")
