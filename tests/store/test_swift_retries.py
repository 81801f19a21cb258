"""SwiftStore's retries judged by what an earlier attempt may have done, its
resumed reads and its error messages, against ``sciswift serve`` behind the
fault proxy (no cluster, no root needed); and which reads ask for the newest
replica (``X-Newest``), against a stub endpoint that records them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import pytest
from test_swift_client import _Stub, stub_factory  # noqa: F401 - the fixture

from saio_fixtures import ServerEndpoint
from sciswift.errors import AlreadyExists, InvalidInput, NotFound, StoreUnavailable
from sciswift.store import SwiftStore
from sciswift.store.types import CREATE
from support.fault_proxy import FaultProxy, Rule
from support.faults import body


@pytest.fixture
def proxy(sciswift_server: ServerEndpoint) -> Iterator[FaultProxy]:
    port = int(sciswift_server.url.rsplit(":", 1)[1])
    with FaultProxy(("127.0.0.1", port), seed=7) as fp:
        yield fp


@pytest.fixture
def store(proxy: FaultProxy) -> Iterator[SwiftStore]:
    s = SwiftStore(proxy.url + "/auth/v1.0", "test:tester", "testing", retries=3, backoff=0.05, read_timeout=2)
    yield s
    s.close()


@pytest.fixture
def container(store: SwiftStore) -> str:
    name = f"r{uuid.uuid4().hex[:10]}"
    store.create_container(name)
    return name


def test_a_create_only_put_whose_answer_was_lost_succeeds(proxy: FaultProxy, store: SwiftStore,
                                                           container: str) -> None:
    proxy.add(Rule("reset", method="PUT", path=f"/{container}/new", stage="response", after_bytes=0))
    store.put_object(container, "new", b"mine", mode=CREATE)  # the retry's 412 is our own doing
    assert proxy.seen("PUT", f"/{container}/new") == 2 and proxy.counts["reset:response"] == 1
    assert store.get_object(container, "new") == b"mine"
    proxy.add(Rule("reset", method="PUT", path=f"/{container}/new", stage="response", after_bytes=0))
    with pytest.raises(AlreadyExists):  # someone else's object (other bytes) is still refused
        store.put_object(container, "new", b"other bytes", mode=CREATE)
    with pytest.raises(AlreadyExists):  # and so is it without any fault
        store.put_object(container, "new", b"mine", mode=CREATE)
    assert store.get_object(container, "new") == b"mine"


def test_a_delete_whose_answer_was_lost_succeeds(proxy: FaultProxy, store: SwiftStore, container: str) -> None:
    store.put_object(container, "gone", b"x")
    proxy.add(Rule("reset", method="DELETE", path=f"/{container}/gone", stage="response", after_bytes=0))
    store.delete_object(container, "gone")  # the retry's 404 is our own doing
    assert proxy.counts["reset:response"] == 1 and proxy.seen("DELETE", f"/{container}/gone") >= 2
    with pytest.raises(NotFound):
        store.head_object(container, "gone")
    with pytest.raises(NotFound):  # a DELETE of a missing object, no fault: NotFound as ever
        store.delete_object(container, "gone")


def test_a_streamed_read_resumes_across_broken_connections(proxy: FaultProxy, store: SwiftStore,
                                                           container: str) -> None:
    data = body("resume", 3 << 20)
    store.put_object(container, "big", data)
    proxy.add(Rule("reset", method="GET", path=f"/{container}/big", stage="response", after_bytes=700_000,
                   times=2))
    with store.open_object(container, "big") as r:
        got = r.read()  # to the end, whatever breaks on the way
    assert len(got) == len(data) and hashlib.md5(got).digest() == hashlib.md5(data).digest()
    assert proxy.seen("GET", f"/{container}/big") == 3  # two resumes, each from where it broke


@pytest.mark.parametrize("fault", ["status", "reset"])
def test_a_lasting_fault_names_the_object_and_what_to_do(proxy: FaultProxy, store: SwiftStore, container: str,
                                                         fault: str) -> None:
    proxy.add(Rule(fault, path=f"/{container}/o", times=None))
    with pytest.raises(StoreUnavailable) as exc:
        store.put_object(container, "o", b"x")
    text = str(exc.value)
    assert f"{container}/o" in text and "4 attempt(s)" in text and "try again" in text, text
    assert exc.value.subject == f"{container}/o"


def test_tuning_from_the_environment() -> None:
    env = {"ST_AUTH": "http://h/auth/v1.0", "ST_USER": "a:b", "ST_KEY": "k", "SCISWIFT_RETRIES": "2",
           "SCISWIFT_BACKOFF": "0.5", "SCISWIFT_CONNECT_TIMEOUT": "3", "SCISWIFT_READ_TIMEOUT": "7.5",
           "SCISWIFT_NEWEST": "all", "SCISWIFT_PREWARM": "0"}
    s = SwiftStore.from_environment(env)
    assert (s._conn.retries, s._conn.backoff, s.newest, s._conn.prewarm) == (2, 0.5, "all", 0)
    assert (s._conn.timeout.connect_timeout, s._conn.timeout.read_timeout) == (3.0, 7.5)
    assert SwiftStore.from_environment(env, retries=9)._conn.retries == 9  # arguments win
    with pytest.raises(InvalidInput, match="SCISWIFT_READ_TIMEOUT"):
        SwiftStore.from_environment({**env, "SCISWIFT_READ_TIMEOUT": "soon"})
    with pytest.raises(InvalidInput, match="newest"):
        SwiftStore.from_environment({**env, "SCISWIFT_NEWEST": "sometimes"})


@pytest.mark.parametrize("newest", ["metadata", "all", "none"])
def test_which_reads_ask_for_the_newest_replica(stub_factory, newest: str) -> None:  # noqa: F811
    def answer(h, b):  # type: ignore[no-untyped-def]
        if "multipart-manifest=get" in h.path:
            return 200, {"Content-Type": "application/json"}, b"[]"
        return 200, {"Etag": hashlib.md5(b"{}").hexdigest(), "Content-Type": "application/json",
                     "X-Timestamp": "1700000000.00000", "X-Static-Large-Object": "True"}, b"{}"

    stub: _Stub = stub_factory(answer)
    with SwiftStore(storage_url=stub.url + "/v1/AUTH_a", token="t", newest=newest) as s:
        s.get_object("c", "f.h5/zarr.json")
        s.get_object("c", "f.h5/d/c/0")
        s.head_object("c", "f.h5/d/c/0")
        s.get_manifest("c", "big")
    asked = [(method, path.split("?")[0], headers.get("X-Newest")) for method, path, headers, _ in stub.requests]
    newest_of = {(m, p): v == "true" for m, p, v in asked}
    expect = {"metadata": (True, False, True), "all": (True, True, True), "none": (False, False, False)}[newest]
    assert (newest_of[("GET", "/v1/AUTH_a/c/f.h5/zarr.json")], newest_of[("GET", "/v1/AUTH_a/c/f.h5/d/c/0")],
            newest_of[("HEAD", "/v1/AUTH_a/c/f.h5/d/c/0")]) == expect
    manifest = [v for m, p, v in asked if m == "GET" and p.endswith("/big")]
    assert manifest == (["true"] if newest != "none" else [None])
