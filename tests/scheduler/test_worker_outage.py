"""A queue task meeting the database out of reach waits for it and runs again."""

from __future__ import annotations

import pytest

import scheduler.worker as worker


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "OUTAGE_WAITS_S", (0.0, 0.0, 0.0))


async def test_runs_again_once_the_database_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([False, False])  # out of reach twice, then the third run goes through
    tries: list[int] = []

    async def database_answers() -> bool:
        return next(answers)

    async def work() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise ConnectionRefusedError("connection refused")
        return "done"

    monkeypatch.setattr(worker, "database_answers", database_answers)
    assert await worker.through_outage(work) == "done"
    assert len(tries) == 3


async def test_other_failures_and_a_long_outage_are_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    async def answering() -> bool:
        return True

    async def broken() -> str:
        raise ValueError("a bug, not an outage")

    monkeypatch.setattr(worker, "database_answers", answering)
    with pytest.raises(ValueError, match="a bug"):
        await worker.through_outage(broken)

    async def down() -> bool:
        return False

    tries: list[int] = []

    async def refused() -> str:
        tries.append(1)
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(worker, "database_answers", down)
    with pytest.raises(ConnectionRefusedError):
        await worker.through_outage(refused)
    assert len(tries) == 4  # the first run and one after each wait
