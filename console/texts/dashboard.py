"""The console's words for the dashboard: key -> (Chinese, English)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # Dashboard
    "period": ("{first} 至 {last}", "{first} to {last}"),
    "members_by_tier": ("会员等级分布", "Members by tier"),
    "chart_of": (
        "图表：{what}（数字见旁边列表）",
        "Chart: {what} (the numbers are listed beside it)",
    ),
    "members_total": ("入会会员合计", "Joined members"),
    "followers_not_joined": ("关注未入会", "Followers not joined"),
    "growth_title": ("每日新会员与取关", "New members and unfollows a day"),
    "new_members": ("新会员", "New members"),
    "unfollows": ("取关", "Unfollows"),
    "days_30": ("30 天", "30 days"),
    "today": ("今日", "today"),
    "points_title": ("积分发放、兑换与过期", "Points issued, redeemed and expired"),
    "points_issued": ("发放", "Issued"),
    "points_redeemed": ("兑换", "Redeemed"),
    "points_expired": ("过期", "Expired"),
    "messages_title": ("各渠道消息发送（30 天）", "Messages by channel (30 days)"),
    "sent_failed": ("（已发送 / 失败）", "(sent / failed)"),
    "templates_today": ("今日已发模板消息", "Template messages sent today"),
    "template_quota": ("模板消息日配额", "Daily template quota"),
    "quota_not_set": ("未配置", "not set"),
    "campaigns_in_flight": ("进行中的营销活动", "Campaigns in flight"),
    "no_campaigns_yet": (
        "暂无营销活动：活动功能上线后，这里显示正在发送的活动及其进度。",
        "No campaigns yet: once campaigns exist, those sending show here with their progress.",
    ),
    "value_title": ("流失预警与重点客户", "Churn risk and key customers"),
    "no_value_yet": (
        "尚未计算：客户价值管理上线后，这里显示流失风险会员数与重点客户数。",
        "Not computed yet: once customer value management exists, the churn-risk and "
        "key-customer counts show here.",
    ),
    # Dashboard additions
    "no_campaigns_in_flight": (
        "当前没有正在发送或待发送的营销活动。",
        "No campaign is scheduled, sending or paused.",
    ),
    "quota_spent": ("已用尽", "spent"),
    "churn_risk_members": ("流失预警会员", "Members at churn risk"),
    "churn_high_members": ("其中高风险", "of them high risk"),
    "key_customers": ("重点客户（A 类）", "Key customers (class A)"),
    "as_of": ("数据日期 {day}", "data of {day}"),
    "computed_at": ("计算于 {time}", "as of {time}"),
}
