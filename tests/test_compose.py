"""docker-compose.yml, deploy/nginx.conf and deploy/try.env: the production topology, and the
same set tried against the fake WeChat API, checked by structure (no Docker engine runs here);
`scripts/topology.py` starts the same set as local processes."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import Settings
from scripts.topology import free_port, nginx_conf
from tests.fakes import FakeWeChat

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "scheduler", "worker")
PRODUCTION = {"postgres", "redis", "migrate", "web", "scheduler", "worker", "nginx"}
PRODUCTION_ENV = {
    # What an operator's .env holds (see README, "Deploying"): the secrets and nothing else.
    "POSTGRES_PASSWORD": "pg-password",
    "WECHAT_APPID": "wxproduction0001",
    "WECHAT_SECRET": "production-secret",
    "WECHAT_TOKEN": "productiontoken",
}
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """The file's values as compose substitutes them: in every string, `${NAME}`,
    `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}` and `${NAME?error}` (the forms the
    file uses); a required one missing raises."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        given = env.get(name)
        unset = given is None or (given == "" and op is not None and op.startswith(":"))
        if op in ("?", ":?") and unset:
            raise LookupError(f"{name}: {arg}")
        if op in ("-", ":-") and unset:
            return str(arg)
        return given or ""

    assert "$$" not in value and not re.search(r"\$[A-Za-z_]", value), "a form not handled"
    return VARIABLE.sub(substitute, value)


def resolved(env: Mapping[str, str], profiles: tuple[str, ...] = ()) -> dict[str, Any]:
    """The services compose would run with `env` (its .env or --env-file) and `profiles`
    active (with COMPOSE_PROFILES of `env`): the file interpolated, services whose profiles are
    not active left out."""
    model: dict[str, Any] = interpolate(compose(), env)
    active = set(profiles) | {p for p in env.get("COMPOSE_PROFILES", "").split(",") if p}
    found: dict[str, Any] = {
        name: service
        for name, service in model["services"].items()
        if not service.get("profiles") or active & set(service["profiles"])
    }
    return found


