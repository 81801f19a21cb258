"""Moving blocks from a reader to a writer with bounded memory and overlap.

One side of every conversion is a local HDF5 file (h5py, which serialises all
calls under one lock) and the other sciswift, whose stores gain from many requests
in flight. So the pipeline keeps the h5py side on the calling thread and runs the
sciswift side on a small pool:

- ``Direction.WRITE_PARALLEL`` (import): the caller reads a block, a worker writes
  it; the caller goes on reading the next one meanwhile.
- ``Direction.READ_PARALLEL`` (export): workers read blocks ahead, the caller
  writes them in order.

At most ``inflight`` blocks exist at once, so memory stays below
``inflight * block budget`` however large the datasets are. Blocks of one dataset
may be written concurrently only if they share no storage chunk (see
``blocks``); datasets whose chunk grid is not known ask for ``serial=True``
and have their writes done one after the other (still overlapping other datasets).

The first error raised by any read or write is re-raised by ``drain`` (or by the
``submit`` that notices it); later work is cancelled.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["Direction", "BlockPipeline"]

Selection = tuple[slice, ...]


class Direction(enum.Enum):
    WRITE_PARALLEL = "write-parallel"
    READ_PARALLEL = "read-parallel"


class BlockPipeline:
    """Copies blocks (``write(read())``), overlapping I/O.

    Each block's ``done`` callback runs on the calling thread once the block is
    written, in submission order. Use as a context manager, or call ``drain``
    then ``close``.
    """

    def __init__(self, direction: Direction, *, workers: int = 4, inflight: int = 6) -> None:
        if workers < 1 or inflight < 1:
            raise ValueError("workers and inflight must be at least 1")
        self.direction = direction
        self.inflight = inflight
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sciswift-convert")
        # (future, done, write-or-None): for READ_PARALLEL the caller still has to
        # write the data the future produces.
        self._queue: deque[tuple[Future[Any], Callable[[], None] | None, Callable[[Any], None] | None]] = deque()
        self._locks: dict[Any, threading.Lock] = {}

    def submit(self, read: Callable[[], Any], write: Callable[[Any], None],
               done: Callable[[], None] | None = None, serial_key: Any = None) -> None:
        """Copy one block. ``serial_key``: blocks with the same (non-None) key are
        written one at a time (their writes may touch the same chunk)."""
        if self.direction is Direction.WRITE_PARALLEL:
            data = read()
            lock = self._lock_for(serial_key)
            if lock is None:
                fut = self._pool.submit(write, data)
            else:
                fut = self._pool.submit(self._locked, lock, write, data)
            self._queue.append((fut, done, None))
        else:
            self._queue.append((self._pool.submit(read), done, write))
        while len(self._queue) >= self.inflight:
            self._finish_one()

    def _lock_for(self, key: Any) -> threading.Lock | None:
        if key is None:
            return None
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = threading.Lock()
        return lock

    @staticmethod
    def _locked(lock: threading.Lock, write: Callable[[Any], None], data: Any) -> None:
        with lock:
            write(data)

    def _finish_one(self) -> None:
        fut, done, write = self._queue.popleft()
        try:
            result = fut.result()
            if write is not None:
                write(result)
        except BaseException:
            self._cancel()
            raise
        if done is not None:
            done()

    def _cancel(self) -> None:
        while self._queue:
            fut, _, _ = self._queue.popleft()
            fut.cancel()
        # Let running work end before the caller cleans up behind it.
        self._pool.shutdown(wait=True, cancel_futures=True)

    def drain(self) -> None:
        """Wait for every submitted block (re-raising the first failure)."""
        while self._queue:
            self._finish_one()

    def close(self) -> None:
        self._cancel()

    def __enter__(self) -> BlockPipeline:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.drain()
        self.close()
