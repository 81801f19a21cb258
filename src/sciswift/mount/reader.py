"""Reading stored files: ranged GETs through the block cache, with read-ahead.

A read is cut into blocks of the pieces (objects) it touches. Cached blocks are
used as they are; missing ones are fetched in runs of adjacent blocks, one ranged
GET per run, on a thread pool, and a block already being fetched by another
reader is waited for rather than fetched twice.

Read-ahead adapts per open file: a read that starts where the previous one ended
doubles the window fetched ahead (up to ``max_ahead``); any other read resets it
to nothing, so random access fetches only the blocks it touches.

A file read at random, a little here and a little there, waits for one GET per
miss, one after the other. Once such reads have touched enough of a file that is
small next to the cache (see ``ReadAhead.wants_fill``), the rest of it is fetched
in the background (``Fetcher.fill``): a few long GETs at once, so later misses
find their blocks cached or on the way. gcsfuse's file cache does the same for
range reads. Measured on 200 random 64 x 64 windows of a 256 MiB dataset (HDF5
reads each window's 2 MiB span): 1.0-1.1 s before, one GET per window in turn.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sciswift.mount.cache import BlockCache, BlockKey
from sciswift.mount.errors import FSError, log
from sciswift.mount.layout import Piece, Version
from sciswift.store import ByteRange, ObjectReader, Store

__all__ = ["Fetcher", "ReadAhead", "LEAD", "FETCH_WORKERS", "FILL_STREAMS", "same_etag"]

#: A miss fetches this many blocks from the missing one on, in one GET (those
#: not cached yet): HDF5 reading a small window of a large dataset touches 2-3
#: adjacent blocks, which then cost one request instead of three (200 random
#: 64 x 64 windows of a 256 MiB dataset: 860 GETs with 1, ~250 with 4). It was 4
#: before files read at random were filled (``Fetcher.fill``); now 2, which
#: halves what a few scattered small reads (``h5ls``) fetch.
LEAD = 2

#: A file read at random is filled (fetched whole in the background) once it has
#: seen this many jumps and its reads add up to 1/FILL_FRACTION of its size;
#: ``h5dump -H`` or ``h5ls`` of a large file (a few jumps, a few blocks) is not.
FILL_AFTER_JUMPS = 4
FILL_FRACTION = 32
#: Concurrent GETs of one fill, each of up to ``max_run`` bytes.
FILL_STREAMS = 4
#: Threads fetching the runs of reads (and read-ahead), one GET each.
FETCH_WORKERS = 16
#: How far out of order the reads of a sequential reader may come: two of the
#: kernel's read-ahead windows (``kernel.KERNEL_READAHEAD``) in flight at once.
REORDER_SLACK = 16 << 20


@dataclass
class ReadAhead:
    """The sequential-read detector of one open file.

    The kernel's own read-ahead sends several reads of one file at once (up to
    its 8 MiB window, and the next window before the first is done), served by
    different threads in any order, so "sequential" means within 8 blocks
    either way of where the last read ended, not exactly there (with 4, a plain
    ``dd`` counted jumps), and a jump towards a fill is a read farther than
    ``REORDER_SLACK`` from there (with 8 blocks, a 40 MiB ``read()`` on a loaded
    machine counted 4 jumps and was filled). The
    window fetched ahead is as long as the stream read so far (at least two
    blocks, at most ``max_ahead``): a long scan soon reads far ahead in large
    GETs, while a short burst (HDF5 reading one small window of a big dataset)
    over-fetches at most as much as it read.
    """

    next_offset: int = -1
    stream_start: int = 0
    window: int = 0
    fetched_to: int = 0  # read-ahead already asked for up to here
    jumps: int = 0  # reads that did not follow on from the one before
    read_bytes: int = 0
    filled: bool = False

    def wants_fill(self, size: int, limit: int) -> bool:
        """True once, when a file of ``size`` bytes read through this handle
        should be fetched whole: it is read at random (``FILL_AFTER_JUMPS``
        jumps), its reads add up to a ``1/FILL_FRACTION`` of it, and it is at
        most ``limit`` bytes."""
        if self.filled or self.jumps < FILL_AFTER_JUMPS or size > limit or self.read_bytes * FILL_FRACTION < size:
            return False
        self.filled = True
        return True

    def advance(self, offset: int, size: int, block: int, max_ahead: int) -> tuple[int, int]:
        """Record a read; returns the byte range ``(start, stop)`` to fetch ahead."""
        slack = 8 * block
        self.read_bytes += size
        if self.next_offset >= 0 and -slack <= offset - self.next_offset <= slack:
            self.next_offset = max(self.next_offset, offset + size)
            streamed = self.next_offset - self.stream_start
            # A miss already fetches LEAD blocks; reading ahead starts beyond them.
            self.window = min(max_ahead, streamed) if streamed >= LEAD * block else 0
        else:
            # A new stream; a jump (towards a fill) only if it is farther than
            # reads of one sequential reader can come out of order.
            self.jumps += self.next_offset >= 0 and abs(offset - self.next_offset) > REORDER_SLACK
            self.window = 0
            self.next_offset = offset + size
            self.stream_start = offset
            self.fetched_to = 0
        if not self.window:
            return 0, 0
        end = offset + size
        # Refill only once less than half the window is still ahead of the
        # reader, then all of it at once: GETs stay long (a refill per read
        # asked for one block at a time: 256 MiB in 249 GETs of 1 MiB).
        if self.fetched_to - end >= self.window // 2:
            return 0, 0
        start = max(end, self.fetched_to)
        stop = end + self.window
        if stop - start < block:  # ask in whole blocks, not for every small read
            return 0, 0
        self.fetched_to = stop
        return start, stop


class Fetcher:
    """Reads byte ranges of ``Version``s through a ``BlockCache``."""

    def __init__(self, store: Store, cache: BlockCache, *, block_size: int = 1 << 20,
                 max_run: int = 8 << 20, max_ahead: int = 64 << 20, workers: int = FETCH_WORKERS) -> None:
        self.store = store
        self.cache = cache
        self.block_size = block_size
        self.max_run_blocks = max(1, max_run // block_size)
        self.max_ahead = max_ahead
        #: Files up to this size may be filled: a quarter of the cache, at most
        #: 1 GiB (a fill pauses while the cache's writer is behind, see ``fill``).
        self.fill_limit = min(cache.limit // 4, 1 << 30)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sciswift-fetch")
        # Fills have threads of their own: a read's misses never queue behind them.
        self._fill_pool = ThreadPoolExecutor(FILL_STREAMS, thread_name_prefix="sciswift-fill")
        self._lock = threading.Lock()
        self._inflight: dict[BlockKey, Future[bytes]] = {}
        self._closed = threading.Event()
        self.bytes_fetched = 0
        self.requests = 0
        self.fills = 0

    def close(self) -> None:
        self._closed.set()
        self._fill_pool.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def prefetch_head(self, version: Version) -> None:
        """Start fetching the first LEAD blocks of ``version`` (those not cached
        or on the way), without waiting."""
        self._prefetch(version, 0, min(version.size, LEAD * self.block_size))

    def fill(self, version: Version) -> None:
        """Fetch every block of ``version`` that is neither cached nor on the
        way, in the background, ``FILL_STREAMS`` GETs at a time. Blocks are
        claimed run by run just before their GET, so a read that needs a block
        the fill has not reached fetches it at once. A fill waits while the
        cache's writer is far behind, rather than fetch what it would drop."""
        keys: list[BlockKey] = []
        for piece in version.pieces_in(0, version.size):
            keys.extend(self._keys(piece, *piece.object_span(0, version.size)))
        if not keys:
            return
        with self._lock:
            self.fills += 1
        todo = list(reversed(keys))  # popped from the end: in file order
        take = threading.Lock()

        def next_run() -> list[BlockKey]:
            """The next blocks to fetch in one GET (claimed as in flight)."""
            run: list[BlockKey] = []
            with take:
                while todo and len(run) < self.max_run_blocks:
                    key = todo[-1]
                    if run and (key.name != run[-1].name or key.container != run[-1].container
                                or key.etag != run[-1].etag or key.index != run[-1].index + 1):
                        break  # another object, or not the next block (ranged segments): another GET
                    todo.pop()
                    if self._claim(key):
                        run.append(key)
                    elif run:
                        break  # a gap: the run so far is one GET
            return run

        started = time.monotonic()
        streams = [FILL_STREAMS]

        def stream() -> None:
            try:
                fill_loop()
            finally:
                with take:
                    streams[0] -= 1
                    last = not streams[0]
                if last:
                    log.debug("filled %s/%s (%d bytes) in %.3f s", version.container, version.name,
                              version.size, time.monotonic() - started)

        def fill_loop() -> None:
            while not self._closed.is_set():
                while self.cache.backlog() > self.cache.queue_limit * 3 // 4:
                    if self._closed.wait(0.01):
                        return
                run = next_run()
                if not run:
                    return
                self._fetch_run(run)

        for _ in range(FILL_STREAMS):
            self._fill_pool.submit(stream)

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
            lo, hi = piece.object_span(start, stop)
            for key in self._keys(piece, lo, hi):
                b0 = key.index * self.block_size
                wanted.append((key, max(lo, b0) - b0, min(hi, b0 + self.block_size) - b0))
        blocks = self._blocks([k for k, _, _ in wanted], wait=True)
        if len(wanted) == 1:
            key, a, b = wanted[0]
            return blocks[key][a:b]
        # One copy: views of the blocks, joined (a read that is not aligned to
        # blocks spans two of them; slicing each first copied it twice).
        return b"".join([memoryview(blocks[k])[a:b] for k, a, b in wanted])

    def _keys(self, piece: Piece, lo: int, hi: int) -> Iterator[BlockKey]:
        """The blocks of ``piece``'s object holding its bytes ``lo .. hi`` (offsets
        in the object: a ranged segment's bytes do not start at 0)."""
        ref = piece.ref
        for index in range(lo // self.block_size, (hi - 1) // self.block_size + 1):
            yield BlockKey(ref.container, ref.name, ref.etag, index, self.block_size, ref.whole_size)

    def _prefetch(self, version: Version, start: int, stop: int) -> None:
        keys: list[BlockKey] = []
        for piece in version.pieces_in(start, stop):
            keys.extend(self._keys(piece, *piece.object_span(start, stop)))
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
            if not self._claim(key):
                break
            out.append(key)
        return out

    def _claim(self, key: BlockKey) -> bool:
        """Mark ``key`` as being fetched by the caller; False if it is cached or
        already on the way. Both are asked under the lock: a fetch caches a
        block before it leaves ``_inflight``, so no block is seen as neither."""
        with self._lock:
            if key in self._inflight or self.cache.has(key):
                return False
            self._inflight[key] = Future()
            return True

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
        """One ranged GET for the blocks of ``run``, streamed: each block's
        waiters go on as soon as its bytes are in, not when the whole run is
        (waiting for whole 8 MiB runs made a 256 MiB h5dump 2x slower than 1 MiB
        GETs; streamed, the long runs are the faster of the two)."""
        first = run[0]
        bs = self.block_size
        done = 0
        try:
            reader = self.store.open_object(first.container, first.name,
                                            ByteRange(first.index * bs, (run[-1].index + 1) * bs))
            with self._lock:
                self.requests += 1
            try:
                _check_version(first, reader)
                for key in run:
                    block = _read_block(reader, bs)
                    if not block:
                        break
                    with self._lock:
                        self.bytes_fetched += len(block)
                    self.cache.put(key, block)
                    self._finish(key, block, None)
                    done += 1
            finally:
                reader.close()
            if done < len(run):  # the object ended before the run did (its size was not known)
                for key in run[done:]:
                    self._finish(key, b"", None)
                done = len(run)
        except BaseException as exc:  # every waiter must hear of it
            for key in run[done:]:
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


def _check_version(key: BlockKey, reader: ObjectReader) -> None:
    """FSError(ESTALE) unless ``reader`` reads the version ``key`` names: the
    object was replaced since it was opened (here or by another client), and
    its new bytes are neither what the descriptor reads nor to be cached as
    the old version's (they were, and a later open of a version with that ETag
    read them). An ETag a store has not worked out yet ("") is taken on trust."""
    got = reader.info.etag
    if not same_etag(got, key.etag):
        log.warning("%s/%s changed in the store while open (ETag %s, opened as %s): ESTALE",
                    key.container, key.name, got, key.etag)
        raise FSError(errno.ESTALE)


def same_etag(got: str, want: str) -> bool:
    """Whether two ETags name the same bytes (one a store has not worked out
    yet, "", is taken on trust)."""
    return not got or not want or got.strip('"').lower() == want.strip('"').lower()


def _read_block(reader: ObjectReader, size: int) -> bytes:
    """Up to ``size`` bytes of ``reader``: fewer only at its end (a read may
    return fewer when a connection broke off and is resumed)."""
    data = reader.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = reader.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)
