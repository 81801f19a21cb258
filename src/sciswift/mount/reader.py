"""Reading stored files: ranged GETs through the block cache, with read-ahead.

A read is cut into blocks of the pieces (objects) it touches. Cached blocks are
used as they are; missing ones are fetched in runs of adjacent blocks, one ranged
GET per run, on a thread pool, and a block already being fetched by another
reader is waited for rather than fetched twice.

Read-ahead adapts per open file: a read that starts where the previous one ended
doubles the window fetched ahead (up to ``max_ahead``); any other read resets it
to nothing, so random access fetches only the blocks it touches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sciswift.mount.cache import BlockCache, BlockKey
from sciswift.mount.layout import Piece, Version
from sciswift.store import ByteRange, Store

__all__ = ["Fetcher", "ReadAhead", "LEAD"]

#: A miss fetches this many blocks from the missing one on, in one GET (those
#: not cached yet): HDF5 reading a small window of a large dataset touches 2-3
#: adjacent blocks, which then cost one request instead of three; measured on
#: 200 random 64 x 64 windows of a 256 MiB dataset: 860 GETs before, ~250 after.
LEAD = 4


@dataclass
class ReadAhead:
    """The sequential-read detector of one open file.

    The kernel's own read-ahead sends several reads of one file at once, served
    by different threads in any order, so "sequential" means near where the
    last read ended (within ``slack`` bytes either way), not exactly there. The
    window fetched ahead is as long as the stream read so far (at least two
    blocks, at most ``max_ahead``): a long scan soon reads far ahead in large
    GETs, while a short burst (HDF5 reading one small window of a big dataset)
    over-fetches at most as much as it read.
    """

    next_offset: int = -1
    stream_start: int = 0
    window: int = 0
    fetched_to: int = 0  # read-ahead already asked for up to here

    def advance(self, offset: int, size: int, block: int, max_ahead: int) -> tuple[int, int]:
        """Record a read; returns the byte range ``(start, stop)`` to fetch ahead."""
        slack = 4 * block
        if self.next_offset >= 0 and -slack <= offset - self.next_offset <= slack:
            self.next_offset = max(self.next_offset, offset + size)
            streamed = self.next_offset - self.stream_start
            # A miss already fetches LEAD blocks; reading ahead starts beyond them.
            self.window = min(max_ahead, streamed) if streamed >= LEAD * block else 0
        else:
            self.window = 0
            self.next_offset = offset + size
            self.stream_start = offset
            self.fetched_to = 0
        if not self.window:
            return 0, 0
        start = max(offset + size, self.fetched_to)
        stop = offset + size + self.window
        if stop - start < block:  # ask in whole blocks, not for every small read
            return 0, 0
        self.fetched_to = stop
        return start, stop


class Fetcher:
    """Reads byte ranges of ``Version``s through a ``BlockCache``."""

    def __init__(self, store: Store, cache: BlockCache, *, block_size: int = 1 << 20,
                 max_run: int = 8 << 20, max_ahead: int = 64 << 20, workers: int = 16) -> None:
        self.store = store
        self.cache = cache
        self.block_size = block_size
        self.max_run_blocks = max(1, max_run // block_size)
        self.max_ahead = max_ahead
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sciswift-fetch")
        self._lock = threading.Lock()
        self._inflight: dict[BlockKey, Future[bytes]] = {}
        self.bytes_fetched = 0
        self.requests = 0

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def read(self, version: Version, start: int, stop: int, ahead: tuple[int, int] = (0, 0)) -> bytes:
        """Bytes ``[start, stop)`` of ``version`` (cut at its end); starts fetching
        the range ``ahead`` in the background."""
        stop = min(stop, version.size)
        if stop <= start:
            return b""
        if ahead[1] > ahead[0] and ahead[0] < version.size:
            self._prefetch(version, ahead[0], min(version.size, ahead[1]))
        wanted: list[tuple[BlockKey, int, int]] = []  # key, slice start, slice stop within block
        for piece in version.pieces_in(start, stop):
            lo = max(start, piece.offset) - piece.offset
            hi = min(stop, piece.stop) - piece.offset
            for key in self._keys(piece, lo, hi):
                b0 = key.index * self.block_size
                wanted.append((key, max(lo, b0) - b0, min(hi, b0 + self.block_size) - b0))
        blocks = self._blocks([k for k, _, _ in wanted], wait=True)
        parts = [blocks[k][a:b] for k, a, b in wanted]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _keys(self, piece: Piece, lo: int, hi: int) -> Iterator[BlockKey]:
        ref = piece.ref
        for index in range(lo // self.block_size, (hi - 1) // self.block_size + 1):
            yield BlockKey(ref.container, ref.name, ref.etag, index, self.block_size, ref.size)

    def _prefetch(self, version: Version, start: int, stop: int) -> None:
        keys: list[BlockKey] = []
        for piece in version.pieces_in(start, stop):
            lo = max(start, piece.offset) - piece.offset
            hi = min(stop, piece.stop) - piece.offset
            keys.extend(self._keys(piece, lo, hi))
        self._blocks(keys, wait=False)

    def _blocks(self, keys: list[BlockKey], wait: bool) -> dict[BlockKey, bytes]:
        """The blocks ``keys`` (fetching the missing ones); with ``wait=False``
        only starts fetching and returns nothing."""
        found: dict[BlockKey, bytes] = {}
        waiting: dict[BlockKey, Future[bytes]] = {}
        missing: list[BlockKey] = []
        for key in keys:
            if key in found or key in waiting:
                continue
            if wait:
                data = self.cache.get(key)
                if data is not None:
                    found[key] = data
                    continue
            elif self.cache.has(key):
                continue
            with self._lock:
                fut = self._inflight.get(key)
                if fut is None:
                    fut = self._inflight[key] = Future()
                    missing.append(key)
            waiting[key] = fut
        if wait and missing:
            missing = self._lead(missing)
        for run in self._runs(missing):
            self._pool.submit(self._fetch_run, run)
        if wait:
            for key, fut in waiting.items():
                found[key] = fut.result()
        return found

    def _lead(self, missing: list[BlockKey]) -> list[BlockKey]:
        """``missing`` with up to LEAD-1 following blocks of the last one added
        (claimed as in flight), when they exist and are not cached or fetched."""
        last = missing[-1]
        out = list(missing)
        for index in range(last.index + 1, last.index + LEAD):
            if index * last.block_size >= last.object_size:
                break
            key = BlockKey(last.container, last.name, last.etag, index, last.block_size, last.object_size)
            if self.cache.has(key):
                break
            with self._lock:
                if key in self._inflight:
                    break
                self._inflight[key] = Future()
            out.append(key)
        return out

    def _runs(self, keys: list[BlockKey]) -> Iterator[list[BlockKey]]:
        run: list[BlockKey] = []
        for key in keys:
            if run and (key.name != run[-1].name or key.container != run[-1].container
                        or key.etag != run[-1].etag or key.index != run[-1].index + 1
                        or len(run) >= self.max_run_blocks):
                yield run
                run = []
            run.append(key)
        if run:
            yield run

    def _fetch_run(self, run: list[BlockKey]) -> None:
        first = run[0]
        bs = self.block_size
        try:
            data = self.store.get_object(first.container, first.name,
                                         ByteRange(first.index * bs, (run[-1].index + 1) * bs))
            with self._lock:
                self.requests += 1
                self.bytes_fetched += len(data)
            blocks = [data[i * bs:(i + 1) * bs] for i in range(len(run))]
            # Waiters first (the blocks are in the memory tier), the disk after.
            for key, block in zip(run, blocks):
                self.cache.remember(key, block)
                self._finish(key, block, None)
            for key, block in zip(run, blocks):
                self.cache.put(key, block)
        except BaseException as exc:  # every waiter must hear of it
            for key in run:
                self._finish(key, None, exc)

    def _finish(self, key: BlockKey, data: bytes | None, exc: BaseException | None) -> None:
        with self._lock:
            fut = self._inflight.pop(key, None)
        if fut is None or fut.done():
            return
        if exc is not None:
            fut.set_exception(exc)
        else:
            assert data is not None
            fut.set_result(data)
