"""LocalStore on a full disk: every write raises InsufficientStorage (an OSError
with errno ENOSPC, HTTP 507) naming what it could not store, leaves no temp file,
pack or half-made container behind, and changes nothing that was stored; SQLite's
"database or disk is full" and, on a full disk, its "disk I/O error" are mapped
the same way, other SQLite errors are not."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sciswift.errors import InsufficientStorage, status_for
from sciswift.store import LocalStore
from sciswift.store.local.space import FULL_BELOW, is_full
from support.small_disk import SmallDisk


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with SmallDisk(tmp_path / "disk", "8m") as d:
        yield d


def packs(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("*/packs/*"))


def test_every_write_refused_on_a_full_disk_names_its_object(disk: SmallDisk) -> None:
    root = disk.path / "data"
    store = LocalStore(root, durable=True)
    store.create_container("c")
    kept = {f"chunk/{i}": os.urandom(3000 + i) for i in range(20)}
    store.put_many("c", kept)  # packed
    kept["plain"] = os.urandom(50_000)
    store.put_object("c", "plain", kept["plain"], metadata={"color": "blue"})
    packs_before = packs(root)
    disk.fill(0)

    def writer() -> None:
        w = store.open_writer("c", "streamed")
        w.write(os.urandom(1 << 20))
        w.commit()

    attempts: dict[str, tuple[Callable[[], object], str]] = {
        "put_object": (lambda: store.put_object("c", "new", os.urandom(10_000)), "c/new"),
        "overwrite": (lambda: store.put_object("c", "plain", b"other"), "c/plain"),
        "writer": (writer, "c/streamed"),
        "put_many": (lambda: store.put_many("c", {"b/0": b"x" * 5000, "b/1": b"y" * 5000}), "c/b/0 and 1 more"),
        "put_many_filled": (
            lambda: store.put_many_filled("c", ["f/0", "f/1"], 4096, lambda _n, buf: buf.__setitem__(0, 1)),
            "c/f/0 and 1 more"),
        "post_object": (lambda: store.post_object("c", "chunk/3", metadata={"n": "1"}), "c/chunk/3"),
        "copy_object": (lambda: store.copy_object("c", "plain", "c", "copy"), "c/copy"),
        "create_container": (lambda: store.create_container("d"), "d"),
        "post_container": (lambda: store.post_container("c", {"color": "red"}), "c"),
        "post_account": (lambda: store.post_account({"color": "red"}), str(root)),
    }
    for what, (attempt, subject) in attempts.items():
        with pytest.raises(InsufficientStorage) as exc:
            attempt()
        err = exc.value
        assert isinstance(err, OSError) and err.errno == errno.ENOSPC and status_for(err) == 507, what
        assert err.subject == subject, what
        assert f"not enough space to store {subject}" in str(err) and "Free space" in str(err), what
        assert disk.leftovers() == [], what
        assert packs(root) == packs_before, what

    for name, data in kept.items():  # nothing changed, on a full disk as after
        assert store.get_object("c", name) == data
    assert store.head_object("c", "plain").metadata == {"color": "blue"}
    assert "n" not in store.head_object("c", "chunk/3").metadata
    assert sorted(o.name for o in store.list_objects("c")) == sorted(kept)
    assert store.head_container("c").object_count == len(kept)
    assert [c.name for c in store.list_containers()] == ["c"]
    assert store.head_container("c").metadata == {}
    # A delete needs a little room too (SQLite's WAL may have to grow): refused,
    # it leaves the object whole (its file is put back); done, it is gone.
    for name in ("chunk/0", "plain"):  # a packed and a plain object
        try:
            store.delete_object("c", name)
            del kept[name]
        except InsufficientStorage as e:
            assert e.subject == f"c/{name}"
    for name, data in kept.items():
        assert store.get_object("c", name) == data
    assert sorted(o.name for o in store.list_objects("c")) == sorted(kept)
    assert disk.leftovers() == []

    disk.free()
    store.put_many("c", {"b/0": b"x" * 5000})
    store.post_object("c", "chunk/3", metadata={"n": "1"})
    assert store.get_object("c", "b/0") == b"x" * 5000
    for name, data in kept.items():
        assert store.get_object("c", name) == data
    store.close()


def test_a_store_opened_on_a_full_disk_says_so(disk: SmallDisk) -> None:
    """Opening a container takes room too (SQLite recreates its shared-memory
    file): without any, a fresh store handle cannot read yet and says why."""
    root = disk.path / "data"
    with LocalStore(root) as store:
        store.create_container("c")
        store.put_object("c", "o", b"data")
    disk.fill(0)
    fresh = LocalStore(root)
    with pytest.raises(InsufficientStorage, match="not enough space to open container c"):
        fresh.get_object("c", "o")
    disk.free()
    assert fresh.get_object("c", "o") == b"data"
    fresh.close()


def test_only_full_disk_errors_are_mapped(tmp_path: Path) -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # type: ignore[attr-defined]  # SQLITE_FULL
    ioerr = sqlite3.OperationalError("disk I/O error")
    ioerr.sqlite_errorcode = 778  # type: ignore[attr-defined]  # SQLITE_IOERR_WRITE
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = 5  # type: ignore[attr-defined]
    assert os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize > FULL_BELOW
    assert is_full(full, str(tmp_path))
    assert not is_full(ioerr, str(tmp_path))  # an I/O error with room to spare stays an I/O error
    assert not is_full(locked, str(tmp_path))
    assert is_full(OSError(errno.ENOSPC, "full"), str(tmp_path))
    assert is_full(OSError(errno.EDQUOT, "quota"), str(tmp_path))
    assert not is_full(OSError(errno.EIO, "io"), str(tmp_path))
