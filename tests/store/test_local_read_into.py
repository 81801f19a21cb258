"""LocalStore.read_many_into and put_many_filled: bodies of one size read and
written through one scratch buffer."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sciswift.errors import CorruptData, InvalidName
from sciswift.store.local import LocalStore


@pytest.fixture(params=[True, False], ids=["durable", "fast"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "acct", durable=request.param)
    s.create_container("c")
    return s


def test_exact_sizes_are_read_into_the_buffer(store: LocalStore) -> None:
    packed = {f"p{i}": bytes([i]) * 64 for i in range(5)}
    store.put_many("c", packed)  # pack files
    store.put_object("c", "plain", b"\x07" * 64)  # an object file of its own
    store.put_object("c", "short", b"\x01" * 10)
    store.put_many("c", {"long": b"\x02" * 100})
    buf = bytearray(64)
    seen: dict[str, bytes] = {}
    names = [*packed, "plain", "short", "long", "missing"]
    left = store.read_many_into("c", names, memoryview(buf), lambda n: seen.__setitem__(n, bytes(buf)))
    assert seen == {**packed, "plain": b"\x07" * 64}
    assert sorted(left) == ["long", "missing", "short"]
    # What is left reads the ordinary way, with its real size.
    assert store.get_many("c", left) == {"short": b"\x01" * 10, "long": b"\x02" * 100}
    store.close()


def test_missing_container_leaves_everything(store: LocalStore) -> None:
    assert store.read_many_into("nope", ["a", "b"], memoryview(bytearray(4)), lambda n: None) == ["a", "b"]
    store.close()


def test_damaged_pack_is_corrupt_data_naming_the_object(store: LocalStore, tmp_path: Path) -> None:
    store.put_many("c", {f"o{i}": os.urandom(1000) for i in range(4)})
    packs = [os.path.join(dp, n) for dp, _, ns in os.walk(tmp_path) if dp.endswith("packs") for n in ns]
    for p in packs:
        os.truncate(p, os.path.getsize(p) - 500)
    with pytest.raises(CorruptData, match="c/o"):
        store.read_many_into("c", [f"o{i}" for i in range(4)], memoryview(bytearray(1000)), lambda n: None)
    store.close()


def test_put_many_filled_stores_what_fill_writes(store: LocalStore) -> None:
    bodies = {f"f{i}": bytes([i]) * 4096 for i in range(40)}
    calls: list[str] = []

    def fill(name: str, buf: memoryview) -> None:
        calls.append(name)
        buf[:] = bodies[name]

    store.put_object("c", "f3", b"old")  # an object file, replaced by a packed record
    store.put_many_filled("c", list(bodies), 4096, fill)
    assert sorted(calls) == sorted(bodies)
    assert store.get_many("c", list(bodies)) == bodies
    assert store.head_object("c", "f7").size == 4096
    assert store.head_object("c", "f7").etag == hashlib.md5(bodies["f7"]).hexdigest()
    assert store.head_container("c").object_count == 40
    with pytest.raises(InvalidName):
        store.put_many_filled("c", ["ok", "bad\x00name"], 4, fill)
    store.close()
