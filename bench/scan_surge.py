"""A surge of bottle-code scans through the whole path, on PostgreSQL, next to the callback's
bare wire-work ceiling.

    .venv/bin/python bench/scan_surge.py [--members 2000] [--clients 64]

Starts the production topology (`scripts/topology.py`: PostgreSQL and Redis of its own, 2 web
workers, schedulers, queue workers, the fake WeChat API), creates `--members` members and as
many bottle codes (10 points each), then every member scans one code at once: a safe-mode
(AES) `scancode_waitmsg` event each, sent by `--clients` concurrent clients straight to the web
workers' port. Each scan is decrypted, parsed, its code checked and used, the member's points
credited (a ledger row, one conditional update), and a reply encrypted. Printed: scans/s,
p50/p99, errors, and afterwards the ledger credits and codes used (each must be exactly
`--members`).

The ceiling is `bench/callback.py`'s: a bare aiohttp handler doing only the wire work (signature,
decrypt, parse, encrypt a reply), two processes, loaded by the same client with the same number
of requests; the ratio of the two rates is printed. Load generator in this process: it shares
the 2 cores with the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import callback as ceiling_bench  # noqa: E402

from bot.wechat.crypto import MessageCrypto, signature  # noqa: E402
from scripts.topology import AES_KEY, APPID, TOKEN, Topology  # noqa: E402

ACCOUNT = "gh_surge00000001"
TZ = ZoneInfo("Asia/Shanghai")


def scan_request(
    crypto: MessageCrypto, token: str, openid: str, code: str, n: int
) -> tuple[dict[str, str], bytes]:
    now = str(int(time.time()))
    inner = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[scancode_waitmsg]]></Event><EventKey><![CDATA[SCAN_CODE]]></EventKey>"
        f"<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
        f"<ScanResult><![CDATA[{code}]]></ScanResult></ScanCodeInfo></xml>"
    )
    encrypt = crypto.encrypt(inner.encode())
    nonce = str(900_000 + n)
    query = {
        "signature": signature(token, now, nonce),
        "timestamp": now,
        "nonce": nonce,
        "openid": openid,
        "encrypt_type": "aes",
        "msg_signature": signature(token, now, nonce, encrypt),
    }
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    )
    return query, body.encode()


async def fire(
    url: str, requests: list[tuple[dict[str, str], bytes]], clients: int
) -> tuple[float, list[float], int, list[bytes]]:
    """Send every request once, `clients` at a time: seconds, latencies, errors, bodies."""
    latencies: list[float] = []
    bodies: list[bytes] = []
    errors = 0
    todo = iter(requests)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=clients)
    ) as http:

        async def client() -> None:
            nonlocal errors
            for query, body in todo:
                started = time.perf_counter()
                try:
                    async with http.post(url, params=query, data=body) as resp:
                        answer = await resp.read()
                        if resp.status != 200:
                            errors += 1
                            continue
                except (aiohttp.ClientError, TimeoutError):
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                bodies.append(answer)

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.monotonic() - started, latencies, errors, bodies


def show(name: str, count: int, seconds: float, latencies: list[float], errors: int) -> float:
    ordered = sorted(latencies) or [float("nan")]
    rate = count / seconds
    print(
        f"{name:9} {count} requests in {seconds:.2f} s: {rate:.0f}/s, "
        f"p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, "
        f"p99 {ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000:.1f} ms, "
        f"errors {errors}",
        flush=True,
    )
    return rate


async def seed(database_url: str, members: int) -> list[str]:
    from club.codes.bottle import generate_batch
    from club.db.connect import database
    from club.db.models.members import Member, MemberStatus

    now = datetime.now(TZ)
    async with database(database_url):
        await Member.bulk_create(
            [
                Member(
                    openid=f"oSurge{i:07d}",
                    status=MemberStatus.ACTIVE,
                    consent_at=now,
                    joined_at=now,
                    tier="taste",
                )
                for i in range(members)
            ],
            batch_size=1000,
        )
        batch = await generate_batch(members, 10, "surge", now)
        return list(batch.codes)


async def counts(database_url: str) -> tuple[int, int]:
    from club.db.connect import database
    from club.db.models.catalog import BottleCode
    from club.db.models.ledger import LedgerEntry

    async with database(database_url):
        credits = await LedgerEntry.filter(ref__startswith="bottle:").count()
        used = await BottleCode.filter(used_at__isnull=False).count()
        return credits, used


async def surge(args: argparse.Namespace) -> None:
    topology = Topology(log_level="WARNING", proxy=False)
    try:
        topology.start()
        codes = await seed(topology.database_url, args.members)
        crypto = MessageCrypto(token=TOKEN, aes_key=AES_KEY, appid=APPID)
        requests = [
            scan_request(crypto, TOKEN, f"oSurge{i:07d}", code, i) for i, code in enumerate(codes)
        ]
        url = f"http://127.0.0.1:{topology.web_port}/wechat"
        seconds, latencies, errors, bodies = await fire(url, requests, args.clients)
        ours = show("scans", len(requests), seconds, latencies, errors)
        credits, used = await counts(topology.database_url)
        replies = sum(b"<Encrypt>" in body for body in bodies)
        print(
            f"encrypted replies {replies}, ledger credits from codes {credits}, codes used "
            f"{used} (each must be {args.members})"
        )
    finally:
        topology.stop()
        topology.cleanup()

    with tempfile.TemporaryDirectory(prefix="clubbot-surge-") as work:
        server = ceiling_bench.start_ceiling(2, Path(work))
        try:
            lines = Path(work) / "requests.txt"
            ceiling_bench.write_requests(lines, args.members, first_msgid=1)
            wire = []
            for line in lines.read_text().splitlines():
                target, body = line.split("\t", 1)
                query = dict(p.split("=", 1) for p in target.split("?", 1)[1].split("&"))
                wire.append((query, body.encode()))
            seconds, latencies, errors, _ = await fire(f"{server.url}/wechat", wire, args.clients)
            ceiling = show("ceiling2", len(wire), seconds, latencies, errors)
        finally:
            server.stop()
    print(f"scans at {ours / ceiling:.0%} of the bare wire-work ceiling (2 processes each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=64)
    asyncio.run(surge(parser.parse_args()))


if __name__ == "__main__":
    main()
