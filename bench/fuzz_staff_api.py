"""Schemathesis against the staff API with a large budget, outside CI; prints what it found.

CI's test (`tests/bot/test_staff_api_schemathesis.py`) sends a few cases an operation and checks
two things. This runs the schemathesis command itself, every phase asked for and every check,
hundreds of cases an operation, plus one check of ours: an answer in 4xx changed no row (a
trigger on every table but the audit log counts the rows each statement writes; the count is
read before and after each request that is not a GET). Findings: every 5xx, every answer the
OpenAPI document does not describe, every 4xx that wrote something.

    .venv/bin/python bench/fuzz_staff_api.py --examples 300                  # SQLite file
    .venv/bin/python bench/fuzz_staff_api.py --examples 300 \\
        --database-url postgres://postgres@127.0.0.1:5432/clubbot_fuzz --redis-url redis://127.0.0.1:6379/14
    .venv/bin/python bench/fuzz_staff_api.py --phases coverage               # boundary values

A PostgreSQL database's schema is dropped first; the Redis keys go under a prefix of this run's
own. The app runs in this process on the test clock (2026-11-23 10:00, Asia/Shanghai), with a
member, a store, an order, a voucher, a segment and a campaign seeded so that the success answers
are reached too, and the admin's token (whose id random ids do not reach: rotating it would
leave only 401s). The schemathesis report (NDJSON) stays in `--report-dir`; arguments this script
does not know go to `schemathesis run` (e.g. `--include-path-regex rewards`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
REPORT_ROOT = Path.cwd()
sys.path.insert(0, str(ROOT))

if __name__ == "_schemathesis_hooks":
    # Loaded by the schemathesis process (SCHEMATHESIS_HOOKS): the 4xx check.
    import requests
    import schemathesis

    _counts_url = os.environ["FUZZ_COUNTS_URL"]
    _session = requests.Session()
    _before: dict[int, dict[str, int]] = {}

    def _counts() -> dict[str, int]:
        return dict(_session.get(_counts_url, timeout=60).json())

    @schemathesis.hook
    def before_call(context: Any, case: Any, kwargs: Any) -> None:
        if case.method.upper() != "GET":
            _before[id(case)] = _counts()

    @schemathesis.check
    def data_unchanged_on_4xx(ctx: Any, response: Any, case: Any) -> bool | None:
        before = _before.pop(id(case), None)
        if before is None or not 400 <= response.status_code < 500:
            return None
        after = _counts()
        changed = sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))
        if changed:
            raise AssertionError(f"answered {response.status_code} but wrote to {changed}")
        return None


AUDIT_TABLE = "audit_log"  # refusals are audited on purpose
_PG_COUNTER = """
CREATE TABLE IF NOT EXISTS fuzz_changes (t TEXT PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0);
CREATE OR REPLACE FUNCTION fuzz_bump() RETURNS trigger AS $$
BEGIN
  INSERT INTO fuzz_changes (t, n) VALUES (TG_TABLE_NAME, 1)
  ON CONFLICT (t) DO UPDATE SET n = fuzz_changes.n + 1;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
"""


async def count_writes() -> None:
    """A row trigger on every table but the audit log counts the rows written to it."""
    from tortoise import Tortoise

    conn = Tortoise.get_connection("default")
    pg = conn.capabilities.dialect == "postgres"
    await conn.execute_script(
        _PG_COUNTER if pg else "CREATE TABLE fuzz_changes (t TEXT PRIMARY KEY, n INTEGER)"
    )
    for model in Tortoise.apps.get_models_iterable():  # type: ignore[attr-defined]
        table = model._meta.db_table
        if table == AUDIT_TABLE:
            continue
        await conn.execute_script(f"INSERT INTO fuzz_changes (t, n) VALUES ('{table}', 0)")
        for op in ("INSERT", "UPDATE", "DELETE"):
            name = f"fuzz_{op.lower()}_{table}"
            if pg:
                sql = (
                    f'CREATE TRIGGER "{name}" AFTER {op} ON "{table}" FOR EACH ROW '
                    "EXECUTE FUNCTION fuzz_bump()"
                )
            else:
                sql = (
                    f'CREATE TRIGGER "{name}" AFTER {op} ON "{table}" BEGIN '
                    f"UPDATE fuzz_changes SET n = n + 1 WHERE t = '{table}'; END"
                )
            await conn.execute_script(sql)


async def seed(base: str, programme: Any, now: Any) -> str:
    """The records random ids rarely find, and the admin's token."""
    import aiohttp
    from tortoise import Tortoise

    from club.db.models.members import Member
    from club.rewards.redemptions import create_reward, redeem
    from club.staff.accounts import create_staff

    member = await Member.create(
        openid="o-fuzz", name="Alice", phone="13812345678", consent_at=now,
        consent_version="v1", joined_at=now, tier="silver",
    )  # fmt: skip
    for role in ("marketer", "clerk"):
        await create_staff(f"{role}-1", role, now=now)
    _, token = await create_staff("admin-1", "admin", now=now)
    await Tortoise.get_connection("default").execute_query(
        "UPDATE staff_user SET id = 987654321 WHERE name = 'admin-1'"
    )
    headers = {"Authorization": f"Bearer {token}"}
    writes = [
        ("/api/v1/stores", {"id": "SEED-STORE", "name": "种子门店", "channel_level": "small_shop"}),
        ("/api/v1/purchases", {"member_id": member.id, "order_id": "SEED-1", "amount_fen": 10**7}),
        ("/api/v1/segments", {"name": "seed", "rule": {"rule": "joined"}}),
        ("/api/v1/campaigns", {"name": "seed", "segment_id": 1, "message": {"text": "hi"}}),
    ]
    async with aiohttp.ClientSession(headers=headers) as session:
        for path, body in writes:
            async with session.post(base + path, json=body) as resp:
                assert resp.status in (200, 201), (path, resp.status, await resp.text())
    glass = await create_reward("种子酒杯", 10, now, programme, stock=100)
    await redeem(member.id, glass.id, now, "seed-voucher", programme)
    return token


