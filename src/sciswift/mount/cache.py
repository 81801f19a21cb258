"""The bounded local block cache.

Blocks of stored objects are kept as files under ``<cache dir>/blocks``, named by
a hash of (container, object, ETag, block number). Because the ETag is part of the
name, revalidating a cached file is one HEAD at open: an object changed elsewhere
has a new ETag, so its old blocks are never used again (they age out). Blocks
survive a remount of the same cache directory.

The total size of block files stays at or below ``limit`` bytes: the least
recently used blocks are deleted first. A small in-memory tier in front keeps
the blocks of the current read-ahead window without a disk read.

A full cache disk is not an error for readers: a block that cannot be written is
served from memory and the condition is logged (once a minute).
"""

from __future__ import annotations

import hashlib
import os
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

    def filename(self) -> str:
        raw = f"{self.container}\0{self.name}\0{self.etag}\0{self.index}\0{self.block_size}"
        return hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()


class BlockCache:
    """Blocks on disk (bounded by ``limit`` bytes) with ``memory`` bytes in RAM."""

    def __init__(self, directory: Path, limit: int, memory: int = 64 << 20) -> None:
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
        self._load()

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

    def has(self, key: BlockKey) -> bool:
        """True if the block is cached (without reading it)."""
        name = key.filename()
        with self._lock:
            return name in self._ram or name in self._disk

    def get(self, key: BlockKey) -> bytes | None:
        """The block's bytes, or None if it is not cached."""
        name = key.filename()
        with self._lock:
            data = self._ram.get(name)
            if data is not None:
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

    def put(self, key: BlockKey, data: bytes) -> None:
        """Cache a block (a disk failure leaves it in memory only, and is logged)."""
        name = key.filename()
        self._remember(name, data)
        if len(data) > self.limit:
            return
        with self._lock:
            if name in self._disk:
                return
        path = self.directory / name
        tmp = path.with_suffix(".tmp")
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
