"""LocalStore against bit rot: every read checks the bytes it returns against the
record's block checksums, and a damaged object is quarantined (set aside, then
read as Quarantined, never as missing) until it is put again or deleted."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from sciswift.errors import AlreadyExists, CorruptData, NotFound, PreconditionFailed, Quarantined
from sciswift.store.local import LocalStore
from sciswift.store.types import CREATE, ByteRange, IfMatch
from sciswift.testing.damage import flip_byte, record_of, truncate_record

BLOCK = 64 << 10
DATA = bytes(np.random.default_rng(7).integers(0, 256, 300_000, dtype=np.uint8))


@pytest.fixture(params=[True, False], ids=["durable", "fast"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalStore]:
    s = LocalStore(tmp_path / "acct", durable=request.param)
    s.create_container("c")
    yield s
    s.close()


def _plain(s: LocalStore, data: bytes = DATA) -> str:
    s.put_object("c", "obj", data)
    return "obj"


def _packed(s: LocalStore, data: bytes = DATA) -> str:
    s.put_many("c", {"before": b"b" * 1000, "obj": data, "after": b"a" * 1000})
    assert record_of(s.root, "c", "obj")[0].parent.name == "packs"
    return "obj"


KINDS: dict[str, Callable[[LocalStore], str]] = {"plain": _plain, "packed": _packed}


def _quarantine_dir(s: LocalStore) -> Path:
    return Path(s.root) / "c" / "quarantine"


@pytest.mark.parametrize("kind", KINDS)
def test_flipped_byte_is_never_served_and_quarantines(store: LocalStore, kind: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    name = KINDS[kind](store)
    path, base, length = record_of(store.root, "c", name)
    damaged_record = bytearray(path.read_bytes()[base : base + length])
    damaged_record[200_000] ^= 0x01
    flip_byte(store.root, "c", name, 200_000)
    # A range away from the damaged block is still served, checked.
    assert store.get_object("c", name, ByteRange(10, 5000)) == DATA[10:5000]
    with caplog.at_level(logging.WARNING, logger="sciswift.store"):
        with pytest.raises(Quarantined) as ei:
            store.get_object("c", name)
    assert ei.value.subject == "c/obj"
    assert "body bytes 196608-262143 do not match their checksum" in str(ei.value)
    assert any("quarantined object c/obj" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    # Set aside, not deleted: the damaged bytes are kept as they were found.
    [kept] = list(_quarantine_dir(store).iterdir())
    assert kept.read_bytes() == bytes(damaged_record)
    # From now on every read says so (never NotFound, never bytes), also ranges
    # that were fine and HEAD; listings and totals still show the object.
    for call in (lambda: store.get_object("c", name), lambda: store.get_object("c", name, ByteRange(10, 20)),
                 lambda: store.head_object("c", name), lambda: store.open_object("c", name),
                 lambda: store.get_many("c", [name])):
        with pytest.raises(Quarantined, match="c/obj is quarantined"):
            call()
    assert [o.name for o in store.list_objects("c")] == sorted(["obj", *(["after", "before"] if kind == "packed" else [])])
    assert store.head_container("c").bytes_used == sum(o.size for o in store.list_objects("c"))  # type: ignore[union-attr]
    # Untouched neighbours of a packed record still read.
    if kind == "packed":
        assert store.get_many("c", ["before", "after"]) == {"before": b"b" * 1000, "after": b"a" * 1000}
    # Overwriting or deleting ends the quarantine.
    store.put_object("c", name, b"restored")
    assert store.get_object("c", name) == b"restored"
    store.delete_object("c", name)
    with pytest.raises(NotFound):
        store.get_object("c", name)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("keep", [250_000, 100])
def test_truncated_record_quarantines(store: LocalStore, kind: str, keep: int) -> None:
    name = KINDS[kind](store)
    truncate_record(store.root, "c", name, keep)
    store._pack_files.close()
    with pytest.raises(Quarantined) as ei:
        store.get_object("c", name)
    assert ei.value.subject == "c/obj"
    with pytest.raises(Quarantined, match="is quarantined"):
        store.head_object("c", name)


@pytest.mark.parametrize("kind", KINDS)
def test_streaming_reader_stops_before_the_damaged_block(store: LocalStore, kind: str) -> None:
    name = KINDS[kind](store)
    flip_byte(store.root, "c", name, 3 * BLOCK + 17)
    got = b""
    with pytest.raises(Quarantined):
        # (A batch has no MD5 yet: opening computes it,
        # reading the whole body, and fails there already.)
        with store.open_object("c", name) as reader:
            while True:
                block = reader.read(50_000)  # not block-aligned on purpose
                if not block:
                    break
                got += block
    # Everything returned is the object's own bytes, and nothing of the damaged block.
    assert got == DATA[: len(got)] and len(got) <= 3 * BLOCK


@pytest.mark.parametrize("kind", KINDS)
def test_ranged_reads_check_the_blocks_they_touch(store: LocalStore, kind: str) -> None:
    name = KINDS[kind](store)
    flip_byte(store.root, "c", name, 2 * BLOCK + 5)
    # Ranges elsewhere, also ones ending right before the damaged block.
    lazy_etag = kind == "packed"  # a batch has no MD5 yet: opening a reader would compute it
    for a, b in [(0, 1), (BLOCK - 3, BLOCK + 3), (2 * BLOCK - 100, 2 * BLOCK), (3 * BLOCK, len(DATA))]:
        assert store.get_object("c", name, ByteRange(a, b)) == DATA[a:b]
        if not lazy_etag:
            with store.open_object("c", name, ByteRange(a, b)) as reader:
                reader.check(a, b)
                assert reader.read() == DATA[a:b]
    with pytest.raises(Quarantined):
        store.get_object("c", name, ByteRange(2 * BLOCK + 5, 2 * BLOCK + 6))


def test_reader_check(store: LocalStore) -> None:
    _plain(store)
    with store.open_object("c", "obj", ByteRange(1000, 200_000)) as reader:
        reader.check(1000, 200_000)
        with pytest.raises(ValueError):
            reader.check(0, 10)
        with pytest.raises(ValueError):
            reader.check(1000, 200_001)
        assert reader.read() == DATA[1000:200_000]  # check did not move the position
    with store.open_object("c", "obj") as reader:
        fd, offset = reader.fileno_offset()  # type: ignore[misc]
        flip_byte(store.root, "c", "obj", 299_999)
        reader.check(0, 4 * BLOCK)  # the damaged block is the last one
        with pytest.raises(Quarantined):
            reader.check(0, len(DATA))
        assert offset == 0 and fd >= 0


def test_read_many_into_and_get_many_check(store: LocalStore) -> None:
    items = {f"k{i}": bytes([i]) * 4096 for i in range(8)}
    store.put_many("c", items)
    flip_byte(store.root, "c", "k5", 100)
    buf = memoryview(bytearray(4096))
    seen: list[str] = []
    with pytest.raises(Quarantined, match="c/k5"):
        store.read_many_into("c", sorted(items), buf, lambda n: seen.append(n))
    assert seen == ["k0", "k1", "k2", "k3", "k4"]
    with pytest.raises(Quarantined, match="c/k5"):
        store.get_many("c", sorted(items))
    del items["k5"]
    assert store.get_many("c", sorted(items)) == items


def test_lazy_etag_is_never_computed_from_damaged_bytes(tmp_path: Path) -> None:
    s = LocalStore(tmp_path / "acct", durable=False)
    s.create_container("c")
    s.put_many("c", {"lazy": DATA})  # a non-durable batch leaves the MD5 for later
    flip_byte(s.root, "c", "lazy", 7)
    with pytest.raises(Quarantined):
        s.head_object("c", "lazy")
    s.close()


def test_copies_keep_the_checksums(store: LocalStore) -> None:
    _plain(store)
    flip_byte(store.root, "c", "obj", 10)  # damage the copy made in the kernel carries along
    store.copy_object("c", "obj", "c", "copy")
    with pytest.raises(Quarantined, match="c/copy"):
        store.get_object("c", "copy")


def test_conditional_puts_over_a_quarantined_object(store: LocalStore) -> None:
    _plain(store)
    etag = hashlib.md5(DATA).hexdigest()
    flip_byte(store.root, "c", "obj", 10)
    with pytest.raises(Quarantined):
        store.get_object("c", "obj")
    # As in Swift, where the object is gone: no ETag to match, and create-only wins.
    with pytest.raises(PreconditionFailed):
        store.put_object("c", "obj", b"x", mode=IfMatch(etag))
    store.put_object("c", "obj", b"new", mode=CREATE)
    with pytest.raises(AlreadyExists):
        store.put_object("c", "obj", b"newer", mode=CREATE)
    assert store.get_object("c", "obj") == b"new"


def _v1_record(name: str, body: bytes, etag: str) -> bytes:
    """An object record as sciswift wrote it before block checksums (format 1)."""
    meta = json.dumps({"name": name, "size": len(body), "etag": etag, "timestamp": 1.0,
                       "content_type": "application/octet-stream", "metadata": {}, "system": {}},
                      separators=(",", ":")).encode("ascii")
    return body + meta + struct.pack("<4sIII", b"SSWO", 1, len(meta), zlib.crc32(meta))


@pytest.mark.parametrize("size", [1000, 300_000])
def test_version_1_records_are_read_and_checked_by_their_md5(store: LocalStore, size: int) -> None:
    from sciswift.store.local.container import object_file_name

    body = DATA[:size]
    path = Path(store.root) / "c" / "objects" / object_file_name("old")
    path.write_bytes(_v1_record("old", body, hashlib.md5(body).hexdigest()))
    store.fsck("c")  # indexes the file
    assert store.get_object("c", "old") == body
    with store.open_object("c", "old") as reader:
        reader.check(0, size)
        assert reader.read() == body
    raw = bytearray(path.read_bytes())
    raw[size - 1] ^= 0x01
    path.write_bytes(bytes(raw))
    # A range cannot be checked without block checksums; a whole read can.
    assert store.get_object("c", "old", ByteRange(0, 10)) == body[:10]
    with store.open_object("c", "old") as reader:
        with pytest.raises(Quarantined):
            # A small record is checked whole at its first read; a larger one is
            # hashed as it is read, and the read that would end the body fails.
            assert reader.read(size - 1) == body[: size - 1]
            reader.read()
    with pytest.raises(Quarantined):
        store.get_object("c", "old")


def test_version_1_records_checked_span_by_span_in_order(store: LocalStore) -> None:
    """What the server's sendfile path does: check consecutive spans, then send them."""
    from sciswift.store.local.container import object_file_name

    path = Path(store.root) / "c" / "objects" / object_file_name("old")
    path.write_bytes(_v1_record("old", DATA, hashlib.md5(DATA).hexdigest()))
    with store.open_object("c", "old") as reader:
        for a in range(0, len(DATA), 100_000):
            reader.check(a, min(a + 100_000, len(DATA)))
    raw = bytearray(path.read_bytes())
    raw[5] ^= 0x01
    path.write_bytes(bytes(raw))
    with store.open_object("c", "old") as reader:
        reader.check(0, 100_000)  # cannot tell yet: the MD5 covers the whole body
        reader.check(100_000, 200_000)
        with pytest.raises(Quarantined):
            reader.check(200_000, len(DATA))


