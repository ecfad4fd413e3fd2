"""A campaign's points budget: bonuses are reserved from it when their members are planned, in
the batch's transaction, so awards stop exactly when it is spent however many workers plan at
once. What is left is the budget less the points credited (`points_awarded`) and those still
reserved (`points_reserved`); a reservation given back (`club.campaigns.bonus`: the member's
message never went) is free again for the members planned after."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from club.db.models.campaigns import Campaign
from club.db.raw import dialect, rows

_RESERVE_PG = """
WITH b AS (
    SELECT id, points_reserved, budget_points - points_awarded - points_reserved AS left_over
    FROM campaign WHERE id = $1 FOR UPDATE
)
UPDATE campaign c
SET points_reserved = b.points_reserved
    + LEAST($2::bigint, GREATEST(b.left_over, 0) / $3::bigint) * $3::bigint
FROM b WHERE c.id = b.id
RETURNING (c.points_reserved - b.points_reserved) / $3::bigint AS granted
"""


async def reserve_awards(
    campaign_id: int, wanted: int, points_each: int, conn: BaseDBAsyncClient
) -> int:
    """How many of `wanted` awards of `points_each` the budget still covers (now reserved)."""
    if wanted <= 0 or points_each <= 0:
        return 0
    if dialect(conn) == "postgres":
        found = await rows(_RESERVE_PG, [campaign_id, wanted, points_each], conn)
        return int(found[0]["granted"]) if found else 0
    campaign = await Campaign.filter(id=campaign_id).using_db(conn).get()
    left = max(0, campaign.budget_points - campaign.points_awarded - campaign.points_reserved)
    granted = int(min(wanted, left // points_each))
    await (
        Campaign.filter(id=campaign_id)
        .using_db(conn)
        .update(points_reserved=campaign.points_reserved + granted * points_each)
    )
    return granted
