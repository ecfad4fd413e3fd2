"""The test command's variables are named the same wherever they are told: the pytest markers,
the README, the test command and the fixtures that read them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r"CLUBBOT_TEST_[A-Z_]+")


def test_markers_readme_and_fixtures_name_the_same_variables() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    markers = " ".join(pyproject["tool"]["pytest"]["ini_options"]["markers"])
    read = set(VARIABLE.findall((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")))
    assert read == {"CLUBBOT_TEST_DATABASE_URL", "CLUBBOT_TEST_REDIS_URL"}
    for where, text in (
        ("pyproject.toml markers", markers),
        ("README.md", (ROOT / "README.md").read_text(encoding="utf-8")),
        ("scripts/test.sh", (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")),
    ):
        assert set(VARIABLE.findall(text)) == read, where
