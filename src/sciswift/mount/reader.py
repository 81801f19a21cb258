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

__all__ = ["Fetcher", "ReadAhead"]


@dataclass
class ReadAhead:
    """The sequential-read detector of one open file."""

    next_offset: int = -1
    window: int = 0

    def advance(self, offset: int, size: int, block: int, max_ahead: int) -> int:
        """Record a read; returns how many bytes to fetch ahead of it."""
        if offset == self.next_offset:
            self.window = min(max_ahead, max(2 * block, 2 * self.window))
        else:
            self.window = 0
        self.next_offset = offset + size
        return self.window


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

    def read(self, version: Version, start: int, stop: int, ahead: int = 0) -> bytes:
        """Bytes ``[start, stop)`` of ``version`` (cut at its end); fetches
        ``ahead`` more bytes in the background."""
        stop = min(stop, version.size)
        if stop <= start:
            return b""
        if ahead:
            self._prefetch(version, stop, min(version.size, stop + ahead))
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
            yield BlockKey(ref.container, ref.name, ref.etag, index, self.block_size)

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
        for run in self._runs(missing):
            self._pool.submit(self._fetch_run, run)
        if wait:
            for key, fut in waiting.items():
                found[key] = fut.result()
        return found

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
            for i, key in enumerate(run):
                block = data[i * bs:(i + 1) * bs]
                self.cache.put(key, block)
                self._finish(key, block, None)
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
