"""SwiftStore opens connections while its first authentication runs, so the
requests sent at once right after auth wait for no TCP handshake: counted over
an emulated link (``support.latency_proxy``) in front of ``sciswift serve``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from saio_fixtures import ServerEndpoint
from sciswift.errors import NotFound
from sciswift.store.swift import SwiftStore
from support.latency_proxy import LatencyProxy

RTT = 0.2


def _two_at_once_after_auth(link: LatencyProxy, prewarm: int) -> None:
    store = SwiftStore(link.url + "/auth/v1.0", "test:tester", "testing", prewarm=prewarm)
    try:
        def head(name: str) -> None:
            with pytest.raises(NotFound):
                store.head_object("no-such-container", name)

        store.storage_url  # noqa: B018 - authenticates
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(head, ["a", "b"]))
    finally:
        store.close()


@pytest.mark.parametrize(("prewarm", "rounds"), [
    (2, 3),  # the handshakes at once; auth; both HEADs on ready connections
    (0, 4),  # the second HEAD waits for a handshake of its own
])
def test_requests_right_after_auth_find_connections_ready(
        sciswift_server: ServerEndpoint, prewarm: int, rounds: int) -> None:
    port = int(sciswift_server.url.rsplit(":", 1)[1])
    with LatencyProxy(("127.0.0.1", port), rtt=RTT) as link:
        _two_at_once_after_auth(link, prewarm)
        assert (link.requests, link.rounds) == (3, rounds), link.history
        # On loopback a warm connection is up before auth asks for one, and
        # auth may take it: one connection fewer, opened at the same time.
        assert 2 <= link.connections <= 1 + prewarm if prewarm else link.connections == 2


def test_no_warm_connections_once_authenticated(sciswift_server: ServerEndpoint) -> None:
    """A given token needs no auth, so nothing is warmed: each request
    connects when it needs to (and only then)."""
    probe = SwiftStore(sciswift_server.auth_url, "test:tester", "testing")
    storage_url, token = probe._conn.auth()
    probe.close()
    port = int(sciswift_server.url.rsplit(":", 1)[1])
    with LatencyProxy(("127.0.0.1", port), rtt=RTT) as link:
        path = storage_url.split("/v1/", 1)[1]
        store = SwiftStore(storage_url=f"{link.url}/v1/{path}", token=token, prewarm=2)
        try:
            with pytest.raises(NotFound):
                store.head_object("no-such-container", "a")
        finally:
            store.close()
        assert (link.requests, link.rounds, link.connections) == (1, 2, 1)
