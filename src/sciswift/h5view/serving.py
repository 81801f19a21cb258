"""The bytes of one dataset's chunks, as the HDF5 view serves them.

Each dataset is served in one of three modes, decided from its codecs when the
view is opened (so every chunk's size and address are known without reading a
chunk):

- ``pass``: the chunk object's bytes pass through, or nearly, and the dataset
  declares HDF5's filters for them (shuffle, deflate, fletcher32), which HDF5
  checks and undoes itself. ``sciswift.h5view.passthrough`` says which codecs
  qualify and how each stored chunk becomes HDF5's chunk: as stored (``bytes``,
  ``numcodecs.shuffle``, ``numcodecs.fletcher32``), a ``gzip`` member reframed
  as a zlib stream (sliced, or one inflate for the Adler-32 of members without
  sciswift's framing field), a ``crc32c`` trailer swapped for Fletcher-32.
  Deflated chunks are declared at zlib's bound for the raw size and padded with
  zeros (HDF5's deflate stops at the end of the stream).
- ``decoded``: anything else (zstd, blosc, lz4, scale-offset, transposes,
  sharding): the view declares no filter and serves the decoded chunk.
- ``vlen``: variable-length elements (strings, sequences) and references are
  decoded and served as HDF5 keeps them: 16-byte elements whose data lives in
  global heap collections placed right after the chunk's elements, inside a
  reserved range (``VLEN_RESERVE_PER_ELEMENT`` bytes per element, at least
  ``VLEN_RESERVE_MIN``); a chunk that needs more raises ServeError.

A chunk whose object is absent holds the fill value, and is served as a chunk of
fill values in the dataset's mode (encoded by its own codecs, then passed
through, in ``pass`` mode). Sharded arrays are served per inner chunk: the
shard's index is read from the end (or start) of the shard object, then the
inner chunk's bytes.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import numpy as np

from sciswift.engine import Array
from sciswift.engine.chunks import chunk_pieces
from sciswift.engine.kv import io_pool
from sciswift.errors import CorruptData, RangeNotSatisfiable
from sciswift.h5view.buffer import Buf
from sciswift.h5view.datatypes import VlenString
from sciswift.h5view.errors import NotExpressible, ServeError
from sciswift.h5view.passthrough import Recipe, recipe_for
from sciswift.h5view.tree import DatasetInfo
from sciswift.h5view.values import HeapBuilder, RefTarget, encode_array, encode_strings, is_default_fill
from sciswift.store.types import ByteRange

__all__ = ["UnitCache", "DatasetSource", "ContiguousData", "flat_blocks", "stepped", "VLEN_RESERVE_PER_ELEMENT", "VLEN_RESERVE_MIN", "WHOLE_OBJECT_MAX"]

#: Address room kept for each chunk's variable-length data, per element
#: (``SCISWIFT_H5VIEW_VLEN_RESERVE`` overrides), and at least per chunk.
VLEN_RESERVE_PER_ELEMENT = int(os.environ.get("SCISWIFT_H5VIEW_VLEN_RESERVE", "256"))
VLEN_RESERVE_MIN = 64 << 10
#: Pass-through chunk objects up to this size are fetched whole (and cached) on
#: first touch; larger ones are read by byte ranges as asked (when served at
#: their own size).
WHOLE_OBJECT_MAX = 16 << 20
#: Chunks fetched and decoded ahead of a reader moving from chunk to chunk.
READ_AHEAD = 2

_EMPTY = 2**64 - 1


def _unplaced(key: Hashable) -> int:
    raise AssertionError(f"address of {key!r} asked before the view was planned")


class UnitCache:
    """Served chunk bytes, least recently used out, bounded in bytes. One maker
    runs per key at a time (other readers of the same chunk wait for it)."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Event] = {}

    def get(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        while True:
            with self._lock:
                hit = self._items.get(key)
                if hit is not None:
                    self._items.move_to_end(key)
                    return hit
                event = self._pending.get(key)
                owner = event is None
                if owner:
                    event = self._pending[key] = threading.Event()
            assert event is not None
            if not owner:
                event.wait()
                with self._lock:
                    hit = self._items.get(key)
                if hit is not None:
                    return hit
                continue  # the maker failed or the value was too big to keep: make it here
            try:
                value = make()
                self._put(key, value)
                return value
            finally:
                with self._lock:
                    self._pending.pop(key, None)
                event.set()

    def prefetch(self, key: Hashable, make: Callable[[], bytes]) -> None:
        """Make ``key`` in the background (the engine's I/O pool) unless it is
        cached or being made; a failure is left for the reader to meet."""
        with self._lock:
            if key in self._items or key in self._pending:
                return

        def run() -> None:
            try:
                self.get(key, make)
            except Exception:  # noqa: BLE001 - the foreground read retries and reports it
                pass

        io_pool().submit(run)

    def _put(self, key: Hashable, value: bytes) -> None:
        if len(value) > self.max_bytes // 2:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = value
            self._size += len(value)
            while self._size > self.max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


class DatasetSource:
    """Chunk bytes of one dataset. ``unit_size`` is a chunk's size as the layout
    and the B-tree declare it; ``filters`` the filter pipeline to declare."""

    def __init__(self, key: Hashable, info: DatasetInfo, what: str, cache: UnitCache, ref: RefTarget) -> None:
        self.key = key
        self.info = info
        self.what = what
        self.cache = cache
        self.ref = ref
        self.array: Array = info.array
        self.pipeline = self.array.pipeline
        self.chunks = info.chunks
        self.grid = tuple(-(-n // c) for n, c in zip(info.shape, self.chunks))
        self.count = math.prod(self.grid)
        self.nelem = math.prod(self.chunks)
        self.raw_size = self.nelem * info.htype.size
        self.recipe: Recipe | None = None
        self.mode = self._choose_mode()
        if self.mode == "vlen":
            self.heap_reserve = _round8(max(VLEN_RESERVE_MIN, self.nelem * VLEN_RESERVE_PER_ELEMENT))
        else:
            self.heap_reserve = 0
        self.unit_size = self.recipe.unit_size if self.recipe is not None else self.raw_size
        #: Where the heap of chunk k starts (vlen), and the addresses of the
        #: file's structures (object references): both set by the planner.
        self.heap_address: Callable[[int], int] = lambda k: 0
        self.resolve: Callable[[Hashable], int] = _unplaced
        self._shard_index: OrderedDict[str, np.ndarray[Any, Any] | None] = OrderedDict()
        self._shard_lock = threading.Lock()
        self._fill_unit: bytes | None = None
        self._next = -1

    # ------------------------------------------------------------ decisions
    def _choose_mode(self) -> str:
        info = self.info
        if info.htype.native is None:
            return "vlen"
        p = self.pipeline
        if p.sharded or p.array_array or (p.array_bytes or {}).get("name") != "bytes":
            return "decoded"
        if info.dtype.itemsize != info.htype.size:
            return "decoded"
        codecs = [c for c in p.json if c.get("name") != "bytes"]
        self.recipe = recipe_for(codecs, info.htype.size, self.raw_size)
        return "decoded" if self.recipe is None else "pass"

    @property
    def filters(self) -> list[tuple[int, int, list[int]]]:
        """The filter pipeline to declare (write order); empty unless passing through."""
        return list(self.recipe.filters) if self.recipe is not None else []

    @property
    def _ranged_reads(self) -> bool:
        """Large chunks served at their own size are read by byte ranges as asked."""
        return self.recipe is not None and self.recipe.exact and self.unit_size > WHOLE_OBJECT_MAX

    def force_decoded(self) -> None:
        """Serve decoded chunks and declare no filter (contiguous datasets, which
        HDF5 cannot filter)."""
        if self.mode == "pass":
            self.mode, self.recipe, self.unit_size = "decoded", None, self.raw_size

    # ---------------------------------------------------------------- units
    def coords(self, k: int) -> tuple[int, ...]:
        return tuple(int(c) for c in np.unravel_index(k, self.grid)) if self.grid else ()

    def read(self, k: int, lo: int, hi: int) -> bytes:
        """Bytes ``[lo, hi)`` of chunk ``k``'s served unit (its elements; for vlen
        chunks followed by their heap collections)."""
        if self._ranged_reads:
            return self._ranged(k, lo, hi)
        if k == self._next and k + 1 < self.count:
            # Reading on from the previous chunk: fetch and decode the next ones
            # meanwhile (HDF5 reads a dataset chunk after chunk).
            for ahead in range(k + 1, min(self.count, k + 1 + READ_AHEAD)):
                self.cache.prefetch((self.key, ahead), lambda a=ahead: self._make(a))  # type: ignore[misc]
        self._next = k + 1
        unit = self.cache.get((self.key, k), lambda: self._make(k))
        if self.recipe is not None:
            return self.recipe.slice(unit, lo, hi)
        if hi <= len(unit):
            return unit[lo:hi]
        return unit[lo:hi] + bytes(hi - max(lo, len(unit)))

    def warm(self, ks: Iterable[int]) -> None:
        """Start fetching chunks ``ks`` in the background (for a read spanning them)."""
        if self._ranged_reads:
            return
        # No more than half the cache holds, or they would push each other out.
        room = max(1, self.cache.max_bytes // 2 // max(1, self.unit_size + self.heap_reserve))
        for k in list(ks)[:room]:
            if 0 <= k < self.count:
                self.cache.prefetch((self.key, k), lambda a=k: self._make(a))  # type: ignore[misc]

    def _ranged(self, k: int, lo: int, hi: int) -> bytes:
        recipe = self.recipe
        assert recipe is not None
        key = self.array.chunk_key(self.coords(k))
        if recipe.identical:
            return self._ranged_get(key, lo, hi)
        # A crc32c chunk: its body passes through by ranges; the Fletcher-32
        # trailer needs the whole object (checked against its CRC-32C).
        body_end = self.unit_size - 4
        out = self._ranged_get(key, lo, min(hi, body_end)) if lo < body_end else b""
        if hi > body_end:
            trailer = self.cache.get((self.key, k, "trailer"), lambda: self._trailer(k, key))
            out += trailer[max(0, lo - body_end):hi - body_end]
        return out

    def _ranged_get(self, key: str, lo: int, hi: int) -> bytes:
        try:
            data = self.array.kv.get(key, ByteRange(lo, hi))
        except RangeNotSatisfiable:
            data = b""
        if data is None:
            return self._fill()[lo:hi]
        if len(data) != hi - lo:
            raise ServeError(f"dataset {self.what}: chunk {key} is shorter than its {self.unit_size} bytes", self.what)
        return data

    def _trailer(self, k: int, key: str) -> bytes:
        raw = self.array.kv.get(key)
        return self._fill()[-4:] if raw is None else self._pass(key, bytes(raw))[-4:]

    def _make(self, k: int) -> bytes:
        coords = self.coords(k)
        if self.pipeline.sharded:
            return self._make_sharded(k, coords)
        key = self.array.chunk_key(coords)
        raw = self.array.kv.get(key)
        if raw is None:
            return self._fill_for(k)
        if self.recipe is not None:
            return self._pass(key, bytes(raw))
        try:
            chunk = self.pipeline.decode(raw, self.array.chunks)
        except CorruptData as e:
            raise ServeError(f"dataset {self.what}: chunk {key} cannot be decoded: {e.message}", self.what) from e
        return self._encode(k, chunk)

    def _pass(self, key: str, raw: bytes) -> bytes:
        """The kept unit of a stored chunk passed through (``Recipe.convert``)."""
        assert self.recipe is not None
        try:
            return self.recipe.convert(raw)
        except CorruptData as e:
            raise ServeError(f"dataset {self.what}: chunk {key}: {e.message}", self.what) from e

    def _make_sharded(self, k: int, coords: tuple[int, ...]) -> bytes:
        shard = self.pipeline.shard
        per = shard.grid
        outer = tuple(c // p for c, p in zip(coords, per))
        within = tuple(c % p for c, p in zip(coords, per))
        key = self.array.chunk_key(outer)
        index = self._index_of(key)
        if index is None:
            return self._fill_for(k)
        n = int(np.ravel_multi_index(within, per)) if per else 0
        off, size = int(index[n, 0]), int(index[n, 1])
        if off == _EMPTY and size == _EMPTY:
            return self._fill_for(k)
        raw = self.array.kv.get(key, ByteRange(off, off + size))
        if raw is None or len(raw) != size:
            raise ServeError(f"dataset {self.what}: shard {key} ends before its inner chunk {within}", self.what)
        try:
            chunk = shard.decode_inner(raw)
        except CorruptData as e:
            raise ServeError(f"dataset {self.what}: inner chunk {within} of shard {key} cannot be decoded: "
                             f"{e.message}", self.what) from e
        return self._encode(k, chunk)

    def _index_of(self, key: str) -> np.ndarray[Any, Any] | None:
        with self._shard_lock:
            if key in self._shard_index:
                self._shard_index.move_to_end(key)
                return self._shard_index[key]
        shard = self.pipeline.shard
        where, size = shard.index_range()
        rng = ByteRange.last(size) if where == "end" else ByteRange(0, size)
        raw = self.array.kv.get(key, rng)
        try:
            index = None if raw is None else shard.decode_index(raw)
        except CorruptData as e:
            raise ServeError(f"dataset {self.what}: the index of shard {key} is corrupt: {e.message}", self.what) from e
        with self._shard_lock:
            self._shard_index[key] = index
            while len(self._shard_index) > 4096:
                self._shard_index.popitem(last=False)
        return index

    # -------------------------------------------------------------- encoding
    def _encode(self, k: int, chunk: np.ndarray[Any, Any]) -> bytes:
        """The served bytes of a decoded chunk (the chunk's full shape)."""
        if self.mode != "vlen":
            return np.ascontiguousarray(chunk, dtype=self.info.dtype).tobytes()
        start = self.heap_address(k)
        heap = HeapBuilder(start=start, limit=self.heap_reserve)
        elements = Buf(self.resolve)
        try:
            if isinstance(self.info.htype, VlenString):
                return b"".join(encode_strings([_text_bytes(v) for v in chunk.reshape(-1)], start, self.heap_reserve))
            encode_array(np.asarray(chunk, dtype=self.info.dtype), self.info.htype, elements, heap, self.ref)
        except NotExpressible as e:
            raise ServeError(f"dataset {self.what}: chunk {self.coords(k)}: {e.message}", self.what) from None
        except OverflowError:
            raise ServeError(
                f"dataset {self.what}: chunk {self.coords(k)} holds more variable-length data than the "
                f"{self.heap_reserve} bytes the view reserves for it ({VLEN_RESERVE_PER_ELEMENT} per element; "
                "raise SCISWIFT_H5VIEW_VLEN_RESERVE)", self.what) from None
        parts = [bytes(elements.data)]
        for n in range(len(heap.collections)):
            parts.append(bytes(heap.encode(n).data))
        return b"".join(parts)

    def fill_chunk(self) -> np.ndarray[Any, Any]:
        """A chunk holding only the fill value."""
        dt = self.array.dtype
        out = np.empty(self.array.chunks if not self.pipeline.sharded else self.chunks, dtype=dt)
        if dt.kind == "O":
            for i in np.ndindex(out.shape):
                out[i] = self.info.fill
        else:
            out[...] = self.info.fill
        return out

    def _fill(self) -> bytes:
        """The served unit of an absent chunk (the same for every chunk unless
        vlen, whose heap addresses differ per chunk)."""
        if self._fill_unit is None:
            fill = self.fill_chunk()
            if self.recipe is not None:
                self._fill_unit = self._pass("(fill value)", bytes(self.pipeline.encode(fill)))
            else:
                self._fill_unit = self._encode(0, fill)
        return self._fill_unit

    def _fill_for(self, k: int) -> bytes:
        if self.mode == "vlen":
            if is_default_fill(self.info.fill):
                # HDF5's default fill: zero bytes, that is NULL strings and
                # sequences (h5dump's NULL, ncdump's NIL), not empty ones.
                return bytes(self.raw_size)
            return self._encode(k, self.fill_chunk())
        return self._fill()


def _text_bytes(v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8", "surrogateescape")
    return b"" if v is None else bytes(v)


def _round8(n: int) -> int:
    return (n + 7) & ~7


def flat_blocks(shape: tuple[int, ...], e0: int, e1: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The elements ``[e0, e1)`` (C order) of an array of ``shape`` as few
    hyperslabs ``(start, count)``, in order: at most two partial blocks per
    dimension around one block of whole rows."""
    if e0 >= e1:
        return []
    if len(shape) <= 1:
        return [((e0,), (e1 - e0,))] if shape else [((), ())]
    inner = math.prod(shape[1:])
    r0, o0 = divmod(e0, inner)
    r1, o1 = divmod(e1, inner)
    if r0 == r1:
        return [((r0, *s), (1, *c)) for s, c in flat_blocks(shape[1:], o0, o1)]
    out: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    if o0:
        out += [((r0, *s), (1, *c)) for s, c in flat_blocks(shape[1:], o0, inner)]
        r0 += 1
    if r1 > r0:
        out.append(((r0,) + (0,) * (len(shape) - 1), (r1 - r0, *shape[1:])))
    if o1:
        out += [((r1, *s), (1, *c)) for s, c in flat_blocks(shape[1:], 0, o1)]
    return out


class ContiguousData:
    """A contiguous dataset's elements (C order of the whole array) assembled from
    its chunks: straight slices of chunk bytes when chunks are blocks of whole
    rows (and for a scalar), else hyperslab by hyperslab from decoded chunks."""

    def __init__(self, source: DatasetSource) -> None:
        self.source = source
        self.shape = source.info.shape
        self.itemsize = source.info.htype.size
        self.row_blocks = tuple(source.chunks[1:]) == tuple(self.shape[1:])
        self._elements = np.dtype(f"V{self.itemsize}")

    def read(self, off: int, length: int) -> bytes:
        source = self.source
        if self.row_blocks:
            return stepped(source, source.raw_size, off, length)
        e0 = off // self.itemsize
        e1 = -(-(off + length) // self.itemsize)
        parts = []
        for start, count in flat_blocks(self.shape, e0, e1):
            sel = tuple(slice(s, s + c, 1) for s, c in zip(start, count))
            block = np.empty(count, dtype=self._elements)
            for piece in chunk_pieces(sel, source.chunks, self.shape):
                k = int(np.ravel_multi_index(piece.coords, source.grid))
                chunk = np.frombuffer(source.read(k, 0, source.raw_size), self._elements).reshape(source.chunks)
                block[piece.outer] = chunk[piece.inner]
            parts.append(block.tobytes())
        data = b"".join(parts)
        skew = off - e0 * self.itemsize
        return data[skew:skew + length]


def stepped(source: DatasetSource, step: int, off: int, length: int, skew: int = 0) -> bytes:
    """Bytes ``[off, off+length)`` of a range holding chunk ``k``'s served bytes
    ``[skew, skew+step)`` at ``k * step``."""
    out = []
    end = off + length
    first, last = off // step, (end - 1) // step
    if last > first:
        # One read over several chunks: fetch the others concurrently meanwhile.
        source.warm(range(first + 1, last + 1))
    while off < end:
        k, within = divmod(off, step)
        take = min(step - within, end - off)
        out.append(source.read(k, skew + within, skew + within + take))
        off += take
    return b"".join(out)
