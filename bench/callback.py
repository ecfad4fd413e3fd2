"""Throughput and latency of `POST /wechat` in safe (AES) mode, next to a ceiling.

    python bench/callback.py [--duration 10] [--connections 64] [--only ceiling1,embedded1,...]

The ceiling is a bare aiohttp handler doing only wechatpy's work for the same request: check the
signature, verify and decrypt the envelope, parse the message, build and encrypt a text reply.
Our endpoint does that plus de-duplication (Redis), the per-member lock, the member's row (a
database read), dialog state and routing. Targets, each measured in this run:

    ceiling1   the bare handler, one process           ceiling2   the same, two processes
    embedded1  `python -m bot` embedded default (SQLite file, in-process store), one process
    pg1        `python -m bot` on PostgreSQL + Redis, one process
    pg2        `python -m bot --workers 2` on PostgreSQL + Redis

Every request is pre-signed and unique (its own MsgId), so de-duplication never short-circuits;
members (2,000 openids) are created by a warm-up pass first, so the measured pass reads their row.
Load: wrk with a Lua script replaying a file of requests (`apt-get install -y wrk`), or a Python
load generator in its own process (`--loadgen python`) where wrk is not installed.
The script prints figures; it asserts nothing about speed (STYLE: speed targets live here).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APPID = "wxbench00000001"
TOKEN = "benchtoken"
AES_KEY = base64.b64encode(bytes(range(32))).decode()[:43]
ACCOUNT = "gh_bench00000001"
OPENIDS = 2000
TEXT = "帮助"
CEILING_REPLY = "您可以发送：入会、积分、等级、明细、兑换、签到、生日、瓶盖码、取消" * 2
TARGET_RATIO = 0.60

LUA = r"""
-- Replays pre-signed requests from a file; each thread takes every n-th line.
local counter = 1
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[2])
  reqs, total, idx, wrapped = {}, 0, 0, 0
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == tid - 1 then
      local target, body = line:match("^([^\t]+)\t(.*)$")
      total = total + 1
      reqs[total] = wrk.format("POST", target, {["Content-Type"] = "text/xml"}, body)
    end
    i = i + 1
  end
end

function request()
  idx = idx + 1
  if idx > total then
    idx = 1
    wrapped = wrapped + 1
  end
  return reqs[idx]
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + t:get("wrapped") end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"errors": %d, "non_2xx": %d, "wrapped": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, w))
end
"""


# ---------------------------------------------------------------------------------------------
# Requests


def sign(*parts: str) -> str:
    from bot.wechat.crypto import signature

    return signature(*parts)


def write_requests(path: Path, count: int, *, first_msgid: int, openids: int = OPENIDS) -> None:
    """`count` unique safe-mode text messages, one `target<TAB>body` line each."""
    from bot.wechat.crypto import MessageCrypto

    crypto = MessageCrypto(token=TOKEN, aes_key=AES_KEY, appid=APPID)
    now = str(int(time.time()))
    with path.open("w") as out:
        for n in range(count):
            openid = f"oBench{n % openids:07d}"
            msgid = first_msgid + n
            inner = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
                f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{TEXT}]]></Content><MsgId>{msgid}</MsgId></xml>"
            )
            encrypt = crypto.encrypt(inner.encode("utf-8"))
            nonce = str(msgid % 1_000_000_007)
            query = (
                f"signature={sign(TOKEN, now, nonce)}&timestamp={now}&nonce={nonce}&openid={openid}"
                f"&encrypt_type=aes&msg_signature={sign(TOKEN, now, nonce, encrypt)}"
            )
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            )
            out.write(f"/wechat?{query}\t{body}\n")


def check_one(url: str, line: str, expect: str) -> None:
    """Send one request and decrypt the answer: the figures are worthless if it is wrong."""
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto

    target, body = line.rstrip("\n").split("\t", 1)
    req = urllib.request.Request(url + target, data=body.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer = resp.read().decode()
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    import xmltodict

    envelope = xmltodict.parse(answer)["xml"]
    plain = crypto.decrypt_message(
        answer, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    reply = parse_message(plain)
    content = getattr(reply, "content", "")
    if expect not in content:
        raise SystemExit(f"unexpected reply from {url}: {plain[:200]!r}")


# ---------------------------------------------------------------------------------------------
# The ceiling server


def ceiling_app() -> web.Application:
    from wechatpy import create_reply, parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.utils import check_signature

    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)

    async def handle(request: web.Request) -> web.Response:
        q = request.query
        check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])
        body = await request.read()
        xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        message = parse_message(xml)
        reply = create_reply(CEILING_REPLY, message).render()
        answer = crypto.encrypt_message(reply, q["nonce"], q["timestamp"])
        return web.Response(text=answer, content_type="application/xml")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"pid": os.getpid()})

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/wechat", handle)
    app.router.add_get("/healthz", healthz)
    return app


async def serve_ceiling(port: int) -> None:
    from aiohttp import web

    runner = web.AppRunner(ceiling_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_port=True, backlog=2048).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


def run_ceiling(port: int) -> None:
    """The same event loop as ours (uvloop) and the same socket options."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve_ceiling(port))


