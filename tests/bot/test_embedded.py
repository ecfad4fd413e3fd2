"""`python -m bot` as a newcomer and an operator start it: real subprocesses, real sockets.

- The embedded default on a bare machine (a temporary working directory, no configuration):
  it creates `data/clubbot.sqlite3`, says it is a demo, and answers WeChat's messages.
- Start-up refusals: several workers without REDIS_URL; production with missing secrets.
- Several workers on the real servers: both answer on one port, SIGTERM stops them all.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.serve import prepare_sqlite_file
from clubbot.cli import parse
from tests.conftest import TEST_DB_URL, TEST_REDIS_PREFIX, TEST_REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
DEMO_TOKEN = "clubbotdemotoken"  # the public demo value the embedded mode fills in
START_TIMEOUT_S = 180.0
"""A safety net, not a measure: `python -m bot` on a bare machine imports (about 2 s) and applies
the 32 migrations to a new SQLite file (about 5 s of CPU: tortoise builds its model classes
again for each migration) before it answers. Measured: 7.8 s on a quiet machine, 16 s beside
four busy loops, over 120 s for a niced test beside them at load 11; CI's four pytest passes at
load 7-10 took it past the 30 s this was."""
PROCESS_TIMEOUT_S = 300
"""The same net for a command run to its end (`migrate` applies them all too)."""

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bare_env(**extra: str) -> dict[str, str]:
    """A machine with nothing configured: no WECHAT_*, DATABASE_URL, REDIS_URL, HOST or PORT."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra)
    return env


def run_bot(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )


