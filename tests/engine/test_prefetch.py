"""Remote reads of many tiny datasets: the chunks of a group's small arrays are
fetched ahead together in the background (Hierarchy.prefetch_small_siblings,
KV.prefetch_later), each handed out once, and never served stale after a write
through the same file. (Files of fewer than PACK_MIN_ARRAYS small arrays: more
are packed, see test_packing.)"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.engine.kv import KV
from sciswift.store.memory import MemoryStore
from sciswift.store.url import Location


@pytest.fixture
def swift_env(swift_container: str) -> str:
    return f"{swift_container}/tiny.h5"


def _kv(f: Any) -> KV:
    """The engine's object view of an open native file."""
    return f._h.backend.h.kv  # type: ignore[no-any-return]


def test_siblings_are_fetched_ahead_and_read_once(swift_env: str) -> None:
    url = swift_env
    with h5py.File(url, "w") as f:
        for i in range(30):
            f.create_dataset(f"grp/d{i:02d}", data=np.arange(50.0) + i)
        f.create_dataset("grp/big", data=np.zeros(100_000))  # not small: not fetched ahead
    with h5py.File(url, "r") as f:
        kv = _kv(f)
        before = kv.requests
        for i in range(30):
            np.testing.assert_array_equal(f[f"grp/d{i:02d}"][...], np.arange(50.0) + i)
        # d00's own request, and its 29 small siblings fetched ahead together in
        # the background (never d00's read waiting for them): one fetch each.
        assert kv.requests - before == 30
        assert not kv._stash  # each handed out once


def test_a_write_after_the_prefetch_is_what_is_read(swift_env: str) -> None:
    url = swift_env
    with h5py.File(url, "w") as f:
        for i in range(5):
            f.create_dataset(f"g/d{i}", data=np.full(10, i, dtype="i4"))
    with h5py.File(url, "r+") as f:
        assert f["g/d0"][0] == 0  # fetches d1..d4 ahead
        f["g/d3"][...] = np.full(10, 99, dtype="i4")
        f.flush()
        np.testing.assert_array_equal(f["g/d3"][...], np.full(10, 99))
        np.testing.assert_array_equal(f["g/d4"][...], np.full(10, 4))


def test_kv_stash_is_dropped_by_writes_and_by_a_racing_write() -> None:
    store = MemoryStore()
    store.create_container("c")
    kv = KV(Location(store, "c", "f", "memory://c/f"))
    kv.set_many({"a": b"1", "b": b"2"})
    kv.prefetch(["a", "b", "missing"])
    assert kv.get("missing") is None and "missing" not in kv._stash
    kv.set("a", b"new")
    assert kv.get("a") == b"new" and kv.get("b") == b"2"
    assert kv.get("b") == b"2"  # from the store the second time
    real = kv.get_many

    def racing(keys: Any) -> Any:
        got = real(keys)
        kv.set("b", b"raced")  # written while the prefetch was in flight
        return got

    kv.get_many = racing  # type: ignore[method-assign]
    kv.prefetch(["b"])
    assert not kv._stash and kv.get("b") == b"raced"
