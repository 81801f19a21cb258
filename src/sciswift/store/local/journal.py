"""The intent journals of LocalStore writers (``journal/WRITER`` in a container).

A writer (one LocalStore instance in one process) appends to its journal, before
it changes anything on disk, what it is about to change: one line per object name
(a JSON string) and one per pack file it is about to create (``{"pack": ID}``).
It holds an exclusive ``flock`` on the journal for as long as it lives, so a
journal nobody holds locked belongs to a dead writer, whose entries recovery
checks (``local.container``). Lines are only ever appended; the last line of a
writer killed mid-append may be torn and is skipped.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sciswift.store.local.fs import O_CLOEXEC, fsync_dir

__all__ = ["Entries", "encode_entries", "open_locked", "read_entries", "read_entries_at", "probe"]


@dataclass
class Entries:
    """What one or more journals say was about to change."""

    names: set[str] = field(default_factory=set)
    packs: set[int] = field(default_factory=set)

    def update(self, other: Entries) -> None:
        self.names |= other.names
        self.packs |= other.packs


def encode_entries(names: Iterable[str], packs: Iterable[int] = ()) -> bytes:
    lines = [json.dumps({"pack": p}) for p in packs]
    lines += [json.dumps(n) for n in names]
    return "".join(line + "\n" for line in lines).encode("ascii")


def read_entries(fd: int) -> Entries:
    """The entries of the open journal ``fd``."""
    chunks = []
    pos = 0
    while True:
        block = os.pread(fd, 1 << 20, pos)
        if not block:
            break
        chunks.append(block)
        pos += len(block)
    out = Entries()
    for line in b"".join(chunks).split(b"\n"):
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the torn last line of a writer killed mid-append (nothing followed it)
        if isinstance(entry, str):
            out.names.add(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("pack"), int):
            out.packs.add(entry["pack"])
    return out


def read_entries_at(path: str) -> Entries:
    try:
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    except FileNotFoundError:
        return Entries()
    try:
        return read_entries(fd)
    finally:
        os.close(fd)


def open_locked(path: str, ensure_dir: Callable[[], None], durable: bool) -> int:
    """Create (or reopen) the journal at ``path`` and lock it for this writer's life."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | O_CLOEXEC, 0o666)
        except FileNotFoundError:
            ensure_dir()
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        # Another process's recovery may have unlinked the file between our
        # open and our lock (it looked unlocked, hence dead): start again.
        try:
            st = os.stat(path)
        except FileNotFoundError:
            os.close(fd)
            continue
        fst = os.fstat(fd)
        if (st.st_ino, st.st_dev) == (fst.st_ino, fst.st_dev):
            if durable:
                fsync_dir(os.path.dirname(path))
            return fd
        os.close(fd)


def probe(path: str) -> int | None:
    """If the journal at ``path`` belongs to a dead writer: an open descriptor on
    it, locked by us (close it to unlock). None if its writer lives or it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
