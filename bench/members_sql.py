"""Members for the benchmarks, generated in PostgreSQL (one INSERT ... SELECT, never row by row)."""

from __future__ import annotations


def insert_members(openid_prefix: str) -> str:
    """An INSERT of `$1` active members (openid `<prefix><10 digits>`, taste tier, no points)
    joined and consenting at `$2`."""
    return f"""
INSERT INTO member (openid, status, language, joined_at, consent_at, tier, points_balance,
                    points_debt, flagged_for_review, birthday_lunar_leap, created_at, updated_at)
SELECT '{openid_prefix}' || lpad(g::text, 10, '0'), 'active', 'zh', $2, $2, 'taste', 0, 0,
       false, false, $2, $2
FROM generate_series(1, $1) AS g
"""