def test_unknown_record_version_is_corrupt_but_not_quarantined(store: LocalStore) -> None:
    _plain(store, b"abc")
    path, _, _ = record_of(store.root, "c", "obj")
    raw = bytearray(path.read_bytes())
    raw[-12:-8] = struct.pack("<I", 99)
    path.write_bytes(bytes(raw))
    for _ in range(2):
        with pytest.raises(CorruptData, match="format version 99") as ei:
            store.get_object("c", "obj")
        assert not isinstance(ei.value, Quarantined)
    assert not _quarantine_dir(store).exists()


def test_damage_found_by_a_reader_after_an_overwrite_does_not_quarantine_the_new_version(store: LocalStore) -> None:
    _plain(store)
    with store.open_object("c", "obj") as reader:
        flip_byte(store.root, "c", "obj", 10)
        store.put_object("c", "obj", b"fresh")  # the damaged version is no longer current
        with pytest.raises(CorruptData) as ei:
            reader.read()
        assert not isinstance(ei.value, Quarantined)
    assert store.get_object("c", "obj") == b"fresh"
    assert not _quarantine_dir(store).exists() or not list(_quarantine_dir(store).iterdir())


def test_fsck_deep_quarantines_and_a_rebuilt_index_keeps_the_stub(tmp_path: Path) -> None:
    root = tmp_path / "acct"
    s = LocalStore(root, durable=False)
    s.create_container("c")
    s.put_many("c", {"p": DATA})
    s.put_object("c", "f", DATA)
    flip_byte(root, "c", "p", 1)
    flip_byte(root, "c", "f", 1)
    assert s.fsck("c").quarantined == []  # metadata checks only
    report = s.fsck("c", deep=True)
    assert len(report.quarantined) == 2 and sorted(report.index_repaired) == ["c/f", "c/p"]
    s.close()
    os.unlink(root / "c" / "index.sqlite")  # lost index: rebuilt from the files, stubs included
    s = LocalStore(root, durable=False)
    for name in ("p", "f"):
        with pytest.raises(Quarantined):
            s.get_object("c", name)
    assert sorted(o.name for o in s.list_objects("c")) == ["f", "p"]  # type: ignore[union-attr]
    s.close()


def test_two_readers_finding_the_same_damage(store: LocalStore) -> None:
    _plain(store)
    flip_byte(store.root, "c", "obj", 10)
    first = store.open_object("c", "obj")
    second = store.open_object("c", "obj")
    with first, second:
        with pytest.raises(Quarantined):
            first.read()
        with pytest.raises(Quarantined, match="c/obj is quarantined"):  # quarantined by the first already
            second.read()
    assert len(list(_quarantine_dir(store).iterdir())) == 1


def test_damage_that_cannot_be_quarantined_fails_every_read(store: LocalStore,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    _plain(store)
    _quarantine_dir(store).write_bytes(b"a file where the quarantine directory goes")
    flip_byte(store.root, "c", "obj", 10)
    with caplog.at_level(logging.ERROR, logger="sciswift.store"):
        for _ in range(2):
            with pytest.raises(CorruptData, match="do not match their checksum") as ei:
                store.get_object("c", "obj")
            assert not isinstance(ei.value, Quarantined)
    assert "c/obj is damaged" in caplog.text and "could not be quarantined" in caplog.text
