"""Open container handles of one LocalStore: a cache, and one retry helper.

A handle (``container.Container``) holds a container's SQLite connections and
journal. Another process may delete a container (and make a new one of the same
name) under an open handle; the handle then raises ``ContainerGone``. Every
operation goes through :meth:`ContainerHandles.fresh`: run it on the cached
handle, and if that turns out stale, forget it and run it once more on a fresh
one. A stale handle still in use by another thread is closed later.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sciswift.errors import InvalidInput
from sciswift.store.local.container import RECOVERY_INTERVAL, Container, ContainerGone, live_handles
from sciswift.store.local.layout import check_container_dir, container_path, missing_container
from sciswift.store.local.pack import PackFiles
from sciswift.store.local.space import reports_full_disk

__all__ = ["ContainerHandles", "MAX_OPEN_CONTAINERS", "close_orphans_before_fork", "abandon_inherited"]

T = TypeVar("T")

#: Open container handles kept per store; idle ones beyond this are closed.
MAX_OPEN_CONTAINERS = 256

#: Handles of a forked parent, kept referenced (never closed) so that SQLite does
#: not release or checkpoint anything the parent still uses.
_abandoned: list[Container] = []


def close_orphans_before_fork(owned: set[int]) -> None:
    """Close the idle handles of this process that no store holds (``owned``:
    the ``id`` of every handle the live stores hold), before a fork: a store
    dropped without ``close`` leaves its handles open until the garbage
    collector runs, and a child inheriting one's SQLite connection shares the
    parent's lock bookkeeping for that index (seen: "file is not a database"
    and lost objects under four forked writers)."""
    pid = os.getpid()
    for c in list(live_handles):
        if id(c) not in owned and c.pid == pid and not c.closed:
            c.try_close()


def abandon_inherited() -> None:
    """In a forked child: every handle still open is the parent's (a busy one,
    or one no store held): abandon it and keep it referenced, so that its SQLite
    connections are never closed here."""
    _abandon([c for c in list(live_handles) if not c.closed])


def _abandon(handles: list[Container]) -> None:
    """In a forked child: drop ``handles`` without closing what the parent shares,
    and keep them referenced (never collected, so never closed here)."""
    _abandoned.extend(handles)
    for c in handles:
        c.abandon_after_fork()


class ContainerHandles:
    """The open handles of the containers under ``root``."""

    def __init__(self, root: str, durable: bool, pack_files: PackFiles, name: str) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.durable = durable
        self.pack_files = pack_files
        self._name = name  # the store, for messages
        self.writer_id = os.urandom(16).hex()
        self._states: dict[str, Container] = {}
        self._states_lock = threading.Lock()
        self._opening_lock = threading.Lock()
        self._retired: list[Container] = []  # stale handles still in use somewhere
        self._closed = False
        self.max_open = MAX_OPEN_CONTAINERS

    def cached(self, container: str) -> Container | None:
        """This process's cached handle of ``container`` (maybe stale), if any."""
        c = self._states.get(container)
        return c if c is not None and c.pid == os.getpid() else None

    @reports_full_disk(1, "open container")
    def get(self, container: str) -> Container:
        """The open handle of an existing container (NotFound otherwise)."""
        c = self._states.get(container)
        if c is not None:
            if c.is_current() and c.pid == os.getpid():
                if time.monotonic() - c.last_recovery > RECOVERY_INTERVAL:
                    c.recover()
                    self.pack_files.sweep()
                return c
            self.forget(container, c)
        path = container_path(self.root, container)
        if self._retired:
            with self._states_lock:
                self._retired = [r for r in self._retired if not r.try_close()]
        # One opener at a time: threads racing to open the same container would
        # otherwise each build a handle (and its connections) only to drop it.
        with self._opening_lock:
            existing = self._states.get(container)
            if existing is not None and existing.is_current():
                return existing
            check_container_dir(self.real_root, container, path)
            try:
                c = Container(container, path, self.durable, self.writer_id, self.pack_files)
            except (FileNotFoundError, ContainerGone):
                raise missing_container(container) from None
            with self._states_lock:
                if self._closed:
                    c.close()
                    raise InvalidInput(f"{self._name} is closed", self.root)
                self._states[container] = c
                if len(self._states) > self.max_open:
                    self._evict_locked(keep=container)
        return c

    def _evict_locked(self, keep: str) -> None:
        for name, c in list(self._states.items()):
            if len(self._states) <= self.max_open // 2:
                return
            if name != keep and c.try_close():
                del self._states[name]

    def forget(self, container: str, c: Container) -> None:
        """Drop a stale handle; one still in use is closed later."""
        with self._states_lock:
            if self._states.get(container) is c:
                del self._states[container]
            if not c.try_close():
                self._retired.append(c)

    def drop(self, container: str) -> None:
        """Forget and close the handle of a container being deleted."""
        c = self._states.get(container)
        if c is not None:
            self.forget(container, c)
            c.close()

    def fresh(self, c: Container, op: Callable[[Container], T]) -> T:
        """``op(c)``; if ``c`` turns out stale (the container was deleted, maybe
        recreated, by another process, or the store is closing), ``op`` once
        more on a fresh handle, which says which (NotFound if it is gone)."""
        try:
            return op(c)
        except ContainerGone:
            self.forget(c.name, c)
        c = self.get(c.name)
        try:
            return op(c)
        except ContainerGone:
            self.forget(c.name, c)
            raise missing_container(c.name) from None

    def retrying(self, container: str, op: Callable[[Container], T]) -> T:
        """``op`` on the container's handle, through :meth:`fresh`."""
        return self.fresh(self.get(container), op)

    @property
    def open_count(self) -> int:
        """How many container handles are open (cached)."""
        return len(self._states)

    def held(self) -> list[Container]:
        """Every handle this cache holds (current and retired)."""
        return [*self._states.values(), *self._retired]

    def is_open(self, container: str) -> bool:
        return container in self._states

    def close_idle(self) -> None:
        """Close every handle not in use by some thread (before a fork: see
        ``store._before_fork``). A busy handle stays open; a child inherits it
        abandoned, and only that container's index is then shared unsafely."""
        if not self._states_lock.acquire(timeout=5.0):
            return
        try:
            for name, c in list(self._states.items()):
                if c.pid == os.getpid() and c.try_close():
                    del self._states[name]
            self._retired = [r for r in self._retired if not r.try_close()]
        finally:
            self._states_lock.release()

    def reset_after_fork(self) -> None:
        """In a forked child: a new writer id and no handles of the parent's (its
        journal and SQLite connections are the parent's)."""
        _abandon(self.held())
        self._states = {}
        self._states_lock = threading.Lock()
        self._opening_lock = threading.Lock()
        self._retired = []
        self.writer_id = os.urandom(16).hex()

    def close(self) -> None:
        with self._states_lock:
            self._closed = True
            states, self._states = [*self._states.values(), *self._retired], {}
            self._retired = []
        for c in states:
            c.close()
