"""A campaign's bonus points against the fake WeChat, at the service level: kept by the members
whose message may have gone (WeChat never answered: by template or by the mass send), never
credited twice when a batch is run again or its worker dies between the send and the credit,
and what the member's points history then shows (the movements `明细` lists)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from club.campaigns import bonus, lifecycle, tick
from club.campaigns.bonus import Fate, fate
from club.campaigns.context import CampaignContext
from club.campaigns.effect import effect
from club.campaigns.fanout import run_chunk
from club.campaigns.mass import advance_mass
from club.clock import FixedClock
from club.db.models.campaigns import Campaign, CampaignRun
from club.db.models.ledger import LedgerEntry
from club.db.models.members import Member
from club.points.views import movements
from club.rules.campaigns import Action, RunStatus
from tests.club.test_campaign_mass import STAFF, scheduled, started
from tests.club.test_campaign_unknown import BY_TEMPLATE, DROPPED, MEMBERS, SENDALL, TEMPLATE, ctx
from tests.fakes import FakeWeChat

__all__ = ["ctx"]  # the fixture: templates and the mass send both go to the fake WeChat

BONUS = 10


def with_bonus(members: int) -> dict[str, int]:
    """A bonus of 10 each, the budget for all."""
    return {"bonus_points": BONUS, "budget_points": BONUS * members}


async def history(openid: str) -> list[tuple[int, str]]:
    """The member's points movements as `明细` lists them: (points, reason), newest first."""
    found = await Member.get(openid=openid)
    return [(m.points, m.reason) for m in await movements(found.id, limit=10)]


async def credits(campaign_id: int) -> dict[str, int]:
    """The campaign's bonus credited, by member openid (a second credit would show as 20)."""
    found: dict[str, int] = {}
    entries = await LedgerEntry.filter(ref__startswith=f"campaign:{campaign_id}:")
    for entry in entries:
        openid = (await Member.get(id=entry.member_id)).openid
        found[openid] = found.get(openid, 0) + entry.points
    return found


async def kept(ctx: CampaignContext, campaign_id: int) -> tuple[int, int, int]:
    """(points awarded, the effect's cost in points, points still reserved)."""
    campaign = await Campaign.get(id=campaign_id)
    measured = await effect(campaign, ctx.programme, ctx.clock.now())
    assert measured is not None
    return campaign.points_awarded, measured.cost["points"], campaign.points_reserved


def everyone(members: int = MEMBERS) -> dict[str, int]:
    return {f"o-m-{i:03d}": BONUS for i in range(members)}


REASON = "活动奖励 冬至"


