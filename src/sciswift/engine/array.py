"""Reading and writing blocks of one Zarr v3 array, many chunks at a time.

Contracts:

- ``read(selection)`` returns exactly the selected block; chunks that were never
  written (or hold only the fill value) read as the fill value without error.
- ``write(selection, value)`` stores every touched chunk atomically (each chunk is
  one object put). A chunk that ends up holding only the fill value is deleted
  instead of stored. A chunk only partly covered is read, modified and written
  back with a compare-and-swap on its ETag where the store supports it, so several
  processes writing disjoint hyperslabs that share chunks all land, without locks.
- A chunk whose bytes cannot be decoded raises CorruptData naming the dataset and
  the chunk, never returns garbage.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, wait
from typing import Any

import numpy as np

from sciswift.engine.chunks import (
    ChunkPiece,
    block_pieces,
    chunk_pieces,
    normalize_selection,
    selection_shape,
)
from sciswift.engine.kv import KV, io_pool
from sciswift.engine.metadata import ArrayMeta, chunk_key_encoder
from sciswift.errors import AlreadyExists, Conflict, CorruptData, PreconditionFailed
from sciswift.store.types import CREATE, IfMatch

__all__ = ["Array", "ChunkCache"]

# Indexing with a trailing Ellipsis keeps 0-d object arrays as views (``a[()]`` would
# return the element itself, which cannot be assigned into).
_E = (Ellipsis,)
#: Arrays whose one chunk is at most this big are fetched with their siblings
#: from remote stores (Hierarchy.prefetch_small_siblings).
SMALL_CHUNK = 64 << 10
#: Chunk bodies a local bulk read holds at once (fetched together, then placed).
_READ_GROUP_BYTES = 4 << 20
#: Chunk bodies one request of a store that batches gets brings, and threads
#: reading such groups at once. 64 MiB in 256 KiB chunks through a local
#: ``sciswift serve`` (2-core VM, loaded): 250-300 ms one GET per chunk on 64
#: threads; 180-230 ms in groups of 4 MiB on 8 threads; 200-350 ms in groups of
#: 16-32 MiB on 4 threads (less overlap of transfer and placing).
_REMOTE_GROUP_BYTES = 4 << 20
_BATCHED_READERS = 8
#: Chunks of at least ``_ALONE_CHUNK`` bytes go one per request when the
#: store's round trip is within ``_ALONE_RTT``: a batch's saving in requests
#: matters where round trips or per-request work decide, a chunk's own request
#: where the link does (each connection then holds one chunk, not four, when
#: the link serves it slowly). 64 MiB in 1 MiB chunks from ``sciswift serve``
#: (bench.net, 1 Gbit/s; zarr-python alongside): at 10 ms RTT 695-710 ms in 16
#: batches of 4, 642-664 ms one per request (zarr-python 655-707 ms); at 50 ms
#: 1,039-1,087 ms batched, 1,204 ms not (zarr-python 1,086-1,110 ms); at 1 ms
#: 598 and 580 ms; on loopback batched was the quicker (median 90 vs 110 ms).
#: (The round trip a fresh process knows may be its auth request's, which on
#: loopback takes 2-3 ms: hence 5 ms, not less, for the lower end.)
_ALONE_CHUNK = 1 << 20
_ALONE_RTT = (0.005, 0.025)
#: A remote store taking one request per chunk gets at most about this many
#: bytes of large chunks asked for at once, in at least ``_REMOTE_MIN_REQUESTS``
#: requests. 64 requests of 1 MiB at once, each a new connection in slow start,
#: overflow the queue of a 1 Gbit/s link (bench.net, the Swift all-in-one, 64
#: MiB: 960-1,169 ms at 10 ms RTT and 1,821-2,076 ms at 50 ms); 16 at once:
#: 769-1,025 and 1,224-1,532 ms. Small chunks still go all at once.
_REMOTE_IN_FLIGHT_BYTES = 16 << 20
_REMOTE_MIN_REQUESTS = 8
#: A chunk read in part (Array._read_parts) ``_RECENT_READS`` times within the
#: last ``_RECENT`` chunks read of its array is read whole and cached the next
#: time. (At the second time: bench.h5 ``random`` read 9-10 chunks whole, whose
#: fresh memory cost ~1 ms, and read again none of them.)
_RECENT = 8
_RECENT_READS = 2
#: Guards every array's count of recent part reads: held for a few dict
#: operations, so one lock for all costs nothing, and an array needs no lock
#: of its own.
_RECENT_LOCK = threading.Lock()
#: Chunks smaller than this are read whole (Array._read_parts): a store checks
#: whole blocks of 64 KiB anyway, and one read of body and trailer beats two.
#: (bench.h5 ``small``, 1,000 datasets of 800 bytes: 0.48 s read whole, 0.83 s
#: in parts, loaded machine.)
_PART_MIN_CHUNK = 128 << 10
#: Arrays of at most this many chunks (a 4096 x 4096 float32 array in 256 x 256
#: chunks has 256) have their chunks located with one query (KV.read_parts).
_LEARN_CHUNKS = 1024


#: The re-readable segment of a ChunkCache (uncompressed chunks of a local
#: store) holds at most this many bytes, as h5py's chunk cache holds 1 MiB per
#: dataset: such a chunk is read again in ~30 us (256 KiB), while keeping many
#: costs fresh memory, whose pages are slow to touch on the project's VM. bench.h5
#: ``random`` (200 windows of 64 x 64 over 177 chunks of 256 KiB), in a loop of
#: the engine's reads over an LRU of N chunks: N = 4-16, 10-12 ms; N = 64,
#: 18-19 ms; every chunk kept (today's 64 MiB), 28-29 ms; h5py 8.7-9.8 ms.
REREAD_BYTES = 2 << 20
#: ... but at least this many chunks of up to ``REREAD_MAX_CHUNK`` (a loop over
#: the elements of a dataset in 4 MiB chunks, the engine's largest default, must
#: not read a chunk per element).
REREAD_MIN_CHUNKS = 2
REREAD_MAX_CHUNK = 4 << 20


class _LRU:
    """Entries least recently used first, and their total size (no lock: the
    ChunkCache holding it locks)."""

    __slots__ = ("items", "size")

    def __init__(self) -> None:
        self.items: OrderedDict[str, tuple[str | None, np.ndarray[Any, Any]]] = OrderedDict()
        self.size = 0

    def pop(self, key: str) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self.size -= old[1].nbytes

    def add(self, key: str, item: tuple[str | None, np.ndarray[Any, Any]]) -> None:
        self.items[key] = item
        self.size += item[1].nbytes

    def trim(self, max_bytes: int, min_items: int = 0) -> None:
        while self.size > max_bytes and len(self.items) > min_items:
            _, (_, evicted) = self.items.popitem(last=False)
            self.size -= evicted.nbytes

    def drop_prefix(self, prefix: str) -> None:
        for key in [k for k in self.items if k.startswith(prefix)]:
            self.pop(key)

    def clear(self) -> None:
        self.items.clear()
        self.size = 0


class ChunkCache:
    """Decoded chunks, least recently used first out, bounded in bytes.

    Shared by the arrays of one open file (every handle of a file in a process
    shares one hierarchy, so a write through any of them updates or drops the
    entries it touches). Entries are ``(etag, array)``; ``etag`` is None when
    unknown (a chunk we wrote without reading back an ETag). The cache owns its
    arrays: callers copy out of them and never hand them out.

    Chunks that are cheap to read again (``put(..., reread=True)``: uncompressed
    chunks of a local store) are kept apart, at most ``reread_bytes`` of them (see
    ``REREAD_BYTES``), so random reads recycle a few buffers instead of filling
    the cache with fresh memory; the rest share ``max_bytes``.
    """

    def __init__(self, max_bytes: int = 64 << 20, reread_bytes: int = REREAD_BYTES) -> None:
        self.max_bytes = max_bytes
        self.reread_bytes = reread_bytes
        self._main = _LRU()
        self._reread = _LRU()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str | None, np.ndarray[Any, Any]] | None:
        with self._lock:
            for lru in (self._reread, self._main):
                item = lru.items.get(key)
                if item is not None:
                    lru.items.move_to_end(key)
                    return item
            return None

    def put(self, key: str, chunk: np.ndarray[Any, Any], etag: str | None = None, *, reread: bool = False) -> None:
        """Keep ``chunk`` (the cache now owns it) as the decoded chunk at ``key``;
        ``reread``: it is cheap to read again (see the class docstring)."""
        if chunk.nbytes > self.max_bytes // 4:
            self.discard(key)
            return
        with self._lock:
            self._main.pop(key)
            self._reread.pop(key)
            if reread:
                self._reread.add(key, (etag, chunk))
                self._reread.trim(self.reread_bytes, REREAD_MIN_CHUNKS)
            else:
                self._main.add(key, (etag, chunk))
                self._main.trim(self.max_bytes)

    def keeps(self, count: int, chunk_bytes: int, reread: bool) -> bool:
        """Whether a read of ``count`` chunks of ``chunk_bytes`` not cached should
        keep them: a small read (random access) may; a scan would only churn the
        cache (and keeping its buffers alive defeats malloc's reuse: page faults
        made a 64 MiB read 2.5x slower)."""
        if reread:
            return (count <= REREAD_MIN_CHUNKS and chunk_bytes <= REREAD_MAX_CHUNK) or \
                count * chunk_bytes <= self.reread_bytes
        return count * chunk_bytes <= self.max_bytes // 8

    def discard(self, key: str) -> None:
        with self._lock:
            self._main.pop(key)
            self._reread.pop(key)

    def discard_prefix(self, prefix: str) -> None:
        with self._lock:
            self._main.drop_prefix(prefix)
            self._reread.drop_prefix(prefix)

    def clear(self) -> None:
        with self._lock:
            self._main.clear()
            self._reread.clear()


def _bytes_of(a: np.ndarray[Any, Any]) -> memoryview:
    """The bytes of a new (C-contiguous) array, writable. Through a uint8 view:
    ``a.data.cast("B")`` refuses dtypes the buffer protocol cannot describe
    (datetime64, long double in a non-native order)."""
    return a.reshape(-1).view(np.uint8).data


def _ignore(_key: str) -> None:
    """A ``consume`` callback with nothing to do (the buffer is kept as it is)."""


#: Chunks of up to this many bytes are written in groups where the store batches
#: puts (``KV.batches_puts``; SwiftStore sends objects of up to 1 MiB as
#: archives, where that pays: see ``sciswift.store.swift.tar``) ...
BATCHED_PUT_MAX_CHUNK = 1 << 20
#: ... groups of about this many bytes (one archive each) ...
BATCHED_PUT_BYTES = 8 << 20
#: ... and at least this many chunks (fewer go as plain PUTs: see SwiftStore.put_many).
BATCHED_PUT_MIN_GROUP = 16


def _finish(futures: list[Future[Any]]) -> None:
    """Wait for every one of ``futures``, then raise the first failure among
    them (in order) if any. Never returns while some are still running: a
    reader left behind would write into an output the caller already has, a
    writer would store chunks after the caller saw the write fail."""
    wait(futures)
    for f in futures:
        f.result()


def _batches(items: list[Any], parts: int) -> list[list[Any]]:
    size = max(1, math.ceil(len(items) / parts))
    return [items[i : i + size] for i in range(0, len(items), size)]


class Array:
    """One array of a hierarchy: ``path`` is its node path ("" for a root array)."""

    #: How many times a partial-chunk compare-and-swap write is retried.
    CAS_RETRIES = 50

    def __init__(
        self,
        kv: KV,
        path: str,
        meta: ArrayMeta,
        cache: ChunkCache | None = None,
        prefetch: Callable[[Array], None] | None = None,
    ) -> None:
        self.kv = kv
        #: Called before a remote read of this array's single small chunk: the
        #: hierarchy fetches it together with its small siblings' (see Hierarchy).
        self._prefetch = prefetch
        self.path = path
        self.meta = meta
        self.cache = cache if cache is not None else ChunkCache()
        self.pipeline = meta.pipeline()
        if self.pipeline.sharded:
            self.pipeline.bind_shard(meta.chunks, self._is_fill)
        kind, sep = chunk_key_encoder(meta.doc or {})
        base = f"{path}/" if path else ""
        if kind == "default":
            self._key_base = base + "c"
            self._sep = sep
            self._v2 = False
        else:
            self._key_base = base
            self._sep = sep
            self._v2 = True
        self._fill_chunk: np.ndarray[Any, Any] | None = None
        # Chunk shape and dtype never change (a resize changes the shape only).
        self._chunk_bytes = math.prod(meta.chunks) * max(meta.dtype.itemsize, 1)
        # Not ``kv.concurrent_writes`` here: asking a remote store may cost a request
        # (Swift's /info), which reads never need (see _write_partial).
        self._local = kv.local
        #: Chunks are cheap to read again: uncompressed, from a local store (kept
        #: in the cache's small re-readable segment, see ChunkCache).
        self._reread = self._local and self.pipeline.trivial and meta.dtype.itemsize > 0
        #: Chunks whose parts were read lately (see _read_parts), oldest first,
        #: and how many times; made at the first such read (a file may list
        #: thousands of arrays never read in parts).
        self._recent: dict[str, int] | None = None
        # The store may learn where every chunk is with one query at the first
        # read (see KV.read_parts) when there are not many.
        # (Plain loops: a file's 1,000 small arrays are made in a listing, and
        # generator expressions here were a third of making one.)
        grid = 1
        for n, c in zip(meta.shape, meta.chunks):
            grid *= -(-n // c) if n else 1
        self._learn = self.chunk_prefix if 1 < grid <= _LEARN_CHUNKS and not self._v2 else None
        # Byte strides of a stored chunk (C order).
        stride = self.pipeline.stored_dtype.itemsize
        strides = []
        for c in reversed(meta.chunks):
            strides.append(stride)
            stride *= int(c)
        self._byte_strides = tuple(reversed(strides))

    @property
    def _batched(self) -> bool:
        """The store fetches many chunks in a few requests (asked per read: a
        remote store may learn it only after the first reads, see
        SwiftStore.batches_gets)."""
        return self.kv.batches_gets

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.meta.shape

    @property
    def chunks(self) -> tuple[int, ...]:
        return self.meta.chunks

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.meta.dtype

    @property
    def fill_value(self) -> Any:
        return self.meta.fill_value

    def describe(self) -> str:
        return f"/{self.path}" if self.path else "/"

    def chunk_key(self, coords: Sequence[int]) -> str:
        """The object key (relative to the file) of the chunk at ``coords``."""
        if self._v2:
            return self._key_base + (self._sep.join(map(str, coords)) if coords else "0")
        if not coords:
            return self._key_base
        return self._key_base + self._sep + self._sep.join(map(str, coords))

    @property
    def chunk_prefix(self) -> str:
        """Every chunk key of this array starts with this."""
        return self._key_base + ("" if self._v2 else self._sep)

    # -------------------------------------------------------------- helpers
    def _new_chunk(self) -> np.ndarray[Any, Any]:
        """A chunk-shaped array holding the fill value (a fresh, writable copy)."""
        if self._fill_chunk is None:
            fc = np.empty(self.chunks, dtype=self.dtype)
            if self.dtype.kind == "O":
                fill = self.fill_value
                for idx in np.ndindex(fc.shape):
                    fc[idx] = fill
            else:
                fc[...] = self.fill_value
            self._fill_chunk = fc
        return self._fill_chunk.copy()

    def _is_fill(self, chunk: np.ndarray[Any, Any]) -> bool:
        if self.dtype.kind == "O" or self.dtype.hasobject:
            return False
        fill = self.fill_value
        if chunk.size and self.dtype.kind in "biu" and chunk.flat[0] != fill:
            return False  # the usual answer, without a pass over the chunk
        if chunk.size and self.dtype.kind == "f":
            first = chunk.flat[0]
            if first != fill and not (first != first and fill != fill):
                return False
        if self.dtype.kind in "fc":
            return bool(np.array_equal(chunk, np.broadcast_to(np.asarray(fill, self.dtype), chunk.shape), equal_nan=True))
        if self.dtype.fields is not None or self.dtype.kind == "V":
            return chunk.tobytes() == np.asarray(fill, self.dtype).tobytes() * chunk.size
        return bool(np.all(chunk == fill))

    def _decode(self, key: str, raw: bytes) -> np.ndarray[Any, Any]:
        try:
            return self.pipeline.decode(raw, self.chunks)
        except CorruptData as e:
            raise CorruptData(
                f"dataset {self.describe()}: chunk {key} ({self.kv.describe(key)}) is corrupt: {e.message}",
                self.kv.describe(key),
            ) from e

    def _damage(self, e: CorruptData, keys: Iterable[str]) -> CorruptData:
        """``e``, damage the store found reading one of the chunks ``keys`` (a
        damaged or quarantined object), saying which dataset and chunk it breaks,
        in the words of ``_decode``."""
        if e.message.startswith("dataset "):
            return e  # already says which dataset and chunk (a decoding failure)
        key = next((k for k in keys if self.kv.describe(k) == e.subject), None)
        what = f"chunk {key} ({e.subject})" if key is not None else f"a chunk ({e.subject})"
        return type(e)(f"dataset {self.describe()}: {what} is corrupt: {e.message}", e.subject)

    def _load(self, key: str) -> np.ndarray[Any, Any] | None:
        """The decoded chunk at ``key`` (cache first), None if not stored."""
        hit = self.cache.get(key)
        if hit is not None:
            return hit[1]
        try:
            raw = self.kv.get(key)
        except CorruptData as e:
            raise self._damage(e, [key]) from None
        if raw is None:
            return None
        chunk = self._decode(key, raw)
        self.cache.put(key, chunk, reread=self._reread)
        return chunk

    # ------------------------------------------------------------------ read
    def read(self, selection: Sequence[slice], out: np.ndarray[Any, Any] | None = None) -> np.ndarray[Any, Any]:
        """The block picked by one slice per dimension (steps > 0)."""
        sel = normalize_selection(selection, self.shape)
        shape = selection_shape(sel)
        if out is None:
            out = np.empty(shape, dtype=self.dtype)
        elif out.shape != shape:
            raise ValueError(f"output has shape {out.shape}, selection has {shape}")
        if out.size == 0:
            return out
        for s in sel:
            if s.step != 1:
                pieces = list(chunk_pieces(sel, self.chunks, self.shape))
                break
        else:
            pieces = block_pieces(sel, self.chunks, self.shape)
        todo: list[tuple[str, ChunkPiece]] = []
        for p in pieces:
            key = self.chunk_key(p.coords)
            hit = self.cache.get(key)
            if hit is not None:
                out[p.outer + _E] = hit[1][p.inner + _E]
            else:
                todo.append((key, p))
        if not todo:
            return out
        if self._prefetch is not None and len(todo) == 1 and not self._local and self.is_small_single_chunk:
            self._prefetch(self)
        keep = self.cache.keeps(len(todo), self.pipeline_chunk_bytes, self._reread)
        if len(todo) == 1 or (self._local and self.pipeline.trivial):
            self._read_batch(todo, out, keep)
        elif self._batched and not self._local:
            self._read_shared(todo, out, keep)
        elif self._local:
            # A few threads, each with its share of the chunks.
            _finish([io_pool().submit(self._read_batch, b, out, keep) for b in _batches(todo, 4)])
        else:
            # A remote store taking a request per chunk: one thread per request
            # worth having in flight, each taking the next chunk as it is done,
            # so that a slow or hung request holds up its own chunk only, not a
            # fixed share. (bench.net, 64 MiB in 1 MiB chunks from the Swift
            # all-in-one at 10 ms RTT: fixed shares of 4 took 842-846 ms against
            # zarr-python's 745-852, this 697-831 against 702-805: the
            # all-in-one varies more between runs than the two differ.)
            self._take_turns(todo, out, keep, self._requests_in_flight(), 1)
        return out

    def _read_shared(self, todo: list[tuple[str, ChunkPiece]], out: np.ndarray[Any, Any], keep: bool) -> None:
        """Read ``todo`` from a store that batches gets: ``_BATCHED_READERS``
        threads each take the next group of chunks (one request) as they finish
        the last. A group is ``_REMOTE_GROUP_BYTES`` (one chunk when chunks
        are large and the round trip moderate: ``_ALONE_CHUNK``), or less when
        one group per reader covers the read (then it is one round of equal
        groups: more rounds would cost round trips where latency, not the
        link, decides).
        Handing each reader a fixed share instead left the read waiting for its
        slowest connection: at 10 ms RTT through a 1 Gbit/s link, three of eight
        connections took 3.5x as long as the rest for their first 4 MiB, and the
        read ended with three busy (``bench.net`` bulk read, 64 MiB: 770-835 ms
        fixed shares, 671-717 ms so, zarr-python 654-716 ms). Groups that
        shrank as the work ran out (guided self-scheduling) measured no better
        there and cost requests: 54 instead of 18 for 64 MiB of 1 MiB chunks
        with groups down to one chunk, ~40 instead of 16 for 64 MiB of 256 KiB
        chunks (loopback times, 208-311 against 161-216 ms, varied as much
        between runs)."""
        readers = min(_BATCHED_READERS, len(todo))
        chunk_bytes = max(self.pipeline_chunk_bytes, 1)
        rtt = self.kv.round_trip
        if chunk_bytes >= _ALONE_CHUNK and rtt is not None and _ALONE_RTT[0] <= rtt <= _ALONE_RTT[1]:
            per_group = 1
        else:
            per_group = max(1, _REMOTE_GROUP_BYTES // chunk_bytes)
        self._take_turns(todo, out, keep, readers, min(per_group, -(-len(todo) // readers)))

    def _take_turns(self, todo: list[tuple[str, ChunkPiece]], out: np.ndarray[Any, Any], keep: bool,
                    readers: int, size: int) -> None:
        """Read ``todo`` on ``readers`` threads, each taking the next ``size``
        chunks (one ``_read_batch``) as it finishes the last; the first failure
        stops the others after their current chunks and is raised once all are
        done."""
        readers = max(1, min(readers, len(todo)))
        lock = threading.Lock()
        taken = 0
        failed = threading.Event()

        def next_group() -> list[tuple[str, ChunkPiece]]:
            nonlocal taken
            with lock:
                if taken >= len(todo) or failed.is_set():
                    return []
                group = todo[taken:taken + size]
                taken += len(group)
                return group

        def reader() -> None:
            try:
                while group := next_group():
                    self._read_batch(group, out, keep)
            except BaseException:
                failed.set()  # the others stop after their current group
                raise

        _finish([io_pool().submit(reader) for _ in range(readers)])

    @property
    def is_small_single_chunk(self) -> bool:
        """One chunk of at most ``SMALL_CHUNK`` bytes holds the whole array."""
        return self.pipeline_chunk_bytes <= SMALL_CHUNK and all(
            s <= c for s, c in zip(self.shape, self.chunks, strict=False)
        )

    @property
    def pipeline_chunk_bytes(self) -> int:
        """Decoded size of one chunk, in bytes."""
        return self._chunk_bytes

    def _read_batch(self, todo: list[tuple[str, ChunkPiece]], out: np.ndarray[Any, Any], keep: bool = True) -> None:
        try:
            self._fetch_and_place(todo, out, keep)
        except CorruptData as e:
            # Damage the store found (a truncated, damaged or quarantined chunk
            # object): say which dataset and chunk it breaks too. Where these
            # chunks were is forgotten: a damaged one is quarantined now, which
            # every later read must say, not serve its intact blocks.
            self.kv.forget_hints_of([key for key, _ in todo])
            raise self._damage(e, (key for key, _ in todo)) from None

    def _fetch_and_place(self, todo: list[tuple[str, ChunkPiece]], out: np.ndarray[Any, Any], keep: bool) -> None:
        if self._reread and keep:
            # Small reads (random windows) of uncompressed chunks of a local store:
            # the part of a chunk the window needs (see _read_parts); a chunk
            # read again soon is read whole, straight into the array the cache
            # keeps (one system call), without a bytes object to decode first.
            todo = self._load_into_cache(self._read_parts(todo, out), out)
            if not todo:
                return
        if len(todo) > 1 and self.pipeline.trivial and not keep and (self._local or self._batched):
            # Uncompressed chunks of a local store, or of a remote one in batched
            # GETs: each is read straight into one scratch chunk and copied into
            # place, as HDF5 reads chunks, instead of into a new buffer per chunk
            # (see LocalStore.read_many_into, SwiftStore.read_many_into).
            scratch = np.empty(self.chunks, dtype=self.pipeline.stored_dtype)
            pieces = dict(todo)

            def place(key: str) -> None:
                p = pieces[key]
                out[p.outer + _E] = scratch[p.inner + _E]

            def fill(key: str) -> None:
                out[pieces[key].outer + _E] = self.fill_value

            left = set(self.kv.read_into(list(pieces), _bytes_of(scratch), place, fill))
            todo = [(k, p) for k, p in todo if k in left]
            if not todo:
                return
        if len(todo) > 1 and (self._local or self._batched):
            # One index lookup and one open per pack for a group of chunks instead
            # of both per chunk (4096x4096 float32 in 256x256 chunks: fetching all
            # 256 measured 8.9 -> 5.8 ms); from a store that batches gets, a few
            # requests for the group instead of one per chunk. Groups bound the
            # bodies held at once.
            limit = _READ_GROUP_BYTES if self._local else _REMOTE_GROUP_BYTES
            group = max(1, limit // max(self.pipeline_chunk_bytes, 1))
            for i in range(0, len(todo), group):
                part = todo[i:i + group]
                # a store that batches gets (not local here): one request per group
                got = self.kv.get_many([key for key, _ in part], max_workers=None if self._local else 1)
                self._place(part, got.get, out, keep)
            return
        self._place(todo, self.kv.get, out, keep)

    def _read_parts(self, todo: list[tuple[str, ChunkPiece]], out: np.ndarray[Any, Any]) -> list[tuple[str, ChunkPiece]]:
        """Copy into ``out`` each piece of ``todo`` from the bytes of its chunk it
        spans (first to last element it selects, in C order: a 64 x 64 window of a
        256 x 256 float32 chunk is 64 KiB of its 256 KiB), read by the store into
        its scratch buffer, checked, and not cached. A chunk asked for a third
        time within the last ``_RECENT`` chunk reads (see ``_RECENT_READS``) is
        returned instead, with the pieces the store did not serve (missing
        chunks, other sizes), for the whole-chunk path, which caches it: a loop
        over small parts of one chunk reads it three times, not once a part.

        bench.h5 ``random`` (200 windows of 64 x 64, 292 pieces of 177 chunks of
        256 KiB), a loop doing just these reads: whole chunks into a small
        recycled cache 10-12 ms, these parts 7 ms, h5py 9-11 ms."""
        if self._chunk_bytes < _PART_MIN_CHUNK:
            return todo
        whole: list[tuple[str, ChunkPiece]] = []
        parts: list[tuple[str, ChunkPiece]] = []
        with _RECENT_LOCK:
            recent = self._recent
            if recent is None:
                recent = self._recent = {}
            for key, p in todo:
                seen = recent.pop(key, 0)
                if seen >= _RECENT_READS:
                    whole.append((key, p))
                else:
                    recent[key] = seen + 1
                    parts.append((key, p))
            while len(recent) > _RECENT:
                del recent[next(iter(recent))]
        if not parts:
            return whole
        stored = self.pipeline.stored_dtype
        item = stored.itemsize
        strides = self._byte_strides
        size = self._chunk_bytes
        specs: list[tuple[str, int, int, int]] = []
        views: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        for key, p in parts:
            # The bytes from the first element the piece selects to its last.
            first = last = 0
            shape: list[int] = []
            steps: list[int] = []
            for s, st in zip(p.inner, strides):
                a, k = s.start, s.step
                n = (s.stop - a + k - 1) // k
                first += a * st
                last += (a + (n - 1) * k) * st
                shape.append(n)
                steps.append(k * st)
            specs.append((key, size, first, last + item))
            views.append((tuple(shape), tuple(steps)))

        def place(i: int, view: memoryview) -> None:
            shape, steps = views[i]
            out[parts[i][1].outer + _E] = np.ndarray(shape, stored, buffer=view, strides=steps)

        for i in self.kv.read_parts(specs, place, self._learn):
            whole.append(parts[i])
        return whole

    def _load_into_cache(self, todo: list[tuple[str, ChunkPiece]], out: np.ndarray[Any, Any]) -> list[tuple[str, ChunkPiece]]:
        """Read each chunk of ``todo`` into a new chunk array (the store reads and
        checks it in place), cache it and copy its piece into ``out``; returns
        the pieces the store could not read this way (missing chunks, other
        sizes), for the ordinary path."""
        left: list[tuple[str, ChunkPiece]] = []
        stored = self.pipeline.stored_dtype
        for key, p in todo:
            chunk = np.empty(self.chunks, dtype=stored)
            if self.kv.read_into([key], _bytes_of(chunk), _ignore):
                left.append((key, p))
                continue
            self.cache.put(key, chunk, reread=self._reread)
            out[p.outer + _E] = chunk[p.inner + _E]
        return left

    def _place(
        self,
        todo: list[tuple[str, ChunkPiece]],
        fetch: Callable[[str], bytes | None],
        out: np.ndarray[Any, Any],
        keep: bool,
    ) -> None:
        """Decode each chunk ``fetch`` gives (None: not stored) into its part of ``out``."""
        fill = self.fill_value
        for key, p in todo:
            raw = fetch(key)
            if raw is None:
                if self.dtype.kind == "O":
                    region = out[p.outer + _E]
                    for idx in np.ndindex(region.shape):
                        region[idx] = fill
                else:
                    out[p.outer + _E] = fill
                continue
            chunk = self._decode(key, raw)
            if keep:
                self.cache.put(key, chunk, reread=self._reread)
            out[p.outer + _E] = chunk[p.inner + _E]

    # ----------------------------------------------------------------- write
    def write(self, selection: Sequence[slice], value: Any) -> None:
        """Store ``value`` (broadcast to the selection's shape) into the block."""
        sel = normalize_selection(selection, self.shape)
        shape = selection_shape(sel)
        if math.prod(shape) == 0:
            return
        if self.dtype.kind == "O":
            arr = np.empty(shape, dtype=self.dtype)
            arr[...] = value if not isinstance(value, np.ndarray) or value.shape == shape or value.ndim == 0 else np.broadcast_to(value, shape)
            value = arr
        else:
            value = np.broadcast_to(np.asarray(value, dtype=self.dtype), shape)
        pieces = list(chunk_pieces(sel, self.chunks, self.shape))
        full = [p for p in pieces if p.full]
        partial = [p for p in pieces if not p.full]
        if full:
            self._write_full(full, value)
        if partial:
            if len(partial) == 1:
                self._write_partial(partial, value)
            else:
                workers = 4 if self._local else self.kv.concurrency
                _finish([io_pool().submit(self._write_partial, b, value) for b in _batches(partial, workers)])

    def _chunk_from(self, p: ChunkPiece, value: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        block = value[p.outer + _E]
        if block.shape == self.chunks:
            return np.ascontiguousarray(block)
        chunk = self._new_chunk()  # an edge chunk: pad beyond the array with fill
        chunk[p.inner + _E] = block
        return chunk

    def _write_full(self, pieces: list[ChunkPiece], value: np.ndarray[Any, Any]) -> None:
        def encode(batch: list[ChunkPiece]) -> tuple[dict[str, bytes], list[str]]:
            puts: dict[str, bytes] = {}
            drops: list[str] = []
            for p in batch:
                key = self.chunk_key(p.coords)
                chunk = self._chunk_from(p, value)
                if self._is_fill(chunk):
                    drops.append(key)
                    self.cache.discard(key)
                else:
                    puts[key] = self.pipeline.encode(chunk)
                    # Not cached: the chunk may be a view of the caller's array.
                    self.cache.discard(key)
            return puts, drops

        if len(pieces) < 8:
            # A small write (typical of many small datasets): the chunks wait in the
            # file's write-back buffer and go out in one batch at flush/close.
            puts, drops = encode(pieces)
            self.kv.set_many(puts, defer=True)
            self.kv.delete_many(drops)
            return

        if self._local:
            def store(batch: list[ChunkPiece]) -> None:
                if self.pipeline.trivial and self._store_filled(batch, value):
                    return
                puts, drops = encode(batch)
                self.kv.set_many(puts)
                self.kv.delete_many(drops)

            # Two halves at once: gathering chunks (numpy copies) and file writes
            # release the GIL, so both cores work (4096x4096 float32 in 256x256
            # chunks: measured 110 -> 60 ms on 2 cores).
            _finish([io_pool().submit(store, b) for b in _batches(pieces, 2)])
            return

        if self._chunk_bytes <= BATCHED_PUT_MAX_CHUNK and self.kv.batches_puts:
            # The store takes many chunks per request (SwiftStore on `sciswift
            # serve`: tar archives stored as one batch each): groups of ~8 MiB,
            # several at once. 4096x4096 float32 in 256x256 chunks to a durable
            # server: 0.5-1.0 s of server CPU as 256 PUTs, 0.23-0.27 s this way.
            per = max(BATCHED_PUT_MIN_GROUP, BATCHED_PUT_BYTES // max(1, self._chunk_bytes))

            def encode_and_store_many(batch: list[ChunkPiece]) -> None:
                puts, drops = encode(batch)
                self.kv.set_many(puts)
                self.kv.delete_many(drops)

            groups = [pieces[i:i + per] for i in range(0, len(pieces), per)]
            _finish([io_pool().submit(encode_and_store_many, b) for b in groups])
            return

        def encode_and_store(batch: list[ChunkPiece]) -> None:
            puts, drops = encode(batch)
            for k, v in puts.items():
                self.kv.set(k, v)
            for k in drops:
                self.kv.delete(k)

        _finish([io_pool().submit(encode_and_store, b) for b in _batches(pieces, self._requests_in_flight())])

    def _requests_in_flight(self) -> int:
        """Whole-chunk requests worth having in flight at once on a remote store
        that takes one request per chunk: every chunk of a read at once when
        chunks are small (a 64-chunk read is one round trip), but no more than
        about ``_REMOTE_IN_FLIGHT_BYTES`` of large ones (see there)."""
        return min(self.kv.concurrency, max(_REMOTE_MIN_REQUESTS, _REMOTE_IN_FLIGHT_BYTES // self._chunk_bytes))

    def _store_filled(self, pieces: list[ChunkPiece], value: np.ndarray[Any, Any]) -> bool:
        """Store full-chunk pieces of an uncompressed array on a local store, each
        chunk copied into one reused buffer as it is written (as HDF5 writes
        chunks) instead of into a copy of its own (see LocalStore.put_many_filled).
        False if the store cannot."""
        keys: dict[str, ChunkPiece] = {}
        drops: list[str] = []
        for p in pieces:
            key = self.chunk_key(p.coords)
            self.cache.discard(key)  # not cached: the chunk may be a view of the caller's array
            if self._is_fill(value[p.outer + _E]):
                drops.append(key)
            else:
                keys[key] = p
        stored = self.pipeline.stored_dtype

        def fill(key: str, buf: memoryview) -> None:
            p = keys[key]
            chunk = np.frombuffer(buf, dtype=stored).reshape(self.chunks)
            block = value[p.outer + _E]
            if block.shape != self.chunks:  # an edge chunk: pad beyond the array with fill
                chunk[...] = self.fill_value
                chunk[p.inner + _E] = block
            else:
                chunk[...] = block

        if not self.kv.set_many_filled(list(keys), self.pipeline_chunk_bytes, fill):
            return False
        self.kv.delete_many(drops)
        return True

    def _write_partial(self, pieces: list[ChunkPiece], value: np.ndarray[Any, Any]) -> None:
        concurrent = self.kv.concurrent_writes
        for p in pieces:
            key = self.chunk_key(p.coords)
            if not concurrent:
                chunk = self._load(key)
                chunk = self._new_chunk() if chunk is None else np.array(chunk, copy=True)
                chunk[p.inner + _E] = value[p.outer + _E]
                self._store_chunk(key, chunk)
                continue
            self._compare_and_swap(key, p, value)

    def _store_chunk(self, key: str, chunk: np.ndarray[Any, Any]) -> None:
        if self._is_fill(chunk):
            self.kv.delete(key)
            self.cache.discard(key)
        else:
            self.kv.set(key, self.pipeline.encode(chunk))
            # The main part of the cache, as before: writes of parts of many
            # chunks (row by row) find their chunks there, not in the store.
            self.cache.put(key, chunk)

    def _compare_and_swap(self, key: str, p: ChunkPiece, value: np.ndarray[Any, Any]) -> None:
        # Read-modify-write that never loses another writer's update to the same
        # chunk: the put only succeeds against the version we modified.
        hit = self.cache.get(key)
        for _ in range(self.CAS_RETRIES):
            if hit is not None and hit[0] is not None:
                etag, current = hit
                hit = None
            else:
                try:
                    got = self.kv.get_with_etag(key)
                except CorruptData as e:
                    raise self._damage(e, [key]) from None
                if got is None:
                    etag, current = None, None
                else:
                    etag, current = got[1], self._decode(key, got[0])
            chunk = self._new_chunk() if current is None else np.array(current, copy=True)
            chunk[p.inner + _E] = value[p.outer + _E]
            data = self.pipeline.encode(chunk)
            try:
                info = self.kv.set(key, data, mode=CREATE if etag is None else IfMatch(etag))
            except (PreconditionFailed, AlreadyExists):
                continue
            self.cache.put(key, chunk, info.etag)  # as in _store_chunk
            return
        raise Conflict(
            f"dataset {self.describe()}: chunk {key} kept changing under {self.CAS_RETRIES} attempts to update it "
            "(other writers are updating the same chunk: retry, or write disjoint chunks)",
            self.kv.describe(key),
        )

    # ------------------------------------------------------------ raw chunks
    def read_chunk_bytes(self, coords: Sequence[int]) -> bytes | None:
        """The stored (encoded) bytes of the chunk at grid ``coords``, None if that
        chunk is not stored (it holds the fill value)."""
        return self.kv.get(self.chunk_key(coords))

    def write_chunk_bytes(self, coords: Sequence[int], data: bytes | memoryview) -> None:
        """Store already-encoded bytes as the chunk at grid ``coords`` (one atomic
        put), for copies that pass chunks through without decoding them. The caller
        vouches that ``data`` decodes with this array's codecs to a chunk of its
        chunk shape; ValueError if ``coords`` lies outside the chunk grid."""
        grid = [max(1, math.ceil(n / c)) if n else 0 for n, c in zip(self.shape, self.chunks)]
        if len(coords) != len(grid) or any(not 0 <= int(i) < g for i, g in zip(coords, grid)):
            raise ValueError(f"dataset {self.describe()}: chunk {tuple(coords)} is outside its chunk grid {tuple(grid)}")
        key = self.chunk_key([int(i) for i in coords])
        self.cache.discard(key)
        self.kv.set(key, data)  # type: ignore[arg-type]

    def write_chunks_bytes(self, chunks: Mapping[tuple[int, ...], bytes | memoryview]) -> None:
        """``write_chunk_bytes`` for many chunks at once (``{coords: bytes}``), each
        put atomic, the batch not: one ``set_many``, which a store that batches
        puts (``KV.batches_puts``) sends in a few requests."""
        grid = [max(1, math.ceil(n / c)) if n else 0 for n, c in zip(self.shape, self.chunks)]
        puts: dict[str, bytes | memoryview] = {}
        for coords, data in chunks.items():
            if len(coords) != len(grid) or any(not 0 <= int(i) < g for i, g in zip(coords, grid)):
                raise ValueError(
                    f"dataset {self.describe()}: chunk {tuple(coords)} is outside its chunk grid {tuple(grid)}")
            key = self.chunk_key([int(i) for i in coords])
            self.cache.discard(key)
            puts[key] = data
        self.kv.set_many(puts)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- resize
    def stored_chunk_keys(self) -> list[str]:
        """Keys of the chunks that exist in the store."""
        prefix = self.chunk_prefix
        keys = self.kv.list_prefix(prefix)
        if self._v2:
            return [k for k in keys if "/" not in k[len(prefix):] and not k.endswith("zarr.json")]
        return keys

    def coords_of(self, key: str) -> tuple[int, ...] | None:
        """Grid coordinates of a chunk key, None if it is not one of this array's."""
        rest = key[len(self.chunk_prefix):]
        if not rest and not self.shape:
            return ()
        try:
            return tuple(int(x) for x in rest.split(self._sep))
        except ValueError:
            return None

    def resize(self, new_shape: Sequence[int]) -> None:
        """Change the shape. Data outside the new shape is discarded, so growing again
        later shows the fill value there (as HDF5 does)."""
        new_shape = tuple(int(n) for n in new_shape)
        old_shape = self.shape
        if any(n < o for n, o in zip(new_shape, old_shape)):
            drops = []
            trims = []
            for key in self.stored_chunk_keys():
                coords = self.coords_of(key)
                if coords is None or len(coords) != len(new_shape):
                    continue
                starts = [c * s for c, s in zip(coords, self.chunks)]
                if any(st >= n for st, n in zip(starts, new_shape)):
                    drops.append(key)
                elif any(st + s > n and n < o for st, s, n, o in zip(starts, self.chunks, new_shape, old_shape)):
                    trims.append((key, starts))
            self.kv.delete_many(drops)
            for key in drops:
                self.cache.discard(key)
            for key, starts in trims:
                chunk = self._load(key)
                if chunk is None:
                    continue
                chunk = np.array(chunk, copy=True)
                region = tuple(slice(max(0, n - st), None) for st, n in zip(starts, new_shape))
                for d, r in enumerate(region):
                    if r.start < self.chunks[d]:
                        idx = [slice(None)] * len(region)
                        idx[d] = r
                        if self.dtype.kind == "O":
                            sub = chunk[tuple(idx)]
                            for i in np.ndindex(sub.shape):
                                sub[i] = self.fill_value
                        else:
                            chunk[tuple(idx)] = self.fill_value
                self._store_chunk(key, chunk)
        self.meta.shape = new_shape

    def nchunks_stored(self) -> int:
        return len(self.stored_chunk_keys())
