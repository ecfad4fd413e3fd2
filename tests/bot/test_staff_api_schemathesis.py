"""Schemathesis against the running staff API: no 5xx, and every answer matches the document.

The app runs in the test's event loop (the `client` fixture); schemathesis is synchronous
(`requests`), so the generated cases run in a worker thread while the loop serves them. Each
operation gets a small, derandomized batch of positive and negative cases, plus a positive batch
pinned to a real member (path id, purchase member_id) or a real order (return order_id), so that
the success answers are checked against the document too, not only the 404s of random ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.deps import DEPS
from club.db.models.catalog import Reward
from club.db.models.ledger import LedgerEntry
from club.db.models.staff import StaffUser
from club.rewards.redemptions import create_reward, redeem
from config import Settings
from tests.bot.test_staff_api_support import Client, error_of, joined_member, staff_headers
from tests.conftest import ON_POSTGRES, make_settings
from tests.fakes import FakeWeChat

# Cases per operation and batch (about 80 operations x 2 modes, plus pinned batches): more on the
# PostgreSQL pass, where the database refuses more (NUL characters, 64-bit bounds), fewer on the
# embedded pass, which only has to show SQLite answers the same (the whole suite must stay inside
# CI's time: at 40 a mode this one test took over a minute and a half a pass).
Case = schemathesis.Case[Any]
MAX_EXAMPLES = 20 if ON_POSTGRES else 8
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]
ORDER_ID = "SEED-1"
STORE_ID = "SEED-STORE"
PINNED_KEYS = {"store_id": STORE_ID, "code": "set-by-the-test"}
PINNED_STAFF = {"clerk": 0}
"""Text path parameters pinned to a seeded record, so their success answers are checked too."""
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@pytest.fixture(name="settings")
def settings_with_fake_wechat(fake_wechat: FakeWeChat) -> Settings:
    """Routes that call WeChat (QR codes) reach the fake, not the internet."""
    return make_settings(wechat_api_base=fake_wechat.base_url)


def _run_operation(
    label: str,
    strategy: SearchStrategy[Case],
    call: Callable[[Case], None],
) -> str | None:
    """Run one operation's cases; return the failure as text, or None."""

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy)
    def run(case: Case) -> None:
        call(case)

    try:
        run()
    # A failed check (or several: FailureGroup is a BaseExceptionGroup): collect it so that one
    # run reports every operation that fails, not only the first.
    except (Exception, FailureGroup) as exc:
        return f"{label}: {exc}"
    return None


def _pinned(
    operation: Any, member_id: int, order_id: str
) -> tuple[str, SearchStrategy[Case]] | None:
    """A positive strategy aimed at the seeded member or order, if the operation takes one."""
    if operation.path.startswith("/api/v1/staff/{id}"):
        # The clerk's account: rotating the admin's own token would leave the rest only 401s.
        strategy = operation.as_strategy(path_parameters={"id": PINNED_STAFF["clerk"]})
        return f"{operation.label} [id=clerk]", strategy
    if "{id}" in operation.path:
        strategy = operation.as_strategy(path_parameters={"id": member_id})
        return f"{operation.label} [id={member_id}]", strategy
    for name, value in PINNED_KEYS.items():
        if "{" + name + "}" in operation.path:
            strategy = operation.as_strategy(path_parameters={name: value})
            return f"{operation.label} [{name}={value}]", strategy

    def pin(case: Case, **fields: Any) -> Case:
        if isinstance(case.body, dict):
            case.body.pop("openid", None)
            case.body.update(fields)
        return case

    base = operation.as_strategy()
    if operation.label == "POST /api/v1/purchases":
        return f"{operation.label} [member_id]", base.map(lambda c: pin(c, member_id=member_id))
    if operation.label == "POST /api/v1/returns":
        return f"{operation.label} [order_id]", base.map(lambda c: pin(c, order_id=order_id))
    return None


def _fuzz(schema: Any, base_url: str, headers: dict[str, str], member_id: int) -> list[str]:
    failures: list[str] = []
    with requests.Session() as session:

        def call(case: Case) -> None:
            case.call_and_validate(
                base_url=base_url, session=session, headers=headers, checks=CHECKS, timeout=10
            )

        for result in schema.get_all_operations():
            operation = result.ok()
            strategies: list[tuple[str, SearchStrategy[Case]]] = [
                (f"{operation.label} [{mode.value}]", operation.as_strategy(generation_mode=mode))
                for mode in MODES
            ]
            pinned = _pinned(operation, member_id, ORDER_ID)
            if pinned is not None:
                strategies.append(pinned)
            for label, strategy in strategies:
                failure = _run_operation(label, strategy, call)
                if failure is not None:
                    failures.append(failure)
    return failures


