"""Commits: making a file's local state the stored object, atomically.

A file up to one segment is stored with one PUT. A larger one becomes a static
large object: each segment whose bytes are unchanged since the stored version is
reused as it is, the others are uploaded (concurrently) as new segment objects in
``<container>_segments``, and then one manifest PUT replaces the object. Only after
that are the segments it no longer uses deleted. So rewriting 1 MiB inside a
1 GiB file uploads the one or two segments around it and a manifest, and a crash
at any point leaves either the old object or the new one.

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

from sciswift.errors import NotFound, SciSwiftError
from sciswift.mount.errors import log
from sciswift.mount.intervals import IntervalSet
from sciswift.mount.layout import SegmentPlan, Version
from sciswift.mount.openfile import EagerSegment, FileState
from sciswift.mount.reader import Fetcher
from sciswift.store import ObjectInfo, Store
from sciswift.store.large import SegmentRef, segments_container
from sciswift.store.names import MAX_OBJECT_NAME_LENGTH, utf8_len

__all__ = ["Uploader", "UploadStats"]


@dataclass
class UploadStats:
    """What the mount sent to the store (for benchmarks and ``sciswift umount``)."""

    bytes_uploaded: int = 0
    objects_uploaded: int = 0
    manifests: int = 0
    segments_deleted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, nbytes: int) -> None:
        with self.lock:
            self.bytes_uploaded += nbytes
            self.objects_uploaded += 1

    def as_dict(self) -> dict[str, int]:
        return {"bytes_uploaded": self.bytes_uploaded, "objects_uploaded": self.objects_uploaded,
                "manifests": self.manifests, "segments_deleted": self.segments_deleted}


class Uploader:
    """Commits FileStates to ``store`` (see the module docstring)."""

    def __init__(self, store: Store, fetcher: Fetcher, *, segment_size: int, workers: int = 6) -> None:
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
            # The new object is in place: what it no longer uses can go.
            replaced = [p.ref for p in base.pieces if p.ref not in used] if base is not None and base.large else []
            replaced = [r for r in replaced if r.container == segments_container(state.container)]
            with state.lock:
                leftovers = [e.ref for e in state.eager.values() if e.ref not in used]
                state.eager.clear()
                state.base = version
                state.base_limit = version.size
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
            return True

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
        kept: dict[int, SegmentRef] = {}
        base_pieces = {p.offset: p for p in base.pieces} if base is not None and base.large else {}
        todo: list[tuple[int, int]] = []
        layout = list(plan.segments(size))
        for start, length in layout:
            piece = base_pieces.get(start)
            if (piece is not None and piece.ref.size == length and start + length <= base_limit
                    and not dirty.intersects(start, start + length)):
                kept[start] = piece.ref
                continue
            early = eager.get(start)
            if early is not None and early.ref.size == length and early.gen >= seg_gen.get(start, 0):
                kept[start] = early.ref
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
        for start, fut in futures.items():
            kept[start] = fut.result()
        return [kept[start] for start, _ in layout]

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
