"""The console's words for the scheduled jobs page (runs, marks, job names, counts by name):
key -> (Chinese, English)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # Scheduled jobs
    "jobs_about": (
        "定时任务进程每晚和每天运行的任务，最近 {n} 天的运行记录；时间均为俱乐部时区（{tz}）。",
        "What the scheduler runs each night and day: the runs of the last {n} days. Times are in "
        "the club's time zone ({tz}).",
    ),
    "jobs_no_run": (
        "还没有任何运行记录：请确认定时任务进程（python -m scheduler）正在运行。",
        "No run recorded yet: check that the scheduler (python -m scheduler) is running.",
    ),
    "jobs_counts_note": (
        "完成情况在运行结束时记录。一次运行如经重试或在进程中断后续跑（尝试次数大于 1），"
        "完成情况只是最后一次尝试的结果，不含之前各次（之前已发出的祝福计为“之前已完成”）。",
        "Counts are written when a run finishes. A run retried after a failure or resumed after "
        "its process died (attempts above 1) shows the counts of its last attempt only, earlier "
        "attempts not added in (greetings an earlier attempt sent count as “done before”).",
    ),
    "jobs_timing_note": (
        "准时：定时任务进程在任务时间运行。补运行：进程启动时补上停机期间错过的运行（或重试失败的"
        "运行），或有人手动运行（python -m scheduler run）。积分过期、等级评定、客户价值更新和流失"
        "风险扫描每次运行都涵盖之前各天，所以之前未运行、失败或中断的一天由之后完成的一次运行补上；"
        "生日和节日祝福、报表预先排名只在当天补运行（过了日子的祝福有害无益），过了那一天只能手动"
        "运行。",
        "On time: the scheduler ran it at the job's time. Made up: a scheduler starting up ran "
        "what it missed while down (or a run that had failed), or someone ran it by hand (python "
        "-m scheduler run). Points expiry, the tier review, the value refresh and the churn scan "
        "do every earlier day's work each time they run, so a day missed, failed or left "
        "unfinished is made up by the next run that finished; birthday and festival greetings "
        "and the rankings ahead are made up by the scheduler on their own day only (a greeting "
        "after the day does harm), a day gone only by running it by hand.",
    ),
    "jobs_days": ("显示最近", "Show the last"),
    "jobs_next_due": ("下次运行", "Next run"),
    "jobs_not_scheduled": ("不定时，手动运行", "not scheduled: run by hand"),
    "jobs_marked": ("{n} 条需要注意", "{n} to look at"),
    "jobs_made_up_count": ("{n} 条已补上", "{n} made up"),
    "jobs_timing": ("准时或补运行", "On time or made up"),
    "jobs_started": ("开始", "Started"),
    "jobs_duration": ("用时", "Duration"),
    "jobs_attempts": ("尝试次数", "Attempts"),
    "jobs_counts": ("完成情况", "Counts"),
    "jobs_error": ("错误", "Error"),
    "jobs_last_attempt": (
        "计数仅为最后一次尝试的结果",
        "counts of the last attempt only",
    ),
    "job_status_done": ("完成", "done"),
    "job_status_running": ("运行中", "running"),
    "job_status_failed": ("失败", "failed"),
    "job_running_long": (
        "运行过久（进程可能已中断）",
        "running too long (its process may have died)",
    ),
    "job_on_time": ("准时", "on time"),
    "job_made_up": ("已补上：{by}，{at}", "made up by {by}, {at}"),
    "job_made_up_later": (
        "已由 {day} 的运行补上（{by}），{at}",
        "made up by the run for {day} ({by}), {at}",
    ),
    "job_made_up_by_schedule": ("定时运行", "the scheduler at its time"),
    "job_made_up_by_catch_up": ("启动时补运行", "the start-up catch-up"),
    "job_made_up_by_hand": (
        "手动运行（python -m scheduler run）",
        "a run by hand (python -m scheduler run)",
    ),
    "job_made_up_by_unknown": ("方式未记录", "how not recorded"),
    "job_not_made_up": ("未补上", "not made up"),
    "job_by_hand": ("手动运行", "run by hand"),
    "job_timing_not_recorded": ("未记录（早于记录运行方式）", "not recorded (an older run)"),
    "job_missed": ("未运行", "missed"),
    "job_missed_about": (
        "这一天应当运行，但没有任何记录（定时任务进程当时可能未运行）。",
        "Due that day, but no run was recorded (the scheduler may have been down).",
    ),
    "job_birthday": ("生日祝福", "Birthday greetings"),
    "job_festival": ("节日祝福", "Festival greetings"),
    "job_expire_points": ("积分过期与提醒", "Points expiry and reminders"),
    "job_tier_review": ("等级评定", "Tier review"),
    "job_rank_ahead": ("报表预先排名", "Report rankings ahead"),
    "job_value_refresh": ("客户价值更新", "Customer value refresh"),
    "job_churn_scan": ("流失风险扫描", "Churn scan"),
    "job_automations": ("自动化活动", "Automations"),
    "count_found": ("查到的会员", "members found"),
    "count_birthdays": ("过生日的会员", "birthdays"),
    "count_already": ("之前已完成", "done before"),
    "count_gift_points": ("赠送积分", "gift points"),
    "count_queued": ("已排队发送的消息", "messages queued"),
    "count_skipped": ("未发送的消息", "messages skipped"),
    "count_skipped_": ("未发送：{what}", "skipped: {what}"),
    "count_no_member": ("会员已不存在", "member gone"),
    "count_festivals": ("今日节日", "festivals today"),
    "count_lots": ("过期的积分批次", "lots expired"),
    "count_points": ("过期积分", "points expired"),
    "count_members": ("会员", "members"),
    "count_reminders": ("到期提醒", "expiry reminders"),
    "count_reminders_": ("到期提醒：{what}", "reminders: {what}"),
    "count_reminders_skipped": ("未发送的到期提醒", "reminders skipped"),
    "count_reminders_skipped_": ("未发送的到期提醒：{what}", "reminders skipped: {what}"),
    "count_vouchers_expired": ("过期的礼品券", "vouchers expired"),
    "count_voucher_points_returned": (
        "过期礼品券退回的积分",
        "points returned for expired vouchers",
    ),
    "count_counter_purchases_lapsed": ("失效的门店待入会消费", "counter purchases lapsed"),
    "count_failed_code_attempts_deleted": (
        "删除的过期瓶盖码错误记录",
        "old failed code attempts deleted",
    ),
    "count_reviewed": ("评定的会员", "members reviewed"),
    "count_upgraded": ("升级", "upgraded"),
    "count_downgraded": ("降级", "downgraded"),
    "count_periods": ("报表期间", "report periods"),
    "count_ranked": ("新排名的期间", "periods ranked"),
    "count_customers": ("排名的客户", "customers ranked"),
    "count_customers_ranked": ("排名的客户", "customers ranked"),
    "count_class_changes": ("分类变化", "class changes"),
    "count_class": ("{what} 类客户", "class {what} customers"),
    "count_quadrant": ("象限：{what}", "quadrant: {what}"),
    "count_flagged": ("有流失风险的会员", "members at risk of churn"),
    "count_new": ("新增风险", "newly at risk"),
    "count_cleared": ("解除风险", "no longer at risk"),
    "count_silent": ("久未消费", "gone silent"),
    "count_spend_fell": ("消费下降", "spend fell"),
    "count_dormant": ("沉睡会员", "dormant"),
    "count_automations": ("自动化活动", "automations"),
    "count_not_yet": ("未到时间", "not due yet"),
    "count_ran_already": ("今日已运行", "ran today already"),
    "count_started": ("已启动", "started"),
    "count_recipients": ("收件会员", "recipients"),
    "count_held_for_quiet_hours": ("因免打扰时段推迟", "held for quiet hours"),
    "count_member_unfollowed": ("已取消关注", "unfollowed"),
    "count_member_blocked": ("已冻结", "blocked"),
    "count_member_deleted": ("已注销", "deleted"),
    "count_unreachable": ("无法联系", "unreachable"),
    "count_frequency_cap": ("超出营销频次", "over the marketing cap"),
    "count_no_channel": ("无可用渠道", "no channel"),
    "count_other": ("其他", "other"),
}
