"""Soak: the whole local topology at half its measured capacity for N minutes.

    .venv/bin/python bench/soak.py [--minutes 10] [--members 2000] [--rate R]

Starts the production topology (`scripts/topology.py`: its own PostgreSQL and Redis, 2 web
workers behind nginx, 2 schedulers, 2 queue workers, the fake WeChat API), creates the members
by a warm-up pass, measures the capacity of `POST /wechat` through nginx (a closed loop of 32
clients for 15 s), then sends messages at half of it (open loop: one every 1/R s whatever the
answers do; `--rate` sets R instead) for `--minutes`, and prints minute by minute: messages,
p50/p99 of the callback, errors (non-200, timeouts after 5 s, dropped connections), and the RSS
of every process of the topology. At the end: the ERROR lines in all logs.

Each message is a unique safe-mode (AES) text from one of the members, in turn: `帮助` (help),
`积分` (points), `签到` (check-in, once a day per member, the rest answered "already").
Targets (issue 10): flat memory, flat p99, 0 errors. The load generator runs in this process
and shares the 2 cores with the topology: the figures are for this machine as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.wechat.crypto import MessageCrypto, signature  # noqa: E402
from scripts.topology import AES_KEY, APPID, TOKEN, Topology  # noqa: E402

ACCOUNT = "gh_soak000000001"
TEXTS = ("帮助", "积分", "签到")
TIMEOUT_S = 5.0


class Requests:
    """Unique signed, encrypted text messages from `members` openids, round-robin."""

    def __init__(self, members: int, texts: tuple[str, ...] = TEXTS) -> None:
        self.crypto = MessageCrypto(token=TOKEN, aes_key=AES_KEY, appid=APPID)
        self.members = members
        self.texts = texts
        self.msgids = itertools.count(int(time.time()) * 1000)

    def make(self, n: int) -> tuple[dict[str, str], bytes]:
        msgid = next(self.msgids)
        openid = f"oSoak{n % self.members:07d}"
        text = self.texts[(n // self.members) % len(self.texts)]
        now = str(int(time.time()))
        inner = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msgid}</MsgId></xml>"
        )
        encrypt = self.crypto.encrypt(inner.encode())
        nonce = str(msgid % 1_000_000_007)
        query = {
            "signature": signature(TOKEN, now, nonce),
            "timestamp": now,
            "nonce": nonce,
            "openid": openid,
            "encrypt_type": "aes",
            "msg_signature": signature(TOKEN, now, nonce, encrypt),
        }
        body = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
        return query, body.encode()


@dataclass
class Window:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


async def one(
    http: aiohttp.ClientSession, url: str, request: tuple[dict[str, str], bytes], window: Window
) -> None:
    query, body = request
    started = time.perf_counter()
    try:
        async with http.post(url, params=query, data=body) as resp:
            await resp.read()
            if resp.status != 200:
                window.error(f"http {resp.status}")
                return
    except TimeoutError:
        window.error("timeout")
        return
    except aiohttp.ClientError as exc:
        window.error(type(exc).__name__)
        return
    window.latencies.append(time.perf_counter() - started)


async def closed_loop(
    url: str, requests: Requests, numbers: Iterator[int], clients: int, seconds: float
) -> tuple[int, Window]:
    window = Window()
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:

        async def client() -> int:
            done = 0
            while time.monotonic() < deadline:
                await one(http, url, requests.make(next(numbers)), window)
                done += 1
            return done

        counts = await asyncio.gather(*(client() for _ in range(clients)))
    return sum(counts), window


async def warm_up(url: str, requests: Requests, members: int) -> None:
    """Every member writes once (their row is created), to the end, 32 at a time."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        window = Window()
        numbers = iter(range(members))
        saved = requests.texts
        requests.texts = ("帮助",)

        async def client() -> None:
            for n in numbers:
                await one(http, url, requests.make(n), window)

        await asyncio.gather(*(client() for _ in range(32)))
        requests.texts = saved
        if window.errors:
            raise SystemExit(f"warm-up: {window.errors} errors {window.kinds}")


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def memory(topology: Topology) -> dict[str, float]:
    """RSS of every process of the topology (a web worker or an nginx worker by its own name;
    PostgreSQL: the postmaster and its backends together)."""
    out: dict[str, float] = {}
    for name, pid in topology.pids().items():
        kids = children(pid)
        if name == "postgres":
            out[name] = rss_mib(pid) + sum(rss_mib(k) for k in kids)
            continue
        out[name] = rss_mib(pid)
        for n, kid in enumerate(sorted(kids), start=1):
            out[f"{name}.{n}"] = rss_mib(kid)
    return out


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def open_loop(
    url: str,
    topology: Topology,
    requests: Requests,
    numbers: Iterator[int],
    rate: float,
    minutes: int,
) -> list[tuple[int, Window]]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=512)
    results: list[tuple[int, Window]] = []
    tasks: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        start = time.monotonic()
        for minute in range(1, minutes + 1):
            window = Window()
            sent = 0
            end = start + minute * 60
            while (now := time.monotonic()) < end:
                due = int((now - start) * rate) - (sum(r[0] for r in results) + sent)
                for _ in range(max(0, due)):
                    if len(tasks) >= 2000:  # falling behind: counted, not queued without end
                        window.error("overload")
                    else:
                        task = asyncio.create_task(
                            one(http, url, requests.make(next(numbers)), window)
                        )
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    sent += 1
                await asyncio.sleep(0.005)
            results.append((sent, window))
            mem = memory(topology)
            shown = " ".join(f"{k}={v:.0f}" for k, v in sorted(mem.items()))
            print(
                f"minute {minute:2d}: {sent} messages, "
                f"p50 {quantile(window.latencies, 0.5):.1f} ms, "
                f"p99 {quantile(window.latencies, 0.99):.1f} ms, errors {window.errors} "
                f"{window.kinds or ''} | RSS MiB {shown}",
                flush=True,
            )
        if tasks:
            await asyncio.wait(tasks, timeout=TIMEOUT_S + 1)
    return results


