"""Print the URL of a sibling database on the same PostgreSQL server, creating it if missing.

    .venv/bin/python -m scripts.ensure_database postgres://postgres@127.0.0.1:5432/test faults
    postgres://postgres@127.0.0.1:5432/test_faults

`scripts/test.sh` gives the second half of the PostgreSQL pass (`rest`) and the fault suite's
pass (`faults`) a database of their own this way: every PostgreSQL test pass begins by dropping
its database's schema, and the passes run side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys

import asyncpg

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def sibling_url(url: str, suffix: str) -> tuple[str, str]:
    """(the sibling database's URL, its name): `<name>_<suffix>` beside `url`'s database."""
    base, _, name = url.rpartition("/")
    name, query, params = name.partition("?")
    sibling = f"{name}_{suffix}"
    if not base or not _NAME.fullmatch(sibling):
        raise SystemExit(f"cannot name a database {sibling!r} beside {url!r}")
    return f"{base}/{sibling}{query}{params}", sibling


async def ensure(url: str, suffix: str) -> str:
    target, name = sibling_url(url, suffix)
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # created meanwhile by a run beside this one: as good
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')  # name checked by _NAME
    finally:
        await conn.close()
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(asyncio.run(ensure(argv[0], argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
