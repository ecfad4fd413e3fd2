"""Time the reports' default answers the churn-scan now computes and keeps (`report_answer`).

Runs on a database loaded by `bench/reports.py --load` (as of its day, 23 November 2026 03:00 in
Shanghai): the churn-scan of that day (which ends by computing and storing the answers), then
the storing step alone again, printing what each report took. `bench/console.py --skip-load`
then serves the report pages from these answers.

    .venv/bin/python bench/report_answers.py --database postgres://.../clubbot_console2_bench
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from club.db.connect import database
from club.db.migrate import migrate
from club.programme import load_programme
from club.reports.answers import store_answers
from club.value.churn import scan_churn

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)
"""bench/reports.py's day: the console bench (10:00 that day) reads what this stores."""


async def main(url: str) -> None:
    programme = load_programme(None)
    await migrate(url)
    async with database(url):
        began = time.perf_counter()
        counts = await scan_churn(NOW.date(), NOW, programme)
        print(f"churn-scan with the answers   {time.perf_counter() - began:8.2f} s   {counts}")
        began = time.perf_counter()
        took = await store_answers(NOW, programme)
        print(f"the answers alone (again)     {time.perf_counter() - began:8.2f} s")
        for name, ms in took.items():
            print(f"  {name:<10} {ms / 1000:8.2f} s  (the 50- and 100-row pages when paged)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/clubbot_console2_bench"
    )
    args = parser.parse_args()
    asyncio.run(main(args.database))
