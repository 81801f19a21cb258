"""Commits: making a file's local state the stored object, atomically.

A file up to one segment is stored with one PUT. A larger one becomes a static
large object: each segment whose bytes are unchanged since the stored version is
reused as it is, the others are uploaded (concurrently) as new segment objects in
``<container>_segments``, and then one manifest PUT replaces the object. A segment
written in part only (at most half of it) is not sent again: the written runs
are uploaded as small segments and the rest is kept as byte ranges of its old
object (Swift's ranged SLO segments, which every Swift client reads), up to
MAX_PIECES segments per file. Only after the manifest is stored are the segment
objects it no longer uses (not even a range of) deleted. So rewriting 1 MiB
inside a 1 GiB file uploads that 1 MiB and a manifest (it uploaded the 16 MiB
segment around it: 0.17 s against 0.033 s now, ``python -m bench.mount --only
rewrite``), and a crash at any point leaves either the old object or the new one.

Segments written completely before the close may be uploaded early (``eager``) so
the close only has the rest to send; an early upload whose bytes were written
again afterwards is simply not used, and deleted.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sciswift.errors import CorruptData, NotFound, SciSwiftError
from sciswift.mount.errors import log
from sciswift.mount.intervals import IntervalSet
from sciswift.mount.layout import Piece, SegmentPlan, Version
from sciswift.mount.openfile import EagerSegment, FileState
from sciswift.mount.reader import Fetcher, same_etag
from sciswift.store import ObjectInfo, Store
from sciswift.store.large import SegmentRef, segments_container
from sciswift.store.names import MAX_OBJECT_NAME_LENGTH, utf8_len

__all__ = ["Uploader", "UploadStats", "MAX_PIECES", "MIN_KEPT_RANGE", "UPLOAD_WORKERS"]


#: At most this many segments in a manifest made by a partial rewrite (Swift
#: takes 1,000): past it, a written segment is sent whole again, as before
#: ranged segments.
MAX_PIECES = 600
#: Threads of each of the uploader's two pools (uploads, early copies).
UPLOAD_WORKERS = 6
#: Unwritten bytes between two written runs of one segment shorter than this are
#: sent with them rather than kept as a range (a piece per few bytes would cost
#: more in requests and manifest entries than it saves).
MIN_KEPT_RANGE = 256 << 10


@dataclass
class UploadStats:
    """What the mount sent to the store (for benchmarks and ``sciswift umount``)."""

    bytes_uploaded: int = 0
    objects_uploaded: int = 0
    manifests: int = 0
    segments_deleted: int = 0
    #: Files stored as server-side copies of others (``Uploader.copy_in``).
    server_copies: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, nbytes: int) -> None:
        with self.lock:
            self.bytes_uploaded += nbytes
            self.objects_uploaded += 1

    def as_dict(self) -> dict[str, int]:
        return {"bytes_uploaded": self.bytes_uploaded, "objects_uploaded": self.objects_uploaded,
                "manifests": self.manifests, "segments_deleted": self.segments_deleted,
                "server_copies": self.server_copies}


class Uploader:
    """Commits FileStates to ``store`` (see the module docstring)."""

    def __init__(self, store: Store, fetcher: Fetcher, *, segment_size: int, workers: int = UPLOAD_WORKERS) -> None:
        self.store = store
        self.fetcher = fetcher
        self.segment_size = segment_size
        self.stats = UploadStats()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sciswift-upload")
        self._eager_pool = ThreadPoolExecutor(workers, thread_name_prefix="sciswift-early")
        self._seg_containers: set[str] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
        self._eager_pool.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True)

    # ------------------------------------------------------------ naming
    def _segment_container(self, container: str) -> str:
        seg = segments_container(container)
        with self._lock:
            known = seg in self._seg_containers
        if not known:
            self.store.create_container(seg)
            with self._lock:
                self._seg_containers.add(seg)
        return seg

    @staticmethod
    def _segment_name(name: str, offset: int) -> str:
        base = name if utf8_len(name) <= MAX_OBJECT_NAME_LENGTH - 80 else hashlib.md5(name.encode()).hexdigest()
        return f"{base}/slo/{time.time():.6f}-{uuid.uuid4().hex[:8]}/{offset:016d}"

    def _put_segment(self, state: FileState, offset: int, data: bytes) -> SegmentRef:
        seg_container = self._segment_container(state.container)
        name = self._segment_name(state.name, offset)
        info = self.store.put_object(seg_container, name, data)
        self.stats.add(len(data))
        return SegmentRef(seg_container, name, info.etag, len(data))

    # ------------------------------------------------------------ early uploads
    def upload_early(self, state: FileState, segments: list[tuple[int, int]]) -> None:
        """Start uploading wholly written segments in the background (only where
        large objects are made of segments: not on S3)."""
        if not self.store.supports_manifests:
            return
        for start, length in segments:
            with state.lock:
                if start in state.eager_running:
                    continue
                known = state.eager.get(start)
                if known is not None and known.gen >= state.seg_gen.get(start, 0):
                    continue
                fut = self._eager_pool.submit(self._early_one, state, start, length)
                state.eager_running[start] = fut

    def _early_one(self, state: FileState, start: int, length: int) -> None:
        try:
            with state.lock:
                gen = state.write_gen
                if state.unlinked or not state.dirty.covers(start, start + length):
                    return
            data = state.staging_bytes(start, start + length)
            ref = self._put_segment(state, start, data)
            with state.lock:
                old = state.eager.get(start)
                state.eager[start] = EagerSegment(start, ref, gen)
            if old is not None:
                self._delete([old.ref])
        except (SciSwiftError, OSError) as exc:
            log.info("early upload of %s bytes %d+%d failed (the close will send them): %s",
                     state.path, start, length, exc)
        finally:
            with state.lock:
                state.eager_running.pop(start, None)

    def _wait_early(self, state: FileState) -> None:
        while True:
            with state.lock:
                running = list(state.eager_running.values())
            if not running:
                return
            for fut in running:
                fut.result()

    def drop_early(self, state: FileState) -> None:
        """Forget (and delete) the early uploads of a file that will not be committed."""
        self._wait_early(state)
        with state.lock:
            refs = [e.ref for e in state.eager.values()]
            state.eager.clear()
        self._delete(refs)

    # ------------------------------------------------------------ commit
    def commit(self, state: FileState) -> bool:
        """Make the state durable in the store; returns False if there was nothing
        to do. Raises the store's error (the state stays dirty) on failure."""
        with state.commit_lock:
            if not state.needs_commit():
                return False
            self._wait_early(state)
            with state.lock:
                gen = state.write_gen
                size = state.size
                base = state.base
                base_limit = state.base_limit
                dirty = state.dirty.copy()
                plan = state.plan
                metadata = dict(state.metadata)
                content_type = state.content_type
                eager = dict(state.eager)
                seg_gen = dict(state.seg_gen)
            fresh: list[SegmentRef] = []
            used: set[SegmentRef] = set()
            try:
                if size > self.segment_size and not self.store.supports_manifests:
                    info = self._put_whole(state, size, content_type, metadata)
                    version = Version.single(state.container, state.name, info.etag, size, info.timestamp,
                                             content_type, metadata)
                elif size <= self.segment_size:
                    data = state.read(self.fetcher, 0, size)
                    info = self.store.put_object(state.container, state.name, data,
                                                 content_type=content_type, metadata=metadata)
                    self.stats.add(size)
                    version = Version.single(state.container, state.name, info.etag, size, info.timestamp,
                                             content_type, metadata)
                else:
                    refs = self._segments(state, size, base, base_limit, dirty, plan, eager, seg_gen, fresh)
                    info = self.store.put_manifest(state.container, state.name, refs,
                                                   content_type=content_type, metadata=metadata)
                    with self.stats.lock:
                        self.stats.manifests += 1
                    version = Version.segmented(state.container, state.name, info.etag, info.timestamp, refs,
                                                content_type, metadata)
                    used = set(refs)
            except BaseException as exc:
                self._delete(fresh)
                with state.lock:
                    state.failure = str(exc)
                raise
            self._installed(state, version, used, base, gen)
            return True

    def _installed(self, state: FileState, version: Version, used: set[SegmentRef], base: Version | None,
                   gen: int, *, grown: bool = False) -> None:
        """``version`` (made of the segments ``used``) is now ``state``'s object
        in the store, replacing ``base``; ``gen`` is the write generation it
        holds (later writes stay pending); ``grown``: the file is now at least
        as long as ``version`` (a copy into it)."""
        # The segment objects the new object no longer uses (not even a range of
        # them) can go.
        in_use = {(r.container, r.name) for r in used}
        replaced: list[SegmentRef] = []
        if base is not None and base.large:
            gone = {(p.ref.container, p.ref.name): p.ref for p in base.pieces
                    if (p.ref.container, p.ref.name) not in in_use}
            replaced = [r for r in gone.values() if r.container == segments_container(state.container)]
        with state.lock:
            leftovers = [e.ref for e in state.eager.values() if (e.ref.container, e.ref.name) not in in_use]
            state.eager.clear()
            state.base = version
            state.base_limit = version.size
            if grown:
                state.size = max(state.size, version.size)
            state.in_store = True
            state.meta_changed = False
            state.failure = None
            if state.write_gen == gen:
                state.dirty.clear()
                state.seg_gen.clear()
            state.plan = SegmentPlan.for_version(version, self.segment_size)
        self._delete(replaced + leftovers)
        with self.stats.lock:
            self.stats.segments_deleted += len(replaced)

    # ------------------------------------------------------------ server-side copies
    def copy_in(self, state: FileState, source: Version) -> bool:
        """Store ``state`` (a file emptied and not written since) as a copy of
        ``source``, made by the store: one object copied, or a large object's
        segment objects copied under names of ``state``'s own and a manifest
        of them (a copy shares no segment object with its source: rewriting
        either one deletes the segments it replaces). No byte passes through
        the mount. Returns whether the copy is the version ``source`` names
        (False: the source object was replaced in the store meanwhile, and the
        copy holds what replaced it). Raises the store's error, leaving
        ``state`` as it was, on failure."""
        with state.commit_lock:
            self._wait_early(state)
            with state.lock:
                gen = state.write_gen
                base = state.base
                metadata = dict(state.metadata)
                content_type = state.content_type
            fresh: list[SegmentRef] = []
            used: set[SegmentRef] = set()
            try:
                if source.large and self.store.supports_manifests:
                    refs = self._copied_segments(state, source, fresh)
                    info = self.store.put_manifest(state.container, state.name, refs,
                                                   content_type=content_type, metadata=metadata)
                    version = Version.segmented(state.container, state.name, info.etag, info.timestamp, refs,
                                                content_type, metadata)
                    used = set(refs)
                    same = True
                else:
                    info = self.store.copy_object(source.container, source.name, state.container, state.name,
                                                  metadata=metadata, content_type=content_type,
                                                  fresh_metadata=True)
                    version = Version.single(state.container, state.name, info.etag, info.size, info.timestamp,
                                             content_type, metadata)
                    same = same_etag(info.etag, source.etag) and info.size == source.size
            except BaseException:
                self._delete(fresh)
                raise
            self._installed(state, version, used, base, gen, grown=True)
        with self.stats.lock:
            self.stats.server_copies += 1
        return same

    def _copied_segments(self, state: FileState, source: Version, fresh: list[SegmentRef]) -> list[SegmentRef]:
        """``source``'s pieces, each a piece of a copy of its segment object
        (every object copied once, however many ranges of it are pieces)."""
        seg_container = self._segment_container(state.container)
        first: dict[tuple[str, str], Piece] = {}
        for piece in source.pieces:
            first.setdefault((piece.ref.container, piece.ref.name), piece)

        def one(piece: Piece) -> tuple[tuple[str, str], str]:
            ref = piece.ref
            name = self._segment_name(state.name, piece.offset)
            info = self.store.copy_object(ref.container, ref.name, seg_container, name, fresh_metadata=True)
            with self._lock:
                fresh.append(SegmentRef(seg_container, name, info.etag, info.size))
            if not same_etag(info.etag, ref.etag):
                raise CorruptData(f"segment {ref.container}/{ref.name} of {source.container}/{source.name} "
                                  "changed in the store", f"{ref.container}/{ref.name}")
            return (ref.container, ref.name), name

        copies = dict(self._pool.map(one, first.values()))
        return [SegmentRef(seg_container, copies[(p.ref.container, p.ref.name)], p.ref.etag, p.ref.size,
                           p.ref.start, p.ref.object_size) for p in source.pieces]

    def _put_whole(self, state: FileState, size: int, content_type: str | None,
                   metadata: dict[str, str]) -> ObjectInfo:
        """Store a large file as one object, streamed a segment at a time (for
        stores without large objects of segments: S3 takes it as a multipart
        upload)."""
        writer = self.store.open_writer(state.container, state.name, content_type=content_type,
                                        metadata=metadata)
        try:
            for start in range(0, size, self.segment_size):
                writer.write(state.read(self.fetcher, start, min(self.segment_size, size - start)))
            info = writer.commit()
        except BaseException:
            writer.abort()
            raise
        self.stats.add(size)
        return info

    def _segments(self, state: FileState, size: int, base: Version | None, base_limit: int,
                  dirty: IntervalSet, plan: SegmentPlan, eager: dict[int, EagerSegment],
                  seg_gen: dict[int, int], fresh: list[SegmentRef]) -> list[SegmentRef]:
        """The segments of the new version: kept ones (unchanged since ``base``, or
        uploaded early and not written since) and freshly uploaded ones (added to
        ``fresh`` as they are stored, so a failure can delete them)."""
        kept: dict[int, list[SegmentRef | _Pending]] = {}
        base_pieces = {p.offset: p for p in base.pieces} if base is not None and base.large else {}
        todo: list[tuple[int, int]] = []
        layout = list(plan.segments(size))
        pieces = len(layout)
        for start, length in layout:
            piece = base_pieces.get(start)
            whole_base = piece is not None and piece.ref.size == length and start + length <= base_limit
            if piece is not None and whole_base and not dirty.intersects(start, start + length):
                kept[start] = [piece.ref]
                continue
            early = eager.get(start)
            if early is not None and early.ref.size == length and early.gen >= seg_gen.get(start, 0):
                kept[start] = [early.ref]
                continue
            if piece is not None and whole_base:
                runs = _patch_runs(dirty, start, length)
                if runs is not None and pieces + 2 * len(runs) <= MAX_PIECES:
                    # Bytes the write did not touch stay where they are, as
                    # ranges of the old segment; only the written runs are sent.
                    pieces += 2 * len(runs)
                    kept[start] = []
                    pos = start
                    for a, b in runs:
                        if a > pos:
                            kept[start].append(piece.ref.part(pos - start, a - pos))
                        todo.append((a, b - a))
                        kept[start].append(_Pending(a))
                        pos = b
                    if pos < start + length:
                        kept[start].append(piece.ref.part(pos - start, start + length - pos))
                    continue
            todo.append((start, length))

        def one(start: int, length: int) -> SegmentRef:
            data = state.read(self.fetcher, start, length)
            ref = self._put_segment(state, start, data)
            with self._lock:
                fresh.append(ref)
            return ref

        futures = {start: self._pool.submit(one, start, length) for start, length in todo}
        wait(futures.values())  # all of them, so none adds a segment after a failure is cleaned up
        out: list[SegmentRef] = []
        for start, _ in layout:
            # A segment sent whole, or its kept ranges and sent runs in order.
            for ref in kept.get(start) or [_Pending(start)]:
                out.append(futures[ref.at].result() if isinstance(ref, _Pending) else ref)
        return out

    def _delete(self, refs: list[SegmentRef]) -> None:
        """Best effort: a segment left behind wastes space but breaks nothing."""
        by_container: dict[str, list[str]] = {}
        for ref in refs:
            by_container.setdefault(ref.container, []).append(ref.name)
        for container, names in by_container.items():
            try:
                self.store.delete_many(container, names)
            except NotFound:
                pass
            except (SciSwiftError, OSError) as exc:
                log.warning("could not delete %d replaced segment(s) in %s: %s", len(names), container, exc)



@dataclass(frozen=True)
class _Pending:
    """Stands for the segment being uploaded for the run starting at ``at``."""

    at: int


def _patch_runs(dirty: IntervalSet, start: int, length: int) -> list[tuple[int, int]] | None:
    """The runs of ``[start, start+length)`` to upload when the rest of that
    segment is kept as ranges of its old object: the written intervals, joined
    across gaps under MIN_KEPT_RANGE. None when that would send more than half
    the segment anyway (then it is sent whole: one object instead of pieces)."""
    runs: list[tuple[int, int]] = []
    for a, b, written in dirty.split(start, start + length):
        if not written:
            continue
        if runs and a - runs[-1][1] < MIN_KEPT_RANGE:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((a, b))
    if not runs or sum(b - a for a, b in runs) * 2 > length:
        return None
    return runs