def env_file(path: Path) -> dict[str, str]:
    """A compose environment file: KEY=VALUE lines, comments and blank lines skipped."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and key == key.strip() and key.isupper(), line
            values[key] = value
    return values


def test_the_whole_topology_is_there() -> None:
    assert set(resolved(PRODUCTION_ENV)) == PRODUCTION
    # Everything else is opt-in: the fake WeChat API, in the `try` profile only.
    optional = {name: s["profiles"] for name, s in services().items() if name not in PRODUCTION}
    assert optional == {"wechat": ["try"]}


def test_two_of_each_process_kind() -> None:
    s = services()
    web = s["web"]["command"]
    assert web[:3] == ["python", "-m", "bot"] and web[web.index("--workers") + 1] == "2"
    assert s["scheduler"]["command"] == ["python", "-m", "scheduler"]
    assert s["worker"]["command"] == ["python", "-m", "scheduler", "worker"]
    assert s["scheduler"]["deploy"]["replicas"] == 2
    assert s["worker"]["deploy"]["replicas"] == 2
    assert s["migrate"]["command"] == ["python", "-m", "bot", "migrate"]


def test_images_pinned_and_the_app_built_here() -> None:
    s = services()
    for name in ("postgres", "redis", "nginx"):
        assert re.fullmatch(r"[a-z]+:\d+\.\d+(\.\d+)?(-[a-z]+)?", s[name]["image"]), s[name]
    for name in APP_SERVICES:
        assert s[name]["build"] == "." and (ROOT / "Dockerfile").exists()


def test_migrations_run_once_before_the_processes_start() -> None:
    s = services()
    assert s["migrate"]["restart"] == "no"
    assert s["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "scheduler", "worker"):
        after = s[name]["depends_on"]
        assert after["migrate"]["condition"] == "service_completed_successfully"
        assert after["redis"]["condition"] == "service_healthy"
    assert s["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    for name in ("postgres", "redis"):
        assert s[name]["healthcheck"]["test"]


def test_every_process_has_the_production_settings_and_no_secret_in_the_file() -> None:
    s = services()
    for name in APP_SERVICES:
        env = s[name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        for secret in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN"):
            # Required from the environment: compose stops naming it when it is missing.
            assert env[secret].startswith("${" + secret + ":?"), env[secret]
        assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
    text = (ROOT / "docker-compose.yml").read_text()
    assert "wx5823bf96d3bd56c7" not in text and "test-secret" not in text


def test_by_default_every_process_calls_the_real_wechat_api() -> None:
    s = resolved(PRODUCTION_ENV)
    for name in APP_SERVICES:
        assert s[name]["environment"]["WECHAT_API_BASE"] == "https://api.weixin.qq.com", name
    # Nothing production runs waits for, or names, the fake.
    assert "wechat" not in s
    for service in s.values():
        assert "wechat" not in service.get("depends_on", {})


@pytest.fixture(scope="module")
def trying() -> dict[str, str]:
    return env_file(ROOT / "deploy" / "try.env")


def test_the_try_profile_runs_the_fake_and_points_every_process_at_it(
    trying: dict[str, str],
) -> None:
    # `docker compose --env-file deploy/try.env --profile try up`: every variable the file
    # requires is in try.env (else compose stops naming it), and the profile is on by itself.
    assert trying["COMPOSE_PROFILES"] == "try"
    s = resolved(trying, profiles=("try",))
    assert set(s) == PRODUCTION | {"wechat"}
    fake = s["wechat"]
    argv = fake["command"]
    assert argv[:2] == ["python", "bench/fake_wechat.py"]
    port = argv[argv.index("--port") + 1]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - reached by the others
    # The image leaves bench/ and tests/ out: the fake's files are mounted, read-only.
    for volume in fake["volumes"]:
        source, target, mode = volume.split(":")
        assert mode == "ro" and (ROOT / source).exists() and target.startswith("/app/"), volume
    assert {"bench/fake_wechat.py", "tests/fakes"} <= {
        v.split(":")[1].removeprefix("/app/") for v in fake["volumes"]
    }
    assert fake["build"] == "." and fake["image"] == s["web"]["image"]
    # The image's health check asks 127.0.0.1:$PORT/healthz: the fake listens there too.
    assert fake.get("environment", {}).get("PORT", "8080") == port
    # Every process is pointed at it, with the credentials it checks.
    expected = FakeWeChat()
    for name in APP_SERVICES:
        env = s[name]["environment"]
        assert env["WECHAT_API_BASE"] == f"http://wechat:{port}", name
        assert (env["WECHAT_APPID"], env["WECHAT_SECRET"]) == (expected.appid, expected.secret)


def test_the_try_settings_load_as_the_processes_load_them(
    trying: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for profiles, env in ((("try",), trying), ((), PRODUCTION_ENV)):
        with monkeypatch.context() as m:
            for name, value in resolved(env, profiles)["web"]["environment"].items():
                m.setenv(name, str(value))
            settings = Settings.from_env(_env_file=None)  # a bad value: ConfigError
        assert not settings.embedded and not settings.dry_run


@pytest.fixture
def fake_as_compose_runs_it(trying: dict[str, str]) -> Iterator[str]:
    """The `wechat` service's command, on a free port of this machine instead of 8080."""
    argv = resolved(trying, profiles=("try",))["wechat"]["command"]
    port = free_port()
    argv[argv.index("--port") + 1] = str(port)
    with (
        subprocess.Popen(  # noqa: S603 - our own script
            [sys.executable, *argv[1:]], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ) as proc
    ):
        try:
            assert proc.stdout is not None
            started = proc.stdout.readline().decode()  # its base URL, once it listens
            assert started.startswith("http://"), started + proc.stdout.read().decode()
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)


