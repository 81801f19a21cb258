"""SwiftStores of one account share their connections (``store.swift.shared``):
a store made after another starts on its warm connections, token and /info;
a connection no store holds stays open for the next (a bounded number of them);
a forked child never reuses its parent's. Against a real ``sciswift serve``."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import sciswift.store.swift.shared as shared
from sciswift.store.swift import SwiftStore
from sciswift.store.swift.shared import SharedConnections


class _Conn:
    def __init__(self) -> None:
        self.closed = self.parked = False

    def close(self) -> None:
        self.closed = True

    def park(self) -> None:
        self.parked = True


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The addresses this process opens TCP connections to."""
    made: list[Any] = []
    real = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        made.append(address)
        real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield made


def test_stores_of_one_account_share_warm_connections(sciswift_server: Any, connects: list[Any]) -> None:
    # A timeout of its own: no connection of an earlier test is shared.
    fresh = 60.0 + uuid.uuid4().int % 1000 / 1000

    def store(**tuning: Any) -> SwiftStore:
        return SwiftStore(sciswift_server.auth_url, sciswift_server.user, sciswift_server.key,
                          **{"read_timeout": fresh, **tuning})

    first = store()
    container = f"sh-{uuid.uuid4().hex[:8]}"
    first.create_container(container)
    first.put_object(container, "x", b"1")
    first.close()
    opened = len(connects)
    assert opened >= 1
    second = store()
    assert second.get_object(container, "x") == b"1"
    assert len(connects) == opened  # its connection, token and /info were there
    other = store(read_timeout=77.0)  # other tuning: a connection of its own
    assert other._conn is not second._conn
    assert other.get_object(container, "x") == b"1" and len(connects) > opened
    alone = store(share_connections=False)
    assert alone._conn is not second._conn
    alone.close()
    second.delete_object(container, "x")
    second.delete_container(container)
    for s in (second, other):
        s.close()


def test_files_opened_one_after_another_reuse_the_connections(sciswift_server: Any, connects: list[Any],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import sciswift.h5py as h5

    for var, value in (("ST_AUTH", sciswift_server.auth_url), ("ST_USER", sciswift_server.user),
                       ("ST_KEY", sciswift_server.key)):
        monkeypatch.setenv(var, value)
    url = f"swift://sh-{uuid.uuid4().hex[:8]}/f.h5"
    data = np.arange(512 * 512, dtype="f4").reshape(512, 512)
    with h5.File(url, "w") as f:
        f.create_dataset("d", data=data, chunks=(64, 64))
    for _ in range(2):  # as many connections as the reads take at once
        with h5.File(url, "r") as f:
            assert np.array_equal(f["d"][...], data)
    before = len(connects)
    for _ in range(3):
        with h5.File(url, "r") as f:
            assert np.array_equal(f["d"][...], data)
    # A pool per file made 8 per open for this read (24 for the three); shared,
    # new ones appear only when a read happens to run more requests at once than
    # the warm-up reads left idle (1-2 in loaded runs), never a whole open's 8.
    assert len(connects) - before < 8


def test_idle_connections_are_kept_up_to_a_bound() -> None:
    reg = SharedConnections(idle_keep=1)
    a, b = _Conn(), _Conn()
    assert reg.acquire("a", lambda: a) is a
    assert reg.acquire("a", lambda: _Conn()) is a  # held: shared
    reg.release("a", a)
    assert not a.parked and reg.idle() == 0  # still held once
    reg.release("a", a)
    assert a.parked and not a.closed and reg.idle() == 1
    assert reg.acquire("a", lambda: _Conn()) is a  # taken back
    reg.release("a", a)
    assert reg.acquire("b", lambda: b) is b
    reg.release("b", b)
    assert a.closed and not b.closed and reg.idle() == 1  # the least recently released went


def test_a_forked_child_makes_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = SharedConnections()
    parent = _Conn()
    assert reg.acquire("k", lambda: parent) is parent
    child_pid = os.getpid() + 1
    monkeypatch.setattr(shared.os, "getpid", lambda: child_pid)  # as in a child
    child = _Conn()
    assert reg.acquire("k", lambda: child) is child
    reg.release("k", parent)  # an inherited store closed in the child
    assert not parent.closed  # the parent's sockets are left alone
    reg.release("k", child)
    assert child.parked and reg.idle() == 1
