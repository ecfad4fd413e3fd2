"""Where the programme comes from: the TOML file CLUB_CONFIG names, or the built-in demo."""

from __future__ import annotations

from pathlib import Path

from club.programme.demo import demo_programme
from club.programme.loader import parse_programme_text
from club.rules.programme import Programme, ProgrammeError


def load_programme(path: Path | None) -> Programme:
    """The programme from a TOML file (`CLUB_CONFIG`), or the built-in demo for None."""
    if path is None:
        return demo_programme()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgrammeError(f"{path}: cannot be read: {exc.strerror}") from None
    return parse_programme_text(text, source=str(path))