class Server:
    """A `python -m bot` subprocess; its stderr (the log) goes to a file."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log_path = cwd / "server.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bot", *args, "--port", str(self.port)],
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log}")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=1) as resp:  # noqa: S310
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"server did not answer /healthz in {START_TIMEOUT_S}s:\n{self.log}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=PROCESS_TIMEOUT_S)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - local http
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def signed_query(token: str, **extra: str) -> str:
    timestamp = str(int(time.time()))
    nonce = str(time.monotonic_ns() % 10**9)
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 - WeChat's scheme
    return urllib.parse.urlencode(
        {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}
    )


def post_wechat(
    server: Server, xml: str, *, openid: str, token: str = DEMO_TOKEN
) -> tuple[int, str]:
    query = signed_query(token, openid=openid)
    request = urllib.request.Request(  # noqa: S310 - a local http URL we built
        server.url(f"/wechat?{query}"),
        data=xml.encode("utf-8"),
        headers={"Content-Type": "text/xml"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            return resp.status, resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def reply_fields(body: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(body)}  # noqa: S314 - our reply


def test_bare_machine_runs_the_embedded_demo_and_chats(tmp_path: Path, serve: list[Server]) -> None:
    server = Server([], cwd=tmp_path, env=bare_env())
    serve.append(server)
    server.wait_ready()

    assert (tmp_path / "data" / "clubbot.sqlite3").is_file()
    log = server.log
    assert "mode=embedded demo" in log
    assert "store=in-process" in log and "dry_run=True" in log
    assert "WECHAT_APPID, WECHAT_SECRET, WECHAT_TOKEN are public demo values" in log
    assert "clubbot-demo-secret" not in log  # the demo secret itself is never printed
    assert "in_process_services=clubbot.embedded.in_process_scheduler" in log

    # WeChat's URL check.
    status, echoed = get(server.url(f"/wechat?{signed_query(DEMO_TOKEN, echostr='e4a1b2')}"))
    assert (status, echoed) == (200, b"e4a1b2")

    now = int(time.time())
    status, body = post_wechat(
        server,
        "<xml><ToUserName><![CDATA[gh_3a5d1c2b9e0f]]></ToUserName>"
        "<FromUserName><![CDATA[oEmbedded0001]]></FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>",
        openid="oEmbedded0001",
    )
    assert status == 200, body
    welcome = reply_fields(body)
    assert welcome["ToUserName"] == "oEmbedded0001"
    assert welcome["FromUserName"] == "gh_3a5d1c2b9e0f"
    assert welcome["MsgType"] == "text"
    assert "欢迎关注" in welcome["Content"]

    status, body = post_wechat(
        server,
        "<xml><ToUserName><![CDATA[gh_3a5d1c2b9e0f]]></ToUserName>"
        "<FromUserName><![CDATA[oEmbedded0001]]></FromUserName>"
        f"<CreateTime>{now + 1}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[帮助]]></Content><MsgId>24637180511190001</MsgId></xml>",
        openid="oEmbedded0001",
    )
    assert status == 200, body
    help_reply = reply_fields(body)
    assert help_reply["ToUserName"] == "oEmbedded0001"
    assert help_reply["MsgType"] == "text"
    for word in ("入会", "积分", "签到"):
        assert word in help_reply["Content"]

    # Signed with another token: refused, and not counted as a message.
    status, _ = post_wechat(
        server,
        "<xml><ToUserName><![CDATA[gh_3a5d1c2b9e0f]]></ToUserName>"
        "<FromUserName><![CDATA[oEmbedded0001]]></FromUserName>"
        f"<CreateTime>{now + 2}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[帮助]]></Content><MsgId>24637180511190002</MsgId></xml>",
        openid="oEmbedded0001",
        token="not-our-token",
    )
    assert status == 403

    status, metrics = get(server.url("/metrics"))
    text = metrics.decode()
    assert 'clubbot_messages_total{type="event:subscribe"} 1.0' in text
    assert 'clubbot_messages_total{type="text"} 1.0' in text
    assert 'clubbot_handler_seconds_count{type="text"} 1.0' in text
    assert 'clubbot_callbacks_rejected_total{reason="signature"} 1.0' in text

    status, ready = get(server.url("/readyz"))
    assert status == 200, ready
    assert server.stop() == 0
    assert "stopped" in server.log


@pytest.mark.parametrize(
    ("argv", "command", "workers"),
    [
        ([], "serve", 1),
        (["--workers", "3"], "serve", 3),
        (["serve", "--port", "9000"], "serve", 1),
        (["migrate"], "migrate", None),
        (["staff", "add", "li.lei", "--role", "clerk"], "staff", None),
    ],
)
def test_the_command_line_defaults_to_serve(
    argv: list[str], command: str, workers: int | None
) -> None:
    args = parse(argv)
    assert args.command == command
    assert getattr(args, "workers", None) == workers


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://data/clubbot.sqlite3", "data/clubbot.sqlite3"),
        ("sqlite:///var/lib/clubbot/db.sqlite3?journal_mode=wal", "/var/lib/clubbot/db.sqlite3"),
        ("sqlite://:memory:", None),
        ("postgres://club@db:5432/club", None),
    ],
)
def test_the_sqlite_folder_is_created(
    url: str, expected: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if expected and expected.startswith("/"):
        url = url.replace("/var/lib", str(tmp_path / "var/lib"))
        expected = expected.replace("/var/lib", str(tmp_path / "var/lib"))
    made = prepare_sqlite_file(url)
    assert made == (Path(expected) if expected else None)
    if made is not None:
        assert made.parent.is_dir()


def test_migrate_builds_the_schema_and_is_repeatable(tmp_path: Path) -> None:
    import sqlite3

    env = bare_env(DATABASE_URL="sqlite://db/club.sqlite3")
    for _ in range(2):
        result = run_bot(["migrate"], cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert "database is up to date" in result.stderr
    with sqlite3.connect(tmp_path / "db" / "club.sqlite3") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"member", "outbox_message", "tortoise_migrations"} <= tables


def test_several_workers_are_refused_without_redis(tmp_path: Path) -> None:
    result = run_bot(["--workers", "2"], cwd=tmp_path, env=bare_env())
    assert result.returncode == 2
    assert "--workers 2 is refused without REDIS_URL" in result.stderr
    assert "in-process" in result.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_several_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = bare_env(
        REDIS_URL="redis://127.0.0.1:6379/3",
        WECHAT_APPID="wx5823bf96d3bd56c7",
        WECHAT_SECRET="s3cret-value",
        WECHAT_TOKEN="QDG6eK",
    )
    result = run_bot(["serve", "--workers", "2"], cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "needs PostgreSQL" in result.stderr


@pytest.mark.parametrize(
    "servers",
    [
        {"REDIS_URL": "redis://127.0.0.1:6379/3"},
        {"DATABASE_URL": "postgres://club@127.0.0.1:5432/club"},
    ],
    ids=["redis", "postgres"],
)
def test_production_without_secrets_refuses_to_start(
    tmp_path: Path, servers: dict[str, str]
) -> None:
    result = run_bot([], cwd=tmp_path, env=bare_env(**servers))
    assert result.returncode == 2
    assert "missing secrets: WECHAT_APPID, WECHAT_SECRET, WECHAT_TOKEN" in result.stderr


def test_production_names_only_the_missing_secret(tmp_path: Path) -> None:
    env = bare_env(
        REDIS_URL="redis://127.0.0.1:6379/3",
        WECHAT_APPID="wx5823bf96d3bd56c7",
        WECHAT_SECRET="s3cret-value",
    )
    result = run_bot([], cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "missing secrets: WECHAT_TOKEN " in result.stderr
    assert "s3cret-value" not in result.stderr + result.stdout


def test_workers_share_the_port_and_stop_together(
    tmp_path: Path, serve: list[Server], redis_only: None, pg_only: None
) -> None:
    env = bare_env(
        DATABASE_URL=TEST_DB_URL,
        REDIS_URL=TEST_REDIS_URL or "",
        REDIS_PREFIX=TEST_REDIS_PREFIX,
        WECHAT_APPID="wx5823bf96d3bd56c7",
        WECHAT_SECRET="s3cret-value",
        WECHAT_TOKEN="QDG6eK",
    )
    server = Server(["--workers", "2"], cwd=tmp_path, env=env)
    serve.append(server)
    server.wait_ready()

    pids: set[int] = set()
    deadline = time.monotonic() + START_TIMEOUT_S
    # A new connection each time: the kernel spreads connections, not requests, over workers.
    while len(pids) < 2 and time.monotonic() < deadline:
        for _ in range(20):
            status, body = get(server.url("/healthz"))
            assert status == 200
            pids.add(json.loads(body)["pid"])
    assert len(pids) == 2, f"only {pids} answered:\n{server.log}"
    assert server.proc.pid not in pids  # the supervisor does not serve

    # /metrics adds up every worker: 20 refused callbacks, spread over both, count 20 anywhere.
    for n in range(20):
        status, _ = post_wechat(
            server,
            "<xml><ToUserName><![CDATA[gh_3a5d1c2b9e0f]]></ToUserName></xml>",
            openid=f"oWorkers{n}",
            token="not-our-token",
        )
        assert status == 403
    for _ in range(4):
        status, metrics = get(server.url("/metrics"))
        assert status == 200
        assert 'clubbot_callbacks_rejected_total{reason="signature"} 20.0' in metrics.decode()

    assert server.stop() == 0, server.log
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert server.log.count("msg=stopped") == 2
    assert "all workers stopped" in server.log
