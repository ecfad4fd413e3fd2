"""Half-sent POSTs against `python -m bot`: what a slow or hostile client can hold.

Starts the server on the embedded default in a scratch folder, opens N connections that each
send a request's headers and part of its body and then nothing more, and prints, second by
second, the server's resident memory, the connections it still holds, and how ours ended
(408, 503, closed). Compare two trees with `--source` (an export of an older commit):

    .venv/bin/python bench/half_sent.py --connections 8000
    git archive OLD | tar -x -C /tmp/old && .venv/bin/python bench/half_sent.py --source /tmp/old
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "clubbotdemotoken"  # the embedded demo's public token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def server_sockets(pid: int) -> int:
    """Open socket descriptors of the server (the listening one included)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(fd).startswith("socket:"):
                count += 1
    return count


def signed_path() -> str:
    ts, nonce = str(int(time.time())), "20261204"
    signature = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
    return f"/wechat?signature={signature}&timestamp={ts}&nonce={nonce}&openid=oBench"


async def healthy(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    return answer.startswith(b"HTTP/1.1 200")


class Outcomes:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) or "-"


async def half_post(port: int, path: str, outcomes: Outcomes, hold: float) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        outcomes.add("connect_failed")
        return
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml\r\n"
        "Content-Length: 4096\r\n\r\n"
    ).encode()
    try:
        writer.write(head + b"<xml>" + b"x" * 1000)
        await writer.drain()
        first = await asyncio.wait_for(reader.readline(), timeout=hold)
    except TimeoutError:
        outcomes.add("still_open")
    except OSError:
        outcomes.add("reset")
    else:
        status = first.split(b" ")[1].decode() if first.startswith(b"HTTP/") else "closed"
        outcomes.add(status)
    finally:
        writer.transport.abort()


async def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="clubbot-half-sent-"))
    port = free_port()
    env = dict(os.environ, PORT=str(port), LOG_LEVEL="WARNING", PYTHONPATH=str(args.source))
    for name in ("DATABASE_URL", "REDIS_URL", "CLUB_CONFIG"):
        env.pop(name, None)
    log = (work / "server.log").open("wb")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=work, env=env, stdout=log, stderr=log
    )
    try:
        for _ in range(200):
            if await healthy(port):
                break
            await asyncio.sleep(0.1)
        baseline = rss_mib(server.pid)
        print(f"source {args.source}; server pid {server.pid}, RSS at rest {baseline:.1f} MiB")
        outcomes = Outcomes()
        path = signed_path()
        started = time.monotonic()
        clients = []
        for _ in range(args.connections):
            clients.append(asyncio.create_task(half_post(port, path, outcomes, args.hold)))
            if len(clients) % 500 == 0:
                await asyncio.sleep(0)  # let the connections go out in waves
        print(f"{'t (s)':>6} {'RSS MiB':>8} {'+MiB':>7} {'sockets':>8}  our connections ended")
        peak = baseline
        for second in range(int(args.hold) + 1):
            await asyncio.sleep(max(0.0, started + second - time.monotonic()))
            rss = rss_mib(server.pid)
            peak = max(peak, rss)
            if second in args.report_at or second == int(args.hold):
                print(
                    f"{second:>6} {rss:>8.1f} {rss - baseline:>7.1f} "
                    f"{server_sockets(server.pid):>8}  {outcomes.line()}"
                )
        await asyncio.gather(*clients)
        print(f"peak RSS {peak:.1f} MiB (+{peak - baseline:.1f}); outcomes: {outcomes.line()}")
    finally:
        server.terminate()
        await server.wait()
        log.close()
        if args.keep:
            print(f"server log: {work / 'server.log'}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=8000)
    parser.add_argument("--hold", type=float, default=30.0, help="seconds to keep them open")
    parser.add_argument("--source", type=Path, default=ROOT, help="the tree to run")
    parser.add_argument("--keep", action="store_true", help="keep the server's log")
    args = parser.parse_args()
    args.report_at = {0, 1, 2, 5, 10, 12, 15, 20, 30, 60, 120, 300, 600}
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
