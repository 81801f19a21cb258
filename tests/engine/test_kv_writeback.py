"""The write-back buffer of small objects: read-your-writes, one batch at flush,
and nothing visible half-way."""

from __future__ import annotations

import threading

import numpy as np

from sciswift.engine import ArrayMeta, Hierarchy, build_codecs, describe
from sciswift.engine.kv import KV
from sciswift.store.memory import MemoryStore
from sciswift.store.url import Location


class CountingStore(MemoryStore):
    """A MemoryStore that counts batched puts and can stall them."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0
        self.gate = threading.Event()
        self.gate.set()

    def put_many(self, container, items, *, max_workers=16):  # type: ignore[no-untyped-def]
        self.batches += 1
        self.gate.wait(10)
        super().put_many(container, items, max_workers=max_workers)


def test_deferred_objects_are_read_back_and_written_in_one_batch() -> None:
    store = CountingStore()
    store.create_container("c")
    kv = KV(Location(store, "c", "f", "test"))
    for i in range(50):
        kv.set_many({f"k{i}": b"x" * i}, defer=True)
    assert store.batches == 0
    assert kv.get("k7") == b"x" * 7
    assert kv.get_many(["k3", "k4", "nope"]) == {"k3": b"xxx", "k4": b"xxxx"}
    assert not store.has_object("c", "f/k7")
    kv.flush()
    assert store.batches == 1
    assert store.get_object("c", "f/k49") == b"x" * 49


def test_values_are_copied_when_deferred() -> None:
    store = CountingStore()
    store.create_container("c")
    kv = KV(Location(store, "c", "", "test"))
    buf = bytearray(b"abc")
    kv.set_many({"k": memoryview(buf)}, defer=True)
    buf[0] = ord("z")
    kv.flush()
    assert store.get_object("c", "k") == b"abc"


def test_reader_waits_out_a_flush_in_progress() -> None:
    store = CountingStore()
    store.create_container("c")
    kv = KV(Location(store, "c", "", "test"))
    kv.set_many({"k": b"value"}, defer=True)
    store.gate.clear()  # the flush's put_many stalls until released
    flusher = threading.Thread(target=kv.flush)
    flusher.start()
    got: list[bytes | None] = []
    reader = threading.Thread(target=lambda: got.append(kv.get("k")))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive()  # blocked: the object is neither pending nor stored yet
    store.gate.set()
    flusher.join()
    reader.join()
    assert got == [b"value"]


def test_many_small_datasets_cost_few_batches() -> None:
    store = CountingStore()
    h = Hierarchy(Location(store, "c", "run.h5", "test"), "w")
    info = describe(np.dtype("<f8"))
    codecs, _ = build_codecs(info)
    before = store.batches
    for i in range(200):
        a = h.create_array(f"d{i}", ArrayMeta.create((10,), (10,), info, codecs, 0.0))
        a.write((slice(None),), np.full(10, float(i)))
    h.close()
    assert store.batches - before <= 3  # chunks, then node metadata, then the root
    h = Hierarchy(Location(store, "c", "run.h5", "test"), "r")
    assert [float(h.array(f"d{i}").read((slice(None),))[0]) for i in range(200)] == [float(i) for i in range(200)]