async def test_every_operation_answers_without_5xx_and_as_documented(client: Client) -> None:
    member = await joined_member(tier="silver", birthday_lunar_month=8, birthday_lunar_day=15)
    headers = (await staff_headers())["admin"]
    order = {"member_id": member.id, "order_id": ORDER_ID, "amount_fen": 10_000_000}
    store = {"id": STORE_ID, "name": "种子门店", "channel_level": "small_shop"}
    resp = await client.post("/api/v1/stores", json=store, headers=headers)
    assert resp.status == 201, await resp.text()
    resp = await client.post("/api/v1/purchases", json=order, headers=headers)
    assert resp.status == 200, await resp.text()
    programme = client.app[DEPS].programme
    now = client.app[DEPS].clock.now()
    glass = await create_reward("种子酒杯", 10, now, programme, stock=100)
    voucher = await redeem(member.id, glass.id, now, "seed-voucher", programme)
    PINNED_KEYS["code"] = voucher.voucher_code
    PINNED_STAFF["clerk"] = (await StaffUser.get(name="clerk-1")).id
    # A segment and a campaign with the member's id, so that {id} pinned to it finds them.
    segment = {"name": "seed", "rule": {"rule": "joined"}}
    resp = await client.post("/api/v1/segments", json=segment, headers=headers)
    assert (await resp.json())["id"] == member.id, await resp.text()
    campaign = {"name": "seed", "segment_id": member.id, "message": {"text": "hi"}}
    resp = await client.post("/api/v1/campaigns", json=campaign, headers=headers)
    assert (await resp.json())["id"] == member.id, await resp.text()
    base_url = str(client.make_url("")).rstrip("/")
    schema = await asyncio.to_thread(
        schemathesis.openapi.from_url,
        f"{base_url}/api/openapi.json",
        config=schemathesis.Config(),
        timeout=10,
    )
    # Every documented operation loads: none that schemathesis cannot use is skipped unseen.
    documented = sum(len(ops) for ops in schema.raw_schema["paths"].values())
    loaded = list(schema.get_all_operations())
    assert documented >= 10 and len(loaded) == documented
    assert not [result.err() for result in loaded if isinstance(result, Err)]
    failures = await asyncio.to_thread(_fuzz, schema, base_url, headers, member.id)
    assert not failures, "\n\n".join(failures)


async def test_ledger_page_cursor_beyond_any_id_is_refused_not_a_500(client: Client) -> None:
    # Found by the run above: `before_id` had no upper bound, so a 25-digit cursor reached the
    # database driver (SQLite OverflowError, asyncpg out of int64 range) and answered 500.
    member = await joined_member()
    headers = (await staff_headers())["admin"]
    url = f"/api/v1/members/{member.id}/ledger"
    for huge in (str(2**62 + 1), "5057111341196380813131776"):
        resp = await client.get(url, params={"before_id": huge}, headers=headers)
        assert (await error_of(resp, 422))["fields"] == ["before_id"]
    resp = await client.get(url, params={"before_id": str(2**62)}, headers=headers)
    assert resp.status == 200
    assert (await resp.json())["entries"] == []


async def test_free_text_with_a_nul_character_is_refused_not_a_500(client: Client) -> None:
    # Found by a longer run: PostgreSQL stores no NUL (U+0000) in text or JSON, so a reason,
    # reward name or store holding one failed in the database (500). Refused on every database.
    member = await joined_member()
    headers = {**(await staff_headers())["admin"], "Content-Type": "application/json"}
    adjust = f"/api/v1/members/{member.id}/adjustments"
    floor = f"/api/v1/members/{member.id}/tier-floor"
    buy = f'"member_id": {member.id}, "order_id": "N-1", "amount_fen": 5'
    cases = [
        ("POST", adjust, '{"points": 5, "reason": "a\\u0000b"}', "reason"),
        ("PUT", floor, '{"tier": "gold", "reason": "a\\u0000b"}', "reason"),
        ("POST", "/api/v1/rewards", '{"name": "a\\u0000b", "points_cost": 5}', "name"),
        (
            "POST",
            "/api/v1/rewards",
            '{"name": "ab", "description": "x\\u0000", "points_cost": 5}',
            "description",
        ),
        ("POST", "/api/v1/purchases", "{" + buy + ', "store": "s\\u0000"}', "store"),
        (
            "POST",
            "/api/v1/purchases",
            "{" + buy + ', "items": [{"sku": "\\u0000", "qty": 1, "amount_fen": 5}]}',
            "items.0.sku",
        ),
    ]
    for method, url, body, field in cases:
        resp = await client.request(method, url, data=body.encode(), headers=headers)
        error = await error_of(resp, 422)
        assert error["fields"] == [field], (body, error)
    assert await Reward.all().count() == 0
    assert await LedgerEntry.filter(member_id=member.id).count() == 0
