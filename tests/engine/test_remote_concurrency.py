"""Reads from a remote store keep enough requests in flight to cover the
latency: every chunk of a 64-chunk read at once (one round trip, not several),
and fetching small siblings ahead never holds up the read that was asked for."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from sciswift.engine import ArrayMeta, Hierarchy, describe
from sciswift.engine import array as array_module
from sciswift.engine.kv import KV
from sciswift.errors import CorruptData
from sciswift.store.memory import MemoryStore
from sciswift.store.types import ByteRange
from sciswift.store.url import Location


class RemoteMemoryStore(MemoryStore):
    """A MemoryStore the engine treats as remote, whose object reads can be held
    at a barrier (to prove how many are in flight at once) or a gate."""

    is_local = False

    def __init__(self) -> None:
        super().__init__()
        self.barrier: threading.Barrier | None = None
        self.gate: dict[str, threading.Event] = {}

    def get_object(self, container: str, name: str, byte_range: ByteRange | None = None) -> bytes:
        if self.barrier is not None:
            self.barrier.wait()  # BrokenBarrierError after the timeout: fewer were in flight
        event = self.gate.get(name)
        if event is not None:
            event.wait(10)
        return super().get_object(container, name, byte_range)


def _grid(store: RemoteMemoryStore) -> tuple[Location, np.ndarray]:
    store.create_container("c")
    loc = Location(store, "c", "f.h5", "memory://c/f.h5")
    data = np.arange(64 * 256, dtype="f4").reshape(64, 256)
    h = Hierarchy(loc, "w")
    info = describe(data.dtype)
    h.create_array("grid", ArrayMeta.create(data.shape, (1, 256), info, [info.array_codec], np.float32(0))).write(
        (slice(None), slice(None)), data)
    h.create_group("small")
    for i in range(5):
        h.create_array(f"small/d{i}", ArrayMeta.create((4,), (4,), info, [info.array_codec], np.float32(0))).write(
            (slice(None),), np.full(4, i + 1, "f4"))
    h.close()
    return loc, data


def test_a_64_chunk_read_has_every_chunk_in_flight_at_once() -> None:
    store = RemoteMemoryStore()
    loc, data = _grid(store)
    h = Hierarchy(loc, "r")
    store.barrier = threading.Barrier(64, timeout=20)
    try:
        np.testing.assert_array_equal(h.array("grid").read((slice(None), slice(None))), data)
    finally:
        store.barrier = None
        h.close()


class CountingStore(RemoteMemoryStore):
    """Records the most object reads and writes in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.now = self.most = 0

    def _enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.01)  # long enough for the others to start

    def _leave(self) -> None:
        with self._lock:
            self.now -= 1

    def get_object(self, container: str, name: str, byte_range: ByteRange | None = None) -> bytes:
        self._enter()
        try:
            return super().get_object(container, name, byte_range)
        finally:
            self._leave()

    def put_object(self, container: str, name: str, data: Any, **kw: Any) -> Any:
        self._enter()
        try:
            return super().put_object(container, name, data, **kw)
        finally:
            self._leave()


def test_large_chunks_are_asked_for_a_bounded_number_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """64 requests of large chunks at once, each a new connection in slow start,
    overflow a link's queue: at most about _REMOTE_IN_FLIGHT_BYTES (here 64 KiB,
    so the floor of 8 requests for 16 KiB chunks) are in flight; small chunks
    still go all at once (the test above)."""
    monkeypatch.setattr(array_module, "_REMOTE_IN_FLIGHT_BYTES", 64 << 10)
    store = CountingStore()
    store.create_container("c")
    loc = Location(store, "c", "f.h5", "memory://c/f.h5")
    data = np.arange(64 * 4096, dtype="f4").reshape(64, 4096)  # 64 chunks of 16 KiB
    info = describe(data.dtype)
    h = Hierarchy(loc, "w")
    h.create_array("big", ArrayMeta.create(data.shape, (1, 4096), info, [info.array_codec], np.float32(0))).write(
        (slice(None), slice(None)), data)
    h.close()
    assert store.most == array_module._REMOTE_MIN_REQUESTS  # the writes
    store.most = 0
    h = Hierarchy(loc, "r")
    np.testing.assert_array_equal(h.array("big").read((slice(None), slice(None))), data)
    h.close()
    assert store.most == array_module._REMOTE_MIN_REQUESTS  # the reads


