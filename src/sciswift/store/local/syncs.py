"""The syncs of durable LocalStore writes: shared among threads, or overlapped.

A durable put of a small object waits for three syncs: its temporary file,
its journal entry, and the objects directory after its rename (why each:
``local.container``). Each costs a disk cache flush at least (~0.3 ms on the
project's VM when quiet, several ms when other processes keep the disk
busy), far more than the CPU of the put. Two ways cut the waiting without
changing what is on disk when a put returns.

**Overlap** (:func:`sync_in_background`, :func:`in_background`). The temporary
file and the journal entry are independent: each only has to be on disk
before the rename. So the file's ``fdatasync`` runs on a helper thread while
the caller appends and syncs the journal entry, and the commit waits for both
before it renames (a filesystem with a journal, such as ext4's default or
XFS, can then serve both with one log commit). The directory's ``fsync`` is
started on a helper thread right after the renames, so it runs while the
index is updated, and the put waits for it before it returns. What is on
disk before the rename, and before the put returns, is what three syncs one
after the other would have put there: only the waiting overlaps. On the
project's VM (ext4 without a journal: every sync flushes
on its own) the raw system calls of a put took 1135 us one after the other
and 955 us overlapped (100 interleaved rounds, load average 9; 816 us with
the journal sync left out, the bound); see ``docs/benchmarks.md`` for the
server as a whole.

**Group commit** (:class:`GroupSync`). A durable put needs, after changing a
file, a sync that *started after* its change (the journal's ``fdatasync``
after its entry was appended, the objects directory's ``fsync`` after its
rename). When several threads of one process need the same sync together,
one call serves them all: the first of them runs it while the others queue
up for the next call, which covers every change made before it starts.

Why a shared sync keeps each put durable: a thread joins a batch only after
its change is made (in the page cache), and a batch's sync starts only once
the batch is closed to newcomers; so the sync starts after every member's
change and makes it durable, as a call of its own would. A thread that
arrives while a sync runs is not covered by it (its change may be too late)
and waits for the next one.

Errors: a failed sync fails every member of its batch (each gets the error, a
copy for all but the leader), so no put is acknowledged whose change the
failed call should have made durable. This is also stricter than a sync per
thread on a shared descriptor: Linux reports a writeback error to the first
``fsync`` on a descriptor only, and a second thread's call could succeed. A
failed background sync of a temporary file fails its put before the rename:
the file is removed, the previous version stays.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["GroupSync", "in_background", "sync_in_background", "shutdown"]

#: At most this many helper threads (started as needed). As many as the
#: server's store threads, so a put's sync never queues behind the others'
#: (a thread waiting in a group commit holds its helper thread meanwhile).
SYNC_THREADS = 32

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def in_background(sync: Callable[[], None]) -> Future[None]:
    """Start ``sync()`` on a helper thread; the future holds its error, if any.
    Once the interpreter is shutting down (no new threads: ``atexit`` handlers,
    such as the h5py layer closing files left open), ``sync()`` runs here."""
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="sciswift-sync")
            pool = _pool
    try:
        return pool.submit(sync)
    except RuntimeError:  # "cannot schedule new futures after interpreter shutdown"
        done: Future[None] = Future()
        try:
            sync()
        except BaseException as e:
            done.set_exception(e)
        else:
            done.set_result(None)
        return done


def shutdown() -> None:
    """Let the helper threads end once the syncs they run are done. Later
    syncs start a new pool. A process that exits calls this first: idle
    helpers wait for work until their pool is shut down, and a process that
    joins its threads before exiting (``sciswift serve``'s workers) would
    wait for them in vain."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False)


def sync_in_background(fd: int) -> Future[None]:
    """Start ``os.fdatasync(fd)`` on a helper thread, which then closes ``fd``
    (the caller gives it up); the future holds the sync's error, if any.
    A file whose sync fails must never be renamed into place: its data may
    not be on disk."""
    try:
        return in_background(lambda: _sync_and_close(fd))
    except BaseException:
        os.close(fd)
        raise


def _sync_and_close(fd: int) -> None:
    try:
        os.fdatasync(fd)  # the body and what finds it (size, blocks); timestamps may lag
    finally:
        os.close(fd)


def _forget_pool_in_child() -> None:
    # A forked child has none of the parent's threads: a pool inherited in the
    # middle of its work could never run what the child submits.
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


class _Batch:
    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = False
        self.error: BaseException | None = None


class GroupSync:
    """Share calls of ``sync`` among threads (see the module docstring)."""

    def __init__(self, sync: Callable[[], object]) -> None:
        self._sync = sync
        self._cond = threading.Condition(threading.Lock())
        self._next = _Batch()  # the batch the next call will cover
        self._busy = False  # a call is running (for an earlier batch)
        self.calls = 0  # how many times ``sync`` ran (for tests and benchmarks)

    def sync(self) -> None:
        """Return once a call of ``sync`` that started after this call began has
        completed; raise its error if it failed."""
        with self._cond:
            batch = self._next
            while not batch.done and self._busy:
                self._cond.wait()
            if batch.done:
                lead = False
            else:
                # Close the batch: later arrivals wait for the next call.
                self._busy = True
                self._next = _Batch()
                lead = True
        if lead:
            try:
                self.calls += 1
                self._sync()
            except BaseException as e:
                batch.error = e
            finally:
                with self._cond:
                    batch.done = True
                    self._busy = False
                    self._cond.notify_all()
            if batch.error is not None:
                raise batch.error
            return
        if batch.error is not None:
            raise _copy(batch.error) from batch.error


def _copy(error: BaseException) -> BaseException:
    """A fresh exception like ``error`` (one object raised in several threads
    would collect their tracebacks)."""
    try:
        return copy.copy(error).with_traceback(None)
    except Exception:  # noqa: BLE001 - an exception type that cannot be copied
        return OSError(f"a shared sync failed: {error!r}")