def test_the_fake_listens_where_compose_says_and_passes_the_images_health_check(
    fake_as_compose_runs_it: str,
) -> None:
    with urllib.request.urlopen(f"{fake_as_compose_runs_it}/healthz", timeout=4) as resp:  # noqa: S310
        assert resp.status == 200


def test_the_web_workers_trust_nginx_and_only_nginx() -> None:
    # nginx has a fixed address on the project's network; the web workers take the client's
    # address (X-Forwarded-For) and scheme (X-Forwarded-Proto) from it alone.
    ipam = compose()["networks"]["default"]["ipam"]["config"][0]
    s = resolved(PRODUCTION_ENV)
    nginx = ipaddress.ip_address(s["nginx"]["networks"]["default"]["ipv4_address"])
    assert nginx in ipaddress.ip_network(ipam["subnet"])
    # Docker hands out addresses in ip_range only: no container started first can take it.
    assert nginx not in ipaddress.ip_network(ipam["ip_range"])
    assert s["web"]["environment"]["TRUSTED_PROXIES"] == str(nginx)
    conf = (ROOT / "deploy/nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    # The other processes serve nothing, and the web service keeps the shared settings.
    for name in ("migrate", "scheduler", "worker"):
        assert "TRUSTED_PROXIES" not in s[name]["environment"]
    shared = {k: v for k, v in s["web"]["environment"].items() if k != "TRUSTED_PROXIES"}
    assert shared == s["worker"]["environment"]


def test_redis_does_not_evict_the_queue() -> None:
    command = services()["redis"]["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_the_proxy_gives_up_before_the_web_workers_and_waits_for_wechat() -> None:
    conf = (ROOT / "deploy/nginx.conf").read_text()
    nginx = services()["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert "server web:8080;" in conf
    local = nginx_conf(Path("/tmp/topology"), web=8081, port=8088)
    assert "server 127.0.0.1:8081;" in local and "listen 127.0.0.1:8088;" in local
    for text in (conf, local):  # the compose file's and the local topology's alike
        assert seconds(text, "client_header_timeout") < 15  # the workers' header timeout
        assert seconds(text, "client_body_timeout") <= 10  # the workers' body timeout
        assert seconds(text, "proxy_read_timeout") > 5  # WeChat waits 5 s for an answer
        assert seconds(text, "keepalive_timeout") <= 10
        assert "keepalive 64;" in text
        assert 'proxy_set_header Connection "";' in text  # upstream keep-alive
        # A request holds two connections (client, upstream): 1,024 ran out in the soak when
        # a loaded machine held 900 requests in flight.
        assert int(re.search(r"worker_connections (\d+);", text).group(1)) >= 4096  # type: ignore[union-attr]
        # The first ask of a report period ranks it (about 20 s at 10,000,000 purchases).
        reports = text[text.index("location ~ ^/(api/v1/reports|console/reports)/") :]
        assert seconds(reports, "proxy_read_timeout") >= 60


def seconds(conf: str, directive: str) -> int:
    found = re.search(rf"{directive}\s+(\d+)s;", conf)
    assert found, directive
    return int(found.group(1))


def test_the_example_env_names_every_variable_the_file_asks_for() -> None:
    """`cp .env.example .env` (the file's header) gives the operator every variable to fill in,
    each empty: compose then stops naming the first one left so, not with a made-up secret."""
    example = env_file(ROOT / ".env.example")
    asked = {m["name"] for m in VARIABLE.finditer((ROOT / "docker-compose.yml").read_text())}
    required = {
        m["name"]
        for m in VARIABLE.finditer((ROOT / "docker-compose.yml").read_text())
        if m["op"] in ("?", ":?")
    }
    assert required <= set(example), required - set(example)
    assert set(example) <= asked, set(example) - asked
    assert all(value == "" for value in example.values()), example
    with pytest.raises(LookupError):
        resolved(example)
