"""SwiftStore.put_many sends small objects as archives where the endpoint stores
an archive's files together (``sciswift serve``), and falls back to one PUT per
object for whatever a batch did not store."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from swiftclient import client as swift_client

from sciswift.errors import ChecksumMismatch, EntityTooLarge
from sciswift.store.swift import SwiftStore


@pytest.fixture
def store(sciswift_server: Any) -> Iterator[SwiftStore]:
    with SwiftStore(auth_url=sciswift_server.auth_url, user=sciswift_server.user, key=sciswift_server.key) as s:
        yield s


def _spy(monkeypatch: pytest.MonkeyPatch, store: SwiftStore, method: str) -> list[Any]:
    calls: list[Any] = []
    real = getattr(store, method)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, method, spy)
    return calls


def test_small_objects_travel_as_archives(store: SwiftStore, monkeypatch: pytest.MonkeyPatch) -> None:
    c = f"batch-{uuid.uuid4().hex[:8]}"
    store.create_container(c)
    items = {f"ds{i}/c/0": bytes([i % 256]) * 800 for i in range(300)}
    items["chunk"] = b"c" * (256 << 10)  # a chunk-sized object goes in an archive too
    items["big"] = b"x" * (2 << 20)
    archives = _spy(monkeypatch, store, "_put_archive")
    singles = _spy(monkeypatch, store, "put_object")
    store.put_many(c, items)
    assert len(archives) >= 1 and sum(len(a[1]) for a in archives) == 301
    assert [a[1] for a in singles] == ["big"]  # only the large one went alone
    assert store.get_many(c, list(items)) == items
    assert store.head_container(c).object_count == 302
    assert store.head_object(c, "chunk").etag == hashlib.md5(items["chunk"]).hexdigest()


def test_archives_are_about_even(store: SwiftStore, monkeypatch: pytest.MonkeyPatch) -> None:
    c = f"even-{uuid.uuid4().hex[:8]}"
    store.create_container(c)
    items = {f"t/c/{i}": bytes([i]) * 512_000 for i in range(17)}  # 8.7 MB: just over one archive
    archives = _spy(monkeypatch, store, "_put_archive")
    store.put_many(c, items)
    assert sorted(len(a[1]) for a in archives) == [8, 9]  # not 16 + 1
    assert store.get_many(c, list(items)) == items


def test_a_wrong_etag_in_an_archive_fails_that_object_precisely(
    store: SwiftStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = f"etag-{uuid.uuid4().hex[:8]}"
    store.create_container(c)
    items = {f"o{i:02d}": bytes([i]) * 70_000 for i in range(20)}
    etags = {name: hashlib.md5(data).hexdigest() for name, data in items.items()}
    etags["o13"] = hashlib.md5(b"not its body").hexdigest()
    archives = _spy(monkeypatch, store, "_put_archive")
    with pytest.raises(ChecksumMismatch, match="o13"):
        store.put_many(c, items, etags=etags)
    assert len(archives) == 1  # the archive went; the server refused o13 alone; its own PUT said why
    names = {o.name for o in store.iter_objects(c)}
    assert names == set(items) - {"o13"}


def test_what_a_batch_does_not_store_is_sent_again_and_fails_precisely(
    store: SwiftStore, sciswift_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = f"quota-{uuid.uuid4().hex[:8]}"
    conn = swift_client.Connection(authurl=sciswift_server.auth_url, user=sciswift_server.user,
                                   key=sciswift_server.key, retries=0)
    conn.put_container(c, headers={"X-Container-Meta-Quota-Count": "10"})
    singles = _spy(monkeypatch, store, "put_object")
    with pytest.raises(EntityTooLarge):
        store.put_many(c, {f"o{i:02d}": b"v" * 10 for i in range(20)}, max_workers=1)
    assert singles  # the archive's refusals were retried one by one
    assert store.head_container(c).object_count == 10


def test_many_objects_arrive_in_a_few_batched_gets(store: SwiftStore, monkeypatch: pytest.MonkeyPatch) -> None:
    c = f"getm-{uuid.uuid4().hex[:8]}"
    store.create_container(c)
    items = {f"ds/c/{i}": bytes([i % 256]) * (i * 97) for i in range(100)}
    items["large"] = b"L" * (3 << 20)
    store.put_many(c, items)
    batches = _spy(monkeypatch, store, "_get_batch")
    singles = _spy(monkeypatch, store, "get_object")
    asked = [*items, "absent/1", "absent/2"]
    assert store.get_many(c, asked) == items  # the absent ones are left out, as one GET each would
    assert 1 <= len(batches) <= 16 and sorted(n for b in batches for n in b[1]) == sorted(asked)
    assert singles == []



def test_the_round_trip_is_the_quickest_answer_without_a_body(sciswift_server: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """What the engine sizes its read groups by: unknown before any request,
    then the quickest answer to the auth request, a HEAD, a streamed GET or a
    request without a body answered with a small one; never an upload's time."""
    # A connection of its own: one shared with earlier stores has measured already.
    with SwiftStore(auth_url=sciswift_server.auth_url, user=sciswift_server.user, key=sciswift_server.key,
                    share_connections=False) as store:
        container = f"rt-{uuid.uuid4().hex[:8]}"
        assert store.round_trip is None
        store.create_container(container)  # the auth request, then a PUT without a body
        first = store.round_trip
        assert first is not None and 0 < first < 5
        seen: list[float] = []
        real = store._conn._saw_round_trip
        monkeypatch.setattr(store._conn, "_saw_round_trip", lambda took: (seen.append(took), real(took)))
        store.put_object(container, "o", b"x" * 1000)
        assert seen == []  # PUTs send bodies: not a round trip
        for _ in range(5):
            store.head_object(container, "o")
        assert len(seen) == 5 and store.round_trip is not None and store.round_trip <= min([first, *seen])


