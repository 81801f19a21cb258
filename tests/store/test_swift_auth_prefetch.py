"""SwiftStore.expect_reads: a store that must authenticate first has the reads
answered in the auth reply (``sciswift serve``, ``server.auth_prefetch``), and
each answer serves the next such read once, without a request; anything else
goes as before."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import sciswift.store.swift.http as swift_http
from sciswift.errors import NotFound
from sciswift.store.swift import SwiftStore


@pytest.fixture
def names(sciswift_server: Any) -> Iterator[tuple[str, str]]:
    """``(container, name)`` of a stored 5-byte object with metadata."""
    container = f"pf-{uuid.uuid4().hex[:8]}"
    with SwiftStore(auth_url=sciswift_server.auth_url, user=sciswift_server.user, key=sciswift_server.key) as s:
        s.create_container(container)
        s.put_object(container, "doc.json", b"hello", metadata={"kind": "root"})
    yield container, "doc.json"


def _fresh(server: Any) -> tuple[SwiftStore, list[str]]:
    """A store with no token (as in a new process: no connection shared with the
    stores before it), and the requests it sends (method and URL path)."""
    store = SwiftStore(auth_url=server.auth_url, user=server.user, key=server.key, share_connections=False)
    sent: list[str] = []
    real = store._conn._send

    def spy(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(f"{method} {url.split('/', 3)[-1]}")
        return real(method, url, *args, **kwargs)

    store._conn._send = spy  # type: ignore[method-assign]
    return store, sent


def test_reads_answered_with_auth_are_not_sent(sciswift_server: Any, names: tuple[str, str]) -> None:
    container, name = names
    store, sent = _fresh(sciswift_server)
    with store:
        store.expect_reads([("HEAD", container, name), ("GET", container, name), ("GET", container, "none")])
        info = store.head_object(container, name)
        assert (info.size, info.metadata) == (5, {"kind": "root"})
        assert store.get_object(container, name) == b"hello"
        with pytest.raises(NotFound):
            store.get_object(container, "none")
        assert sent == []  # all three came with auth
        assert store.capabilities()["sciswift"]  # and /info with them
        assert sent == []
        assert store.get_object(container, name) == b"hello"  # an answer serves once
        assert sent == [f"GET v1/AUTH_test/{container}/{name}"]


def test_an_answer_too_old_is_not_used(sciswift_server: Any, names: tuple[str, str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    container, name = names
    monkeypatch.setattr(swift_http, "PREFETCH_FRESH", -1.0)
    store, sent = _fresh(sciswift_server)
    with store:
        store.expect_reads([("GET", container, name)])
        assert store.get_object(container, name) == b"hello"
        assert sent == [f"GET v1/AUTH_test/{container}/{name}"]


def test_reads_of_another_kind_are_sent(sciswift_server: Any, names: tuple[str, str]) -> None:
    """A ranged read is not the whole-object GET that was answered."""
    from sciswift.store.types import ByteRange

    container, name = names
    store, sent = _fresh(sciswift_server)
    with store:
        store.expect_reads([("GET", container, name)])
        assert store.get_object(container, name, ByteRange(1, 3)) == b"el"
        assert sent == [f"GET v1/AUTH_test/{container}/{name}"]


def test_with_a_token_at_hand_nothing_changes(sciswift_server: Any, names: tuple[str, str]) -> None:
    container, name = names
    store, sent = _fresh(sciswift_server)
    with store:
        store.head_object(container, name)  # authenticates
        sent.clear()
        store.expect_reads([("GET", container, name)])
        assert sent == []
        assert store.get_object(container, name) == b"hello"
        assert sent == [f"GET v1/AUTH_test/{container}/{name}"]


def test_bad_names_are_left_to_the_reads(sciswift_server: Any, names: tuple[str, str]) -> None:
    container, name = names
    store, sent = _fresh(sciswift_server)
    with store:
        store.expect_reads([("GET", container, "a/../b"), ("GET", container, name)])
        assert store.get_object(container, name) == b"hello" and sent == []
