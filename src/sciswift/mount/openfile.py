"""The state of one file being read or written through the mount.

A ``FileState`` exists while a file is open (by any number of descriptors, from
any number of processes: MPI ranks share it) and while it holds data not yet in
the store. Writes go to a sparse *staging* file in the cache directory and are
remembered as dirty ranges; everything else is read from the stored version
(``base``) through the block cache. Nothing reaches the store before a commit
(close or fsync; ``sciswift.mount.uploader``), except whole large-file segments
that may be uploaded early under names no reader knows (``eager``): a file is
replaced only by its final manifest, so a crash leaves the old object intact.
"""

from __future__ import annotations

import errno
import os
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from sciswift.mount.intervals import IntervalSet
from sciswift.mount.layout import SegmentPlan, Version
from sciswift.mount.mtime import META_KEY
from sciswift.mount.reader import Fetcher, ReadAhead
from sciswift.store.large import SegmentRef

__all__ = ["FileState", "EagerSegment"]


@dataclass
class EagerSegment:
    """A segment uploaded before the commit: ``ref`` holds bytes ``[offset,
    offset+ref.size)`` as they were at write generation ``gen``."""

    offset: int
    ref: SegmentRef
    gen: int


class FileState:
    """One file's local state. Thread-safe; see the module docstring."""

    def __init__(self, path: str, container: str, name: str, base: Version | None, *,
                 staging_dir: Path, segment_size: int, content_type: str) -> None:
        self.lock = threading.RLock()
        self.commit_lock = threading.Lock()
        self.path = path
        self.container = container
        self.name = name
        self.base = base
        self.size = base.size if base else 0
        self.base_limit = self.size  # base bytes at or past this were truncated away
        self.dirty = IntervalSet()
        self.staging_dir = staging_dir
        self._staging: int | None = None
        self._staging_path: Path | None = None
        self.segment_size = segment_size
        self.plan = SegmentPlan.for_version(base, segment_size)
        self.write_gen = 0
        self.seg_gen: dict[int, int] = {}
        self.eager: dict[int, EagerSegment] = {}
        self.eager_running: dict[int, Future[None]] = {}
        self.in_store = base is not None
        self.content_type = base.content_type if base else content_type
        self.metadata: dict[str, str] = dict(base.metadata) if base else {}
        self.meta_changed = False
        self.opens = 0
        self.unlinked = False
        #: ``(container, name, etag)`` of the object an unlink left for the last
        #: close to delete (open descriptors keep reading it, as POSIX has it).
        self.delete_at_close: tuple[str, str, str] | None = None
        self.failure: str | None = None  # why the last commit failed
        self.broken: str | None = None  # a local write failed: never store this state
        self.mtime = base.mtime if base else time.time()

    # ------------------------------------------------------------ status
    def needs_commit(self) -> bool:
        with self.lock:
            if self.unlinked or self.broken:
                return False
            return (bool(self.dirty) or not self.in_store or self.meta_changed
                    or self.base is None or self.size != self.base.size)

    @property
    def pending_bytes(self) -> int:
        with self.lock:
            return self.dirty.total

    # ------------------------------------------------------------ staging
    def _staging_fd(self) -> int:
        # Called with the lock held.
        if self._staging is None:
            self.staging_dir.mkdir(parents=True, exist_ok=True)
            self._staging_path = self.staging_dir / f"{uuid.uuid4().hex}.dirty"
            self._staging = os.open(self._staging_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        return self._staging

    def _pread(self, start: int, stop: int) -> bytes:
        fd = self._staging
        if fd is None:
            return bytes(stop - start)
        data = os.pread(fd, stop - start, start)
        if len(data) < stop - start:  # a sparse tail never written: zeros
            data += bytes(stop - start - len(data))
        return data

    def empty_staging(self) -> None:
        """Cut the staging file to nothing, which it must hold when no byte is
        pending and the stored version changes under it (its bytes are the
        old version's): ``read`` takes staging's unwritten bytes as zeros at
        and past ``base_limit``."""
        with self.lock:
            assert not self.dirty
            if self._staging is not None:
                os.ftruncate(self._staging, 0)

    def discard(self) -> None:
        """Drop the staging file (the state is no longer needed)."""
        with self.lock:
            if self._staging is not None:
                os.close(self._staging)
                self._staging = None
                if self._staging_path is not None:
                    try:
                        os.unlink(self._staging_path)
                    except FileNotFoundError:
                        pass

    # ------------------------------------------------------------ I/O
    def read(self, fetcher: Fetcher, offset: int, size: int, ahead: ReadAhead | None = None) -> bytes:
        """Bytes ``[offset, offset+size)`` of the file as this mount sees it."""
        with self.lock:
            stop = min(offset + size, self.size)
            if stop <= offset:
                return b""
            base, limit = self.base, self.base_limit
            # No byte of the range from the stored version: staging holds the
            # written ones and zeros everywhere else past base_limit (a
            # shrinking truncate cuts it, a commit moves the limit to the end,
            # a new stored version empties it: see empty_staging), so one pread
            # answers. The commit (close) of a file written in 100,000 4-byte
            # pieces at stride 8 (MPI-IO's interleaved columns) read it in
            # 200,000 pieces: 0.23-0.41 s, now 0.015-0.05 s (2-core VM).
            staged = not self.broken and (base is None or min(limit, base.size) <= offset)
            pieces = [] if staged else list(self.dirty.split(offset, stop))
        window = (0, 0)
        if ahead is not None:
            window = ahead.advance(offset, size, fetcher.block_size, fetcher.max_ahead)
            if base is not None and ahead.wants_fill(base.size, fetcher.fill_limit):
                fetcher.fill(base)
        if staged:
            return self._pread(offset, stop)
        out = []
        for a, b, local in pieces:
            if local:
                out.append(self._pread(a, b))
                continue
            from_base = min(b, limit, base.size) if base is not None else a
            if from_base > a:
                assert base is not None
                out.append(fetcher.read(base, a, from_base, window))
            if b > max(a, from_base):
                out.append(bytes(b - max(a, from_base)))
        return out[0] if len(out) == 1 else b"".join(out)

    def write(self, offset: int, data: bytes) -> list[tuple[int, int]]:
        """Write ``data`` at ``offset``; returns the segments ``(start, length)``
        that are now wholly written and may be uploaded early."""
        end = offset + len(data)
        try:
            # Read without the lock once the staging file exists: one lock
            # round less per write (the descriptor is used outside it anyway).
            fd = self._staging
            if fd is None:
                with self.lock:
                    fd = self._staging_fd()
            written = os.pwrite(fd, data, offset)
            if written != len(data):
                raise OSError(errno.ENOSPC, f"staging file took {written} of {len(data)} bytes")
        except OSError as exc:
            # The program hears of it now; what the file holds is no longer what
            # it wrote, so this state is never stored (the old object stays).
            with self.lock:
                self.broken = f"a write at {offset} failed: {exc}"
            raise
        with self.lock:
            self.dirty.add(offset, end)
            self.size = max(self.size, end)
            self.write_gen += 1
            self._changed_now()
            ready: list[tuple[int, int]] = []
            if self.size <= self.segment_size and not self.eager and not self.eager_running:
                # A small file is one PUT at close: no segment bookkeeping (HDF5
                # writes its metadata in thousands of small pieces). Not while an
                # early upload is in flight either: a segment it holds may be
                # written again (a large file truncated small, then written), and
                # without this write's generation in seg_gen the commit took the
                # upload, finished later, for current and stored the older bytes.
                return ready
            pos = offset
            while pos < end:
                start, length = self.plan.segment_at(pos)
                self.seg_gen[start] = self.write_gen
                if (self.size > start + length > 0 and start + length <= self.size
                        and self.size > self.segment_size and self.dirty.covers(start, start + length)
                        and start not in self.eager_running):
                    ready.append((start, length))
                pos = start + length
            return ready

    def _changed_now(self) -> None:
        # Called with the lock held, by a write or a truncate.
        self.mtime = time.time()
        self.metadata.pop(META_KEY, None)  # a time kept by utimens no longer holds

    def truncate(self, length: int) -> None:
        with self.lock:
            if length < self.size:
                self.dirty.remove_from(length)
                self.base_limit = min(self.base_limit, length)
                if self._staging is not None:
                    os.ftruncate(self._staging, length)
            elif length > self.size:
                self.dirty.add(self.size, length)
            if length != self.size:
                self.write_gen += 1
                pos = min(length, self.size)
                while pos < max(length, self.size):
                    start, seg_len = self.plan.segment_at(pos)
                    self.seg_gen[start] = self.write_gen
                    pos = start + seg_len
            self.size = length
            self._changed_now()

    def staging_bytes(self, start: int, stop: int) -> bytes:
        """Written bytes ``[start, stop)`` straight from staging (early uploads)."""
        with self.lock:
            return self._pread(start, stop)