def test_bodies_of_one_size_are_read_into_the_callers_buffer(store: SwiftStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """``read_many_into``: one batched GET, each body of the buffer's size read
    into it and consumed before the next; missing names reported as absent
    (not asked again), another size left to the caller."""
    c = f"into-{uuid.uuid4().hex[:8]}"
    store.create_container(c)
    items = {f"c/{i}": hashlib.md5(str(i).encode()).digest() * 64 for i in range(40)}  # 1 KiB each
    store.put_many(c, {**items, "other": b"x" * 100})
    assert store.batches_gets
    batches = _spy(monkeypatch, store, "_read_batch_into")
    singles = _spy(monkeypatch, store, "get_object")
    buf = memoryview(bytearray(1024))
    got: dict[str, bytes] = {}
    gone: list[str] = []
    asked = [*items, "other", "gone/1", "gone/2"]
    left = store.read_many_into(c, asked, buf, lambda n: got.__setitem__(n, bytes(buf)), gone.append)
    assert got == items and left == ["other"] and gone == ["gone/1", "gone/2"]
    assert len(batches) == 1 and singles == []
    # without ``absent`` the missing names are returned, as LocalStore does
    got.clear()
    assert store.read_many_into(c, ["gone/1", *items], buf, lambda n: got.__setitem__(n, bytes(buf))) == ["gone/1"]
    assert got == items


def test_a_reply_cut_short_leaves_the_rest_to_the_caller(store: SwiftStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import sciswift.store.swift.batched_get as batched_get
    from sciswift.errors import CorruptData

    c = f"into-cut-{uuid.uuid4().hex[:8]}"
    store.create_container(c)
    names = [f"c/{i:02d}" for i in range(12)]
    store.put_many(c, {n: n.encode() * 128 for n in names})
    store.capabilities()  # /info known: the names go in a batched GET
    real = batched_get.read_body_into
    reads = 0

    def cut_after_five(readinto: Any, buf: memoryview, what: str) -> None:
        nonlocal reads
        reads += 1
        if reads > 5:
            raise CorruptData(f"{what}: the reply ended 1 bytes early (cut short in transit?)")
        real(readinto, buf, what)

    monkeypatch.setattr(batched_get, "read_body_into", cut_after_five)
    buf = memoryview(bytearray(len(names[0]) * 128))
    got: list[str] = []
    left = store.read_many_into(c, names, buf, got.append, lambda n: None)
    assert got == names[:5] and left == names[5:]
