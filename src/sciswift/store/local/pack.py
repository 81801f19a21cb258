"""Pack files of LocalStore: the small objects of one batched put in one file.

Creating a file (an inode) is the dominant cost of a small put on ext4: 15-20 µs on
a quiet filesystem, 200-900 µs for minutes after many files were deleted nearby
(the inode allocator skips recently freed inodes one by one). A batch of N small
objects (``put_many``, the engine's path) is therefore written as one pack: one
file creation instead of N.

Layout and life cycle (see ``sciswift.store.local`` for the whole store)::

    packs/ID    records back to back from offset 0, nothing else

- ``ID`` is 16 hex digits: a random 63-bit number, the ``pack`` column of the index
  rows that point into it. A pack is published with ``link(2)``, which refuses an
  existing name, so an ID is never reused while its pack exists.
- A record is exactly an object file's content (body, block sums, metadata, footer; see
  ``local.format``), so every record reader works on ``(fd, base, length)``.
  Walking a pack backwards from its end finds every record (each ends with its
  footer): that is how an index is rebuilt (``scan_pack``).
- A pack is written once in ``tmp/`` (fsync'd when durable), linked into
  ``packs/`` (the directory fsync'd when durable) before any index row points
  into it, and never changed afterwards. It is unlinked once no index row
  points into it any more.
"""

from __future__ import annotations

import errno
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sciswift.store.local.format import encode_trailer, read_info_ending_at
from sciswift.store.local.fs import O_CLOEXEC
from sciswift.store.local.sums import BLOCK, sums_size
from sciswift.store.types import ObjectInfo

__all__ = [
    "Body",
    "Filled",
    "PACK_LIMIT",
    "PACK_MAX_OBJECT",
    "PackedRecord",
    "PackFiles",
    "new_pack_id",
    "pack_file_name",
    "plan_packs",
    "publish_pack",
    "scan_pack",
    "write_records",
]

PACK_LIMIT = 64 << 20
"""A batch is split into packs of about this many bytes (a pack stays alive while
any of its records is, so smaller packs free space sooner)."""
PACK_MAX_OBJECT = 8 << 20
"""Objects larger than this stay files of their own: one more file creation is
nothing next to writing them, and their space is freed as soon as they die."""
# writev() takes at most IOV_MAX (1024 on Linux) buffers per call.
_IOV_MAX = 1024


@dataclass(frozen=True)
class PackedRecord:
    """Where one object of a pack is: ``length`` bytes at ``offset``."""

    name: str
    info: ObjectInfo
    offset: int
    length: int


def new_pack_id() -> int:
    """A random positive 63-bit pack ID (SQLite's INTEGER range)."""
    return int.from_bytes(os.urandom(8), "little") >> 1 or 1


def pack_file_name(pack_id: int) -> str:
    return f"{pack_id:016x}"


def plan_packs(
    items: Sequence[tuple[str, ObjectInfo, Any, bytes | None]], limit: int | None = None
) -> list[list[tuple[str, ObjectInfo, Any, bytes | None]]]:
    """Split ``(name, info, body, trailer)`` items into packs of at most ``limit``
    bytes (default ``PACK_LIMIT``; a pack holds at least one record, however large).
    A trailer of None is made when the record is written (``write_records``)."""
    if limit is None:
        limit = PACK_LIMIT
    packs: list[list[tuple[str, ObjectInfo, Any, bytes | None]]] = []
    size = limit
    for item in items:
        trailer = item[3]
        length = len(item[2]) + (len(trailer) if trailer is not None else sums_size(len(item[2]), BLOCK) + 512)
        if size + length > limit and size:
            packs.append([])
            size = 0
        packs[-1].append(item)
        size += length
    return packs


class Filled:
    """A body of ``size`` bytes that ``fill(name, buf)`` writes into the buffer it
    is given when its record is written (``LocalStore.put_many_filled``): every
    such body of a pack goes through one scratch buffer, nothing is held per object."""

    __slots__ = ("size", "name", "fill")

    def __init__(self, size: int, name: str, fill: Callable[[str, memoryview], None]) -> None:
        self.size, self.name, self.fill = size, name, fill

    def __len__(self) -> int:
        return self.size


Body = bytes | memoryview | Filled


