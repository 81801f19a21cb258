"""Files the data API has open, kept for the burst of requests a viewer makes.

A viewer asks for a file's tree, then attributes, then slices, one request
each. Opening costs at least one store read (consolidated metadata, a FITS
header, a Parquet footer), so opened files are kept, per worker process, keyed
by account, file and the ETag the authorization check saw (for a large
object, with its manifest: ``Target.version``), for ``TTL``
seconds after their last use and at most ``CAPACITY`` at once (least recently
used closed first). A new version of a blob has a new ETag and so is a new
entry; a native file's chunk data is re-read after at most ``TTL`` seconds of
quiet (its engine caches chunks while open).

The libraries under the format plugins keep file positions, so one opened
file serves one request at a time (``OpenedFile.lock``); different files are
read in parallel.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sciswift.formats.ranged import TransferStats
from sciswift.server.dataapi.access import Target

__all__ = ["OpenedFile", "OpenFiles", "TTL", "CAPACITY"]

TTL = 5.0
CAPACITY = 32


@dataclass
class OpenedFile:
    """One open file (a ``sciswift.h5.File``), its lock and what reading it cost."""

    file: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    stats: TransferStats = field(default_factory=TransferStats)
    used: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        with self.lock:
            try:
                self.file.close()
            except Exception:  # noqa: BLE001 - a file that fails to close is dropped all the same
                pass


class OpenFiles:
    """The cache (thread-safe; ``get`` runs in the server's thread pool)."""

    def __init__(self, opener: Callable[[Target, TransferStats], Any], ttl: float = TTL,
                 capacity: int = CAPACITY) -> None:
        self._opener = opener
        self._ttl = ttl
        self._capacity = capacity
        self._files: OrderedDict[tuple[str, ...], OpenedFile] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, target: Target) -> OpenedFile:
        """The open file for ``target`` (opened now if not cached or stale)."""
        key = (target.account, target.container, target.name, target.kind, target.version)
        now = time.monotonic()
        stale: list[OpenedFile] = []
        with self._lock:
            for k, entry in list(self._files.items()):
                if now - entry.used > self._ttl:
                    stale.append(self._files.pop(k))
            hit = self._files.get(key)
            if hit is not None:
                hit.used = now
                self._files.move_to_end(key)
        for entry in stale:
            entry.close()
        if hit is not None:
            return hit
        stats = TransferStats()
        opened = OpenedFile(self._opener(target, stats), stats=stats)
        evicted: list[OpenedFile] = []
        with self._lock:
            other = self._files.get(key)
            if other is not None:  # another thread opened it meanwhile: keep one
                evicted.append(opened)
                opened = other
            else:
                self._files[key] = opened
                while len(self._files) > self._capacity:
                    evicted.append(self._files.popitem(last=False)[1])
        for entry in evicted:
            entry.close()
        return opened

    def close(self) -> None:
        with self._lock:
            entries, self._files = list(self._files.values()), OrderedDict()
        for entry in entries:
            entry.close()