def error_lines(topology: Topology) -> dict[str, int]:
    found = {}
    for path in sorted(topology.directory.glob("*.log")):
        text = path.read_text(errors="replace")
        count = text.count("level=ERROR") + text.count("[error]") + text.count("Traceback")
        if count:
            found[path.stem] = count
    return found


async def soak(args: argparse.Namespace) -> None:
    topology = Topology(log_level="INFO")
    try:
        started = time.monotonic()
        topology.start()
        print(
            f"topology up in {time.monotonic() - started:.0f} s: {topology.url} "
            f"({topology.directory})",
            flush=True,
        )
        url = f"{topology.url}/wechat"
        requests = Requests(args.members)
        await warm_up(url, requests, args.members)
        numbers = itertools.count(args.members)
        if args.rate:
            rate = args.rate
        else:
            done, window = await closed_loop(url, requests, numbers, 32, 15)
            capacity = done / 15
            print(
                f"capacity: {capacity:.0f} messages/s (32 clients, 15 s; p50 "
                f"{quantile(window.latencies, 0.5):.1f} ms, p99 "
                f"{quantile(window.latencies, 0.99):.1f} ms, errors {window.errors})",
                flush=True,
            )
            rate = capacity / 2
        print(f"soak: {rate:.0f} messages/s for {args.minutes} minutes", flush=True)
        results = await open_loop(url, topology, requests, numbers, rate, args.minutes)
        p99s = [quantile(w.latencies, 0.99) for _, w in results]
        print(
            f"total: {sum(s for s, _ in results)} messages, errors "
            f"{sum(w.errors for _, w in results)}, p99 by minute min {min(p99s):.1f} / median "
            f"{statistics.median(p99s):.1f} / max {max(p99s):.1f} ms; ERROR lines in the logs: "
            f"{error_lines(topology) or 0}; processes all running: "
            f"{all(topology.running().values())}",
            flush=True,
        )
    finally:
        topology.stop()
        if args.keep:
            print(f"kept: {topology.directory}")
        else:
            topology.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="messages/s (default: half the capacity)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the topology's directory")
    asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    main()