# ---------------------------------------------------------------------------------------------
# Servers under test


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    procs: list[subprocess.Popen[bytes]]
    url: str
    pids: set[int]
    """The processes that answer requests (the workers, not a supervisor)."""

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the serving processes (all their threads)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids:
            # Fields after the command name (which may hold spaces): utime is 14th, stime 15th.
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_ready(url: str, procs: list[subprocess.Popen[bytes]], workers: int) -> set[int]:
    """Until /healthz answers from `workers` distinct processes; their pids."""
    pids: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"a server at {url} exited; see its log")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                pids.add(json.loads(resp.read())["pid"])
        except OSError:
            time.sleep(0.2)
            continue
        if len(pids) >= workers:
            return pids
    raise SystemExit(f"{url} not ready")


def start_ceiling(workers: int, logdir: Path) -> Server:
    port = free_port()
    log = (logdir / f"ceiling{workers}.log").open("w")
    procs = [
        subprocess.Popen([sys.executable, __file__, "_ceiling", str(port)], stdout=log, stderr=log)
        for _ in range(workers)
    ]
    url = f"http://127.0.0.1:{port}"
    return Server(procs, url, wait_ready(url, procs, workers))


def start_ours(name: str, workers: int, env: dict[str, str], logdir: Path) -> Server:
    port = free_port()
    log = (logdir / f"{name}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--workers", str(workers), "--port", str(port)],
        cwd=logdir,
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    return Server([proc], url, wait_ready(url, [proc], workers))


def our_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WECHAT_", "DATABASE_URL", "REDIS_URL", "HOST", "PORT", "CLUB_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        WECHAT_APPID=APPID,
        WECHAT_SECRET="bench-secret",
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY=AES_KEY,
        WECHAT_DRY_RUN="true",
        DATABASE_URL=database_url,
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


async def reset_servers(database_url: str, redis_url: str) -> None:
    """An empty schema brought up by the migrations, and an empty store: each run starts alike."""
    import asyncpg
    import redis.asyncio as aioredis

    from club.db.migrate import migrate

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    await migrate(database_url)
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()


async def analyze(database_url: str) -> None:
    """Statistics for the members the warm-up created, as autovacuum keeps them in service.

    Without them PostgreSQL has never sized the new table and reads it whole for every batch of
    openids (measured: 1.2 ms a query and about 70 us of PostgreSQL CPU a message, against
    0.09 ms by the openid index once analysed). Autovacuum would analyse it, but only a minute
    or more after the rows arrived, in the middle of the measured pass."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------------------
# Load


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    wrapped: int
    cpu_us: float = 0.0
    """Server CPU time per message (all serving processes), in microseconds."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def load_wrk(url: str, requests: Path, duration: float, connections: int, threads: int) -> Result:
    script = requests.with_suffix(".lua")
    script.write_text(LUA)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url + "/wechat",
            "--",
            str(requests),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
        errors=data["errors"],
        non_2xx=data["non_2xx"],
        wrapped=data["wrapped"],
    )


def load_python(url: str, requests: Path, duration: float, connections: int) -> Result:
    out = subprocess.run(
        [sys.executable, __file__, "_loadgen", url, str(requests), str(duration), str(connections)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Result(**json.loads(out))


async def python_loadgen(
    url: str, requests: Path, duration: float, connections: int
) -> dict[str, float]:
    """A closed-loop load generator: `connections` clients, each sending when answered."""
    import aiohttp

    lines = requests.read_text().splitlines()  # noqa: ASYNC240 - before the clock starts
    queue: Iterator[str] = iter(lines)
    latencies: list[float] = []
    errors = non_2xx = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = start + duration

        async def client() -> None:
            nonlocal errors, non_2xx
            for line in queue:
                if loop.time() >= end:
                    return
                target, body = line.split("\t", 1)
                sent = loop.time()
                try:
                    async with session.post(url + target, data=body.encode()) as resp:
                        await resp.read()
                        if resp.status >= 300:
                            non_2xx += 1
                except aiohttp.ClientError:
                    errors += 1
                    continue
                latencies.append(loop.time() - sent)

        await asyncio.gather(*(client() for _ in range(connections)))
        seconds = loop.time() - start
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies) + errors,
        "seconds": seconds,
        "p50_ms": quantiles[49] * 1e3,
        "p99_ms": quantiles[98] * 1e3,
        "errors": errors,
        "non_2xx": non_2xx,
        "wrapped": 0 if len(latencies) + errors < len(lines) else 1,
    }


