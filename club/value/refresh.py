"""The daily value-refresh: RFM scores, value class and quadrant for every member who bought.

Set-based SQL, one transaction, the same on SQLite and PostgreSQL; members never pass through
Python. As of `now`, over the programme's value months (the same window the tier review uses):

- recency, frequency (purchases), monetary (net sales) and profit (of purchases with a cost);
- R, F and M scores 1..bins by rank among all valued members (ties share a score):
  score = 1 + bins x (rank - 1) / members, rank 1 for the oldest last purchase, the fewest
  purchases, the least spend;
- class A: the members making the first `class_a_share` of the profit of all profitable
  members, ranked by profit; B up to `class_b_share`; C the rest and everyone without profit;
- potential: `rising` when the last trend months sold `rising_growth` more than the trend
  months before (and something), else `near_tier` when the tier spend is within
  `tier_gap_share` of the next tier's threshold;
- quadrant (value today x potential tomorrow): A with potential `grow`, A without `keep`, B or
  C with potential `develop` (the potential key customers), the rest `economise`.

Orders booked to a group-purchase account are the organisation's, not the contact's: they are
left out here (the account is analysed as one customer in the reports).

The same run ranks every level's customers over the reports' default period, once, for the
80/20 report to read (`club.reports.rankings`).

A change of class is kept in `value_class_change` with the day; a second run on the same day
changes nothing more (its class changes merge into the day's row).
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from tortoise.transactions import in_transaction

from club.reports import profit as money
from club.reports.answers import store_answers
from club.reports.rankings import take_snapshot
from club.reports.sql import Dialect, execute, fetch
from club.rules.programme import BASIS_POINTS, Programme
from club.rules.tiers import months_back

log = logging.getLogger(__name__)

COLUMNS = (
    "member_id, day, last_purchase_at, recency_days, frequency, monetary_fen, profit_fen,"
    " missing_cost_purchases, r_score, f_score, m_score, value_class, recent_fen, prior_fen,"
    " potential, quadrant"
)


def _next_threshold(programme: Programme) -> str:
    """The next tier's threshold for the member's tier, NULL at the top. BIGINT: PostgreSQL
    reads a bare literal as a 32-bit integer, and threshold x basis points would overflow it."""
    ladder = programme.tiers.tiers
    cases = " ".join(
        f"WHEN '{tier.code}' THEN CAST({int(ladder[i + 1].threshold_fen)} AS BIGINT)"
        for i, tier in enumerate(ladder[:-1])
    )
    return f"(CASE tier {cases} ELSE NULL END)" if cases else "CAST(NULL AS BIGINT)"


def values_sql(programme: Programme, day: date, dialect: Dialect) -> str:
    """The new value rows (columns as `COLUMNS`). Parameters: now, now_epoch, since, recent,
    prior, tier_since."""
    rules = programme.value
    net, gain = money.net(), "CASE WHEN profit > 0 THEN profit ELSE 0 END"
    window = "p.created_at > :since"
    nxt = _next_threshold(programme)
    bins = int(rules.rfm_bins)

    def score(rank: str) -> str:
        return f"1 + ({bins} * ({rank} - 1)) / n"

    return f"""
