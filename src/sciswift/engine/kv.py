"""A key-value view of one place in a Store, as the engine sees it.

Keys are object names relative to a ``Location`` (container + prefix). The view
adds what the engine needs beyond the Store's object calls: batched and
concurrent gets and puts, and directory-style listing. It is the only way the
engine touches storage, which keeps request counting and concurrency in one spot.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from sciswift.errors import CorruptData, NotFound
from sciswift.store.base import Store
from sciswift.store.types import OVERWRITE, ByteRange, ListingParams, ObjectInfo, PutMode, Subdir
from sciswift.store.url import Location

__all__ = ["KV", "io_pool"]

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def io_pool() -> ThreadPoolExecutor:
    """The process-wide pool for chunk I/O and codec work.

    Shared, so many open files do not each start threads. Sized for remote stores
    (requests spend most of their time waiting); codec work releases the GIL in
    numcodecs' C code, so threads also use every core for compression.
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            workers = int(os.environ.get("SCISWIFT_IO_THREADS", "0")) or max(16, 4 * (os.cpu_count() or 2))
            _POOL = ThreadPoolExecutor(workers, thread_name_prefix="sciswift-io")
        return _POOL


class KV:
    """Object access under ``location`` (keys are relative to its prefix)."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self.store: Store = location.store
        self.container = location.container
        self._prefix = location.prefix + "/" if location.prefix else ""
        #: Number of store requests made through this view (for tests and tuning).
        self.requests = 0
        # Write-back buffer of small objects (``set_many(..., defer=True)``): written
        # in one batch at ``flush``, as HDF5's chunk cache writes dirty chunks back
        # at flush/close. Thousands of tiny datasets then cost one store batch, not
        # one request (or one file) each.
        self._pending: dict[str, bytes] = {}
        self._pending_bytes = 0
        self._pending_lock = threading.RLock()
        self._flushing = False
        # Objects fetched ahead of the reads that want them (``prefetch``), each
        # handed out once (None: known not to exist). Any write through this view
        # drops its key; ``_writes`` lets a prefetch racing a write discard itself.
        self._stash: dict[str, bytes | None] = {}
        self._stash_bytes = 0
        self._stash_lock = threading.Lock()
        self._writes = 0

    #: Deferred objects are written out once they hold this many bytes.
    DEFER_LIMIT = 4 << 20
    #: Objects above this size are never deferred.
    DEFER_MAX_OBJECT = 256 << 10
    #: Prefetched objects held at most (older ones are dropped beyond it).
    STASH_LIMIT = 16 << 20

    def name(self, key: str) -> str:
        """The full object name of ``key``."""
        return self._prefix + key

    # ------------------------------------------------------- what the store is
    @property
    def local(self) -> bool:
        """Requests are cheap (a local store): no need to batch or prefetch."""
        return self.store.is_local

    @property
    def concurrent_writes(self) -> bool:
        """Create-only and if-match writes are atomic against other writers, so
        read-modify-write can be a compare-and-swap (else writers must not
        share a file)."""
        return self.store.supports_conditional_put

    @property
    def concurrency(self) -> int:
        """How many requests are worth having in flight at once."""
        return 1 if self.store.is_local else 32

    def describe(self, key: str) -> str:
        """``container/object`` of ``key``, for error messages."""
        return f"{self.container}/{self.name(key)}"

    # ------------------------------------------------------------------ reads
    def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The bytes at ``key`` (or one range of them), None if there is no such object."""
        if self._pending or self._flushing:
            # The lock waits out a flush in progress, so the object is found either
            # here or in the store, never in neither.
            with self._pending_lock:
                data = self._pending.get(key)
            if data is not None:
                if byte_range is None:
                    return data
                start, stop = byte_range.resolve(len(data))
                return data[start:stop]
        if self._stash and byte_range is None:
            with self._stash_lock:
                if key in self._stash:
                    stashed = self._stash.pop(key)
                    self._stash_bytes -= len(stashed or b"")
                    return stashed
        self.requests += 1
        try:
            return self.store.get_object(self.container, self._prefix + key, byte_range)
        except NotFound:
            return None

    def prefetch(self, keys: Sequence[str]) -> None:
        """Fetch ``keys`` together (concurrently on remote stores) for reads that
        follow soon: each ``get`` of one of them is then answered once from memory.
        A write through this view meanwhile drops the key (or the whole prefetch,
        if it races the fetch)."""
        with self._stash_lock:
            keys = [k for k in keys if k not in self._stash and k not in self._pending]
            writes = self._writes
        if not keys:
            return
        try:
            got = self.get_many(keys)
        except CorruptData:
            return  # a damaged one fails the read that wants it, naming its own dataset
        with self._stash_lock:
            if self._writes != writes:
                return  # something was written meanwhile: these may be stale
            if self._stash_bytes > self.STASH_LIMIT:
                self._stash.clear()
                self._stash_bytes = 0
            for k in keys:
                data = got.get(k)
                self._stash[k] = data
                self._stash_bytes += len(data or b"")

    def _unstash(self, keys: Iterable[str] | None = None) -> None:
        """A write is about to change ``keys`` (None: anything)."""
        with self._stash_lock:
            self._writes += 1
            if not self._stash:
                return
            if keys is None:
                self._stash.clear()
                self._stash_bytes = 0
                return
            for k in keys:
                if k in self._stash:
                    self._stash_bytes -= len(self._stash.pop(k) or b"")

    def get_with_etag(self, key: str) -> tuple[bytes, str] | None:
        """The bytes at ``key`` and their ETag (for compare-and-swap), None if missing."""
        self._flush_key(key)
        self.requests += 1
        try:
            with self.store.open_object(self.container, self._prefix + key) as reader:
                return reader.readall(), reader.info.etag
        except NotFound:
            return None

    def head(self, key: str) -> ObjectInfo | None:
        self._flush_key(key)
        self.requests += 1
        try:
            return self.store.head_object(self.container, self._prefix + key)
        except NotFound:
            return None

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """Bodies of ``keys``; missing keys are left out. Concurrent for remote stores."""
        if not keys:
            return {}
        found: dict[str, bytes] = {}
        if self._pending or self._flushing:
            with self._pending_lock:
                found = {k: self._pending[k] for k in keys if k in self._pending}
            keys = [k for k in keys if k not in found]
            if not keys:
                return found
        self.requests += len(keys)
        names = [self._prefix + k for k in keys]
        got = self.store.get_many(self.container, names)
        cut = len(self._prefix)
        found.update((n[cut:], b) for n, b in got.items())
        return found

    def read_into(self, keys: Sequence[str], buf: memoryview, consume: Callable[[str], None]) -> list[str]:
        """Where the store can (LocalStore's ``read_many_into``): read each of
        ``keys`` whose object is exactly ``len(buf)`` bytes into ``buf`` and call
        ``consume(key)`` before the next read reuses it. Returns the keys not
        handled (all of them for other stores, or while writes wait in the buffer)."""
        if not self.store.supports_read_into or self._pending or self._flushing:
            return list(keys)
        self.requests += len(keys)
        cut = len(self._prefix)
        left = self.store.read_many_into(
            self.container, [self._prefix + k for k in keys], buf, lambda n: consume(n[cut:])
        )
        return [n[cut:] for n in left]

    # ----------------------------------------------------------------- writes
    def copy(self, key: str, new_key: str) -> None:
        """Copy the object at ``key`` to ``new_key`` (server-side where the store
        can)."""
        self._unstash([new_key])
        self._drop_pending([new_key])
        self.requests += 1
        self.store.copy_object(self.container, self.name(key), self.container, self.name(new_key))

    def set(self, key: str, data: bytes, *, mode: PutMode = OVERWRITE, content_type: str | None = None) -> ObjectInfo:
        self._unstash([key])
        self._drop_pending([key])
        self.requests += 1
        return self.store.put_object(
            self.container, self._prefix + key, data, mode=mode, content_type=content_type
        )

    def set_many(self, items: Mapping[str, bytes], *, defer: bool = False) -> None:
        """Store many objects; each is atomic, the batch is not.

        ``defer``: small objects may wait in the write-back buffer until ``flush``
        (reads through this view see them at once; other readers after the flush).
        The values are copied, so the caller may reuse its buffers.
        """
        if not items:
            return
        self._unstash(items)
        if defer:
            now: dict[str, bytes] = {}
            with self._pending_lock:
                for k, v in items.items():
                    if len(v) > self.DEFER_MAX_OBJECT:
                        now[k] = v
                        continue
                    old = self._pending.get(k)
                    if old is not None:
                        self._pending_bytes -= len(old)
                    data = bytes(v)
                    self._pending[k] = data
                    self._pending_bytes += len(data)
                full = self._pending_bytes >= self.DEFER_LIMIT
            if full:
                self.flush()
            if not now:
                return
            items = now
        else:
            self._drop_pending(items)
        self.requests += len(items)
        self.store.put_many(self.container, {self._prefix + k: v for k, v in items.items()})

    def set_many_filled(self, keys: Sequence[str], size: int, fill: Callable[[str, memoryview], None]) -> bool:
        """Where the store can (LocalStore's ``put_many_filled``): store ``keys``,
        each ``size`` bytes written by ``fill(key, buf)`` into a reused buffer;
        False (nothing done) for other stores."""
        if not self.store.supports_put_filled:
            return False
        if not keys:
            return True
        self._unstash(keys)
        self._drop_pending(keys)
        self.requests += len(keys)
        cut = len(self._prefix)
        self.store.put_many_filled(
            self.container, [self._prefix + k for k in keys], size, lambda n, buf: fill(n[cut:], buf)
        )
        return True

    def flush(self) -> None:
        """Write out every deferred object (one batch)."""
        with self._pending_lock:
            if not self._pending:
                return
            # Flag first: a reader that checks without the lock sees the objects
            # pending or the flush under way, never neither.
            self._flushing = True
            items, self._pending, self._pending_bytes = self._pending, {}, 0
            try:
                self.requests += len(items)
                self.store.put_many(self.container, {self._prefix + k: v for k, v in items.items()})
            except BaseException:
                # Nothing is lost silently: what could not be written stays pending.
                items.update(self._pending)
                self._pending = items
                self._pending_bytes = sum(len(v) for v in items.values())
                raise
            finally:
                self._flushing = False

    def discard_pending(self, prefix: str) -> None:
        """Forget deferred objects under ``prefix`` (their node is being deleted)."""
        if not self._pending:
            return
        with self._pending_lock:
            self._drop_pending([k for k in self._pending if k.startswith(prefix)])

    def _flush_key(self, key: str) -> None:
        if self._pending or self._flushing:
            with self._pending_lock:  # waits for a flush in progress to land
                if key in self._pending:
                    self.flush()

    def _drop_pending(self, keys: Iterable[str]) -> None:
        if not self._pending:
            return
        with self._pending_lock:
            for k in keys:
                old = self._pending.pop(k, None)
                if old is not None:
                    self._pending_bytes -= len(old)

    def delete(self, key: str) -> bool:
        """Delete ``key``; False if it did not exist."""
        self._unstash([key])
        self._flush_key(key)
        self.requests += 1
        try:
            self.store.delete_object(self.container, self._prefix + key)
            return True
        except NotFound:
            return False

    def delete_many(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        if not keys:
            return 0
        self._unstash(keys)
        if self._pending or self._flushing:
            with self._pending_lock:
                if any(k in self._pending for k in keys):
                    self.flush()
        self.requests += len(keys)
        return self.store.delete_many(self.container, [self._prefix + k for k in keys])

    # --------------------------------------------------------------- listings
    def list_prefix(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix`` (relative keys, in UTF-8 order)."""
        self.flush()
        cut = len(self._prefix)
        self.requests += 1
        try:
            return [n[cut:] for n in self.store.iter_names(self.container, self._prefix + prefix)]
        except NotFound:
            return []

    def list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        """``(keys, subdirs)`` directly under ``prefix`` (which ends with ``/`` or is
        empty); subdir names are returned without the trailing ``/``."""
        self.flush()
        cut = len(self._prefix) + len(prefix)
        keys: list[str] = []
        dirs: list[str] = []
        marker = ""
        while True:
            self.requests += 1
            try:
                page = self.store.list_objects(
                    self.container,
                    ListingParams(prefix=self._prefix + prefix, delimiter="/", marker=marker, limit=10000),
                )
            except NotFound:
                return [], []
            for entry in page:
                if isinstance(entry, Subdir):
                    dirs.append(entry.name[cut:-1])
                else:
                    keys.append(entry.name[cut:])
            if len(page) < 10000:
                return keys, dirs
            marker = page[-1].name

    def container_exists(self) -> bool:
        self.requests += 1
        try:
            self.store.head_container(self.container)
            return True
        except NotFound:
            return False

    def ensure_container(self) -> None:
        self.requests += 1
        self.store.create_container(self.container)

    def submit(self, fn, *args) -> Future:  # type: ignore[no-untyped-def,type-arg]
        """Run ``fn(*args)`` on the shared I/O pool."""
        return io_pool().submit(fn, *args)
