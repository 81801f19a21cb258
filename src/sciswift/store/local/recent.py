"""Drop-behind with a lag: the durable packs a process wrote last keep their
page-cache pages, older ones lose them.

Why both: a program that writes a file often reads it back at once (an
analysis after a simulation step, ``bench.h5``'s bulk read after its write), and
from the page cache that read is quicker; but a long bulk write (an import of
hundreds of MB) that keeps every page fills memory with pages nobody reads,
which the kernel must reclaim before it hands out new ones (fresh page-cache
pages are dear on this project's VM: ``container.PACK_DROP_BEHIND``). So the
pages of the last ``KEEP_BYTES`` written stay, and a pack's pages go once that
much has been written after it.

Measured (the project's 2-core VM, ``sciswift serve`` durable, 64 MiB of 256
KiB chunks in 8 MiB packs, written then read back at once, median of 9):
dropping each pack's pages once synced, the read took 110-116 ms (server CPU
80-90 ms: its packs came back from disk); keeping them, 97 ms (50-60 ms); the
write 168-184 ms either way (``/tmp`` harness, the two alternated twice).
"""

from __future__ import annotations

import threading
from collections import deque

from sciswift.store.local.fs import drop_cached_path

__all__ = ["KEEP_BYTES", "RecentFiles", "recent_packs"]

KEEP_BYTES = 128 << 20
"""Bytes of the newest durable packs whose pages a process leaves in the page cache.
512 MiB of 512 KiB objects through ``sciswift serve`` (the server side of an
import), server CPU: 1.53-1.58 s keeping 128 MiB, 1.46-1.57 s dropping every
pack at once; keeping 256 MiB cost more (1.53-1.58 against 1.34-1.39 s)."""


class RecentFiles:
    """The files a process wrote last, newest at the end; once more than
    ``keep_bytes`` are listed, the oldest leave the list and the page cache."""

    def __init__(self, keep_bytes: int = KEEP_BYTES) -> None:
        self.keep_bytes = keep_bytes
        self._files: deque[tuple[str, int]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()

    def add(self, path: str, size: int) -> None:
        """``path`` (``size`` bytes, synced) was just written; drop the pages of
        the files this pushes out (a file gone meanwhile is skipped)."""
        old: list[str] = []
        with self._lock:
            self._files.append((path, size))
            self._bytes += size
            while self._bytes > self.keep_bytes and self._files:
                p, n = self._files.popleft()
                self._bytes -= n
                old.append(p)
        for p in old:
            drop_cached_path(p)

    def __len__(self) -> int:
        return len(self._files)


recent_packs = RecentFiles()
"""The process's durable packs (``Container.stage_packs`` and compaction add to it)."""