def summarise(report_dir: Path) -> None:
    """Failures by check and operation, an example of each; 5xx counted apart."""
    failures: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    cases = server_errors = 0
    for path in report_dir.glob("ndjson-*.ndjson"):
        for line in path.open():
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished.get("recorder") or {}
            interactions = recorder.get("interactions", {})
            cases += len(interactions)
            answers = [i.get("response") or {} for i in interactions.values()]
            server_errors += sum(1 for a in answers if a.get("status_code", 0) >= 500)
            for case_id, checks in (recorder.get("checks") or {}).items():
                for check in checks:
                    if check.get("status") != "failure":
                        continue
                    request = interactions.get(case_id, {}).get("request", {})
                    response = interactions.get(case_id, {}).get("response") or {}
                    body = request.get("body")
                    if isinstance(body, dict) and "$base64" in body:
                        body = base64.b64decode(body["$base64"])[:200]
                    example = (
                        f"{request.get('method')} {request.get('uri', '')[:160]} body={body!r:.200}"
                        f" -> {response.get('status_code')}"
                    )
                    failures[(check["name"], recorder.get("label", "?"))].append(example)
    print(f"\n{cases} requests, {server_errors} answered 5xx")
    for (check, label), examples in sorted(failures.items()):
        print(f"{check:32} {label:50} {len(examples):5}  e.g. {examples[0]}")


async def main(args: argparse.Namespace, extra: list[str]) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from aiohttp import web
    from tortoise import Tortoise

    from bench.serving import served
    from bot.deps import DEPS
    from bot.kv import in_process_store
    from club.clock import FixedClock
    from clubbot.web import create_app
    from config import Settings
    from tests.fakes import FakeWeChat

    work = Path(tempfile.mkdtemp(prefix="clubbot-fuzz-"))
    url = args.database_url or f"sqlite://{work / 'fuzz.sqlite3'}"
    if url.startswith(("postgres://", "postgresql://")):
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await conn.close()
    now = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    async with FakeWeChat(appid="wxfuzz", secret="fuzz-secret") as fake:
        settings = Settings.from_env(
            database_url=url, redis_url=args.redis_url,
            redis_prefix=f"clubbot-fuzz-{uuid.uuid4().hex[:8]}", wechat_appid="wxfuzz",
            wechat_secret="fuzz-secret", wechat_token="fuzztoken", wechat_dry_run=True,
            wechat_api_base=fake.base_url, _env_file=None,
        )  # fmt: skip
        store = None if args.redis_url else in_process_store()
        app = create_app(settings, clock=FixedClock(now), store=store, create_schema=True)

        async def counts(request: web.Request) -> web.Response:
            rows = await Tortoise.get_connection("default").execute_query_dict(
                "SELECT t, n FROM fuzz_changes"
            )
            return web.json_response({r["t"]: int(r["n"]) for r in rows})

        app.router.add_get("/__fuzz/counts", counts)
        try:
            async with served(app) as base:
                token = await seed(base, app[DEPS].programme, now)
                await count_writes()
                report = REPORT_ROOT / args.report_dir
                command = [
                    str(Path(sys.executable).with_name("schemathesis")), "run",
                    f"{base}/api/openapi.json", "-H", f"Authorization: Bearer {token}",
                    "--workers", "1", "--checks", "all", "--max-examples", str(args.examples),
                    "--seed", str(args.seed), "--phases", args.phases, "--continue-on-failure",
                    "--suppress-health-check", "all", "--request-timeout", "60",
                    "--report", "ndjson", "--report-dir", str(report), *extra,
                ]  # fmt: skip
                env = {
                    **os.environ,
                    "SCHEMATHESIS_HOOKS": str(HERE),
                    "FUZZ_COUNTS_URL": f"{base}/__fuzz/counts",
                }
                process = await asyncio.create_subprocess_exec(*command, env=env, cwd=work)
                code = await process.wait()
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    summarise(report)
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: a SQLite file in a scratch folder")
    parser.add_argument("--redis-url", help="default: the in-process store")
    parser.add_argument("--examples", type=int, default=300, help="cases an operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default="fuzzing,stateful")
    parser.add_argument("--report-dir", default="bench/out/fuzz")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (SQLite)")
    known, rest = parser.parse_known_args()
    sys.exit(asyncio.run(main(known, rest)))
