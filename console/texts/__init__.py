"""Every word the console shows: key -> (Chinese, English), `{name}` placeholders filled in.

One module per page or area; `TEXTS` is all of them together, the one table `console.i18n`
translates from (a key is unique across the modules: defined twice is refused at import).
"""

from __future__ import annotations

from collections.abc import Mapping

from console.texts import (
    campaigns,
    dashboard,
    frame,
    jobs,
    members,
    programme,
    qrcodes,
    reports,
    staff,
    stores,
    tickets,
)

__all__ = ["TEXTS"]


def _together(*areas: Mapping[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    texts: dict[str, tuple[str, str]] = {}
    for area in areas:
        twice = sorted(texts.keys() & area.keys())
        if twice:
            raise ValueError(f"console texts defined in two modules: {', '.join(twice)}")
        texts.update(area)
    return texts


TEXTS = _together(
    frame.TEXTS,
    dashboard.TEXTS,
    members.TEXTS,
    programme.TEXTS,
    staff.TEXTS,
    campaigns.TEXTS,
    reports.TEXTS,
    tickets.TEXTS,
    stores.TEXTS,
    qrcodes.TEXTS,
    jobs.TEXTS,
)
