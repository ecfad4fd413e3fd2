"""A purchase keeps its store's channel level of the day of the sale."""

from __future__ import annotations

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as apply_migrations

from club.db.config import tortoise_config
from club.db.connect import database, ensure_sqlite_folder
from club.db.migrate import migrate
from club.db.models.ledger import ChannelLevel, Purchase
from club.programme import load_programme
from club.sales.purchases import record_purchase, upsert_store
from tests.club.ledger_support import NOW, make_member
from tests.club.test_migrations import empty_database as empty_database

PROGRAMME = load_programme(None)


async def test_purchase_keeps_the_level_its_store_had(db: None) -> None:
    member = await make_member()
    await upsert_store("S1", "静安店", ChannelLevel.SMALL_SHOP)
    await record_purchase(
        member_id=member,
        order_id="O1",
        amount_fen=10_000,
        store_id="S1",
        now=NOW,
        programme=PROGRAMME,
    )
    await upsert_store("S1", "静安店", ChannelLevel.KEY_ACCOUNT)  # moved up a level later
    await record_purchase(
        member_id=member,
        order_id="O2",
        amount_fen=10_000,
        store_id="S1",
        now=NOW,
        programme=PROGRAMME,
    )
    await record_purchase(
        member_id=member, order_id="O3", amount_fen=10_000, now=NOW, programme=PROGRAMME
    )
    levels = dict(await Purchase.all().values_list("order_id", "channel_level"))
    assert levels == {"O1": ChannelLevel.SMALL_SHOP, "O2": ChannelLevel.KEY_ACCOUNT, "O3": None}


async def test_migration_fills_the_level_of_earlier_purchases(empty_database: str) -> None:
    # Before the snapshot column: S1 a small shop from 2025, a dealer from 1 June 2026; S2 a key
    # account with no recorded history. A sale keeps the level of its day.
    ensure_sqlite_folder(empty_database)
    await apply_migrations(config=tortoise_config(empty_database), target="models.0014_campaigns")
    await Tortoise.close_connections()
    stamp = "'2026-01-01 00:00:00+08:00'"
    async with database(empty_database):
        conn = connections.get("default")
        await conn.execute_script(
            "INSERT INTO store (id, name, channel_level, status) VALUES"  # noqa: S608
            " ('S1', 'a', 'dealer', 'open'), ('S2', 'b', 'key_account', 'open');"
            "INSERT INTO store_level_change (store_id, at, from_level, to_level) VALUES"
            " ('S1', '2025-01-01 00:00:00+08:00', NULL, 'small_shop'),"
            " ('S1', '2026-06-01 00:00:00+08:00', 'small_shop', 'dealer');"
            "INSERT INTO member (openid, status, language, points_balance, points_debt,"
            " birthday_lunar_leap, flagged_for_review, created_at, updated_at)"
            f" VALUES ('o1', 'active', 'zh', 0, 0, false, false, {stamp}, {stamp});"
        )
        sales = (
            ("A", "'S1'", "2026-01-01"),
            ("B", "'S1'", "2026-07-01"),
            ("C", "NULL", "2026-07-01"),
            ("D", "'S2'", "2026-07-01"),
        )
        for order, store, day in sales:
            columns = (
                "order_id, member_id, store_id, amount_fen, points_earned, returned_fen,"
                " points_reversed, balance_after, tier_before, tier_after, created_at"
            )
            await conn.execute_script(
                f"INSERT INTO purchase ({columns})"  # noqa: S608 - the test's own literals
                f" SELECT '{order}', id, {store}, 100, 1, 0, 0, 1, 'taste', 'taste',"
                f" '{day} 12:00:00+08:00' FROM member"
            )
    await migrate(empty_database)
    async with database(empty_database):
        levels = dict(await Purchase.all().values_list("order_id", "channel_level"))
    assert levels == {
        "A": ChannelLevel.SMALL_SHOP,
        "B": ChannelLevel.DEALER,
        "C": None,
        "D": ChannelLevel.KEY_ACCOUNT,
    }