# ---------------------------------------------------------------------------------------------
# The run


@dataclass
class Target:
    name: str
    workers: int
    kind: str  # ceiling | embedded | pg


TARGETS = {
    "ceiling1": Target("ceiling1", 1, "ceiling"),
    "embedded1": Target("embedded1", 1, "embedded"),
    "pg1": Target("pg1", 1, "pg"),
    "ceiling2": Target("ceiling2", 2, "ceiling"),
    "pg2": Target("pg2", 2, "pg"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--only", default=",".join(TARGETS), help="comma-separated targets")
    parser.add_argument("--loadgen", choices=("wrk", "python"), default=None)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CLUBBOT_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clubbot_bench"
        ),
        help="a database of its own: the bench drops its schema and migrates it afresh",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("CLUBBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="a Redis database of its own: the bench flushes it",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the targets, interleaved; report medians"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument(
        "--profile", action="store_true", help="sample each server with py-spy during its run"
    )
    args = parser.parse_args()
    loadgen = args.loadgen or ("wrk" if shutil.which("wrk") else "python")
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(TARGETS)
    if unknown:
        raise SystemExit(f"unknown targets: {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="clubbot-bench-"))
    print(
        f"POST /wechat, safe mode, text {TEXT!r}; {args.duration:g}s per target, "
        f"{args.connections} connections, load by {loadgen}; {os.cpu_count()} CPUs; logs in {work}"
    )
    state = Run(args=args, loadgen=loadgen, work=work)
    for round_no in range(1, args.rounds + 1):
        if args.rounds > 1:
            print(f"round {round_no} of {args.rounds}")
        for name in names:
            result = measure(TARGETS[name], state)
            state.results.setdefault(name, []).append(result)
    report(state.results)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class Run:
    args: argparse.Namespace
    loadgen: str
    work: Path
    msgid: int = 10**15
    results: dict[str, list[Result]] = field(default_factory=dict)

    def next_msgids(self, count: int) -> int:
        first = self.msgid
        self.msgid += count
        return first


def measure(target: Target, run: Run) -> Result:
    """Start the target, warm it up, load it for the duration, stop it; print one line."""
    args, work, name = run.args, run.work, target.name
    # Enough unique requests: 1.5x the fastest rate seen so far at this process count, and at
    # least 1.5x 5,000 a second per process.
    seen = [
        r.rate for n, rs in run.results.items() if TARGETS[n].workers == target.workers for r in rs
    ]
    count = int(max([5000.0 * target.workers, *seen]) * args.duration * 1.5)
    if target.kind == "ceiling":
        server = start_ceiling(target.workers, work)
        expect = CEILING_REPLY[:10]
    else:
        if target.kind == "embedded":
            db = work / f"{name}.sqlite3"
            db.unlink(missing_ok=True)
            env = our_env(f"sqlite://{db}", None)
        else:
            asyncio.run(reset_servers(args.pg_url, args.redis_url))
            env = our_env(args.pg_url, args.redis_url)
        server = start_ours(name, target.workers, env, work)
        expect = "入会"
    try:
        # Warm-up: one message per member, sent to the end (creates the members), so the
        # measured pass reads existing rows and finds connections and caches warm.
        warm = work / f"{name}-warm.txt"
        write_requests(warm, OPENIDS, first_msgid=run.next_msgids(OPENIDS))
        check_one(server.url, warm.read_text().split("\n", 1)[0], expect)
        load_python(server.url, warm, 300.0, min(args.connections, 32))
        if target.kind == "pg":
            asyncio.run(analyze(args.pg_url))
        requests = work / f"{name}.txt"
        write_requests(requests, count, first_msgid=run.next_msgids(count))
        stacks = work / f"{name}.stacks"
        spy = start_profiler(server, stacks, args) if args.profile else None
        cpu_before = server.cpu_seconds()
        result = run_load(run.loadgen, server.url, requests, args.duration, args)
        result.cpu_us = (server.cpu_seconds() - cpu_before) / max(result.requests, 1) * 1e6
        if spy is not None:
            spy.wait()
        died = [p.returncode for p in server.procs if p.poll() is not None]
    finally:
        server.stop()
    log = (work / f"{name}.log").read_text()
    notes = [
        f"errors {result.errors}",
        f"non-2xx {result.non_2xx}",
        f"deferred {log.count('reply deferred past the budget')}",
        f"server errors {log.count('level=ERROR')}",
    ]
    if result.wrapped:
        notes.append("RAN OUT of unique requests: raise the count")
    if died:
        notes.append(f"SERVER DIED during the run (exit {died[0]}): see {name}.log with --keep")
    print(
        f"  {name:10} {result.rate:8.0f} msg/s   p50 {result.p50_ms:6.1f} ms   "
        f"p99 {result.p99_ms:6.1f} ms   CPU {result.cpu_us:5.0f} us/msg   {', '.join(notes)}",
        flush=True,
    )
    if spy is not None and stacks.exists():
        print_profile(stacks)
    return result


def run_load(
    loadgen: str, url: str, requests: Path, duration: float, args: argparse.Namespace
) -> Result:
    if loadgen == "wrk":
        return load_wrk(url, requests, duration, args.connections, args.threads)
    return load_python(url, requests, duration, args.connections)


def start_profiler(server: Server, out: Path, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    """py-spy (pip install py-spy) on the server and its workers for the measured pass."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    seconds = str(max(1, round(args.duration) - 1))
    return subprocess.Popen(
        [
            *(spy, "record", "--format", "raw", "--subprocesses", "--rate", "100"),
            *("--nonblocking", "--duration", seconds, "--output", str(out)),
            *("--pid", str(server.procs[0].pid)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frame_name(frame: str) -> str:
    """py-spy's "function (path/to/file.py:12)" as "file.py:function"."""
    function, _, where = frame.partition(" (")
    return f"{where.rsplit(':', 1)[0].split('/')[-1]}:{function}"


def print_profile(stacks: Path, top: int = 30) -> None:
    """Where the time went: share of samples per function (inclusive), busiest first."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = {_frame_name(f) for f in stack.split(";")}
        for frame in frames:
            inclusive[frame] = inclusive.get(frame, 0) + n
    print(f"  profile: {total} samples; functions by share of samples (inclusive)")
    skip = ("<frozen", "__main__.py:", "serve.py:", "runners.py:", "process", "spawn", "<string>")
    shown = 0
    for frame, n in sorted(inclusive.items(), key=lambda kv: -kv[1]):
        if frame.startswith(skip) or n == total:
            continue
        print(f"    {100 * n / total:5.1f}%  {frame}")
        shown += 1
        if shown == top:
            break


def report(results: dict[str, list[Result]]) -> None:
    """Medians over the rounds, and our rate as a share of the ceiling's in the same run."""
    print("\nmedians" + (f" of {len(next(iter(results.values())))} rounds" if results else ""))
    medians: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for name, runs in results.items():
        medians[name] = statistics.median(r.rate for r in runs)
        p50 = statistics.median(r.p50_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        cpu[name] = statistics.median(r.cpu_us for r in runs)
        print(
            f"  {name:10} {medians[name]:8.0f} msg/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
            f"CPU {cpu[name]:5.0f} us/msg"
        )
    print()
    for ours, ceiling in (("embedded1", "ceiling1"), ("pg1", "ceiling1"), ("pg2", "ceiling2")):
        if ours in medians and ceiling in medians:
            ratio = medians[ours] / medians[ceiling]
            verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
            # CPU per message is steadier than throughput on a shared machine: the ceiling's
            # CPU over ours is the throughput ratio a CPU-bound server would reach.
            by_cpu = cpu[ceiling] / cpu[ours] if cpu[ours] else 0.0
            # Each round's pair ran minutes apart at most: the ratio within a round is spared
            # the host's slow and fast phases, which move a target by a fifth between rounds.
            pairs = zip(results[ours], results[ceiling], strict=False)  # a round may be cut short
            paired = [o.rate / c.rate for o, c in pairs if c.rate]
            print(
                f"  {ours:10} / {ceiling:9} = {ratio:4.0%} of the throughput "
                f"({verdict} the {TARGET_RATIO:.0%} target); by CPU per message {by_cpu:4.0%}; "
                f"round by round {', '.join(f'{r:.0%}' for r in paired)}"
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_ceiling":
        run_ceiling(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_loadgen":
        url, path, duration, conns = sys.argv[2:6]
        figures = asyncio.run(python_loadgen(url, Path(path), float(duration), int(conns)))
        print(json.dumps(figures))
    else:
        main()
