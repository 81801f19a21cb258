"""Checks of a LocalStore's on-disk state shared by its tests (imported by the
``test_local*`` modules of this folder, which pytest puts on ``sys.path``)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from sciswift.store.local import LocalStore
from sciswift.store.local.container import object_file_name
from sciswift.store.types import ObjectInfo


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def cdir(s: LocalStore, container: str = "c") -> Path:
    return Path(s.root) / container


def packs(s: LocalStore, container: str = "c") -> list[str]:
    d = cdir(s, container) / "packs"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def object_files(s: LocalStore, container: str = "c") -> set[str]:
    return {p.name for p in (cdir(s, container) / "objects").iterdir()}


def rows(s: LocalStore, container: str = "c") -> dict[str, tuple[int | None, int | None, int | None]]:
    conn = sqlite3.connect(cdir(s, container) / "index.sqlite")
    try:
        return {r[0]: (r[1], r[2], r[3]) for r in conn.execute("SELECT name, pack, pack_off, pack_len FROM objects")}
    finally:
        conn.close()


def listed(s: LocalStore, container: str = "c") -> dict[str, ObjectInfo]:
    return {e.name: e for e in s.list_objects(container) if isinstance(e, ObjectInfo)}


def assert_consistent(s: LocalStore, expected: dict[str, bytes], container: str = "c") -> None:
    """Every view of the container agrees with ``expected``, and the layout keeps
    its invariants: object files only for current versions, every row's record
    or file in place, no pack without a live record."""
    entries = listed(s, container)
    assert sorted(entries) == sorted(expected)
    for name, body in expected.items():
        assert s.get_object(container, name) == body
        head = s.head_object(container, name)
        assert head.etag == md5(body) == entries[name].etag
        assert head.size == len(body) == entries[name].size
    info = s.head_container(container)
    assert (info.object_count, info.bytes_used) == (len(expected), sum(map(len, expected.values())))
    index = rows(s, container)
    files = object_files(s, container)
    for name, (pack, _, _) in index.items():
        assert (object_file_name(name) in files) == (pack is None), name
    assert files <= {object_file_name(n) for n in index}
    assert set(packs(s, container)) == {f"{p:016x}" for p, _, _ in index.values() if p is not None}


def destroy_index(container_dir: Path, damage: str) -> None:
    """Delete a container's index (``damage="delete"``), or replace it with garbage
    (``"garbage"``)."""
    for suffix in ("", "-wal", "-shm"):
        p = container_dir / f"index.sqlite{suffix}"
        if p.exists():
            p.unlink()
    if damage == "garbage":
        (container_dir / "index.sqlite").write_bytes(b"this is not a database" * 200)
