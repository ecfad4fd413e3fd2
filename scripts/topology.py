"""The production topology as local processes, for trying it out and for the fault suite.

    .venv/bin/python -m scripts.topology [--port 8088] [--api-base URL] [--keep]

starts, each on a free port and with its own log file in a temporary directory:
- PostgreSQL of its own (initdb into the directory; as the `postgres` OS user when run as root,
  since initdb refuses root), fsync off: it is for trying things, not for keeping data;
- Redis of its own (no persistence: a restart brings it back empty, like a lost cache);
- `python -m bot migrate`, then 2 web workers (`python -m bot --workers 2`, one port),
  2 schedulers (`python -m scheduler`), 2 queue workers (`python -m scheduler worker`);
- nginx in front, with `deploy/nginx.conf` itself (its addresses and paths made local), when
  installed;
- the fake WeChat API (`bench/fake_wechat.py`) unless `--api-base` names another.

It prints the URLs and the environment the processes share, then runs until Ctrl-C, when it
stops everything and deletes the directory (`--keep` keeps it, logs and database included).
`Topology` is the same thing as a context manager for tests (`tests/faults`): it can kill,
freeze and restart any part.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APPID = "wx5823bf96d3bd56c7"
SECRET = "test-secret"  # noqa: S105 - the fake WeChat's (bench/fake_wechat.py), never a real one
TOKEN = "QDG6eK"  # noqa: S105
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
PREFIX = "clubbot-topology"

DEPLOYED_NGINX = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"


def nginx_conf(directory: Path, web: int, port: int) -> str:
    """The deployed nginx.conf, run by an unprivileged nginx here: its pid, logs and temporary
    files in `directory`, one worker, listening on `port` in front of the web workers' `web`."""
    text = DEPLOYED_NGINX.read_text()
    local = {
        "worker_processes auto;": (
            f"worker_processes 1;\npid {directory}/nginx.pid;\n"
            f"error_log {directory}/nginx-error.log warn;"
        ),
        "    access_log off;": "    access_log off;\n"
        + "".join(
            f"    {kind}_temp_path {directory}/nginx-{name};\n"
            for kind, name in (
                ("client_body", "body"),
                ("proxy", "proxy"),
                ("fastcgi", "fastcgi"),
                ("uwsgi", "uwsgi"),
                ("scgi", "scgi"),
            )
        ).rstrip("\n"),
        "server web:8080;": f"server 127.0.0.1:{web};",
        "listen 80;": f"listen 127.0.0.1:{port};",
    }
    for deployed, here in local.items():
        if text.count(deployed) != 1:
            raise RuntimeError(f"{DEPLOYED_NGINX}: expected one {deployed!r}")
        text = text.replace(deployed, here)
    return text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_postgres() -> dict[str, Any]:
    """PostgreSQL refuses to run as root: as root, its commands run as the `postgres` OS user
    (Popen's user and group, so the postmaster is our direct child)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise RuntimeError(f"{name} not found: install PostgreSQL's server binaries")


@dataclass
class Topology:
    """The processes of one local deployment; `start()`, then `stop()` (or `with`)."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="clubbot-topo-")))
    api_base: str | None = None
    """The WeChat API the processes call; None: start the fake (`bench/fake_wechat.py`)."""
    web_workers: int = 2
    schedulers: int = 2
    queue_workers: int = 2
    proxy: bool = True
    """nginx in front when installed (else the web workers' port is the entry)."""
    port: int = 0
    """The entry port (nginx's, or the web workers' without it); 0: a free one."""
    extra_env: Mapping[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    appid: str = APPID
    secret: str = field(default=SECRET, repr=False)
    token: str = field(default=TOKEN, repr=False)
    aes_key: str | None = field(default=AES_KEY, repr=False)
    """None: plaintext only (a WeChat test account sends plaintext)."""
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # --- the whole ---------------------------------------------------------------------

    def __enter__(self) -> Topology:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/clubbot"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        values = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CLUBBOT_", "DATABASE_", "REDIS_", "WECHAT_", "CLUB_"))
        }
        values.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            REDIS_PREFIX=PREFIX,
            WECHAT_APPID=self.appid,
            WECHAT_SECRET=self.secret,
            WECHAT_TOKEN=self.token,
            WECHAT_API_BASE=self.api_base or "",
            WECHAT_DRY_RUN="false",
            LOG_LEVEL=self.log_level,
            PYTHONUNBUFFERED="1",
        )
        if self.aes_key:
            values["WECHAT_AES_KEY"] = self.aes_key
        values.update(self.extra_env)
        return values

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)  # nginx's and PostgreSQL's own users read and write here
        if self.api_base is None:
            fake_port = free_port()
            self._spawn(
                "wechat", [sys.executable, "bench/fake_wechat.py", "--port", str(fake_port)]
            )
            self.api_base = f"http://127.0.0.1:{fake_port}"
            self.wait_http(f"{self.api_base}/cgi-bin/menu/get", what="the fake WeChat API")
        self.start_postgres(initialise=True)
        self.start_redis()
        subprocess.run(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=ROOT,
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=120,
        )
        use_proxy = self.proxy and shutil.which("nginx") is not None
        if not use_proxy:
            self.web_port = self.port or self.web_port
        self.start_web()
        for n in range(1, self.schedulers + 1):
            self.start_scheduler(n)
        for n in range(1, self.queue_workers + 1):
            self.start_worker(n)
        if use_proxy:
            self.port = self.port or free_port()
            self.start_proxy()
        else:
            self.port = self.web_port
        self.wait_http(f"{self.url}/readyz", what="the web workers (through the proxy)")

    def stop(self) -> None:
        """Everything, the database last (the processes finish their work first)."""
        for name in list(self.procs):
            self.thaw(name)  # a frozen process cannot stop
            if name != "postgres":
                self.kill(name, signal.SIGTERM)
        for name in [n for n in self.procs if n != "postgres"]:
            self.wait_gone(name, 15)
        self.stop_postgres()

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    # --- parts ---------------------------------------------------------------------------

    def start_postgres(self, *, initialise: bool = False) -> None:
        data = self.directory / "pg"
        if initialise:
            data.mkdir()
            if os.geteuid() == 0:
                shutil.chown(data, "postgres", "postgres")
            subprocess.run(  # noqa: S603
                [
                    pg_bin("initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
                **as_postgres(),
                check=True,
                capture_output=True,
                timeout=120,
            )
        self._spawn(
            "postgres",
            [
                pg_bin("postgres"),
                "-D",
                str(data),
                "-p",
                str(self.pg_port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={data}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            **as_postgres(),
        )
        self.wait_port(self.pg_port, what="PostgreSQL")
        if initialise:
            deadline = time.monotonic() + 30
            while True:
                made = subprocess.run(  # noqa: S603
                    [
                        pg_bin("createdb"),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(self.pg_port),
                        "-U",
                        "postgres",
                        "clubbot",
                    ],
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
                if made.returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"createdb failed: {made.stderr.decode()}")
                time.sleep(0.3)

    def stop_postgres(self, *, fast: bool = True) -> None:
        if "postgres" in self.procs:
            # SIGINT: PostgreSQL's "fast" shutdown (sessions cut, a clean checkpoint).
            self.kill("postgres", signal.SIGINT if fast else signal.SIGTERM)
            self.wait_gone("postgres", 30)

    def start_redis(self) -> None:
        self._spawn(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
        )
        self.wait_port(self.redis_port, what="Redis")

    def start_web(self) -> None:
        self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "bot",
                "--workers",
                str(self.web_workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.web_port),
            ],
        )

    def start_scheduler(self, n: int) -> None:
        self._spawn(f"scheduler-{n}", [sys.executable, "-m", "scheduler"])

    def start_worker(self, n: int) -> None:
        self._spawn(f"worker-{n}", [sys.executable, "-m", "scheduler", "worker"])

    def start_proxy(self) -> None:
        conf = self.directory / "nginx.conf"
        conf.write_text(nginx_conf(self.directory, self.web_port, self.port))
        nginx = shutil.which("nginx") or "nginx"
        self._spawn(
            "nginx", [nginx, "-c", str(conf), "-p", str(self.directory), "-g", "daemon off;"]
        )

    # --- faults ----------------------------------------------------------------------------

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)

    def wait_gone(self, name: str, within: float) -> int | None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        try:
            return proc.wait(within)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(10)

    def freeze(self, name: str) -> None:
        self._group_signal(name, signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        self._group_signal(name, signal.SIGCONT)

    def _group_signal(self, name: str, sig: int) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)

    def running(self) -> dict[str, bool]:
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.procs.items()}

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- helpers ---------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], **options: Any) -> None:
        if name in self.procs:
            self.wait_gone(name, 15)  # a part killed before: reaped before it starts again
        with (self.directory / f"{name}.log").open("ab") as out:
            self.procs[name] = subprocess.Popen(  # noqa: S603 - our own commands
                argv,
                **options,
                cwd=ROOT,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: frozen and killed whole
            )

    def wait_port(self, port: int, *, what: str, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} is not listening on {port} after {within} s")
            time.sleep(0.1)

    def wait_http(self, url: str, *, what: str, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local URL
                    return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not answering at {url} after {within} s")
            time.sleep(0.2)


@contextlib.contextmanager
def running(**options: object) -> Iterator[Topology]:
    topology = Topology(**options)  # type: ignore[arg-type]
    try:
        with topology:
            yield topology
    finally:
        topology.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.topology", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="the entry port (default: free)")
    parser.add_argument(
        "--api-base",
        help="the WeChat API (default: the fake, started here); with it, WECHAT_APPID, "
        "WECHAT_SECRET, WECHAT_TOKEN (and WECHAT_AES_KEY for safe mode) come from the environment",
    )
    parser.add_argument("--keep", action="store_true", help="keep the directory at the end")
    args = parser.parse_args(argv)
    topology = Topology(port=args.port, api_base=args.api_base)
    if args.api_base:
        # A real account (a test account, 测试号): its credentials from the environment.
        missing = [
            k for k in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN") if not os.environ.get(k)
        ]
        if missing:
            parser.error(f"--api-base needs {', '.join(missing)} in the environment")
        topology.appid = os.environ["WECHAT_APPID"]
        topology.secret = os.environ["WECHAT_SECRET"]
        topology.token = os.environ["WECHAT_TOKEN"]
        topology.aes_key = os.environ.get("WECHAT_AES_KEY") or None
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        topology.start()
        print(f"clubbot is up: {topology.url}/wechat (WeChat's server URL), {topology.url}/console")
        print(f"logs and data: {topology.directory}")
        print("environment of its processes:")
        shown = ["DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "WECHAT_APPID", "WECHAT_API_BASE"]
        if not args.api_base:  # the fake's credentials are no secret: what a client signs with
            shown += ["WECHAT_TOKEN", "WECHAT_AES_KEY"]
        env = topology.env()
        for key in shown:
            print(f"  {key}={env.get(key, '(unset)')}")
        print(f"processes: {topology.pids()}")
        print("Ctrl-C stops them all", flush=True)
        while not stop:
            time.sleep(0.5)
            gone = [n for n, up in topology.running().items() if not up]
            if gone:
                print(f"stopped on their own: {', '.join(gone)} (see their logs)", flush=True)
                break
    finally:
        topology.stop()
        if not args.keep:
            topology.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
