"""The bounded local block cache.

Blocks of stored objects are kept as files under ``<cache dir>/blocks``, named by
a hash of (container, object, ETag, block number). Because the ETag is part of the
name, revalidating a cached file is one HEAD at open: an object changed elsewhere
has a new ETag, so its old blocks are never used again (they age out). Blocks
survive a remount of the same cache directory.

The total size of block files stays at or below ``limit`` bytes: the least
recently used blocks are deleted first. A small in-memory tier in front keeps
the blocks of the current read-ahead window without a disk read.

Blocks reach the disk through one writer thread, so a read never waits for the
cache's disk: measured here, writing 256 MiB of 1 MiB block files took 1.75 s
while fetching them from ``sciswift serve`` took 0.3 s. The writer also waits
until blocks stop arriving for ``IDLE`` seconds (or half the queue is full):
the kernel spends 1-3 ms of CPU per MiB of new file here, as much as fetching
the bytes costs, and on a busy node that CPU is better spent on the reads under
way (a cold 256 MiB read through the mount used 0.57 s of the mount's CPU with
the writer keeping up, 0.34 s without it). Blocks waiting to be
written are served from memory; when more than ``queue_limit`` bytes wait
(``default_queue_limit``), new ones are not written (a later read fetches them
again).

A full cache disk is not an error for readers: a block that cannot be written is
served from memory and the condition is logged (once a minute).
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from sciswift.mount.errors import log

__all__ = ["BlockKey", "BlockCache"]


@dataclass(frozen=True, slots=True)
class BlockKey:
    """Block ``index`` (of ``block_size`` bytes) of one version of one object."""

    container: str
    name: str
    etag: str
    index: int
    block_size: int
    #: Size of the whole object (not part of the name): blocks past it do not exist.
    object_size: int = 0

    def filename(self) -> str:
        raw = f"{self.container}\0{self.name}\0{self.etag}\0{self.index}\0{self.block_size}"
        return hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()


def default_queue_limit() -> int:
    """Memory for blocks waiting for the writer: 512 MiB, or a 16th of the
    machine's memory if that is less."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 4 << 30
    return min(512 << 20, total // 16)


#: Seconds without a new block before the writer starts on those waiting.
IDLE = 0.25


class BlockCache:
    """Blocks on disk (bounded by ``limit`` bytes) with ``memory`` bytes in RAM."""

    def __init__(self, directory: Path, limit: int, memory: int = 64 << 20, queue_limit: int | None = None) -> None:
        self.directory = directory / "blocks"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.limit = limit
        self.memory_limit = memory
        self._lock = threading.Lock()
        self._disk: OrderedDict[str, int] = OrderedDict()  # filename -> size, LRU first
        self._ram: OrderedDict[str, bytes] = OrderedDict()
        self._ram_bytes = 0
        self.used = 0
        self._warned = 0.0
        self._pending: dict[str, bytes] = {}  # waiting for the writer
        self._pending_bytes = 0
        self.queue_limit = default_queue_limit() if queue_limit is None else queue_limit
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._last_put = 0.0
        self._closing = threading.Event()
        self._load()
        self._writer = threading.Thread(target=self._write_loop, name="sciswift-cache-writer", daemon=True)
        self._writer.start()

    def close(self) -> None:
        """Finish writing what is queued."""
        self._closing.set()
        self._queue.put(None)
        self._writer.join()

    def _load(self) -> None:
        found = []
        for entry in os.scandir(self.directory):
            if entry.name.endswith(".tmp"):
                os.unlink(entry.path)
                continue
            st = entry.stat()
            found.append((st.st_mtime, entry.name, st.st_size))
        for _, name, size in sorted(found):
            self._disk[name] = size
            self.used += size
        self._evict()

    def backlog(self) -> int:
        """Bytes of blocks waiting for the writer (held in memory meanwhile)."""
        return self._pending_bytes

    def has(self, key: BlockKey) -> bool:
        """True if the block is cached (without reading it)."""
        name = key.filename()
        with self._lock:
            return name in self._ram or name in self._disk or name in self._pending

    def get(self, key: BlockKey) -> bytes | None:
        """The block's bytes, or None if it is not cached."""
        name = key.filename()
        with self._lock:
            data = self._ram.get(name) or self._pending.get(name)
            if data is not None:
                if name in self._ram:
                    self._ram.move_to_end(name)
                return data
            if name not in self._disk:
                return None
            self._disk.move_to_end(name)
        try:
            with open(self.directory / name, "rb") as f:
                data = f.read()
        except FileNotFoundError:  # evicted meanwhile
            return None
        self._remember(name, data)
        return data

    def remember(self, key: BlockKey, data: bytes) -> None:
        """Keep a block in the memory tier only."""
        self._remember(key.filename(), data)

    def put(self, key: BlockKey, data: bytes) -> None:
        """Cache a block: in memory now, on disk soon (see the module docstring)."""
        name = key.filename()
        self._remember(name, data)
        if len(data) > self.limit:
            return
        with self._lock:
            if name in self._disk or name in self._pending or self._pending_bytes + len(data) > self.queue_limit:
                return
            self._pending[name] = data
            self._pending_bytes += len(data)
            self._last_put = time.monotonic()
        self._queue.put(name)

    def _wait_for_a_lull(self) -> None:
        """Return once no block has been queued for IDLE seconds, or half the
        queue's memory is taken, or the cache is closing."""
        while not self._closing.is_set():
            with self._lock:
                quiet = time.monotonic() - self._last_put
                crowded = self._pending_bytes * 2 >= self.queue_limit
            if crowded or quiet >= IDLE:
                return
            self._closing.wait(IDLE - quiet)

    def _write_loop(self) -> None:
        while True:
            name = self._queue.get()
            if name is None:
                return
            self._wait_for_a_lull()
            with self._lock:
                data = self._pending.get(name)
            if data is not None:
                self._write(name, data)
            with self._lock:
                if self._pending.pop(name, None) is not None:
                    self._pending_bytes -= len(data or b"")

    def _write(self, name: str, data: bytes) -> None:
        path = self.directory / name
        tmp = self.directory / f"{name}.{threading.get_ident()}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            now = time.monotonic()
            if now - self._warned > 60:
                self._warned = now
                log.warning("block cache %s: cannot store a block (%s); serving from memory", self.directory, exc)
            return
        with self._lock:
            if name not in self._disk:
                self._disk[name] = len(data)
                self.used += len(data)
            self._evict()

    def _remember(self, name: str, data: bytes) -> None:
        with self._lock:
            if name in self._ram:
                self._ram.move_to_end(name)
                return
            self._ram[name] = data
            self._ram_bytes += len(data)
            while self._ram_bytes > self.memory_limit and len(self._ram) > 1:
                _, old = self._ram.popitem(last=False)
                self._ram_bytes -= len(old)

    def _evict(self) -> None:
        # Called with the lock held.
        while self.used > self.limit and self._disk:
            name, size = self._disk.popitem(last=False)
            self.used -= size
            try:
                os.unlink(self.directory / name)
            except FileNotFoundError:
                pass
