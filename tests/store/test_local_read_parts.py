"""LocalStore.read_parts_into: parts of bodies read through a scratch buffer,
checked against their block digests, with the caller's ReadHints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sciswift.errors import CorruptData, Quarantined
from sciswift.store import ReadHints
from sciswift.store.local import LocalStore
from sciswift.testing.damage import flip_byte, record_of

BLOCK = 64 << 10
SIZE = 4 * BLOCK


def _body(seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, SIZE, dtype=np.uint8).tobytes()




def _read(s: LocalStore, parts: list[tuple[str, int, int, int]], hints: ReadHints | None = None,
          learn: str | None = None) -> tuple[dict[int, bytes], list[int]]:
    got: dict[int, bytes] = {}
    left = s.read_parts_into("c", parts, lambda i, view: got.__setitem__(i, bytes(view)), hints, learn)
    return got, left


def test_parts_are_the_bytes_asked_for(store: LocalStore) -> None:
    bodies = {f"a/{i}": _body(i) for i in range(3)}
    store.put_many("c", bodies)  # packed
    store.put_object("c", "file", _body(9))  # an object file of its own
    store.put_many("c", {"short": b"x" * 100})
    spans = [(0, 10), (BLOCK - 5, BLOCK + 5), (3, SIZE), (SIZE - 1, SIZE), (2 * BLOCK, 3 * BLOCK)]
    parts = [(name, SIZE, a, b) for name in [*bodies, "file"] for a, b in spans]
    parts += [("short", SIZE, 0, 10), ("missing", SIZE, 0, 10), ("a/0", SIZE, 10, 10 + SIZE)]
    got, left = _read(store, parts)
    bodies["file"] = _body(9)
    for i, (name, _, a, b) in enumerate(parts[:-3]):
        assert got[i] == bodies[name][a:b]
    # Another size, no such object, a span past the body: left to the caller.
    assert left == [len(parts) - 3, len(parts) - 2, len(parts) - 1]


def test_hints_skip_the_lookup_and_name_the_version_read(store: LocalStore, tmp_path: Path) -> None:
    store.put_many("c", {f"a/{i}": _body(i) for i in range(4)})
    hints = ReadHints()
    got, left = _read(store, [("a/1", SIZE, 5, 50)], hints, learn="a/")
    assert left == [] and got[0] == _body(1)[5:50]
    assert len(hints) == 4 and hints.learned("a/")  # all four learned with one query
    # Another writer (another store object: as another process) replaces a/2:
    # a hint names the version it was taken from, until the caller forgets it.
    other = LocalStore(tmp_path / "acct", durable=False)
    other.put_many("c", {"a/2": _body(7), "b": b"keeps the old pack alive" * 10})
    assert _read(store, [("a/2", SIZE, 0, 100)], hints)[0][0] == _body(2)[:100]
    hints.forget("a/2")
    assert _read(store, [("a/2", SIZE, 0, 100)], hints)[0][0] == _body(7)[:100]
    # Without hints, a read always looks up the current version.
    other.put_many("c", {"a/3": _body(8)})
    assert _read(store, [("a/3", SIZE, 0, 100)])[0][0] == _body(8)[:100]
    other.close()


def test_a_hint_to_a_collected_pack_is_dropped(store: LocalStore) -> None:
    store.put_many("c", {"a/0": _body(0)})
    hints = ReadHints()
    _read(store, [("a/0", SIZE, 0, 10)], hints)
    old_pack = record_of(store.root, "c", "a/0")[0]
    store.put_many("c", {"a/0": _body(5)})  # the old pack has no live record: unlinked
    assert not old_pack.exists()
    got, left = _read(store, [("a/0", SIZE, 0, 10)], hints)
    assert left == [] and got[0] == _body(5)[:10]


@pytest.mark.parametrize("hinted", [False, True], ids=["looked-up", "hinted"])
def test_damage_in_the_blocks_read_is_caught(store: LocalStore, hinted: bool) -> None:
    store.put_many("c", {"a/0": _body(0), "a/1": _body(1)})
    hints = ReadHints() if hinted else None
    if hints is not None:  # the trailer is known from a first read
        assert _read(store, [("a/0", SIZE, 0, SIZE)], hints)[1] == []
    flip_byte(store.root, "c", "a/0", 2 * BLOCK + 17)
    # A part whose blocks are intact is served (checked) ...
    got, left = _read(store, [("a/0", SIZE, 0, 2 * BLOCK)], hints)
    assert left == [] and got[0] == _body(0)[: 2 * BLOCK]
    # ... one touching the damaged block never is: the object is quarantined.
    with pytest.raises(CorruptData, match=r"c/a/0 .*body bytes 131072-196607 do not match"):
        _read(store, [("a/1", SIZE, 0, 10), ("a/0", SIZE, 2 * BLOCK - 4, 2 * BLOCK + 20)], hints)
    # Its quarantine stub has no body of that size: left to the ordinary read,
    # which says what happened.
    assert _read(store, [("a/0", SIZE, 0, 10)], hints) == ({}, [0])
    with pytest.raises(Quarantined):
        store.get_object("c", "a/0")
    assert _read(store, [("a/1", SIZE, 0, 10)], hints)[0][0] == _body(1)[:10]


def test_damaged_metadata_is_caught(store: LocalStore) -> None:
    store.put_many("c", {"a/0": _body(0)})
    _, base, length = record_of(store.root, "c", "a/0")
    flip_byte(store.root, "c", "a/0", length - 30)  # inside the metadata JSON
    with pytest.raises(CorruptData, match="c/a/0"):
        _read(store, [("a/0", SIZE, 0, 10)], ReadHints(), learn="a/")


def test_missing_container_leaves_everything(store: LocalStore) -> None:
    assert store.read_parts_into("nope", [("a", 4, 0, 1)], lambda i, v: None, ReadHints(), "a") == [0]


def test_read_hints_forget() -> None:
    hints = ReadHints()
    for name in ("d/c/0", "d/c/1", "e/c/0"):
        hints.put(name, object())
    hints.note_learned("d/c/")
    hints.forget_many(["d/c/1"])
    assert hints.get("d/c/1") is None and hints.get("d/c/0") is not None
    hints.forget_prefix("d/")
    assert hints.get("d/c/0") is None and not hints.learned("d/c/") and hints.get("e/c/0") is not None
    hints.clear()
    assert len(hints) == 0