WITH base AS (
  SELECT p.member_id,
    MAX(p.created_at) AS last_at,
    SUM(CASE WHEN {window} THEN 1 ELSE 0 END) AS frequency,
    SUM(CASE WHEN {window} THEN {net} ELSE 0 END) AS monetary,
    SUM(CASE WHEN {window} THEN {money.profit(rules)} END) AS profit,
    SUM(CASE WHEN {window} THEN {money.missing_cost()} ELSE 0 END) AS missing_n,
    SUM(CASE WHEN p.created_at > :recent THEN {net} ELSE 0 END) AS recent,
    SUM(CASE WHEN p.created_at > :prior AND p.created_at <= :recent THEN {net} ELSE 0 END)
      AS prior,
    SUM(CASE WHEN p.created_at > :tier_since THEN {net} ELSE 0 END) AS tier_spend
  FROM purchase p WHERE p.created_at <= :now AND p.account_id IS NULL GROUP BY p.member_id
),
ranked AS (
  SELECT b.*, COALESCE(m.tier, '{programme.tiers.lowest.code}') AS tier,
    RANK() OVER (ORDER BY last_at) AS r_rank,
    RANK() OVER (ORDER BY frequency) AS f_rank,
    RANK() OVER (ORDER BY monetary) AS m_rank,
    COUNT(*) OVER () AS n,
    SUM({gain}) OVER () AS total_gain,
    COALESCE(SUM({gain}) OVER (
      ORDER BY CASE WHEN profit IS NULL THEN 1 ELSE 0 END, profit DESC, b.member_id
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS gain_before
  FROM base b JOIN member m ON m.id = b.member_id
),
classed AS (
  SELECT r.*,
    CASE WHEN profit > 0 AND gain_before * {BASIS_POINTS} < {rules.class_a_bp} * total_gain
        THEN 'A'
      WHEN profit > 0 AND gain_before * {BASIS_POINTS} < {rules.class_b_bp} * total_gain
        THEN 'B'
      ELSE 'C' END AS value_class,
    CASE WHEN recent > 0 AND recent * {BASIS_POINTS} >= prior * {BASIS_POINTS + rules.rising_bp}
        THEN 'rising'
      WHEN {nxt} IS NOT NULL AND tier_spend < {nxt}
        AND tier_spend * {BASIS_POINTS} >= {nxt} * {BASIS_POINTS - rules.tier_gap_bp}
        THEN 'near_tier'
      ELSE NULL END AS potential
  FROM ranked r
)
SELECT member_id, {dialect.date_literal(day)} AS day, last_at AS last_purchase_at,
  (:now_epoch - {dialect.epoch("last_at")}) / 86400 AS recency_days,
  frequency, monetary AS monetary_fen, profit AS profit_fen,
  missing_n AS missing_cost_purchases,
  {score("r_rank")} AS r_score, {score("f_rank")} AS f_score, {score("m_rank")} AS m_score,
  value_class, recent AS recent_fen, prior AS prior_fen, potential,
  CASE WHEN value_class = 'A' AND potential IS NOT NULL THEN 'grow'
    WHEN value_class = 'A' THEN 'keep'
    WHEN potential IS NOT NULL THEN 'develop'
    ELSE 'economise' END AS quadrant
FROM classed"""


def _windows(programme: Programme, now: datetime) -> dict[str, object]:
    trend = programme.value.trend_months
    return {
        "now": now,
        "now_epoch": int(now.timestamp()),
        "since": months_back(now, programme.value.months),
        "recent": months_back(now, trend),
        "prior": months_back(now, 2 * trend),
        "tier_since": months_back(now, programme.tier_review.months),
    }


async def refresh_values(day: date, now: datetime, programme: Programme) -> dict[str, int]:
    """Recompute every member's value as of `now` and record class changes under `day`."""
    async with in_transaction() as conn:
        dialect = Dialect.of(conn)
        await execute("DROP TABLE IF EXISTS value_new", conn=conn)
        await execute(
            f"CREATE TEMP TABLE value_new AS {values_sql(programme, day, dialect)}",
            _windows(programme, now),
            conn=conn,
        )
        changes = await execute(
            "INSERT INTO value_class_change (member_id, day, from_class, to_class)"
            " SELECT n.member_id, n.day, o.value_class, n.value_class FROM value_new n"
            " LEFT JOIN member_value o ON o.member_id = n.member_id"
            " WHERE o.value_class IS NULL OR o.value_class <> n.value_class"
            " ON CONFLICT (member_id, day) DO UPDATE SET to_class = excluded.to_class",
            conn=conn,
        )
        # A class that changed and came back within the day is no change at all.
        await execute(
            "DELETE FROM value_class_change WHERE day = "
            f"{dialect.date_literal(day)} AND from_class = to_class",
            conn=conn,
        )
        await execute("DELETE FROM member_value", conn=conn)
        await execute(
            f"INSERT INTO member_value ({COLUMNS}) SELECT {COLUMNS} FROM value_new", conn=conn
        )
        rows = await fetch(
            "SELECT value_class, quadrant, COUNT(*) AS n FROM value_new"
            " GROUP BY value_class, quadrant",
            conn=conn,
        )
        await execute("DROP TABLE value_new", conn=conn)
        ranked = await take_snapshot(conn, day, programme.value, now)
    counts: dict[str, int] = {"members": 0, "class_changes": changes, "customers_ranked": ranked}
    for row in rows:
        n = int(row["n"])
        counts["members"] += n
        counts[f"class_{row['value_class']}"] = counts.get(f"class_{row['value_class']}", 0) + n
        counts[f"quadrant_{row['quadrant']}"] = counts.get(f"quadrant_{row['quadrant']}", 0) + n
    log.info("value refresh day=%s %s", day, counts)
    # The reports read these values: their stored default answers follow them (the churn-scan
    # after it computes them again with the day's churn flags).
    await store_answers(now, programme)
    return counts
