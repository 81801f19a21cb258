"""Damage a LocalStore object on disk as a failing disk would: for tests of the
checks and the quarantine (``sciswift.store.local.format``, ``local.quarantine``).

The record is changed in place (same inode), as bit rot changes a block under a
file: descriptors a store already holds on it see the damage too.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

__all__ = ["record_of", "flip_byte", "truncate_record"]


def record_of(root: str | os.PathLike[str], container: str, name: str) -> tuple[Path, int, int]:
    """``(file, base, length)`` of the current record of ``name`` in the LocalStore
    at ``root``: its object file, or its pack file and offset (from the index)."""
    from sciswift.store.local.container import object_file_name
    from sciswift.store.local.pack import pack_file_name

    cdir = Path(root) / container
    path = cdir / "objects" / object_file_name(name)
    if path.is_file():
        return path, 0, path.stat().st_size
    conn = sqlite3.connect(cdir / "index.sqlite")
    try:
        row = conn.execute("SELECT pack, pack_off, pack_len FROM objects WHERE name = ?", (name,)).fetchone()
    finally:
        conn.close()
    if row is None or row[0] is None:
        raise FileNotFoundError(f"{container}/{name} has no record in {root}")
    return cdir / "packs" / pack_file_name(row[0]), row[1], row[2]


def flip_byte(root: str | os.PathLike[str], container: str, name: str, offset: int = 0, mask: int = 0x01) -> Path:
    """XOR body byte ``offset`` of object ``name`` with ``mask``; the file changed."""
    path, base, length = record_of(root, container, name)
    if not 0 <= offset < length:
        raise ValueError(f"offset {offset} is outside the record of {container}/{name} ({length} bytes)")
    with open(path, "r+b") as f:
        f.seek(base + offset)
        byte = f.read(1)[0]
        f.seek(base + offset)
        f.write(bytes([byte ^ mask]))
    return path


def truncate_record(root: str | os.PathLike[str], container: str, name: str, keep: int) -> Path:
    """Cut the file holding ``name``'s record right after its first ``keep`` bytes
    (for a packed object the records after it in its pack are lost too); the
    file changed."""
    path, base, length = record_of(root, container, name)
    if not 0 <= keep < length:
        raise ValueError(f"keep {keep} is outside the record of {container}/{name} ({length} bytes)")
    os.truncate(path, base + keep)
    return path
