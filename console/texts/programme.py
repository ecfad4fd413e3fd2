"""The console's words for rewards, bottle codes and the programme file: key -> (Chinese,
English)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # Programme: rewards, bottle codes, the programme file
    "reward_catalogue": ("礼品目录", "Reward catalogue"),
    "reward_name": ("礼品名称", "Reward"),
    "description": ("说明", "Description"),
    "points_cost": ("所需积分", "Points"),
    "stock": ("库存", "Stock"),
    "stock_optional": ("库存（留空为不限）", "Stock (empty: unlimited)"),
    "min_tier": ("最低等级", "Lowest tier"),
    "every_member": ("所有会员", "every member"),
    "per_member_limit": ("每人限兑", "Per member"),
    "per_member_limit_optional": ("每人限兑（可选）", "Per member (optional)"),
    "unlimited": ("不限", "unlimited"),
    "sold_out": ("已兑完", "sold out"),
    "on_offer": ("可兑换", "on offer"),
    "withdrawn": ("已下架", "withdrawn"),
    "add_reward": ("新增礼品", "Add a reward"),
    "add": ("新增", "Add"),
    "reward_created": ("礼品「{name}」已新增。", "Reward {name} added."),
    "generate_codes": ("生成瓶盖码", "Generate bottle codes"),
    "generate_codes_hint": (
        "每批最多 10,000 个；同一批次名再次提交相同数量和积分时返回原批次，不会重复生成。",
        "Up to 10,000 a batch; the same batch name with the same count and points returns the "
        "first batch instead of making more.",
    ),
    "batch_name": ("批次名", "Batch"),
    "code_count": ("数量", "Codes"),
    "points_each": ("每码积分", "Points each"),
    "generate": ("生成", "Generate"),
    "batches": ("瓶盖码批次", "Batches"),
    "created": ("生成时间", "Created"),
    "codes_used": ("已扫码", "Used"),
    "for_printer": ("印刷文件", "For the printer"),
    "download_csv": ("下载 CSV", "Download CSV"),
    "codes_created": (
        "已生成 {n} 个瓶盖码（批次 {batch}）。",
        "{n} codes generated (batch {batch}).",
    ),
    "programme_from_file": (
        "以下内容由会员计划文件 {path} 决定，此处只读；修改文件后重启服务生效。",
        "Set by the programme file {path}; read-only here. Edit the file and restart to change it.",
    ),
    "programme_demo": (
        "当前使用内置演示计划（未设置 CLUB_CONFIG），此处只读。",
        "The built-in demo programme (CLUB_CONFIG is not set); read-only here.",
    ),
    "tiers": ("会员等级", "Tiers"),
    "code": ("代码", "Code"),
    "threshold": ("升级门槛（12 个月消费）", "Threshold (12-month spend)"),
    "multiplier": ("积分倍率", "Points multiplier"),
    "birthday_gift": ("生日礼积分", "Birthday gift"),
    "earning_rule": (
        "每消费 1 元得 {per_yuan} 积分（乘以等级倍率）；入会礼 {welcome} 积分；"
        "按过去 {months} 个月消费每月 {day} 日评定等级。",
        "{per_yuan} points a yuan (times the tier's multiplier); {welcome} welcome points; "
        "tiers reviewed on day {day} of each month over the last {months} months' spend.",
    ),
    "festivals": ("节日问候", "Festivals"),
    "festival": ("节日", "Festival"),
    "date": ("日期", "Date"),
    "gifts": ("赠送积分", "Gift points"),
    "greeting": ("问候语", "Greeting"),
    "calendar_solar": ("公历", "solar"),
    "calendar_lunar": ("农历", "lunar"),
    "message_texts": ("消息文案", "Message texts"),
    "text_points_expiry": ("积分到期提醒", "Points expiring"),
    "text_tier_upgrade": ("等级提升（月度评定）", "Tier up (review)"),
    "text_tier_downgrade": ("等级下降（月度评定）", "Tier down (review)"),
    "text_tier_regain": ("保级提示", "How to regain"),
    "text_purchase_upgrade": ("消费升级", "Tier up by a purchase"),
    "text_consent": ("隐私同意", "Privacy consent"),
    "quiet_hours": (
        "免打扰时段 {start}–{end}：此时段内不发送消息。",
        "Quiet hours {start}-{end}: nothing is sent then.",
    ),
}
