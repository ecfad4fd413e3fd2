"""The tests' fake WeChat API server as a process of its own (for bench/campaign.py, the local
topology and the compose file's `try` profile, where it listens on every interface).

    .venv/bin/python bench/fake_wechat.py [--host 127.0.0.1] [--port 18081]

Prints its base URL once it listens; serves until it is terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import FakeWeChat

APPID = "wx5823bf96d3bd56c7"


async def serve(host: str, port: int) -> None:
    fake = FakeWeChat(appid=APPID)
    await fake.start(port=port, host=host)
    print(fake.base_url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18081)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))
