"""ETags of batched puts: computed after the put, kept in the index.

``LocalStore.put_many`` stores a batch without the MD5 of each body unless the
caller gave one to check: the record on disk keeps its ETag empty
(``format.LAZY_ETAG``), and whoever first asks for it (a HEAD, a GET, a
listing, a conditional request) gets it computed from the stored bytes, which
are checked against their block digests on the way. Why: the MD5 was half of
what a durable batch cost. On the project's 2-core VM, ``put_many`` of 32
objects of 256 KiB took 20-25 ms, 11.5 of them MD5; a 64 MiB HDF5 write
through ``sciswift serve`` (256 chunks in 8 archives) cost the server
200-240 ms of CPU, 110-130 ms without the MD5 (``docs/benchmarks.md``).

An :class:`EtagSettler` (one per durable store) makes the late computation
rare: a background thread, at the lowest CPU priority, computes the ETags of
the store's batched puts once the store has been idle (no read, no write) for
``QUIET`` seconds, and records them in the container's index, so that listings and HEADs find them
there, also after a restart. ETags a reader computed meanwhile are recorded
the same way. An ETag is written only into the row of the version it was
computed from (same timestamp and size, ETag still empty: ``index.RECORD_ETAG``),
so a version put meanwhile keeps its own. A rebuilt index (``fsck``) loses the
recorded ETags of the records that left them out; they are computed again when
asked for. The thread ends with the store (``close``); what it had not done
yet is done by the first reader that asks.

Why wait for idleness and not only a low priority: the thread holds the GIL
between digests, and a thread of nice 19 that is preempted while holding it
stalls the server's event loop until it runs again. Measured on the project's
2-core VM, ``bench.h5 bulk`` through ``sciswift serve`` with a settler that
only waited for writes to pause: reads of 64 MiB took 100-150 ms in the runs
it overlapped, 68-81 ms in the others.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence

__all__ = ["EtagSettler", "Known"]

log = logging.getLogger("sciswift.store")

#: ``(name, timestamp, size, etag)`` of one version whose ETag is known.
Known = tuple[str, float, int, str]


class EtagSettler:
    """Computes and records, in the background, the ETags batched puts left for later.

    ``compute(container, names)`` returns the Known of those of ``names`` whose
    current version still has no ETag (after computing it); ``record(container,
    known)`` writes them into the index. Both run on the settler's thread only.
    """

    #: Seconds the store must have been idle before each step (see the module
    #: docstring).
    QUIET = 1.0
    #: Most objects waiting (names kept in memory): beyond, the ones put are
    #: left to the first reader that asks (a long busy ingest never lets the
    #: thread run, and would otherwise grow the queue without bound).
    MAX_PENDING = 200_000
    #: Most bytes of objects waiting. While more wait, batches compute their
    #: ETags at write (``room``): whoever lists or HEADs them before the thread
    #: has run computes what is waiting, and a listing right after a bulk write
    #: of 300 objects of 1 MiB took 0.65 s for it (0.015 s once settled) on the
    #: project's VM, and grew with the ingest (1,000 of them: 2.5 s); this bound
    #: holds it at ~1.4 s however large the ingest, while writes of a few hundred
    #: MiB in a row (``bench.h5``'s nine 64 MiB writes) still leave their MD5 for later.
    MAX_PENDING_BYTES = 512 << 20
    #: Objects per ``compute`` call and per index transaction: a step of 1 MiB
    #: objects is ~45 ms of MD5, about the most the thread delays a request that
    #: comes while it runs.
    STEP = 32

    def __init__(self, compute: Callable[[str, list[str]], list[Known]],
                 record: Callable[[str, Sequence[Known]], None]) -> None:
        self._compute = compute
        self._record = record
        self._cond = threading.Condition()
        self._names: dict[str, dict[str, int]] = {}  # container -> name -> size (ordered, no repeats)
        self._bytes = 0  # of the objects in _names
        self._known: dict[str, dict[str, Known]] = {}
        self._last = 0.0
        self._closed = False
        self._busy = False  # a step taken off the queues is being done
        self._ident = 0  # the thread's
        self._thread: threading.Thread | None = None

    def busy(self) -> None:
        """Note that the store is in use now (called on every read and write,
        not counting the settler's own: no lock)."""
        if threading.get_ident() != self._ident:
            self._last = time.monotonic()

    def room(self) -> bool:
        """Whether a batch may leave its ETags for later (fewer than
        ``MAX_PENDING_BYTES`` wait; read without the lock: a batch more or less)."""
        return self._bytes < self.MAX_PENDING_BYTES

    def add(self, container: str, objects: Iterable[tuple[str, int]]) -> None:
        """Settle the current versions of ``objects`` (name, size: just put
        without an ETag)."""
        fresh = dict(objects)
        with self._cond:
            if self._closed or not fresh:
                return
            if sum(map(len, self._names.values())) + len(fresh) > self.MAX_PENDING:
                return
            queued = self._names.setdefault(container, {})
            for name, size in fresh.items():
                self._bytes += size - queued.get(name, 0)
                queued[name] = size
            self._last = time.monotonic()
            self._wake()

    def known(self, container: str, found: Iterable[Known]) -> None:
        """Record ETags computed elsewhere (by a reader that needed them)."""
        fresh = {k[0]: k for k in found}
        with self._cond:
            if self._closed or not fresh:
                return
            self._known.setdefault(container, {}).update(fresh)
            self._wake()

    def pending(self) -> int:
        """How many objects wait to be settled or recorded."""
        with self._cond:
            return sum(map(len, self._names.values())) + sum(map(len, self._known.values()))

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending (tests); False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._names or self._known or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread (after the object it is computing); pending work is dropped."""
        with self._cond:
            self._closed = True
            self._names.clear()
            self._bytes = 0
            self._known.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _wake(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            # Started on first use, so a forked server worker starts its own.
            self._thread = threading.Thread(target=self._run, name="sciswift-etags", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def _run(self) -> None:
        self._ident = threading.get_ident()
        _lowest_priority()
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                while not self._closed and not (self._names or self._known):
                    self._cond.wait()
                while not self._closed and (left := self._last + self.QUIET - time.monotonic()) > 0:
                    self._cond.wait(left)
                if self._closed:
                    return
                container, names, known = self._take()
                self._busy = True
            try:
                found = list(known)
                if names:
                    found += self._compute(container, names)
                if found:
                    self._record(container, found)
            except Exception as e:  # noqa: BLE001 - a reader computes what is left
                log.warning("could not record the ETags of %d object(s) of container %s: %s",
                            len(names) + len(known), container, e)

    def _take(self) -> tuple[str, list[str], list[Known]]:
        """Up to ``STEP`` objects of one container (under the lock)."""
        container = next(iter(self._names or self._known))
        names: list[str] = []
        queued = self._names.get(container)
        if queued:
            names = list(itertools.islice(queued, self.STEP))
            for n in names:
                self._bytes -= queued.pop(n)
            if not queued:
                del self._names[container]
        known: list[Known] = []
        recorded = self._known.get(container)
        if recorded:
            known = list(itertools.islice(recorded.values(), self.STEP))
            for k in known:
                del recorded[k[0]]
            if not recorded:
                del self._known[container]
        return container, names, known


def _lowest_priority() -> None:
    """Give the calling thread the lowest CPU priority (nice 19: Linux sets it per
    thread), so that requests in flight keep the cores."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (OSError, AttributeError):
        pass
