"""After start-up the server settles the garbage collector (`bot.serve`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.serve import GC_YOUNG_THRESHOLD, settle_garbage_collector


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_start_up_objects_are_frozen_and_young_collections_are_rarer(restored_gc: None) -> None:
    start_up = [object() for _ in range(10)]  # stands for what start-up built
    settle_garbage_collector()
    assert gc.get_freeze_count() >= len(start_up)
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    # Cycles made afterwards are still collected.
    ring: list[object] = []
    ring.append(ring)
    del ring
    assert gc.collect() >= 1