def write_records(fd: int, items: Sequence[tuple[str, ObjectInfo, Body, bytes | None]]) -> list[PackedRecord]:
    """Write the records of ``items`` back to back at the start of ``fd``; a
    trailer of None is made from the body (``encode_trailer``), once a ``Filled``
    body has been filled."""
    records: list[PackedRecord] = []
    buffers: list[bytes | memoryview] = []
    scratch: memoryview | None = None
    offset = pos = 0
    for name, info, body, trailer in items:
        if isinstance(body, Filled):
            pos = _write_buffers(fd, buffers, pos)
            buffers = []
            if scratch is None or len(scratch) != body.size:
                scratch = memoryview(bytearray(body.size))
            body.fill(body.name, scratch)
            # Hashed while the body is still in the CPU cache.
            trailer = encode_trailer(info, scratch) if trailer is None else trailer
            records.append(PackedRecord(name, info, offset, body.size + len(trailer)))
            offset += body.size + len(trailer)
            pos = _write_buffers(fd, [scratch, trailer], pos)
            continue
        if trailer is None:
            trailer = encode_trailer(info, body)
        length = len(body) + len(trailer)
        records.append(PackedRecord(name, info, offset, length))
        offset += length
        buffers.append(body)
        buffers.append(trailer)
    _write_buffers(fd, buffers, pos)
    return records


def _write_buffers(fd: int, buffers: Sequence[bytes | memoryview], pos: int) -> int:
    """Write ``buffers`` back to back at ``pos``; the position after them."""
    for i in range(0, len(buffers), _IOV_MAX):
        group = buffers[i : i + _IOV_MAX]
        want = sum(len(b) for b in group)
        done = os.pwritev(fd, group, pos)
        while done < want:  # a short write (signal, full disk): finish this group
            view = memoryview(b"".join(group))
            done += os.pwrite(fd, view[done:], pos + done)
        pos += want
    return pos


def publish_pack(tmp_path: str, packs_dir: str, pack_id: int) -> bool:
    """Link the finished pack ``tmp_path`` as ``packs_dir/ID`` and drop the temp
    name. False (nothing changed) if that ID is taken: draw another one."""
    final = os.path.join(packs_dir, pack_file_name(pack_id))
    try:
        os.link(tmp_path, final)
    except FileExistsError:
        return False
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # No hard links on this filesystem: a rename, after checking the name is
        # free (IDs are random 63-bit numbers, so a race here is not a concern).
        if os.path.lexists(final):
            return False
        os.rename(tmp_path, final)
        return True
    os.unlink(tmp_path)
    return True


def scan_pack(fd: int, size: int, subject: str) -> Iterator[tuple[int, int, ObjectInfo]]:
    """``(offset, length, info)`` of every record of the pack ``fd`` of ``size``
    bytes, last record first. CorruptData where a record is damaged (the records
    before it cannot be found any more: they are never yielded)."""
    end = size
    while end > 0:
        base, info = read_info_ending_at(fd, end, subject)
        yield base, end - base, info
        end = base


class PackFiles:
    """Open descriptors of recently read pack files, shared by the threads of one
    LocalStore: a read of a packed object costs a ``dup`` instead of an ``open``.

    ``open`` hands out a descriptor of the caller's own (close it), so a pack
    evicted from the cache, or unlinked, stays readable through it. A cached
    descriptor whose file has been unlinked (``st_nlink == 0``) is dropped rather
    than used: the path may name a newer pack by now.
    """

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, path: str) -> tuple[int, os.stat_result]:
        """A new descriptor on the pack at ``path`` and its stat (FileNotFoundError
        if it is gone)."""
        with self._lock:
            fd = self._fds.get(path)
            if fd is not None:
                st = os.fstat(fd)
                if st.st_nlink:
                    self._fds.move_to_end(path)
                    # dup under the lock: a descriptor closed by another thread's
                    # eviction could otherwise be reused for an unrelated file.
                    return os.dup(fd), st
                del self._fds[path]
                os.close(fd)
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
        try:
            st = os.fstat(fd)
            with self._lock:
                old = self._fds.pop(path, None)
                if old is not None:
                    os.close(old)
                self._fds[path] = fd
                while len(self._fds) > self._limit:
                    os.close(self._fds.popitem(last=False)[1])
                return os.dup(fd), st
        except BaseException:
            if self._fds.get(path) != fd:
                os.close(fd)
            raise

    def forget(self, path: str) -> None:
        """Close the cached descriptor of ``path`` (its pack is being removed)."""
        with self._lock:
            fd = self._fds.pop(path, None)
        if fd is not None:
            os.close(fd)

    def sweep(self, under: str = "") -> None:
        """Close the cached descriptors of packs that have been unlinked (by any
        process), and of every pack whose path starts with ``under`` if given (a
        container being deleted): they would keep disk space in use."""
        with self._lock:
            for path, fd in list(self._fds.items()):
                if (under and path.startswith(under)) or os.fstat(fd).st_nlink == 0:
                    del self._fds[path]
                    os.close(fd)

    def close(self) -> None:
        with self._lock:
            fds, self._fds = list(self._fds.values()), OrderedDict()
        for fd in fds:
            os.close(fd)

    def abandon_after_fork(self) -> None:
        """In a forked child: close the inherited descriptors without taking the
        lock (another thread of the parent may have held it at the fork)."""
        for fd in list(self._fds.values()):
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = OrderedDict()
