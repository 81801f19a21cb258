"""SwiftConnections shared by the SwiftStores of one process.

Every ``swift://`` file a program opens gets a SwiftStore of its own
(``sciswift.store.url``), and closing the file closes it. Each used to hold its
own pool of keep-alive connections, so the second file opened in a process
waited for new TCP (and TLS) handshakes like the first, and a program holding
a hundred files open held a hundred pools. Stores naming the same account with
the same tuning now share one ``SwiftConnection`` (its connections, token,
``/info`` and round-trip estimates): a file opened after another starts on warm
connections. Measured on loopback (``sciswift serve``, 64 MiB read by a new
open each time): 8 new connections per open before, none after; over a real
link each saves a round trip per open.

A connection no store holds any more stays open, in case another store asks
for it, ``IDLE_KEEP`` at most (the least recently released closed first). A
forked child starts afresh: it never touches its parent's sockets.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sciswift.store.swift.http import SwiftConnection

__all__ = ["IDLE_KEEP", "SharedConnections", "shared_connections"]

IDLE_KEEP = 4
"""Connections kept open while no store holds them."""


class SharedConnections:
    """See the module docstring. ``acquire``/``release`` in pairs."""

    def __init__(self, idle_keep: int = IDLE_KEEP) -> None:
        self.idle_keep = idle_keep
        self._lock = threading.Lock()
        self._held: dict[Hashable, tuple[SwiftConnection, int]] = {}
        self._idle: OrderedDict[Hashable, SwiftConnection] = OrderedDict()
        self._pid = os.getpid()

    def acquire(self, key: Hashable, make: Callable[[], SwiftConnection]) -> SwiftConnection:
        """The connection for ``key``, made by ``make`` if none is open."""
        with self._lock:
            self._forget_after_fork()
            held = self._held.get(key)
            if held is not None:
                self._held[key] = (held[0], held[1] + 1)
                return held[0]
            conn = self._idle.pop(key, None) or make()
            self._held[key] = (conn, 1)
            return conn

    def release(self, key: Hashable, conn: SwiftConnection) -> None:
        """A store done with ``conn``: kept for the next one, or closed."""
        closing: list[SwiftConnection] = []
        with self._lock:
            self._forget_after_fork()
            held = self._held.get(key)
            if held is None or held[0] is not conn:
                return  # a parent's, in a forked child: left alone
            if held[1] > 1:
                self._held[key] = (conn, held[1] - 1)
            else:
                del self._held[key]
                conn.park()
                self._idle[key] = conn
                while len(self._idle) > self.idle_keep:
                    closing.append(self._idle.popitem(last=False)[1])
        for c in closing:
            c.close()

    def idle(self) -> int:
        """Connections kept open that no store holds."""
        with self._lock:
            return len(self._idle)

    def _forget_after_fork(self) -> None:
        """In a child forked since the last call: forget the parent's connections."""
        if os.getpid() != self._pid:
            self._held.clear()
            self._idle.clear()
            self._pid = os.getpid()


shared_connections = SharedConnections()
"""The process's shared connections (SwiftStore's ``share_connections``)."""
