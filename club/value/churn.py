"""The daily churn-scan: members who are drifting away, each with the reason in words.

A member is flagged when
- their silence (time since the last purchase) exceeds `silence_factor` times their own rhythm,
  the median gap between their purchases (only with at least `min_purchases` purchases), or
- their net spend of the last 12 months fell by more than `spend_drop` against the 12 before.

Set-based SQL in one transaction, the same on SQLite and PostgreSQL; the reasons are written by
the SQL too, from integers only (PostgreSQL's SUM of integers is a numeric, so sums are cast
back), so both databases word them alike. Erased members are left out.
The list is replaced each day; a member flagged again keeps the day they were first flagged.
The same run records the followers who went dormant as exits (`club.value.exits`), then
computes the reports' default answers from the day's data (`club.reports.answers`).
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from tortoise.transactions import in_transaction

from club.reports import profit as money
from club.reports.answers import store_answers
from club.reports.sql import Dialect, execute, fetch
from club.rules.programme import BASIS_POINTS, Programme
from club.rules.tiers import months_back
from club.value.exits import record_dormant

log = logging.getLogger(__name__)

DAY_S = 86_400
COLUMNS = (
    "member_id, day, since, purchases, rhythm_days, silence_days, spend_fen, spend_before_fen,"
    " silent, spend_fell, reason_zh, reason_en"
)


def _words(dialect: Dialect, programme: Programme) -> tuple[str, str]:
    """The reason columns: Chinese and English sentences built from integer columns."""
    rules = programme.churn
    whole, hundredths = divmod(rules.silence_factor_pct, 100)
    factor = f"{whole}" if hundredths == 0 else f"{whole}.{hundredths:02d}".rstrip("0")
    t = dialect.text
    rhythm = f"(CASE WHEN rhythm < {DAY_S} THEN 1 ELSE rhythm / {DAY_S} END)"
    silence = f"(silence / {DAY_S})"
    drop = "((spend_before - spend) * 100 / spend_before)"
    zh_silent = (
        f"'已' || {t(silence)} || '天未购买，超过其平时购买间隔（约' || {t(rhythm)}"
        f" || '天）的{factor}倍'"
    )
    en_silent = (
        f"'no purchase for ' || {t(silence)} || ' days, over {factor} times their usual gap of"
        f" about ' || {t(rhythm)} || ' days'"
    )
    zh_fell = (
        f"'近12个月消费' || {t('spend / 100')} || '元，比之前12个月的' || {t('spend_before / 100')}"
        f" || '元下降' || {t(drop)} || '%'"
    )
    en_fell = (
        f"'spent ' || {t('spend / 100')} || ' yuan in the last 12 months, down ' || {t(drop)}"
        f" || '% from ' || {t('spend_before / 100')} || ' yuan the 12 months before'"
    )

    def either(a: str, b: str, sep: str) -> str:
        return (
            f"CASE WHEN silent = 1 AND spend_fell = 1 THEN {a} || '{sep}' || {b}"
            f" WHEN silent = 1 THEN {a} ELSE {b} END"
        )

    return either(zh_silent, zh_fell, "；"), either(en_silent, en_fell, "; ")


def flags_sql(programme: Programme, day: date, dialect: Dialect) -> str:
    """The flagged members (columns as `COLUMNS`, `since` = day). Parameters: now, now_epoch,
    year_ago, two_years_ago."""
    rules = programme.churn
    t = dialect.epoch("p.created_at")
    net = money.net()
    zh, en = _words(dialect, programme)
    today = dialect.date_literal(day)
    return f"""
