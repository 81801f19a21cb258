"""A key-value view of one place in a Store, as the engine sees it.

Keys are object names relative to a ``Location`` (container + prefix). The view
adds what the engine needs beyond the Store's object calls: batched and
concurrent gets and puts, and directory-style listing. It is the only way the
engine touches storage, which keeps request counting and concurrency in one spot.

Chunks of packed small arrays (``engine.packing``) live in pack objects or in the
metadata; the view routes their keys through its ``PackTable``, so readers and
writers above it (arrays, the HDF5 view) use the same keys either way.
"""

from __future__ import annotations

import builtins
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sciswift.engine.packing import INLINE_MAX, PACKS_DIR, PackTable, Ref, pack_chunks
from sciswift.errors import AlreadyExists, CorruptData, NotFound, PreconditionFailed
from sciswift.store.base import Store
from sciswift.store.types import (
    CREATE,
    OVERWRITE,
    ByteRange,
    IfMatch,
    ListingParams,
    ObjectInfo,
    PutMode,
    ReadHints,
    Subdir,
)
from sciswift.store.url import Location

__all__ = ["KV", "io_pool"]

_T = TypeVar("_T")

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def io_pool() -> ThreadPoolExecutor:
    """The process-wide pool for chunk I/O and codec work.

    Shared, so many open files do not each start threads. Sized for remote stores
    (requests spend most of their time waiting): one thread per request of
    ``KV.REMOTE_CONCURRENCY`` in flight, so a read of that many chunks is one
    round trip, not several; codec work releases the GIL in numcodecs' C code, so
    threads also use every core for compression.
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(io_workers(), thread_name_prefix="sciswift-io")
        return _POOL


def io_workers() -> int:
    """The threads of ``io_pool`` (``SCISWIFT_IO_THREADS``, else sized for
    remote stores): each may have a store request in flight."""
    return int(os.environ.get("SCISWIFT_IO_THREADS", "0")) or max(KV.REMOTE_CONCURRENCY, 4 * (os.cpu_count() or 2))


_AHEAD: ThreadPoolExecutor | None = None
#: Threads of the read-ahead pool.
AHEAD_WORKERS = 8


def _ahead_pool() -> ThreadPoolExecutor:
    """Threads for background reads (packs read ahead). Apart from ``io_pool`` so
    that readers waiting on a read ahead can never hold every thread it needs."""
    global _AHEAD
    with _POOL_LOCK:
        if _AHEAD is None:
            _AHEAD = ThreadPoolExecutor(AHEAD_WORKERS, thread_name_prefix="sciswift-ahead")
        return _AHEAD


def _pools_after_fork_in_child() -> None:
    # A forked child has none of the parent's threads, but a copied pool would
    # still count them as its workers and never start new ones: work submitted
    # to it would wait forever. The child makes pools of its own on first use.
    global _POOL, _AHEAD, _POOL_LOCK
    _POOL = _AHEAD = None
    _POOL_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_pools_after_fork_in_child)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


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
        # Keys being fetched ahead in the background (``prefetch_later``): a get of
        # one waits for that fetch instead of sending its own request.
        self._inflight: dict[str, Future[None]] = {}
        # Packed small arrays (engine.packing): the chunk keys that are packed,
        # the table of where their chunks are, and packs read whole (read ahead
        # once a second chunk of the same pack is asked for).
        self._packed_keys: set[str] = set()
        # Chunk keys of small arrays whose packing is not decided yet: their
        # writes wait in the buffer, and ``before_flush`` decides (Hierarchy).
        self._undecided: set[str] = set()
        #: Called at the start of every ``flush`` (the hierarchy decides packing there).
        self.before_flush: Callable[[], None] | None = None
        self.packs = PackTable()
        self._pack_lock = threading.Lock()
        self._pack_cache: OrderedDict[str, bytes] = OrderedDict()
        self._pack_cache_bytes = 0
        self._pack_loading: dict[str, Future[bytes | None]] = {}
        self._pack_misses: dict[str, int] = {}
        #: Packs some chunk was in when last seen (see ``take_dead_packs``).
        self._known_packs: set[str] = set()
        self._pack_order: list[str] | None = None
        # Where reads found objects (read_parts; the store's, see ReadHints):
        # every write through this view forgets the keys it changes (_unstash).
        self._hints = ReadHints()

    #: Deferred objects are written out once they hold this many bytes.
    DEFER_LIMIT = 4 << 20
    #: Objects above this size are never deferred.
    DEFER_MAX_OBJECT = 256 << 10
    #: Prefetched objects held at most (older ones are dropped beyond it).
    STASH_LIMIT = 16 << 20
    #: Requests in flight at once on a remote store. 64: a read of a 64-chunk
    #: dataset is one round trip (at 32 it was two in sequence).
    REMOTE_CONCURRENCY = 64
    #: Whole packs kept in memory at most.
    PACK_CACHE_LIMIT = 64 << 20

    def name(self, key: str) -> str:
        """The full object name of ``key``."""
        return self._prefix + key

    # ------------------------------------------------------- what the store is
    @property
    def local(self) -> bool:
        """Requests are cheap (a local store): no need to batch or prefetch."""
        return self.store.is_local

    @property
    def merges_writers(self) -> bool:
        """Conditional writes are atomic, or at least checked when sent (real
        Swift: a HEAD before the PUT): worth a compare-and-swap that merges what
        other writers stored meanwhile, which then loses only what another writer
        stores within the few milliseconds between check and write."""
        return self.store.supports_conditional_put or bool(getattr(self.store, "checks_conditional_put", False))

    @property
    def concurrent_writes(self) -> bool:
        """Create-only and if-match writes are atomic against other writers, so
        read-modify-write can be a compare-and-swap (else writers must not
        share a file)."""
        return self.store.supports_conditional_put

    @property
    def concurrency(self) -> int:
        """How many requests are worth having in flight at once."""
        return 1 if self.store.is_local else self.REMOTE_CONCURRENCY

    @property
    def batches_gets(self) -> bool:
        """``get_many`` of many keys costs a few requests, not one per key: hand
        it many keys at once rather than spreading ``get`` over threads."""
        return not self.store.is_local and self.store.batches_gets

    @property
    def round_trip(self) -> float | None:
        """About one round trip to a remote store in seconds (None: unknown)."""
        return None if self.store.is_local else self.store.round_trip

    @property
    def batches_puts(self) -> bool:
        """``set_many`` of many small objects costs a few requests, not one per
        key: hand it many objects at once rather than spreading ``set`` over
        threads (may ask a remote store's ``/info`` once)."""
        return not self.store.is_local and self.store.batches_puts

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
        if key in self._packed_keys:
            return self._packed_get(key, byte_range)
        if self._inflight:
            with self._stash_lock:
                pending = self._inflight.get(key)
            if pending is not None:
                pending.result()  # fetched ahead: its answer lands in the stash
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

    def prefetch_later(self, keys: Sequence[str]) -> None:
        """``prefetch`` in the background: returns at once; a ``get`` of one of
        ``keys`` meanwhile waits for the fetch already under way rather than
        asking again. Used to fetch what is likely read next without delaying
        what was asked for."""
        with self._stash_lock:
            keys = [k for k in keys if k not in self._stash and k not in self._inflight]
            if not keys:
                return
            future: Future[None] = Future()
            for k in keys:
                self._inflight[k] = future

        def run() -> None:
            try:
                self.prefetch(keys)
            except Exception:  # noqa: BLE001 - a failed guess: the reads ask again themselves
                pass
            finally:
                with self._stash_lock:
                    for k in keys:
                        if self._inflight.get(k) is future:
                            del self._inflight[k]
                future.set_result(None)

        _ahead_pool().submit(run)

    def prefetch(self, keys: Sequence[str]) -> None:
        """Fetch ``keys`` together (concurrently on remote stores) for reads that
        follow soon: each ``get`` of one of them is then answered once from memory.
        A write through this view meanwhile drops the key (or the whole prefetch,
        if it races the fetch)."""
        with self._stash_lock:
            keys = [k for k in keys if k not in self._stash and k not in self._pending
                    and k not in self._packed_keys]
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
        """A write is about to change ``keys`` (None: anything): what reads
        fetched ahead or learned of them is dropped."""
        if keys is None:
            self._hints.clear()
        elif len(self._hints):
            prefix = self._prefix
            self._hints.forget_many(prefix + k for k in keys)
        with self._stash_lock:
            self._writes += 1
            if self._inflight:
                # A fetch under way may return the old bytes: a get no longer waits
                # for it (and its result is discarded, see prefetch).
                if keys is None:
                    self._inflight.clear()
                else:
                    for k in keys:
                        self._inflight.pop(k, None)
            if not self._stash:
                return
            if keys is None:
                self._stash.clear()
                self._stash_bytes = 0
                return
            for k in keys:
                if k in self._stash:
                    self._stash_bytes -= len(self._stash.pop(k) or b"")

    def _written(self, keys: Iterable[str]) -> None:
        """A write of ``keys`` is over (done or failed): forget their hints again,
        and tell reads under way (``read_parts``) that they may have noted the
        versions it replaced."""
        with self._stash_lock:
            self._writes += 1
        self._hints.forget_many(self._prefix + k for k in keys)

    def get_with_etag(self, key: str) -> tuple[bytes, str] | None:
        """The bytes at ``key`` and their ETag (for compare-and-swap), None if missing."""
        if key in self._packed_keys:
            with self._pending_lock:
                data = self._pending.get(key)
            if data is None:
                data = self._packed_get(key, None)
            # The ETag of a packed chunk is the MD5 of its bytes, as an object's is.
            return None if data is None else (data, _md5(data))
        self._flush_key(key)
        self.requests += 1
        try:
            with self.store.open_object(self.container, self._prefix + key) as reader:
                return reader.readall(), reader.info.etag
        except NotFound:
            return None

    def head(self, key: str) -> ObjectInfo | None:
        if key in self._packed_keys:
            got = self.get_with_etag(key)
            return None if got is None else ObjectInfo(name=self.name(key), size=len(got[0]), etag=got[1],
                                                       timestamp=time.time())
        self._flush_key(key)
        self.requests += 1
        try:
            return self.store.head_object(self.container, self._prefix + key)
        except NotFound:
            return None

    def get_many(self, keys: Sequence[str], max_workers: int | None = None) -> dict[str, bytes]:
        """Bodies of ``keys``; missing keys are left out. Concurrent for remote
        stores (at most ``max_workers`` requests at once: 1 makes a store that
        batches gets send one request for them all)."""
        if not keys:
            return {}
        found: dict[str, bytes] = {}
        if self._pending or self._flushing:
            with self._pending_lock:
                found = {k: self._pending[k] for k in keys if k in self._pending}
            keys = [k for k in keys if k not in found]
            if not keys:
                return found
        if self._packed_keys:
            packed = [k for k in keys if k in self._packed_keys]
            if packed:
                found.update(self._packed_get_many(packed))
                keys = [k for k in keys if k not in self._packed_keys]
                if not keys:
                    return found
        self.requests += len(keys)
        names = [self._prefix + k for k in keys]
        got = self.store.get_many(self.container, names) if max_workers is None else \
            self.store.get_many(self.container, names, max_workers=max_workers)
        cut = len(self._prefix)
        found.update((n[cut:], b) for n, b in got.items())
        return found

    def read_into(self, keys: Sequence[str], buf: memoryview, consume: Callable[[str], None],
                  absent: Callable[[str], None] | None = None) -> list[str]:
        """Where the store can (``Store.read_many_into``): read each of ``keys``
        whose object is exactly ``len(buf)`` bytes into ``buf`` and call
        ``consume(key)`` before the next read reuses it; ``absent(key)`` for a
        key the store found missing on the way (if given). Returns the keys not
        handled (all of them for other stores, or while writes wait in the buffer)."""
        if not self.store.supports_read_into or self._pending or self._flushing or self._packed_keys:
            return list(keys)
        cut = len(self._prefix)
        left = self.store.read_many_into(
            self.container, [self._prefix + k for k in keys], buf, lambda n: consume(n[cut:]),
            None if absent is None else (lambda n: absent(n[cut:])),
        )
        self.requests += len(keys) - len(left)
        return [n[cut:] for n in left]

    def read_parts(
        self, parts: Sequence[tuple[str, int, int, int]], consume: Callable[[int, memoryview], None],
        learn: str | None = None,
    ) -> list[int]:
        """Where the store can (LocalStore's ``read_parts_into``): for each
        ``(key, size, start, stop)`` of ``parts`` whose object is ``size`` bytes,
        call ``consume(index, view)`` with its bytes ``start .. stop-1`` (``view``
        valid only during the call). Returns the indexes not handled (all of
        them for other stores, or while writes wait in the buffer).

        The store keeps where it found each object in this file's hints (see
        ``forget_hints``) and may learn where all objects under the key prefix
        ``learn`` are at once. Every write through this KV forgets the hints of
        the keys it writes, so reads see them; what other processes (or other
        opens of the file) write is seen once ``forget_hints`` is called, as
        HDF5 sees others' writes only after a refresh or a reopen."""
        if not self.store.supports_read_parts or self._pending or self._flushing or self._packed_keys:
            return list(range(len(parts)))
        self.requests += len(parts)
        prefix = self._prefix
        writes = self._writes
        try:
            return self.store.read_parts_into(
                self.container, [(prefix + k, size, start, stop) for k, size, start, stop in parts], consume,
                self._hints, None if learn is None else prefix + learn,
            )
        finally:
            if self._writes != writes:
                # A write of this view ran meanwhile: this read may have noted the
                # versions it replaced, after it forgot them.
                self._hints.clear()

    def forget_hints_of(self, keys: Iterable[str]) -> None:
        """Forget where reads found ``keys`` (one was found damaged: the store
        has quarantined it, and reads must say so)."""
        self._hints.forget_many(self._prefix + k for k in keys)

    def forget_hints(self, prefix: str = "") -> None:
        """Forget where reads found the objects under key ``prefix`` (all: ""), so
        the next reads look them up (and see what others wrote since)."""
        if prefix or self._prefix:
            self._hints.forget_prefix(self._prefix + prefix)
        else:
            self._hints.clear()

    # ----------------------------------------------------------------- writes
    def copy(self, key: str, new_key: str) -> None:
        """Copy the object at ``key`` to ``new_key`` (server-side where the store
        can)."""
        self._unstash([new_key])
        self._drop_pending([new_key])
        if key in self._packed_keys or new_key in self._packed_keys:
            # Packed chunks are copied by reference (both keys are packed: a
            # moved array keeps its packing).
            data = self.get(key)
            if data is not None:
                self.set(new_key, data)
            return
        self.requests += 1
        try:
            self.store.copy_object(self.container, self.name(key), self.container, self.name(new_key))
        finally:
            self._written([new_key])

    def set(self, key: str, data: bytes, *, mode: PutMode = OVERWRITE, content_type: str | None = None) -> ObjectInfo:
        self._unstash([key])
        if key in self._packed_keys:
            return self._packed_set(key, data, mode)
        self._drop_pending([key])
        self.requests += 1
        try:
            return self.store.put_object(
                self.container, self._prefix + key, data, mode=mode, content_type=content_type
            )
        finally:
            self._written([key])

    def set_many(self, items: Mapping[str, bytes], *, defer: bool = False) -> None:
        """Store many objects; each is atomic, the batch is not.

        ``defer``: small objects may wait in the write-back buffer until ``flush``
        (reads through this view see them at once; other readers after the flush).
        The values are copied, so the caller may reuse its buffers.
        """
        if not items:
            return
        self._unstash(items)
        if self._packed_keys and any(k in self._packed_keys for k in items):
            for k in [k for k in items if k in self._packed_keys]:
                self._packed_set(k, items[k], OVERWRITE)
            items = {k: v for k, v in items.items() if k not in self._packed_keys}
            if not items:
                return
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
        try:
            self.store.put_many(self.container, {self._prefix + k: v for k, v in items.items()})
        finally:
            self._written(items)

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
        try:
            self.store.put_many_filled(
                self.container, [self._prefix + k for k in keys], size, lambda n, buf: fill(n[cut:], buf)
            )
        finally:
            self._written(keys)
        return True

    def flush(self) -> None:
        """Write out every deferred object (one batch)."""
        if self.before_flush is not None and self._undecided:
            self.before_flush()
        with self._pending_lock:
            if not self._pending:
                return
            # Flag first: a reader that checks without the lock sees the objects
            # pending or the flush under way, never neither.
            self._flushing = True
            items, self._pending, self._pending_bytes = self._pending, {}, 0
            try:
                if self._undecided:
                    self.unpack_keys([k for k in items if k in self._undecided])  # nobody decided: ordinary
                packed = {k: v for k, v in items.items() if k in self._packed_keys}
                plain = {k: v for k, v in items.items() if k not in self._packed_keys} if packed else items
                if packed:
                    self._write_packs(packed)
                if plain:
                    self.requests += len(plain)
                    try:
                        self.store.put_many(self.container, {self._prefix + k: v for k, v in plain.items()})
                    finally:
                        self._written(plain)
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
        if key in self._packed_keys:
            with self._pending_lock:
                was_pending = self._pending.pop(key, None) is not None
            with self._pack_lock:
                return self._forget_packed(key) or was_pending
        self._flush_key(key)
        self.requests += 1
        try:
            self.store.delete_object(self.container, self._prefix + key)
            return True
        except NotFound:
            return False
        finally:
            self._written([key])

    def delete_many(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        if not keys:
            return 0
        self._unstash(keys)
        gone = 0
        if self._packed_keys and any(k in self._packed_keys for k in keys):
            gone = sum(self.delete(k) for k in keys if k in self._packed_keys)
            keys = [k for k in keys if k not in self._packed_keys]
            if not keys:
                return gone
        if self._pending or self._flushing:
            with self._pending_lock:
                if any(k in self._pending for k in keys):
                    self.flush()
        self.requests += len(keys)
        try:
            return gone + self.store.delete_many(self.container, [self._prefix + k for k in keys])
        finally:
            self._written(keys)

    # --------------------------------------------------------------- listings
    def list_prefix(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix`` (relative keys, in UTF-8 order)."""
        self.flush()
        cut = len(self._prefix)
        self.requests += 1
        with self._pack_lock:
            packed = self.packs.keys_under(prefix)
        try:
            found = [n[cut:] for n in self.store.iter_names(self.container, self._prefix + prefix)]
        except NotFound:
            found = []
        if packed:
            found = sorted({*found, *packed}, key=lambda s: s.encode("utf-8", "surrogatepass"))
        return found

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

    # ---------------------------------------------------------- packed chunks
    def pack_keys(self, keys: Iterable[str]) -> None:
        """Treat ``keys`` as chunk keys of packed arrays (``engine.packing``):
        their chunks are written into packs (or inlined) at ``flush`` and read
        through the table."""
        keys = list(keys)
        with self._pack_lock:
            self._packed_keys.update(keys)
            self._undecided.difference_update(keys)

    def hold_keys(self, keys: Iterable[str]) -> None:
        """``keys`` (chunks of new small arrays, nothing stored yet) may be packed:
        hold their writes in the buffer until ``before_flush`` calls
        ``pack_keys`` or ``unpack_keys`` for them."""
        keys = list(keys)
        with self._pack_lock:
            self._packed_keys.update(keys)
            self._undecided.update(keys)

    def unpack_keys(self, keys: Iterable[str]) -> None:
        """``keys`` are ordinary objects again (the array is gone, or was not packed)."""
        keys = list(keys)
        with self._pack_lock:
            self._packed_keys.difference_update(keys)
            self._undecided.difference_update(keys)

    def is_packed(self, key: str) -> bool:
        return key in self._packed_keys

    def attach_packs(self, table: PackTable, *, fresh: bool = False) -> None:
        """Use ``table`` (read with, or merged into, the root document) for the
        packed chunks from now on; ``fresh``: the packs known so far are gone
        (the file was truncated)."""
        with self._pack_lock:
            self.packs = table
            self._known_packs = table.packs() if fresh else table.packs() | self._known_packs
            self._pack_order = None

    def take_dead_packs(self) -> builtins.set[str]:
        """Packs that held chunks once and hold none now (to delete once the
        root no longer refers to them)."""
        with self._pack_lock:
            live = self.packs.packs()
            known = self._known_packs
            self._known_packs = live
            return known - live

    def _forget_packed(self, key: str) -> bool:
        """Drop ``key`` from the table (caller holds ``_pack_lock``)."""
        self._pack_order = None
        return self.packs.remove(key)

    def _packed_set(self, key: str, data: bytes, mode: PutMode) -> ObjectInfo:
        """Store a packed chunk: it waits in the write-back buffer and goes into a
        pack (or the metadata) at ``flush``. ``mode`` is checked against the
        current bytes in this process (a packed array's chunk is written by the
        process holding the file; see docs/layout.md)."""
        if mode == CREATE or isinstance(mode, IfMatch):
            got = self.get_with_etag(key)
            if mode == CREATE and got is not None:
                raise AlreadyExists(f"{self.describe(key)} already exists", self.describe(key))
            if isinstance(mode, IfMatch) and (got is None or got[1] != mode.etag):
                raise PreconditionFailed(f"{self.describe(key)} changed (ETag {got[1] if got else None}, "
                                         f"not {mode.etag})", self.describe(key))
        data = bytes(data)
        with self._pending_lock:
            old = self._pending.get(key)
            if old is not None:
                self._pending_bytes -= len(old)
            self._pending[key] = data
            self._pending_bytes += len(data)
            full = self._pending_bytes >= self.DEFER_LIMIT
        if full:
            self.flush()
        return ObjectInfo(name=self.name(key), size=len(data), etag=_md5(data), timestamp=time.time())

    def _write_packs(self, items: Mapping[str, bytes]) -> None:
        """Put the packed chunks ``items`` into new packs (or inline them) and
        record where they went. Packs are never overwritten (fresh names), so a
        reader of the previous table still finds every chunk it names."""
        puts: dict[str, bytes] = {}
        refs: dict[str, Ref] = {}
        with self._pack_lock:
            embed = self.packs.can_embed(v for v in items.values() if len(v) > INLINE_MAX)
        for pack, body, placed in pack_chunks(items.items(), embed=embed):
            if pack is not None:
                puts[pack] = body
            refs.update(placed)
        if puts:
            self.requests += len(puts)
            self.store.put_many(self.container, {self.name(PACKS_DIR + p): b for p, b in puts.items()})
        with self._pack_lock:
            for key, ref in refs.items():
                self.packs.set(key, ref)
            self._known_packs = self._known_packs | set(puts)
            self._pack_order = None
            for pack, body in puts.items():  # what we just wrote reads back from memory
                self._cache_pack(pack, body)

    def _cache_pack(self, pack: str, body: bytes) -> None:
        """Keep a whole pack (caller holds ``_pack_lock``); oldest out beyond the limit."""
        if len(body) > self.PACK_CACHE_LIMIT // 4:
            return
        self._pack_cache[pack] = body
        self._pack_cache_bytes += len(body)
        while self._pack_cache_bytes > self.PACK_CACHE_LIMIT and self._pack_cache:
            _, old = self._pack_cache.popitem(last=False)
            self._pack_cache_bytes -= len(old)

    def _packed_get(self, key: str, byte_range: ByteRange | None) -> bytes | None:
        with self._pack_lock:
            ref = self.packs.get(key)  # an undecided key is in no pack: None, nothing stored
        if ref is None:
            return None  # never written, or holds the fill value: no request needed
        data = self._chunk_bytes(key, ref)
        if byte_range is None:
            return data
        start, stop = byte_range.resolve(len(data))
        return data[start:stop]

    def _chunk_bytes(self, key: str, ref: Ref) -> bytes:
        """The stored bytes of one packed chunk. The first chunk asked for from a
        pack is fetched alone (one small ranged GET: nothing else delays it); a
        second one from the same pack starts reading that pack and the next one
        whole in the background, as sequential readers of many small datasets
        go on through the pack."""
        if ref.data is not None:
            return ref.data
        pack = ref.pack
        assert pack is not None
        with self._pack_lock:
            whole = self._pack_cache.get(pack)
            loading = self._pack_loading.get(pack) if whole is None else None
            misses = 0
            if whole is not None:
                self._pack_cache.move_to_end(pack)
            elif loading is None:
                misses = self._pack_misses[pack] = self._pack_misses.get(pack, 0) + 1
        if loading is not None:
            whole = loading.result()
        if whole is not None and len(whole) >= ref.offset + ref.length:
            return whole[ref.offset: ref.offset + ref.length]
        if misses >= 2:
            self._read_ahead(pack)
        self.requests += 1
        try:
            data = self.store.get_object(self.container, self.name(PACKS_DIR + pack),
                                         ByteRange(ref.offset, ref.offset + ref.length))
        except NotFound:
            raise CorruptData(f"{self.describe(key)} is packed in {self.describe(PACKS_DIR + pack)}, "
                              "which is missing", self.describe(key)) from None
        if len(data) != ref.length:
            raise CorruptData(f"{self.describe(key)}: its pack {self.describe(PACKS_DIR + pack)} is shorter "
                              "than the table says", self.describe(key))
        return data

    def _read_ahead(self, pack: str) -> None:
        """Read ``pack`` and the one written after it whole, in the background."""
        with self._pack_lock:
            if self._pack_order is None:
                self._pack_order = self.packs.pack_order()
            order = self._pack_order
            try:
                i = order.index(pack)
                targets = order[i:i + 2]
            except ValueError:
                targets = [pack]
            starts = []
            for p in targets:
                if p in self._pack_cache or p in self._pack_loading:
                    continue
                future: Future[bytes | None] = Future()
                self._pack_loading[p] = future
                starts.append((p, future))
        for p, future in starts:
            _ahead_pool().submit(self._load_pack, p, future)

    def _load_pack(self, pack: str, future: Future[bytes | None]) -> None:
        data: bytes | None
        try:
            self.requests += 1
            data = self.store.get_object(self.container, self.name(PACKS_DIR + pack))
        except Exception:  # noqa: BLE001 - readers then fetch their chunks themselves (and see the error)
            data = None
        with self._pack_lock:
            if data is not None:
                self._cache_pack(pack, data)
            self._pack_loading.pop(pack, None)
        future.set_result(data)

    def _packed_get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """Packed chunks of ``keys`` (absent ones left out): one ranged GET per
        pack covering the chunks wanted from it, the packs at once."""
        out: dict[str, bytes] = {}
        by_pack: dict[str, list[tuple[str, Ref]]] = {}
        with self._pack_lock:
            refs = [(k, self.packs.get(k)) for k in keys]
        for key, ref in refs:
            if ref is None:
                continue
            if ref.data is not None:
                out[key] = ref.data
            else:
                by_pack.setdefault(ref.pack, []).append((key, ref))  # type: ignore[arg-type]

        def fetch(pack: str, wanted: list[tuple[str, Ref]]) -> dict[str, bytes]:
            with self._pack_lock:
                whole = self._pack_cache.get(pack)
            if whole is None and len(wanted) == 1:
                key, ref = wanted[0]
                return {key: self._chunk_bytes(key, ref)}
            if whole is None:
                lo = min(r.offset for _, r in wanted)
                hi = max(r.offset + r.length for _, r in wanted)
                self.requests += 1
                try:
                    span = self.store.get_object(self.container, self.name(PACKS_DIR + pack), ByteRange(lo, hi))
                except NotFound:
                    raise CorruptData(f"pack {self.describe(PACKS_DIR + pack)} is missing",
                                      self.describe(PACKS_DIR + pack)) from None
                return {k: span[r.offset - lo: r.offset - lo + r.length] for k, r in wanted}
            return {k: whole[r.offset: r.offset + r.length] for k, r in wanted}

        jobs = list(by_pack.items())
        if len(jobs) <= 1:
            for pack, wanted in jobs:
                out.update(fetch(pack, wanted))
        else:
            for future in [_ahead_pool().submit(fetch, p, w) for p, w in jobs]:
                out.update(future.result())
        return out

    def prefix_occupied(self) -> bool | None:
        """Whether any object is stored under this view's prefix: one listing
        request for one name. None if the container does not exist."""
        self.requests += 1
        try:
            return bool(self.store.list_objects(self.container, ListingParams(prefix=self._prefix, limit=1)))
        except NotFound:
            return None

    def ensure_container(self) -> None:
        self.requests += 1
        self.store.create_container(self.container)

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        """Run ``fn(*args)`` on the shared I/O pool."""
        return io_pool().submit(fn, *args)