def test_the_read_asked_for_does_not_wait_for_siblings_fetched_ahead() -> None:
    store = RemoteMemoryStore()
    loc, _ = _grid(store)
    h = Hierarchy(loc, "r")
    held = threading.Event()
    store.gate = {f"f.h5/small/d{i}/c/0": held for i in range(1, 5)}  # siblings' fetches stall
    try:
        got = h.array("small/d0").read((slice(None),))  # returns although d1..d4 hang
        np.testing.assert_array_equal(got, np.full(4, 1, "f4"))
    finally:
        held.set()
    kv: Any = h.kv
    # The fetch ahead counts its requests when they are made, in its own thread:
    # let it finish before counting (under load it may still be running here).
    deadline = time.monotonic() + 30
    while kv._inflight and time.monotonic() < deadline:
        time.sleep(0.005)
    before = kv.requests
    for i in range(1, 5):  # fetched ahead: no request of their own
        np.testing.assert_array_equal(h.array(f"small/d{i}").read((slice(None),)), np.full(4, i + 1, "f4"))
    assert kv.requests == before
    h.close()


def test_a_get_waits_for_the_fetch_of_its_key_already_under_way() -> None:
    store = RemoteMemoryStore()
    store.create_container("c")
    kv = KV(Location(store, "c", "f", "memory://c/f"))
    kv.set("a", b"1")
    gate = threading.Event()
    store.gate = {"f/a": gate}
    kv.prefetch_later(["a"])
    timer = threading.Timer(0.2, gate.set)
    timer.start()
    assert kv.get("a") == b"1"
    assert kv.requests == 2  # the put and the one fetch ahead; the get asked nothing itself
    timer.join()


class FailingStore(CountingStore):
    """Reads of ``bad`` fail at once; every other read takes ``delay``."""

    def __init__(self, bad: str, delay: float) -> None:
        super().__init__()
        self.bad, self.delay = bad, delay

    def get_object(self, container: str, name: str, byte_range: ByteRange | None = None) -> bytes:
        if name == self.bad:
            raise CorruptData(f"object {container}/{name} is damaged", f"{container}/{name}")
        with self._lock:
            self.now += 1
        try:
            time.sleep(self.delay)
            return MemoryStore.get_object(self, container, name, byte_range)
        finally:
            with self._lock:
                self.now -= 1


def test_a_failed_read_returns_only_once_no_chunk_read_is_running() -> None:
    """The first failure is raised after every other chunk read has ended, so no
    thread still writes into an output the caller has been handed an error for."""
    store = FailingStore("f.h5/grid/c/0/0", 0.3)
    loc, _ = _grid(store)
    h = Hierarchy(loc, "r")
    try:
        with pytest.raises(CorruptData, match="damaged"):
            h.array("grid").read((slice(None), slice(None)))
        assert store.now == 0
    finally:
        h.close()


class GatedStore(RemoteMemoryStore):
    """Counts the object reads that have returned."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.done = 0

    def get_object(self, container: str, name: str, byte_range: ByteRange | None = None) -> bytes:
        data = super().get_object(container, name, byte_range)
        with self._lock:
            self.done += 1
        return data


def test_a_slow_chunk_holds_up_only_its_own_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers take the next chunk as they are done: while one request hangs,
    the others read every other chunk (a fixed share would leave the hung
    reader's other chunks waiting behind it)."""
    monkeypatch.setattr(array_module, "_REMOTE_IN_FLIGHT_BYTES", 64 << 10)  # 8 readers for 16 KiB chunks
    store = GatedStore()
    store.create_container("c")
    loc = Location(store, "c", "f.h5", "memory://c/f.h5")
    data = np.arange(64 * 4096, dtype="f4").reshape(64, 4096)
    info = describe(data.dtype)
    h = Hierarchy(loc, "w")
    h.create_array("big", ArrayMeta.create(data.shape, (1, 4096), info, [info.array_codec], np.float32(0))).write(
        (slice(None), slice(None)), data)
    h.close()
    h = Hierarchy(loc, "r")
    try:
        arr = h.array("big")
        hold = threading.Event()
        store.gate["f.h5/big/c/0/0"] = hold
        before = store.done
        result: list[Any] = []
        reading = threading.Thread(target=lambda: result.append(arr.read((slice(None), slice(None)))))
        reading.start()
        deadline = time.monotonic() + 10
        while store.done - before < 63 and time.monotonic() < deadline:
            time.sleep(0.01)
        others = store.done - before
        hold.set()
        reading.join(20)
        assert others == 63, f"{others} of the 63 other chunks were read while one request hung"
        np.testing.assert_array_equal(result[0], data)
    finally:
        h.close()
