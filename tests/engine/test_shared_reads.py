"""Bulk reads from a store that batches gets: readers take the next group of
chunks as they free up (Array._read_shared), so a slow connection holds up only
the group it has, never a fixed share of the read; a read one group per reader
covers is one round of equal groups."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from sciswift.engine import ArrayMeta, Hierarchy, describe
from sciswift.engine import array as array_module
from sciswift.errors import CorruptData, NotFound
from sciswift.store.memory import MemoryStore
from sciswift.store.url import Location

ROWS = 512
#: Groups of 32 chunks of 1 KiB here, so that the read takes several rounds (a
#: read one group per reader covers goes in one round).
GROUP_BYTES = 32 << 10


class BatchingStore(MemoryStore):
    """A remote-looking MemoryStore that batches gets, recording each batch
    (thread, names); ``slow_first`` holds the first batch back that long;
    ``fail_on`` makes the batch holding that name fail as damage."""

    is_local = False
    batches_gets = True

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[str, list[str]]] = []
        self.slow_first = 0.0
        self.fail_on: str | None = None
        self.barrier: threading.Barrier | None = None
        self.singles: list[str] = []  # chunks read by a GET of their own
        self._lock = threading.Lock()

    def get_object(self, container: str, name: str, byte_range: Any = None) -> bytes:
        if "/grid/c/" in name:
            with self._lock:
                self.singles.append(name)
        return super().get_object(container, name, byte_range)

    def get_many(self, container: str, names: Sequence[str], *, max_workers: int | None = None) -> dict[str, bytes]:
        with self._lock:
            first = not self.batches
            self.batches.append((threading.current_thread().name, list(names)))
        if first and self.slow_first:
            time.sleep(self.slow_first)
        if self.barrier is not None:
            self.barrier.wait()  # BrokenBarrierError after the timeout: fewer were in flight
        if self.fail_on is not None and self.fail_on in names:
            raise CorruptData(f"object {container}/{self.fail_on} is damaged", f"{container}/{self.fail_on}")
        found: dict[str, bytes] = {}
        for name in names:  # not through get_object, which counts chunks read alone
            try:
                found[name] = MemoryStore.get_object(self, container, name)
            except NotFound:
                pass
        return found


def _grid(store: BatchingStore) -> tuple[Location, np.ndarray]:
    store.create_container("c")
    loc = Location(store, "c", "f.h5", "memory://c/f.h5")
    data = np.arange(ROWS * 256, dtype="f4").reshape(ROWS, 256)
    info = describe(data.dtype)
    h = Hierarchy(loc, "w")
    h.create_array("grid", ArrayMeta.create(data.shape, (1, 256), info, [info.array_codec], np.float32(0))).write(
        (slice(None), slice(None)), data)
    h.close()
    store.batches.clear()
    return loc, data


@pytest.fixture(autouse=True)
def _small_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(array_module, "_REMOTE_GROUP_BYTES", GROUP_BYTES)


def _read(loc: Location) -> Any:
    h = Hierarchy(loc, "r")
    try:
        return h.array("grid").read((slice(None), slice(None)))
    finally:
        h.close()


def test_every_chunk_is_read_once_in_groups_taken_as_readers_free_up() -> None:
    store = BatchingStore()
    loc, data = _grid(store)
    np.testing.assert_array_equal(_read(loc), data)
    names = [n for _, group in store.batches for n in group]
    assert sorted(names) == sorted(f"f.h5/grid/c/{i}/0" for i in range(ROWS))  # each once
    assert [len(group) for _, group in store.batches] == [32] * (ROWS // 32)
    assert len({thread for thread, _ in store.batches}) <= 8


def test_a_read_one_group_per_reader_covers_is_one_round(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(array_module, "_REMOTE_GROUP_BYTES", 4 << 20)
    store = BatchingStore()
    loc, data = _grid(store)
    store.barrier = threading.Barrier(8, timeout=20)  # all eight groups in flight at once
    np.testing.assert_array_equal(_read(loc), data)
    assert [len(group) for _, group in store.batches] == [ROWS // 8] * 8
    assert len({thread for thread, _ in store.batches}) == 8


def test_a_slow_connection_holds_up_only_its_own_group() -> None:
    store = BatchingStore()
    loc, data = _grid(store)
    store.slow_first = 0.5
    started = time.perf_counter()
    np.testing.assert_array_equal(_read(loc), data)
    took = time.perf_counter() - started
    slow_thread = store.batches[0][0]
    by_slow = [group for thread, group in store.batches if thread == slow_thread]
    # The other readers took everything else while the first batch was held:
    # the slow one read its first group only (a fixed share would be 1/8, two groups).
    assert len(by_slow) == 1 and len(by_slow[0]) == 32, store.batches
    assert took < 1.0


def test_damage_in_one_group_fails_the_read_and_the_readers_stop() -> None:
    store = BatchingStore()
    loc, _ = _grid(store)
    store.fail_on = "f.h5/grid/c/0/0"
    with pytest.raises(CorruptData, match="grid"):
        _read(loc)
    batches = len(store.batches)
    time.sleep(0.2)
    assert len(store.batches) == batches  # nothing is still reading after the error


@pytest.mark.parametrize(("round_trip", "per_request"), [(None, 32), (0.0005, 32), (0.003, 32), (0.01, 1), (0.05, 32)])
def test_large_chunks_go_one_per_request_at_moderate_round_trips(
    monkeypatch: pytest.MonkeyPatch, round_trip: float | None, per_request: int
) -> None:
    """Where the link decides (a round trip of a few ms), each large chunk is a
    request of its own, taken by the next free reader; where round trips or
    per-request work decide (or the round trip is unknown), they go in groups."""
    monkeypatch.setattr(array_module, "_ALONE_CHUNK", 1 << 10)  # the test's 1 KiB chunks count as large
    store = BatchingStore()
    loc, data = _grid(store)
    store.round_trip = round_trip
    store.singles.clear()
    np.testing.assert_array_equal(_read(loc), data)
    if per_request == 1:
        assert store.batches == [] and sorted(store.singles) == sorted(f"f.h5/grid/c/{i}/0" for i in range(ROWS))
    else:
        assert {len(group) for _, group in store.batches} == {per_request} and store.singles == []
        assert sum(len(group) for _, group in store.batches) == ROWS
