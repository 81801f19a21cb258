"""Quarantine in LocalStore: damaged records are set aside, never served, never lost.

When a read (or ``fsck``) finds an object's record damaged (a body block that
does not match its checksum, a truncated record, unreadable metadata), the
object is *quarantined*:

1. the damaged record is set aside in the container's ``quarantine/`` directory
   as ``HASH.TIME-RANDOM`` (``HASH`` as in ``objects/``): an object file is
   hard-linked there (no copy), a pack record is copied out of its pack;
2. a **quarantine stub** (``local.format``: a record with no body whose
   metadata says what was wrong and where the copy is) becomes the object's
   current version, committed like any put of an object file, and only if the
   damaged version is still the current one (a put or delete meanwhile wins);
3. the event is logged (logger ``sciswift.store``, level WARNING) with the
   object's name, where the damaged record was and where it is now.

From then on every read of the name raises ``Quarantined`` (a ``CorruptData``,
never ``NotFound``: the HDF5 engine reads a missing chunk as fill values, so lost
data must not look like data never written) until the object is put again or
deleted. The stub keeps the lost version's size and ETag, so listings and
totals do not change (as a Swift container listing still shows an object one
object server quarantined). Quarantined copies are never removed by sciswift.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from sciswift.store.local.format import stub_trailer
from sciswift.store.local.fs import O_CLOEXEC, fsync_dir, unlink_quiet
from sciswift.store.types import ObjectInfo

if TYPE_CHECKING:
    from sciswift.store.local.container import Container

__all__ = ["log", "set_aside_record", "set_aside_file", "stub_temp", "describe_record"]

log = logging.getLogger("sciswift.store")


def _new_name(c: Container, hashed: str) -> tuple[str, str]:
    os.makedirs(c.quarantine_dir, exist_ok=True)
    fname = f"{hashed}.{time.time():.0f}-{uuid.uuid4().hex[:8]}"
    return os.path.join(c.quarantine_dir, fname), f"quarantine/{fname}"


def set_aside_record(c: Container, hashed: str, fd: int, base: int, length: int, whole_file: bool) -> str:
    """Keep the record ``[base, base + length)`` of the open ``fd`` (all of it, an
    object file, when ``whole_file``) in ``quarantine/``; its path there,
    relative to the container directory. The object file is linked, not copied
    (the very inode read, through ``/proc/self/fd``); where that is not possible,
    and for pack records, the bytes are copied (as many as the file still has)."""
    dest, rel = _new_name(c, hashed)
    if whole_file:
        try:
            os.link(f"/proc/self/fd/{fd}", dest, follow_symlinks=True)
            if c.durable:
                fsync_dir(c.quarantine_dir)
            return rel
        except OSError:
            pass  # no /proc, another filesystem's rules: copy
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_CLOEXEC, 0o644)
    try:
        pos = 0
        while pos < length:
            block = os.pread(fd, min(8 << 20, length - pos), base + pos)
            if not block:
                break  # a truncated record: keep what there is
            os.pwrite(out, block, pos)
            pos += len(block)
        if c.durable:
            os.fsync(out)
    except BaseException:
        os.close(out)
        unlink_quiet(dest)
        raise
    os.close(out)
    if c.durable:
        fsync_dir(c.quarantine_dir)
    return rel


def set_aside_file(c: Container, path: str) -> str | None:
    """Move the object file ``path`` into ``quarantine/``; its new path relative to
    the container directory (None if it was gone already)."""
    dest, rel = _new_name(c, os.path.basename(path))
    try:
        os.rename(path, dest)
    except FileNotFoundError:
        return None
    return rel


def stub_temp(c: Container, info: ObjectInfo, why: str, copy: str) -> tuple[str, ObjectInfo]:
    """A temporary file holding the quarantine stub of the damaged version ``info``
    (ready to be committed as the object's file) and the stub's info: the lost
    version's name, size, ETag and metadata, timestamped now (a stub is a newer
    version than the record it replaces, for recovery's newest-wins rule)."""
    stub = replace(info, timestamp=max(time.time(), info.timestamp))
    return c.write_temp([stub_trailer(stub, why, copy)]), stub


def describe_record(c: Container, name: str, ident: tuple[object, ...]) -> str:
    """Where a version of ``name`` is, for log lines: its object file, or its pack
    and offset."""
    if ident and ident[0] == "p":
        return f"{c.pack_path(int(ident[1]))} at offset {ident[2]}"  # type: ignore[call-overload]
    return c.object_path(name)
