from tortoise import Tortoise

from club.db.models.members import Member


async def test_database_starts_empty_and_stores_a_member(db: None) -> None:
    assert await Member.all().count() == 0
    member = await Member.create(openid="o-smoke")
    assert (await Member.get(openid="o-smoke")).id == member.id
    assert Tortoise.get_connection("default") is not None


async def test_app_serves_and_shares_the_database(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.get("/nope")
    assert resp.status == 404
    await Member.create(openid="o-app")
    assert await Member.filter(openid="o-app").count() == 1