WITH bought AS (
  SELECT p.member_id, p.created_at, {t} AS t, {net} AS net,
    LAG({t}) OVER (PARTITION BY p.member_id ORDER BY p.created_at, p.id) AS prev_t
  FROM purchase p WHERE p.created_at <= :now AND p.returned_fen < p.amount_fen
    AND p.account_id IS NULL
),
totals AS (
  SELECT member_id, COUNT(*) AS purchases, MAX(t) AS last_t,
    CAST(SUM(CASE WHEN created_at > :year_ago THEN net ELSE 0 END) AS BIGINT) AS spend,
    CAST(SUM(CASE WHEN created_at > :two_years_ago AND created_at <= :year_ago THEN net
      ELSE 0 END) AS BIGINT) AS spend_before
  FROM bought GROUP BY member_id
),
gaps AS (
  SELECT member_id, t - prev_t AS gap,
    ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY t - prev_t) AS k,
    COUNT(*) OVER (PARTITION BY member_id) AS g
  FROM bought WHERE prev_t IS NOT NULL
),
rhythms AS (
  SELECT member_id, CAST(SUM(gap) AS BIGINT) / COUNT(*) AS rhythm
  FROM gaps WHERE g + 1 >= {int(rules.min_purchases)} AND k IN ((g + 1) / 2, (g + 2) / 2)
  GROUP BY member_id
),
judged AS (
  SELECT tt.member_id, tt.purchases, r.rhythm, :now_epoch - tt.last_t AS silence,
    tt.spend, tt.spend_before,
    CASE WHEN r.rhythm > 0 AND (:now_epoch - tt.last_t) * 100 > {int(rules.silence_factor_pct)}
      * r.rhythm THEN 1 ELSE 0 END AS silent,
    CASE WHEN tt.spend_before > 0 AND tt.spend * {BASIS_POINTS}
      < tt.spend_before * {BASIS_POINTS - rules.spend_drop_bp} THEN 1 ELSE 0 END AS spend_fell
  FROM totals tt
  JOIN member m ON m.id = tt.member_id AND m.status <> 'deleted'
  LEFT JOIN rhythms r ON r.member_id = tt.member_id
)
SELECT member_id, {today} AS day, {today} AS since, purchases,
  CASE WHEN rhythm IS NULL THEN NULL ELSE rhythm / {DAY_S} END AS rhythm_days,
  silence / {DAY_S} AS silence_days, spend AS spend_fen, spend_before AS spend_before_fen,
  silent = 1 AS silent, spend_fell = 1 AS spend_fell, {zh} AS reason_zh, {en} AS reason_en
FROM judged WHERE silent = 1 OR spend_fell = 1"""


async def scan_churn(day: date, now: datetime, programme: Programme) -> dict[str, int]:
    """Replace the churn list with the members flagged as of `now`; counts of what changed."""
    params = {
        "now": now,
        "now_epoch": int(now.timestamp()),
        "year_ago": months_back(now, 12),
        "two_years_ago": months_back(now, 24),
    }
    async with in_transaction() as conn:
        dialect = Dialect.of(conn)
        await execute("DROP TABLE IF EXISTS churn_new", conn=conn)
        await execute(
            f"CREATE TEMP TABLE churn_new AS {flags_sql(programme, day, dialect)}",
            params,
            conn=conn,
        )
        cleared = await execute(
            "DELETE FROM member_churn WHERE NOT EXISTS"
            " (SELECT 1 FROM churn_new n WHERE n.member_id = member_churn.member_id)",
            conn=conn,
        )
        [row] = await fetch(
            "SELECT COUNT(*) AS flagged, SUM(CASE WHEN silent THEN 1 ELSE 0 END) AS silent,"
            " SUM(CASE WHEN spend_fell THEN 1 ELSE 0 END) AS fell,"
            " SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM member_churn c"
            " WHERE c.member_id = n.member_id) THEN 1 ELSE 0 END) AS new FROM churn_new n",
            conn=conn,
        )
        updates = ", ".join(
            f"{c} = excluded.{c}"
            for c in COLUMNS.replace(" ", "").split(",")
            if c not in ("member_id", "since")
        )
        await execute(
            f"INSERT INTO member_churn ({COLUMNS}) SELECT {COLUMNS} FROM churn_new WHERE 1 = 1"
            f" ON CONFLICT (member_id) DO UPDATE SET {updates}",
            conn=conn,
        )
        await execute("DROP TABLE churn_new", conn=conn)
        dormant = await record_dormant(conn, day, now, programme)
    counts = {
        "flagged": int(row["flagged"] or 0),
        "new": int(row["new"] or 0),
        "cleared": cleared,
        "silent": int(row["silent"] or 0),
        "spend_fell": int(row["fell"] or 0),
        "dormant": dormant,
    }
    log.info("churn scan day=%s %s", day, counts)
    await store_answers(now, programme)
    return counts
