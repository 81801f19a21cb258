"""LocalStore: the conformance suite, plus what is particular to a directory on disk."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_store_checks import destroy_index

from sciswift.errors import (
    AlreadyExists,
    ChecksumMismatch,
    Conflict,
    CorruptData,
    InvalidInput,
    InvalidName,
    NotFound,
    Quarantined,
)
from sciswift.store import MemoryStore, Store
from sciswift.store.local import LocalStore
from sciswift.store.types import CREATE, ByteRange, ListingParams, ObjectInfo
from sciswift.store.url import ROOT_MARKER, parse_location
from sciswift.testing.store_tests import StoreTests


class TestLocalStore(StoreTests):
    @pytest.fixture(params=[True, False], ids=["durable", "fast"])
    def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
        s = LocalStore(tmp_path / "acct", durable=request.param)
        yield s
        s.close()




def object_file(store: LocalStore, container: str, name: str) -> Path:
    return Path(store._handles.get(container).object_path(name))


def all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# ------------------------------------------------------------- construction
def test_constructor_and_url(tmp_path: Path) -> None:
    root = tmp_path / "new" / "acct dir"
    s = LocalStore(root)
    assert root.is_dir()
    assert s.url == root.as_uri() and s.url.startswith("file:///")
    assert s.is_local and s.supports_conditional_put
    assert not (root / ROOT_MARKER).exists()
    LocalStore(root, mark_root=True)
    assert (root / ROOT_MARKER).is_file()


def test_missing_root_without_create(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as ei:
        LocalStore(tmp_path / "nope", create=False)
    assert str(tmp_path / "nope") in str(ei.value)
    assert not (tmp_path / "nope").exists()
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(InvalidInput):
        LocalStore(tmp_path / "file")


def test_plain_path_is_a_container_directory(tmp_path: Path) -> None:
    target = tmp_path / "data" / "run1.h5"
    target.parent.mkdir()
    (target.parent / "unrelated.txt").write_text("user file")
    loc = parse_location(str(target))
    assert isinstance(loc.store, LocalStore) and loc.container == "run1.h5"
    loc.store.create_container(loc.container)
    loc.store.put_object(loc.container, "zarr.json", b"{}")
    assert target.is_dir() and (target / "container.json").is_file()
    assert not (target.parent / ROOT_MARKER).exists()
    # A non-container entry of the root is not listed as a container.
    assert [c.name for c in loc.store.list_containers()] == ["run1.h5"]
    assert (target.parent / "unrelated.txt").read_text() == "user file"


# ------------------------------------------------------------------- names
def test_bad_names_touch_nothing(tmp_path: Path) -> None:
    s = LocalStore(tmp_path / "acct")
    s.create_container("c")
    before = sorted(p.name for p in (tmp_path / "acct").iterdir())
    for bad in ["..", ".", "a/b", "x\x00", "c" * 257, ".sciswift-store", ".sciswift-trash-1"]:
        with pytest.raises(InvalidName):
            s.create_container(bad)
        with pytest.raises(InvalidName):
            s.put_object(bad, "o", b"1")
    for bad in ["", "a\x00b", "o" * 1025]:
        with pytest.raises(InvalidName):
            s.put_object("c", bad, b"1")
        with pytest.raises(InvalidName):
            s.get_object("c", bad)
    assert sorted(p.name for p in (tmp_path / "acct").iterdir()) == before
    assert s.list_objects("c") == []


def test_object_names_never_become_paths(tmp_path: Path, store: LocalStore) -> None:
    outside = all_files(tmp_path) - all_files(tmp_path / "acct")
    names = ["../../escape", "/abs", "a", "a/b", "a/b/", "..", "x/../y", "./z", "ü/../ü"]
    for n in names:
        store.put_object("c", n, n.encode())
    for n in names:
        assert store.get_object("c", n) == n.encode()
    assert all_files(tmp_path) - all_files(tmp_path / "acct") == outside
    files = [p for p in (tmp_path / "acct" / "c" / "objects").rglob("*") if p.is_file()]
    assert len(files) == len(names)
    assert all(len(p.name) == 32 and p.parent.name == "objects" for p in files)


def test_symlinked_container_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    s = LocalStore(tmp_path / "acct")
    s.create_container("real")
    (tmp_path / "acct" / "evil").symlink_to(outside)
    (tmp_path / "acct" / "alias").symlink_to(tmp_path / "acct" / "real")
    for name in ("evil", "alias"):
        with pytest.raises(InvalidInput) as ei:
            s.put_object(name, "o", b"1")
        assert "symbolic link" in str(ei.value)
        with pytest.raises(InvalidInput):
            s.create_container(name)
    assert list(outside.iterdir()) == []
    assert [c.name for c in s.list_containers()] == ["real"]


def test_create_container_over_existing_paths(tmp_path: Path) -> None:
    root = tmp_path / "acct"
    s = LocalStore(root)
    (root / "empty").mkdir()
    assert s.create_container("empty") is True  # an empty directory is adopted
    (root / "full").mkdir()
    (root / "full" / "mine.txt").write_text("keep")
    with pytest.raises(Conflict):
        s.create_container("full")
    assert (root / "full" / "mine.txt").read_text() == "keep"
    (root / "afile").write_text("x")
    with pytest.raises(Conflict):
        s.create_container("afile")
    with pytest.raises(NotFound):
        s.head_container("full")


# ---------------------------------------------------------------- corruption
@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b[:-1],  # footer cut
        lambda b: b"",  # empty file
        lambda b: b[:-8] + b"\xff" * 8,  # footer checksum broken
        lambda b: b.replace(b'"size":', b'"sizf":'),  # metadata damaged (crc catches)
        lambda b: b"garbage" * 10,
    ],
)
def test_corrupt_files_raise_corruptdata(store: LocalStore, damage) -> None:  # type: ignore[no-untyped-def]
    store.put_object("c", "dir/obj", b"payload" * 100)
    path = object_file(store, "c", "dir/obj")
    path.write_bytes(damage(path.read_bytes()))
    for call in (
        lambda: store.get_object("c", "dir/obj"),
        lambda: store.head_object("c", "dir/obj"),
        lambda: store.open_object("c", "dir/obj", ByteRange(1, 3)),
        lambda: store.get_object("c", "dir/obj", ByteRange(0, 2)),
    ):
        with pytest.raises(CorruptData) as ei:
            call()
        assert ei.value.subject == "c/dir/obj"
        assert "c/dir/obj" in str(ei.value)


def test_file_of_another_object_is_corrupt(store: LocalStore) -> None:
    store.put_object("c", "one", b"1")
    store.put_object("c", "two", b"2")
    os.replace(object_file(store, "c", "two"), object_file(store, "c", "one"))
    with pytest.raises(CorruptData) as ei:
        store.get_object("c", "one")
    assert "holds object 'two'" in str(ei.value)


def test_large_object_ranges(store: LocalStore) -> None:
    data = os.urandom(3 << 20)  # above the one-read limit: tail read, then ranges
    info = store.put_object("c", "big", data)
    assert info.etag == hashlib.md5(data).hexdigest()
    assert store.get_object("c", "big") == data
    assert store.get_object("c", "big", ByteRange(1 << 20, (1 << 20) + 5)) == data[1 << 20 : (1 << 20) + 5]
    assert store.get_object("c", "big", ByteRange.last(7)) == data[-7:]
    with store.open_object("c", "big", ByteRange(10, 1 << 21)) as r:
        buf = bytearray(1000)
        assert r.readinto(buf) == 1000 and bytes(buf) == data[10:1010]
        assert r.read() == data[1010 : 1 << 21]
        assert r.read() == b""


# ----------------------------------------------------------- readers, writers
def test_reader_survives_overwrite_and_delete(store: LocalStore) -> None:
    old = b"old version " * 1000
    store.put_object("c", "o", old)
    with store.open_object("c", "o", ByteRange(5, 105)) as reader:
        store.put_object("c", "o", b"new")
        assert reader.read(10) == old[5:15]
        store.delete_object("c", "o")
        fd, offset = reader.fileno_offset()  # type: ignore[misc]
        assert offset == 5 and os.pread(fd, 100, offset) == old[5:105]
        assert reader.readall() == old[15:105]
    assert reader.fileno_offset() is None
    with pytest.raises(NotFound):
        store.get_object("c", "o")


def test_a_vouched_md5_is_the_etag_and_the_block_digests_come_from_the_bytes(store: LocalStore) -> None:
    """``vouch_md5`` (a server-side copy of checked bytes) spares the MD5 pass:
    the ETag is the one vouched for, the block digests are computed from the
    bytes written (a read checks those), and a vouch after bytes were written,
    or one that is no MD5, is ignored."""
    data = os.urandom(3 << 20)
    digest = hashlib.md5(data).hexdigest()
    w = store.open_writer("c", "copied", etag=digest)
    w.vouch_md5(f'"{digest.upper()}"')
    for i in range(0, len(data), 1 << 20):
        w.write(data[i:i + (1 << 20)])
    assert w.commit().etag == digest
    assert store.get_object("c", "copied") == data and store.head_object("c", "copied").etag == digest
    assert not store.fsck("c", deep=True).quarantined
    late = store.open_writer("c", "late")
    late.write(b"abc")
    late.vouch_md5("0" * 32)
    assert late.commit().etag == hashlib.md5(b"abc").hexdigest()
    odd = store.open_writer("c", "odd")
    odd.vouch_md5("not an md5")
    odd.write(b"xyz")
    assert odd.commit().etag == hashlib.md5(b"xyz").hexdigest()


def test_open_writer_streams_to_a_temp_file(store: LocalStore, tmp_path: Path) -> None:
    tmp_dir = tmp_path / "acct" / "c" / "tmp"
    w = store.open_writer("c", "stream", content_type="text/plain", metadata={"K": "v"})
    h = hashlib.md5()
    for i in range(50):
        block = bytes([i]) * 10_000
        w.write(block)
        h.update(block)
    assert len(list(tmp_dir.iterdir())) == 1  # on disk, not in memory
    assert not store.has_object("c", "stream")  # nothing visible before commit
    info = w.commit()
    assert info.etag == h.hexdigest() and info.size == 500_000
    assert store.head_object("c", "stream").metadata == {"k": "v"}
    assert list(tmp_dir.iterdir()) == []
    # abort and garbage collection leave the old object and no temp file
    w = store.open_writer("c", "stream")
    w.write(b"partial")
    w.abort()
    w = store.open_writer("c", "stream")
    w.write(b"partial")
    del w
    gc.collect()
    assert list(tmp_dir.iterdir()) == []
    assert store.head_object("c", "stream").etag == info.etag


def test_writer_checks_happen_at_commit(store: LocalStore, tmp_path: Path) -> None:
    tmp_dir = tmp_path / "acct" / "c" / "tmp"
    store.put_object("c", "o", b"first")
    w = store.open_writer("c", "o", etag=hashlib.md5(b"other").hexdigest())
    w.write(b"second")
    with pytest.raises(ChecksumMismatch):
        w.commit()
    w = store.open_writer("c", "o", mode=CREATE)
    w.write(b"second")
    with pytest.raises(AlreadyExists):
        w.commit()
    assert store.get_object("c", "o") == b"first"
    assert list(tmp_dir.iterdir()) == []
    with pytest.raises(NotFound):
        store.open_writer("nocontainer", "o")


def test_post_and_copy_keep_body(store: LocalStore) -> None:
    data = os.urandom(300_000)
    store.put_object("c", "src", data, metadata={"a": "1"}, system={"content-encoding": "gzip"})
    info = store.post_object("c", "src", metadata={"b": "2"}, system={"content-encoding": ""})
    assert info.metadata == {"b": "2"} and info.system == {}
    assert store.get_object("c", "src") == data
    store.create_container("d")
    copy = store.copy_object("c", "src", "d", "dst", metadata={"c": "3"})
    assert copy.etag == hashlib.md5(data).hexdigest()
    assert store.get_object("d", "dst") == data
    assert store.head_object("d", "dst").metadata == {"b": "2", "c": "3"}
    with pytest.raises(AlreadyExists):
        store.copy_object("c", "src", "d", "dst", mode=CREATE)
    [entry] = store.list_objects("d")
    assert isinstance(entry, ObjectInfo) and entry.metadata == {"b": "2", "c": "3"}


# ------------------------------------------------------------- persistence
def test_everything_persists_across_instances(tmp_path: Path) -> None:
    root = tmp_path / "acct"
    a = LocalStore(root, durable=False)
    a.create_container("c", metadata={"Owner": "me"}, system={"x-container-read": ".r:*"})
    a.put_object("c", "o", b"body", content_type="text/csv", metadata={"M": "1"}, system={"x-delete-at": "9"})
    a.post_account({"Quota": "10"})
    a.sync()
    a.close()
    b = LocalStore(root, create=False)
    head = b.head_object("c", "o")
    assert (head.content_type, head.metadata, head.system) == ("text/csv", {"m": "1"}, {"x-delete-at": "9"})
    info = b.head_container("c")
    assert info.metadata == {"owner": "me"} and info.system == {"x-container-read": ".r:*"}
    assert (info.object_count, info.bytes_used) == (1, 4)
    acct = b.account_info()
    assert acct.metadata == {"quota": "10"}
    assert (acct.container_count, acct.object_count, acct.bytes_used) == (1, 1, 4)


def test_container_deleted_and_recreated_by_another_instance(tmp_path: Path) -> None:
    a = LocalStore(tmp_path / "acct")
    b = LocalStore(tmp_path / "acct")
    a.create_container("c")
    a.put_object("c", "o", b"1")
    assert b.get_object("c", "o") == b"1"
    b.delete_object("c", "o")
    b.delete_container("c")
    with pytest.raises(NotFound):
        a.put_object("c", "o", b"2")
    with pytest.raises(NotFound):
        a.list_objects("c")
    b.create_container("c")
    a.put_object("c", "o", b"3")  # a's stale handle is replaced, not used
    assert b.get_object("c", "o") == b"3"
    assert [o.name for o in b.list_objects("c")] == ["o"]
    assert b.head_container("c").object_count == 1
    assert sorted(p.name for p in (tmp_path / "acct").iterdir()) == ["c"]


def test_fork_child_gets_its_own_handles(tmp_path: Path) -> None:
    s = LocalStore(tmp_path / "acct", durable=False)
    s.create_container("c")
    s.put_object("c", "parent", b"p")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            s.put_object("c", "child", b"c")
            ok = s.get_object("c", "parent") == b"p"
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    s.put_object("c", "after", b"a")
    assert [o.name for o in s.list_objects("c")] == ["after", "child", "parent"]
    assert s.head_container("c").object_count == 3


# ---------------------------------------------------------------- recovery
def _index_rows(root: Path, container: str) -> dict[str, str]:
    conn = sqlite3.connect(root / container / "index.sqlite")
    try:
        return dict(conn.execute("SELECT name, etag FROM objects"))
    finally:
        conn.close()


def test_fsck_repairs_the_index(tmp_path: Path) -> None:
    root = tmp_path / "acct"
    s = LocalStore(root, durable=False)
    s.create_container("c")
    for i in range(5):
        s.put_object("c", f"o{i}", bytes([i]) * 10)
    s.close()
    conn = sqlite3.connect(root / "c" / "index.sqlite")
    conn.execute("DELETE FROM objects WHERE name = 'o1'")
    conn.execute("UPDATE objects SET etag = 'bogus', size = 99 WHERE name = 'o2'")
    conn.execute("INSERT INTO objects (name, size, etag, timestamp, content_type) VALUES ('ghost', 1, 'x', 0, 'a/b')")
    conn.commit()
    conn.close()
    s = LocalStore(root, durable=False)
    report = s.fsck()
    assert sorted(report.index_repaired) == ["c/ghost", "c/o1", "c/o2"]
    assert [o.name for o in s.list_objects("c")] == [f"o{i}" for i in range(5)]
    assert (s.head_container("c").object_count, s.head_container("c").bytes_used) == (5, 50)
    assert s.fsck().index_repaired == []


def test_fsck_quarantines_damaged_files(store: LocalStore, tmp_path: Path) -> None:
    store.put_object("c", "ok", b"fine")
    store.put_object("c", "torn", b"x" * 100)
    store.put_object("c", "rotten", b"y" * 100)
    torn = object_file(store, "c", "torn")
    torn.write_bytes(torn.read_bytes()[:50])
    rotten = object_file(store, "c", "rotten")
    raw = bytearray(rotten.read_bytes())
    raw[3] ^= 0xFF  # body bit rot: only a deep check sees it
    rotten.write_bytes(bytes(raw))
    assert len(store.fsck().quarantined) == 1
    assert len(store.fsck(deep=True).quarantined) == 1
    assert len(list((tmp_path / "acct" / "c" / "quarantine").iterdir())) == 2
    # Set aside, and in their place stubs: the names read as damaged, never as
    # missing (a missing chunk would read as fill values), until put or deleted.
    assert [o.name for o in store.list_objects("c")] == ["ok", "rotten", "torn"]
    for name in ("torn", "rotten"):
        with pytest.raises(Quarantined) as ei:
            store.get_object("c", name)
        assert ei.value.subject == f"c/{name}"
    store.put_object("c", "torn", b"again")
    store.delete_object("c", "rotten")
    assert store.get_object("c", "torn") == b"again"
    with pytest.raises(NotFound):
        store.get_object("c", "rotten")
    assert store.fsck(deep=True).quarantined == []


@pytest.mark.parametrize("damage", ["delete", "garbage"])
def test_lost_or_damaged_index_is_rebuilt(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "acct"
    s = LocalStore(root, durable=False)
    s.create_container("c")
    s.put_many("c", {f"k/{i}": b"v" * i for i in range(20)})
    s.close()
    destroy_index(root / "c", damage)
    s = LocalStore(root, durable=False)
    assert s.account_info().object_count == 20  # account totals open it properly
    assert len(s.list_objects("c")) == 20
    assert s.head_container("c").bytes_used == sum(range(20))


def test_an_index_unreadable_for_a_moment_is_not_set_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process may be using it: only an index that stays unreadable is
    # moved to quarantine and rebuilt (the genuinely damaged one, above).
    import sqlite3

    from sciswift.store.local.container import Container

    root = tmp_path / "acct"
    s = LocalStore(root, durable=False)
    s.create_container("c")
    s.put_object("c", "x", b"kept")
    s.close()
    real = Container._open_index_once
    failures = iter([sqlite3.DatabaseError("file is not a database")] * 2)

    def flaky(self: Container) -> sqlite3.Connection:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(self)

    monkeypatch.setattr(Container, "_open_index_once", flaky)
    s = LocalStore(root, durable=False)
    assert s.get_object("c", "x") == b"kept"
    assert not (root / "c" / "quarantine").exists() or not list((root / "c" / "quarantine").iterdir())


def _die_after_rename(root: str, name: str, data: bytes) -> None:
    """Child process: put an object and die right after its file is renamed into
    place, before the index transaction commits."""
    from sciswift.store.local import container as _local_container

    original = _local_container.Container._rename_into

    def rename_then_die(self, tmp, final):  # type: ignore[no-untyped-def]
        original(self, tmp, final)
        os._exit(17)

    _local_container.Container._rename_into = rename_then_die  # type: ignore[method-assign]
    LocalStore(root, durable=False).put_object("c", name, data)


def _die_before_rename(root: str) -> None:
    """Child process: die with a streamed body half written to its temp file."""
    w = LocalStore(root, durable=False).open_writer("c", "never")
    w.write(b"x" * 100_000)
    os._exit(18)


def _run_child(target, *args) -> int:  # type: ignore[no-untyped-def]
    import multiprocessing

    p = multiprocessing.get_context("fork").Process(target=target, args=args)
    p.start()
    p.join(30)
    return p.exitcode  # type: ignore[return-value]


def test_crash_between_rename_and_index_heals(tmp_path: Path) -> None:
    root = tmp_path / "acct"
    s = LocalStore(root, durable=False)
    s.create_container("c")
    s.put_object("c", "victim", b"old")
    s.put_object("c", "other", b"o")
    assert _run_child(_die_after_rename, str(root), "victim", b"new body") == 17
    # The file changed but the index did not: exactly the crash window.
    assert _index_rows(root, "c")["victim"] == hashlib.md5(b"old").hexdigest()
    assert s.get_object("c", "victim") == b"new body"
    assert _run_child(_die_after_rename, str(root), "fresh", b"brand new") == 17
    # The second child, opening the container, healed what the first left.
    assert _index_rows(root, "c")["victim"] == hashlib.md5(b"new body").hexdigest()
    assert "fresh" not in _index_rows(root, "c")
    assert _run_child(_die_before_rename, str(root)) == 18
    assert len(list((root / "c" / "tmp").iterdir())) == 1
    # s closed its idle handle before each fork; a write makes it a live writer
    # again, with a journal of its own.
    s.put_object("c", "again", b"a")
    # A process opening the container replays the dead writers' journals.
    t = LocalStore(root, durable=False)
    listing = {o.name: o for o in t.list_objects("c")}  # type: ignore[union-attr]
    assert sorted(listing) == ["again", "fresh", "other", "victim"]
    assert listing["victim"].etag == hashlib.md5(b"new body").hexdigest()  # type: ignore[union-attr]
    assert listing["fresh"].size == len(b"brand new")  # type: ignore[union-attr]
    assert t.head_container("c").object_count == 4
    assert list((root / "c" / "tmp").iterdir()) == []
    # Only the live writer's journal remains (s, this process).
    assert [p.name for p in (root / "c" / "journal").iterdir()] == [s._handles.writer_id]
    # A long-lived handle heals too, at its next periodic check.
    assert _run_child(_die_after_rename, str(root), "late", b"late") == 17
    s._handles.get("c").last_recovery = 0.0
    assert "late" in [o.name for o in s.list_objects("c")]


def test_half_deleted_container_is_finished_by_fsck(tmp_path: Path) -> None:
    root = tmp_path / "acct"
    s = LocalStore(root)
    s.create_container("gone")
    s._handles.get("gone").mark_deleted()  # the deleter dies here, before moving it away
    s.close()
    s = LocalStore(root)
    with pytest.raises(NotFound):
        s.head_container("gone")
    s.fsck()
    assert not (root / "gone").exists()
    assert s.create_container("gone") is True


# ----------------------------------------------------------------- account
def test_list_containers_and_totals(tmp_path: Path) -> None:
    s = LocalStore(tmp_path / "acct")
    for name in ["b", "a", "a-x", "é", "c-1", "c-2"]:
        s.create_container(name)
    s.put_many("a", {"1": b"12", "2": b"345"})
    entries = s.list_containers()
    assert [e.name for e in entries] == ["a", "a-x", "b", "c-1", "c-2", "é"]
    assert (entries[0].object_count, entries[0].bytes_used) == (2, 5)  # type: ignore[union-attr]
    rolled = s.list_containers(ListingParams(delimiter="-"))
    assert [e.name for e in rolled] == ["a", "a-", "b", "c-", "é"]
    assert [e.name for e in s.list_containers(ListingParams(reverse=True, limit=2))] == ["é", "c-2"]
    acct = s.account_info()
    assert (acct.container_count, acct.object_count, acct.bytes_used) == (6, 2, 5)
    account_file = tmp_path / "acct" / ".sciswift-account.json"
    assert not account_file.exists()  # written by post_account only
    s.post_account({"a": "1"})
    assert s.account_info().metadata == {"a": "1"}
    assert json.loads(account_file.read_bytes())["metadata"] == {"a": "1"}
    assert [c.name for c in s.list_containers(ListingParams(prefix="a"))] == ["a", "a-x"]


# ----------------------------------------------------------- listing oracle
_NAMES = st.text(alphabet=["a", "b", "/", "-", "é", "\U0001f600", "~"], min_size=1, max_size=6)


@pytest.fixture(scope="module")
def listing_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, MemoryStore, list[str]]:
    import random

    rng = random.Random(7)
    alphabet = ["a", "b", "/", "-", "é", "\U0001f600", "~"]
    names = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(400)})
    local = LocalStore(tmp_path_factory.mktemp("listing"), durable=False)
    memory = MemoryStore()
    for s in (local, memory):
        s.create_container("c")
    local.put_many("c", {n: n.encode() for n in names})
    memory.put_many("c", {n: n.encode() for n in names})
    return local, memory, names


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.one_of(st.just(""), _NAMES.map(lambda s: s[:2])),
    delimiter=st.sampled_from(["", "/", "-", "a", "é/", "\U0001f600"]),
    marker=st.one_of(st.just(""), _NAMES),
    end_marker=st.one_of(st.just(""), _NAMES),
    limit=st.one_of(st.none(), st.integers(0, 12)),
    reverse=st.booleans(),
)
def test_listing_matches_the_reference_model(
    listing_pair: tuple[LocalStore, MemoryStore, list[str]],
    prefix: str,
    delimiter: str,
    marker: str,
    end_marker: str,
    limit: int | None,
    reverse: bool,
) -> None:
    local, memory, _ = listing_pair
    p = ListingParams(prefix, delimiter, marker, end_marker, limit, reverse)
    got = [(type(e).__name__, e.name) for e in local.list_objects("c", p)]
    want = [(type(e).__name__, e.name) for e in memory.list_objects("c", p)]
    assert got == want


def test_idle_container_handles_are_closed_beyond_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = LocalStore(tmp_path / "acct", durable=False)
    monkeypatch.setattr(s._handles, "max_open", 4)
    for i in range(12):
        s.create_container(f"c{i}")
        s.put_object(f"c{i}", "o", str(i).encode())
    assert s._handles.open_count <= 4
    # A closed handle leaves no journal behind, and the data is all there.
    journals = [p for i in range(12) for p in (tmp_path / "acct" / f"c{i}" / "journal").iterdir()]
    assert len(journals) == s._handles.open_count
    assert [s.get_object(f"c{i}", "o") for i in range(12)] == [str(i).encode() for i in range(12)]
    assert s.account_info().object_count == 12


def test_damaged_metadata_files_raise_corruptdata(tmp_path: Path) -> None:
    root = tmp_path / "acct"
    s = LocalStore(root)
    s.create_container("c")
    s.post_account({"a": "1"})
    (root / "c" / "container.json").write_text("{not json")
    with pytest.raises(CorruptData) as ei:
        s.head_container("c")
    assert ei.value.subject == "c"
    (root / ".sciswift-account.json").write_text("[]")
    with pytest.raises(CorruptData):
        s.account_info()


# ------------------------------------------------------ operations vs the model
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["put", "put_create", "put_ifmatch", "delete", "post", "copy", "put_many", "delete_many"]),
        st.sampled_from(["a", "a/b", "b", "ü/x"]),
        st.binary(max_size=40),
    ),
    max_size=25,
)


def _apply(s: Store, op: str, name: str, body: bytes) -> object:
    """One operation; returns a comparable outcome (result or exception type)."""
    try:
        if op == "put":
            return s.put_object("m", name, body, metadata={"len": str(len(body))}).etag
        if op == "put_create":
            return s.put_object("m", name, body, mode=CREATE).etag
        if op == "put_ifmatch":
            from sciswift.store.types import IfMatch

            return s.put_object("m", name, body, mode=IfMatch(hashlib.md5(body[:-1]).hexdigest())).etag
        if op == "delete":
            s.delete_object("m", name)
            return None
        if op == "post":
            return s.post_object("m", name, metadata={"p": body.hex()[:8]}, content_type="x/y").metadata
        if op == "copy":
            return s.copy_object("m", name, "m", name + ".copy", metadata={"c": "1"}).etag
        if op == "put_many":
            s.put_many("m", {name: body, name + "2": body[::-1]})
            return None
        return s.delete_many("m", [name, name + "2", "never"])
    except Exception as e:  # the same failures must happen on both
        return type(e).__name__


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_OPS)
def test_operations_match_the_reference_model(tmp_path_factory: pytest.TempPathFactory, ops) -> None:  # type: ignore[no-untyped-def]
    local = LocalStore(tmp_path_factory.mktemp("ops"), durable=False)
    memory = MemoryStore()
    for s in (local, memory):
        s.create_container("m")
    for op, name, body in ops:
        assert _apply(local, op, name, body) == _apply(memory, op, name, body), (op, name)

    def state(s: Store) -> list[tuple[str, int, str, str, dict[str, str], bytes]]:
        return [
            (i.name, i.size, i.etag, i.content_type, i.metadata, s.get_object("m", i.name))
            for i in s.list_objects("m")
            if isinstance(i, ObjectInfo)
        ]

    assert state(local) == state(memory)
    info_l, info_m = local.head_container("m"), memory.head_container("m")
    assert (info_l.object_count, info_l.bytes_used) == (info_m.object_count, info_m.bytes_used)
    local.close()


def test_missing_subdirectories_are_recreated(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "acct"
    LocalStore(root).create_container("c")
    for sub in ("tmp", "journal", "objects"):
        shutil.rmtree(root / "c" / sub)
    s = LocalStore(root)
    s.put_object("c", "o", b"1")
    w = s.open_writer("c", "w")
    w.write(b"2")
    w.commit()
    assert [o.name for o in s.list_objects("c")] == ["o", "w"]


def test_durable_writer_starts_writeback_as_it_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sciswift.store.local import writer as _local_writer

    started: list[tuple[int, int]] = []
    monkeypatch.setattr(_local_writer, "WRITEBACK_STEP", 1 << 20)
    real = _local_writer.start_writeback
    monkeypatch.setattr(
        _local_writer, "start_writeback", lambda fd, off, n: (started.append((off, n)), real(fd, off, n))
    )
    s = LocalStore(tmp_path / "d", durable=True)
    try:
        s.create_container("c")
        w = s.open_writer("c", "big")
        body = os.urandom(1 << 19) * 7  # 3.5 MiB in 512 KiB writes
        for i in range(0, len(body), 1 << 19):
            w.write(body[i:i + (1 << 19)])
        w.commit()
        # Every started range follows the previous one; the tail is left to the fsync.
        assert started == [(0, 1 << 20), (1 << 20, 1 << 20), (2 << 20, 1 << 20)]
        assert s.get_object("c", "big") == body
    finally:
        s.close()