async def test_messages_of_unknown_outcome_keep_the_bonus_by_template_and_by_mass(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    fake_wechat.script(TEMPLATE, [DROPPED] * 50)
    fake_wechat.script(SENDALL, [DROPPED] * 50)
    run = await started(ctx, MEMBERS, **with_bonus(MEMBERS))
    assert await credits(run.campaign_id) == {}  # nothing has gone yet
    for _ in range(6):  # the chunk's next tasks send the templates again until they end
        clock.advance(timedelta(minutes=2))
        await run_chunk(ctx, run.id, 0)
    await tick.tick(ctx, clock.now())  # -> mass
    for _ in range(6):  # every attempt of the mass send unanswered
        await advance_mass(ctx, run.id)
        clock.advance(timedelta(hours=1))
    await tick.tick(ctx, clock.now())
    assert await credits(run.campaign_id) == everyone()
    assert await kept(ctx, run.campaign_id) == (MEMBERS * BONUS, MEMBERS * BONUS, 0)
    assert await history("o-m-000") == [(BONUS, REASON)]


async def test_cancelled_while_unanswered_templates_wait_they_keep_the_bonus_the_rest_do_not(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """The templates went unanswered (WeChat took them) and wait for their retry when staff
    cancel: outcome unknown, so their members keep the bonus; those waiting for the mass send
    never get the message, nor the bonus."""
    fake_wechat.script(TEMPLATE, [dataclasses.replace(DROPPED, act=True)] * BY_TEMPLATE)
    run = await started(ctx, MEMBERS, **with_bonus(MEMBERS))
    campaign = await lifecycle.get(run.campaign_id)
    await lifecycle.move(campaign, Action.CANCEL, clock.now(), STAFF, "wrong text")
    clock.advance(timedelta(minutes=1))
    await run_chunk(ctx, run.id, 0)
    await tick.tick(ctx, clock.now())
    by_template = {o: BONUS for o in fake_wechat.delivered("template")}
    assert len(by_template) == BY_TEMPLATE
    assert await credits(run.campaign_id) == by_template
    assert await kept(ctx, run.campaign_id) == (BY_TEMPLATE * BONUS, BY_TEMPLATE * BONUS, 0)
    cancelled = next(o for o in everyone() if o not in by_template)
    assert await history(cancelled) == []


class Died(BaseException):
    """The worker's process died (raised where it would have stopped: nothing catches it)."""


def dying(times: int, how: type[BaseException] = Died) -> Any:
    """A `credit_many` that raises `how` the first `times` calls (inside the credit's
    transaction)."""
    real = bonus.credit_many
    left = [times]

    async def credit_many(*args: Any, **kwargs: Any) -> int:
        if left[0] > 0:
            left[0] -= 1
            raise how
        return await real(*args, **kwargs)

    return credit_many


async def test_a_worker_dying_between_the_send_and_the_credit_credits_each_member_once(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock, monkeypatch: Any
) -> None:
    """The chunk's templates went, then its worker died crediting them; later the mass send's
    task died the same way once WeChat took it. The scheduler's next steps credit them, and
    everything run again (the chunk, the tick, the mass send) credits nobody twice."""
    monkeypatch.setattr(bonus, "credit_many", dying(1))
    with pytest.raises(Died):
        await started(ctx, MEMBERS, **with_bonus(MEMBERS))
    assert len(fake_wechat.delivered("template")) == BY_TEMPLATE
    campaign_id = (await CampaignRun.get()).campaign_id
    assert await credits(campaign_id) == {}  # the credit's transaction rolled back
    await tick.tick(ctx, clock.now())  # the scheduler settles what the dead worker left
    assert len(await credits(campaign_id)) == BY_TEMPLATE
    run = await CampaignRun.get()
    await run_chunk(ctx, run.id, 0)  # the chunk handed on again: nothing more to do
    await tick.tick(ctx, clock.now())  # -> mass
    monkeypatch.setattr(bonus, "credit_many", dying(1))
    with pytest.raises(Died):
        await advance_mass(ctx, run.id)
    assert fake_wechat.count(SENDALL) == 1
    assert len(await credits(campaign_id)) == BY_TEMPLATE
    clock.advance(timedelta(minutes=1))
    await tick.tick(ctx, clock.now())
    for _ in range(2):  # all of it again
        await run_chunk(ctx, run.id, 0)
        await advance_mass(ctx, run.id)
        await tick.tick(ctx, clock.now())
    assert await credits(campaign_id) == everyone()
    assert await kept(ctx, campaign_id) == (MEMBERS * BONUS, MEMBERS * BONUS, 0)
    assert await history("o-m-009") == [(BONUS, REASON)]


async def test_a_credit_that_fails_after_the_sends_stops_nothing_and_is_made_by_the_tick(
    ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock, monkeypatch: Any
) -> None:
    """The database refuses the credit (a deadlock, a dropped connection): the batch goes on
    (its members by template sent, the others on to the mass send), and the tick credits it."""
    monkeypatch.setattr(bonus, "credit_many", dying(1, ConnectionResetError))
    run = await scheduled(ctx, MEMBERS, **with_bonus(MEMBERS))
    counts = await run_chunk(ctx, run.id, 0)  # raises nothing
    assert counts["planned_mass"] == MEMBERS - BY_TEMPLATE
    assert len(fake_wechat.delivered("template")) == BY_TEMPLATE
    assert await credits(run.campaign_id) == {}  # rolled back: still reserved
    await tick.tick(ctx, clock.now())
    assert len(await credits(run.campaign_id)) == BY_TEMPLATE


async def test_a_chunk_delivered_twice_at_once_credits_each_member_once(
    pg_only: None, ctx: CampaignContext, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    """Two workers given the same chunk share it (PostgreSQL: they claim its recipients and
    settle their bonus skipping each other's locked rows)."""
    run = await scheduled(ctx, 120, window=True, **with_bonus(120))
    await asyncio.gather(run_chunk(ctx, run.id, 0), run_chunk(ctx, run.id, 0))
    await tick.tick(ctx, clock.now())
    assert (await CampaignRun.get(id=run.id)).status is RunStatus.DONE
    assert await credits(run.campaign_id) == everyone(120)
    assert await kept(ctx, run.campaign_id) == (120 * BONUS, 120 * BONUS, 0)


@pytest.mark.parametrize(
    ("state", "status", "outcome", "copy_may_come", "expected"),
    [
        ("mass_sent", None, None, False, Fate.KEEP),
        ("mass_unknown", None, None, False, Fate.KEEP),
        ("skipped", None, None, False, Fate.RELEASE),  # cancelled, mass refused or over limit
        ("skipped", "skipped", "refused_by_rules", False, Fate.RELEASE),  # withdrawn
        ("mass", None, None, False, None),  # waits for the mass send
        ("pending", None, None, False, None),
        ("messaged", "sent", "sent", False, Fate.KEEP),
        ("messaged", "sent", "dry_run", False, Fate.KEEP),
        ("messaged", "failed", "outcome_unknown", False, Fate.KEEP),
        ("messaged", "failed", "failed", False, Fate.RELEASE),  # refused by WeChat
        ("messaged", "failed", "quota", False, None),  # waits for the quota (or the mass send)
        ("messaged", "skipped", "unreachable", False, Fate.RELEASE),
        ("messaged", "skipped", "outside_window", True, None),  # its template copy may come
        ("messaged", "skipped", "outside_window", False, Fate.RELEASE),  # none ever will
        ("messaged", "queued", "retry", False, None),
        ("messaged", "sending", None, False, None),
    ],
)
def test_a_reserved_bonus_is_kept_only_for_a_message_that_went_or_may_have(
    state: str, status: str | None, outcome: str | None, copy_may_come: bool, expected: Fate | None
) -> None:
    assert fate(state, status, outcome, copy_may_come) is expected
