"""docker-compose.yml and deploy/nginx.conf: the production topology, checked by structure
(no Docker engine runs here); `scripts/topology.py` starts the same set as local processes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from scripts.topology import nginx_conf

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "scheduler", "worker")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def test_the_whole_topology_is_there() -> None:
    assert set(services()) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "scheduler",
        "worker",
        "nginx",
    }


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
