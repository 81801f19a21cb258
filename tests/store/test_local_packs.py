"""LocalStore pack files: the objects of a ``put_many`` batch share one file.

What is checked: the on-disk layout (one pack per batch, large objects apart, the
invariant "an object file exists only while it is the current version"),
overwrites in every direction between object files and packs, collection of dead
packs, readers across that collection, ranges and sendfile offsets, lazy ETags,
fsck and index rebuilds with packs, and the migration of a version-1 index.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_store_checks import assert_consistent, cdir, destroy_index, listed, md5, object_files, packs, rows

import sciswift.store.local.batch as local_module
from sciswift.errors import (
    AlreadyExists,
    ChecksumMismatch,
    CorruptData,
    NotFound,
    PreconditionFailed,
    Quarantined,
)
from sciswift.store.local import LocalStore
from sciswift.store.local import pack as _local_pack
from sciswift.store.local.container import object_file_name
from sciswift.store.types import CREATE, ByteRange, IfMatch


@pytest.fixture(params=[False, True], ids=["fast", "durable"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalStore]:
    s = LocalStore(tmp_path / "acct", durable=request.param)
    s.create_container("c")
    yield s
    s.close()


# ------------------------------------------------------------------ layout
def test_a_batch_is_one_pack(store: LocalStore) -> None:
    items = {f"grp/ds{i}/c/0": os.urandom(1000 + i) for i in range(1000)}
    store.put_many("c", items)
    assert len(packs(store)) == 1
    assert object_files(store) == set()
    assert os.listdir(cdir(store) / "tmp") == []
    assert_consistent(store, items)
    assert store.get_many("c", [*items, "nope"]) == items


def test_large_objects_stay_files_and_packs_have_a_size_limit(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_module, "PACK_MAX_OBJECT", 10_000)
    monkeypatch.setattr(_local_pack, "PACK_LIMIT", 50_000)
    items = {f"small/{i}": bytes([i]) * 9_000 for i in range(12)}
    items |= {"big/a": b"a" * 10_001, "big/b": b"b" * 20_000}
    store.put_many("c", items)
    assert object_files(store) == {object_file_name("big/a"), object_file_name("big/b")}
    # 12 records of ~9.2 kB in packs of at most 50 kB: 5 per pack.
    assert len(packs(store)) == 3
    assert_consistent(store, items)


def test_pack_records_are_object_records(store: LocalStore) -> None:
    """A pack is records back to back; walking it backwards finds them all."""
    items = {f"k{i}": os.urandom(i * 100) for i in range(20)}
    store.put_many("c", items, )
    [pack] = packs(store)
    path = cdir(store) / "packs" / pack
    fd = os.open(path, os.O_RDONLY)
    try:
        found = list(_local_pack.scan_pack(fd, os.fstat(fd).st_size, str(path)))
    finally:
        os.close(fd)
    assert sorted(info.name for _, _, info in found) == sorted(items)
    index = rows(store)
    for off, length, info in found:
        assert index[info.name] == (int(pack, 16), off, length)
    assert found[-1][0] == 0  # the first record starts the file


# ------------------------------------------------------------- overwrites
def test_overwrites_between_files_and_packs(store: LocalStore) -> None:
    expected: dict[str, bytes] = {}
    names = [f"n{i}" for i in range(6)]

    def put_plain(tag: bytes, some: list[str]) -> None:
        for n in some:
            store.put_object("c", n, tag + n.encode())
            expected[n] = tag + n.encode()

    def put_packed(tag: bytes, some: list[str]) -> None:
        batch = {n: tag + n.encode() for n in some}
        store.put_many("c", batch)
        expected.update(batch)

    put_plain(b"plain1-", names)
    assert len(object_files(store)) == 6 and packs(store) == []
    put_packed(b"pack1-", names[:4])  # plain -> packed: the files go
    assert len(object_files(store)) == 2 and len(packs(store)) == 1
    assert_consistent(store, expected)
    put_packed(b"pack2-", names[2:])  # packed -> packed and plain -> packed
    assert object_files(store) == set() and len(packs(store)) == 2
    assert_consistent(store, expected)
    put_plain(b"plain2-", names[:2])  # packed -> plain: the first pack dies
    assert len(packs(store)) == 1
    assert_consistent(store, expected)
    store.post_object("c", names[3], metadata={"k": "v"})  # POST of a packed object
    assert store.head_object("c", names[3]).metadata == {"k": "v"}
    assert_consistent(store, expected)
    store.copy_object("c", names[4], "c", "copy")  # copy out of a pack
    expected["copy"] = expected[names[4]]
    assert_consistent(store, expected)
    w = store.open_writer("c", names[5])  # streamed over a packed object
    w.write(b"streamed")
    w.commit()
    expected[names[5]] = b"streamed"
    assert_consistent(store, expected)
    assert store.delete_many("c", [names[2], names[2], "missing"]) == 1  # a packed delete counts once
    del expected[names[2]]
    assert_consistent(store, expected)
    assert len(packs(store)) == 1  # names[4] still lives in the second pack
    store.delete_object("c", names[4])
    del expected[names[4]]
    assert packs(store) == []  # its last live record died
    store.delete_many("c", list(expected))
    assert_consistent(store, {})


def test_conditional_puts_see_packed_objects(store: LocalStore) -> None:
    store.put_many("c", {"x": b"one", "y": b"two"})
    with pytest.raises(AlreadyExists):
        store.put_object("c", "x", b"new", mode=CREATE)
    with pytest.raises(PreconditionFailed):
        store.put_object("c", "x", b"new", mode=IfMatch(md5(b"nope")))
    store.put_object("c", "x", b"new", mode=IfMatch(md5(b"one")))
    assert store.get_object("c", "x") == b"new"
    w = store.open_writer("c", "y", mode=CREATE)
    w.write(b"z")
    with pytest.raises(AlreadyExists):
        w.commit()
    assert_consistent(store, {"x": b"new", "y": b"two"})


def test_lazy_etags_of_packed_objects(tmp_path: Path) -> None:
    s = LocalStore(tmp_path / "a", durable=False)
    s.create_container("c")
    items = {f"k{i}": os.urandom(500 + i) for i in range(10)}
    s.put_many("c", items)
    assert {r[0] for r in sqlite3.connect(cdir(s) / "index.sqlite").execute("SELECT etag FROM objects")} == {""}
    assert {n: e.etag for n, e in listed(s).items()} == {n: md5(b) for n, b in items.items()}
    for n, b in items.items():
        assert s.head_object("c", n).etag == md5(b)
        with s.open_object("c", n) as r:
            assert r.info.etag == md5(b)
    # Two records of one pack never share a cached ETag (the key holds the offset).
    assert len({s.head_object("c", n).etag for n in items}) == len(items)
    s.put_object("c", "k0", b"again", mode=IfMatch(md5(items["k0"])))
    assert s.fsck("c", deep=True).damaged == []


def test_durable_batches_hash_small_bodies_at_write(tmp_path: Path) -> None:
    """A durable store (a server's, which lists) leaves out only larger bodies' MD5s."""
    s = LocalStore(tmp_path / "a", durable=True)
    s.create_container("c")
    items = {"large": os.urandom(local_module.LAZY_ETAG_MIN), "small": os.urandom(local_module.LAZY_ETAG_MIN - 1)}
    s.put_many("c", items)
    etags = dict(sqlite3.connect(cdir(s) / "index.sqlite").execute("SELECT name, etag FROM objects"))
    assert etags["small"] == md5(items["small"]) and etags["large"] in ("", md5(items["large"]))
    assert s.head_object("c", "large").etag == md5(items["large"])
    s.close()


# -------------------------------------------------------- reads of packs
def test_ranges_and_sendfile_offsets(store: LocalStore, tmp_path: Path) -> None:
    big = os.urandom(300_000)  # past the one-read limit: info first, then ranges
    items = {"small": b"0123456789" * 10, "big": big, "empty": b""}
    store.put_many("c", items)
    assert len(packs(store)) == 1
    assert store.get_object("c", "small", ByteRange(3, 7)) == b"3456"
    assert store.get_object("c", "small", ByteRange.last(5)) == b"56789"
    assert store.get_object("c", "big", ByteRange(100_000, 100_010)) == big[100_000:100_010]
    assert store.get_object("c", "big") == big
    assert store.get_object("c", "empty") == b""
    with store.open_object("c", "big", ByteRange(1000, 250_000)) as r:
        fd, offset = r.fileno_offset()  # type: ignore[misc]
        assert os.pread(fd, 10, offset) == big[1000:1010]
        buf = bytearray(500)
        assert r.readinto(buf) == 500 and bytes(buf) == big[1000:1500]
        assert r.read(10) == big[1500:1510]
        # What the server does: sendfile from (fd, offset) for the range's length.
        a, b = socket.socketpair()
        try:
            a.setblocking(True)
            sent = os.sendfile(a.fileno(), fd, offset, 4096)
            assert b.recv(8192) == big[1000 : 1000 + sent]
        finally:
            a.close()
            b.close()
        assert r.readall() == big[1510:250_000]


def test_readers_keep_their_version_across_pack_collection(store: LocalStore) -> None:
    old = {f"k{i}": bytes([i]) * 5000 for i in range(5)}
    store.put_many("c", old)
    [pack] = packs(store)
    readers = [store.open_object("c", n, ByteRange(10, 4010)) for n in old]
    assert store.get_object("c", "k0") == old["k0"]  # the descriptor is cached now
    store.put_many("c", {n: b"new" for n in old})  # every record of the pack dies
    assert pack not in packs(store)
    store.delete_object("c", "k1")
    for n, r in zip(old, readers):
        with r:
            assert r.read() == old[n][10:4010]
    assert store.get_object("c", "k0") == b"new"
    with pytest.raises(NotFound):
        store.get_object("c", "k1")


def test_reader_retries_when_the_pack_went_after_its_lookup(store: LocalStore) -> None:
    store.put_many("c", {"a": b"first", "b": b"other"})
    c = store._handles.get("c")
    real_lookup = c._lookup

    def lookup_then_overwrite(sql, args):  # type: ignore[no-untyped-def]
        got = real_lookup(sql, args)
        if args == ("a",) and store.get_object("c", "b") == b"other":
            # Between the lookup and the open, both records die and the pack goes.
            store.put_many("c", {"a": b"second", "b": b"next"})
        return got

    c._lookup = lookup_then_overwrite  # type: ignore[method-assign]
    c._pack_files.close()  # nothing cached: the reader must open the pack by name
    assert store.get_object("c", "a") == b"second"


def test_a_missing_pack_is_corrupt_data(store: LocalStore) -> None:
    store.put_many("c", {"a": b"x", "b": b"y"})
    [pack] = packs(store)
    (cdir(store) / "packs" / pack).unlink()
    store._pack_files.close()
    with pytest.raises(CorruptData) as ei:
        store.get_object("c", "a")
    assert ei.value.subject == "c/a" and pack in str(ei.value)


# ------------------------------------------------------- recovery, fsck
def test_fsck_with_packs(store: LocalStore) -> None:
    items = {f"k{i}": bytes([65 + i]) * 300 for i in range(6)}
    store.put_many("c", items)
    [pack] = packs(store)
    path = cdir(store) / "packs" / pack
    index = rows(store)
    # Damage one record's body (deep check) and another's metadata (any check;
    # it follows the body and its one 8-byte block digest).
    raw = bytearray(path.read_bytes())
    raw[index["k1"][1] + 5] ^= 0xFF  # type: ignore[operator]
    meta_at = index["k2"][1] + 300 + 8 + 3  # type: ignore[operator]
    raw[meta_at] ^= 0xFF
    path.write_bytes(bytes(raw))
    store._pack_files.close()
    # An orphan pack nobody journaled, and a row pointing at the wrong offset.
    orphan = cdir(store) / "packs" / f"{12345:016x}"
    orphan.write_bytes(path.read_bytes())
    conn = sqlite3.connect(cdir(store) / "index.sqlite")
    conn.execute("UPDATE objects SET pack_off = pack_off + 1 WHERE name = 'k3'")
    conn.commit()
    conn.close()
    report = store.fsck("c", deep=True)
    # Body damage is seen by the block checksums (durable or not); both damaged
    # records are copied into quarantine/ and stubs take their place.
    bad = ["k1", "k2"]
    # k3's row is repaired: its record is found by walking the pack.
    assert sorted(report.index_repaired) == [f"c/{n}" for n in [*bad, "k3"]]
    assert len(report.damaged) == len(bad) and all(pack in d for d in report.damaged)
    assert len(report.quarantined) == len(bad)
    assert report.packs_removed == 1 and not orphan.exists()
    for n in bad:
        with pytest.raises(Quarantined):
            store.get_object("c", n)
        store.delete_object("c", n)
        del items[n]
    assert_consistent(store, items)
    again = store.fsck("c", deep=True)
    assert (again.index_repaired, again.damaged, again.packs_removed) == ([], [], 0)


def test_a_stale_object_file_loses_to_a_newer_packed_row(store: LocalStore) -> None:
    """What a packer killed between its commit and its unlink leaves: the old
    object file next to a row pointing at the newer record."""
    store.put_object("c", "x", b"old")
    old_file = cdir(store) / "objects" / object_file_name("x")
    kept = old_file.read_bytes()
    store.put_many("c", {"x": b"new"})
    assert not old_file.exists()
    old_file.write_bytes(kept)  # as if the unlink never happened
    report = store.fsck("c")
    assert report.index_repaired == []  # the row was right all along
    assert not old_file.exists()
    assert_consistent(store, {"x": b"new"})


@pytest.mark.parametrize("damage", ["delete", "garbage"])
def test_index_rebuild_with_packs(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "acct"
    s = LocalStore(root, durable=False)
    s.create_container("c")
    s.put_many("c", {f"a/{i}": b"v1" * i for i in range(10)})  # pack 1
    s.put_many("c", {f"a/{i}": b"v2" * i for i in range(5)})  # pack 2 supersedes half of pack 1
    s.put_object("c", "a/7", b"plain")  # a file supersedes a record of pack 1
    s.put_many("c", {"gone/1": b"x", "gone/2": b"y"})  # pack 3 ...
    s.delete_many("c", ["gone/1", "gone/2"])  # ... dies with its objects
    s.delete_object("c", "a/9")  # pack 1 lives on: its record of a/9 will come back
    expected = {f"a/{i}": (b"v2" * i if i < 5 else b"v1" * i) for i in range(10)}
    expected["a/7"] = b"plain"
    del expected["a/9"]
    assert_consistent(s, expected)
    s.close()
    destroy_index(root / "c", damage)
    s = LocalStore(root, durable=False)
    # The documented limit: a deleted object whose record sits in a pack that
    # still holds live records is restored by a rebuild.
    expected["a/9"] = b"v1" * 9
    assert_consistent(s, expected)
    assert s.fsck().index_repaired == []


def test_version_1_index_is_migrated(tmp_path: Path) -> None:
    root = tmp_path / "acct"
    s = LocalStore(root, durable=False)
    s.create_container("c")
    s.put_object("c", "old", b"from before packs")
    s.close()
    # Turn the index into what a version-1 store wrote (no pack columns).
    conn = sqlite3.connect(root / "c" / "index.sqlite")
    conn.executescript(
        """
        DROP INDEX objects_by_pack;
        CREATE TABLE objects_v1 (name TEXT PRIMARY KEY, size INTEGER NOT NULL, etag TEXT NOT NULL,
            timestamp REAL NOT NULL, content_type TEXT NOT NULL, meta TEXT) WITHOUT ROWID;
        INSERT INTO objects_v1 SELECT name, size, etag, timestamp, content_type, meta FROM objects;
        DROP TABLE objects;
        ALTER TABLE objects_v1 RENAME TO objects;
        CREATE TRIGGER objects_insert AFTER INSERT ON objects BEGIN
            UPDATE stats SET object_count = object_count + 1, bytes_used = bytes_used + new.size; END;
        CREATE TRIGGER objects_delete AFTER DELETE ON objects BEGIN
            UPDATE stats SET object_count = object_count - 1, bytes_used = bytes_used - old.size; END;
        CREATE TRIGGER objects_update AFTER UPDATE OF size ON objects BEGIN
            UPDATE stats SET bytes_used = bytes_used - old.size + new.size; END;
        PRAGMA user_version = 1;
        """
    )
    conn.close()
    shutil_rmtree(root / "c" / "packs")  # containers made before packs had no such directory
    s = LocalStore(root, durable=False)
    assert s.get_object("c", "old") == b"from before packs"
    s.put_many("c", {"new/1": b"a", "old": b"packed now"})
    assert_consistent(s, {"new/1": b"a", "old": b"packed now"})
    conn = sqlite3.connect(root / "c" / "index.sqlite")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        columns = [r[1] for r in conn.execute("PRAGMA table_info(objects)")]
        assert columns[-3:] == ["pack", "pack_off", "pack_len"]
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'objects_by_pack'").fetchone()
    finally:
        conn.close()


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)


def test_mostly_dead_packs_are_compacted(store: LocalStore) -> None:
    items = {f"k{i}": bytes([i]) * 1000 for i in range(10)}
    store.put_many("c", items)
    [first] = packs(store)
    size = (cdir(store) / "packs" / first).stat().st_size
    reader = store.open_object("c", "k9")
    for i in range(5):  # half the bytes still live: no compaction yet
        store.put_object("c", f"k{i}", b"new")
        items[f"k{i}"] = b"new"
    assert packs(store) == [first]
    store.delete_object("c", "k5")  # now less than half: rewritten
    del items["k5"]
    [second] = packs(store)
    assert second != first
    assert (cdir(store) / "packs" / second).stat().st_size == size * 4 // 10
    assert_consistent(store, items)
    with reader:  # opened before the compaction: still reads its record
        assert reader.read() == bytes([9]) * 1000
    store.delete_many("c", ["k6", "k7"])  # compacted again, then the last ones die
    store.delete_many("c", ["k8", "k9"])
    assert packs(store) == []


def test_durable_batched_put_syncs_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What power-loss safety rests on, observed call by call: the pack and its
    directory reach the disk before the index commit points at it, and the commit
    reaches the disk before the files it replaced are removed and before the call
    returns."""
    s = LocalStore(tmp_path / "acct", durable=True)
    s.create_container("c")
    s.put_object("c", "was-a-file", b"old")
    events: list[tuple[str, str]] = []

    def what(fd: int) -> str:
        return os.path.relpath(os.readlink(f"/proc/self/fd/{fd}"), cdir(s))

    def record(kind: str, real):  # type: ignore[no-untyped-def]
        def call(*args):  # type: ignore[no-untyped-def]
            target = what(args[0]) if isinstance(args[0], int) else os.path.relpath(args[-1], cdir(s))
            events.append((kind, target))
            return real(*args)

        return call

    monkeypatch.setattr(os, "fsync", record("fsync", os.fsync))
    monkeypatch.setattr(os, "fdatasync", record("fdatasync", os.fdatasync))
    monkeypatch.setattr(os, "link", record("link", os.link))
    monkeypatch.setattr(os, "unlink", record("unlink", os.unlink))
    s._handles.get("c")._wconn.set_trace_callback(lambda sql: events.append(("sql", sql)) if sql == "COMMIT" else None)
    s.put_many("c", {"was-a-file": b"new", "fresh": b"x"})
    kinds = [f"{k} {t.split('/')[0]}" for k, t in events]
    commit = kinds.index("sql COMMIT")
    assert kinds.index("fdatasync tmp") < kinds.index("link packs") < kinds.index("fsync packs") < commit
    assert kinds.index("fdatasync journal") < commit  # the names are journaled first
    wal = kinds.index("fsync index.sqlite-wal")
    assert commit < wal < kinds.index("unlink objects") < kinds.index("fsync objects")
    assert kinds[-1] != "sql COMMIT", kinds
    s.close()


def test_a_batch_with_a_wrong_etag_stores_nothing(store: LocalStore) -> None:
    items = {f"o{i}": os.urandom(3000) for i in range(20)}
    etags = {name: md5(data) for name, data in items.items()}
    store.put_many("c", items, etags=etags)  # right ones: stored, with those ETags
    assert {n: store.head_object("c", n).etag for n in items} == etags
    fresh = {f"n{i}": os.urandom(3000) for i in range(20)}
    wrong = {name: md5(data) for name, data in fresh.items()}
    wrong["n11"] = md5(b"something else")
    with pytest.raises(ChecksumMismatch, match="c/n11"):
        store.put_many("c", fresh, etags=wrong)
    assert sorted(listed(store)) == sorted(items)  # checked before anything was written
    assert_consistent(store, items)
