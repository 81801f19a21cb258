"""SwiftStore behaviour beyond the conformance suite, against real OpenStack Swift:
large objects, streaming and resumed reads, auth and token renewal, Swift-side
metadata, bulk deletes, and interoperation with python-swiftclient."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import swiftclient

from sciswift.errors import (
    AlreadyExists,
    ChecksumMismatch,
    CorruptData,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
    Unauthenticated,
)
from sciswift.store import ByteRange, ListingParams, ObjectInfo, parse_location
from sciswift.store.swift import SwiftStore
from support.saio import USERS, Saio

pytestmark = pytest.mark.saio

KiB = 1024


@pytest.fixture
def store(saio: Saio) -> Iterator[SwiftStore]:
    # A small threshold so the large-object path runs on test-sized data.
    with SwiftStore(auth_url=saio.auth_url, user=saio.user, key=saio.key,
                    large_object_threshold=100 * KiB, segment_size=40 * KiB) as s:
        yield s


@pytest.fixture
def container(store: SwiftStore) -> Iterator[str]:
    name = f"sw-{uuid.uuid4().hex[:10]}"
    store.create_container(name)
    yield name
    for c in (name, f"{name}_segments"):
        try:
            store.delete_many(c, [o.name for o in store.iter_objects(c)])
            store.delete_container(c)
        except NotFound:
            pass


@pytest.fixture
def client(saio: Saio) -> Iterator[swiftclient.Connection]:
    conn = swiftclient.Connection(authurl=saio.auth_url, user=saio.user, key=saio.key, retries=1)
    yield conn
    conn.close()


def _segments(store: SwiftStore, container: str) -> list[str]:
    try:
        return [o.name for o in store.iter_objects(f"{container}_segments")]
    except NotFound:
        return []


# ------------------------------------------------------------ large objects
@pytest.mark.parametrize("kind", ["bytes", "file", "stream"])
def test_large_object_roundtrip(store: SwiftStore, container: str, client: swiftclient.Connection,
                                kind: str) -> None:
    data = os.urandom(250 * KiB + 123)
    source = {"bytes": data, "file": io.BytesIO(data),
              "stream": (data[i:i + 7000] for i in range(0, len(data), 7000))}[kind]
    info = store.put_object(container, "big.bin", source, metadata={"Run": "7"},
                            content_type="application/x-test")
    segs = _segments(store, container)
    assert len(segs) == 7  # 250 KiB + 123 in 40 KiB segments
    assert all(s.startswith("big.bin/slo/") for s in segs)
    head = store.head_object(container, "big.bin")
    assert head.size == len(data) == info.size
    assert head.etag == info.etag  # Swift's large-object ETag, the same everywhere
    assert head.system.get("x-static-large-object", "").lower() == "true"
    assert head.metadata == {"run": "7"} and head.content_type == "application/x-test"
    assert store.get_object(container, "big.bin") == data
    # Ranges across segment boundaries, served by Swift from the segments.
    assert store.get_object(container, "big.bin", ByteRange(40 * KiB - 10, 80 * KiB + 10)) == \
        data[40 * KiB - 10: 80 * KiB + 10]
    assert store.get_object(container, "big.bin", ByteRange.last(100)) == data[-100:]
    # Another Swift client sees one ordinary object.
    headers, body = client.get_object(container, "big.bin")
    assert body == data and headers["x-object-meta-run"] == "7"
    [listed] = store.list_objects(container)
    assert isinstance(listed, ObjectInfo) and listed.size == len(data)


def test_strided_buffer_is_stored_as_its_bytes(store: SwiftStore, container: str) -> None:
    import numpy as np

    view = np.arange(60_000, dtype=np.int64)[::3]  # not contiguous; 160 KB: a large object
    store.put_object(container, "np", memoryview(view))
    assert store.get_object(container, "np") == view.tobytes()


def test_small_object_stays_single(store: SwiftStore, container: str) -> None:
    store.put_object(container, "small", b"x" * (100 * KiB))  # at the threshold: one PUT
    assert _segments(store, container) == []
    assert "x-static-large-object" not in store.head_object(container, "small").system


def test_large_object_overwrite_and_delete_clean_segments(store: SwiftStore, container: str) -> None:
    store.put_object(container, "big", os.urandom(130 * KiB))
    first = _segments(store, container)
    assert len(first) == 4
    data2 = os.urandom(90 * KiB + 200 * KiB)
    store.put_object(container, "big", data2)
    second = _segments(store, container)
    assert len(second) == 8 and not set(first) & set(second)  # old segments are gone
    assert store.get_object(container, "big") == data2
    store.delete_object(container, "big")
    assert _segments(store, container) == []
    with pytest.raises(NotFound):
        store.head_object(container, "big")


def test_delete_many_removes_segments(store: SwiftStore, container: str) -> None:
    store.put_object(container, "big", os.urandom(150 * KiB))
    store.put_many(container, {f"s{i}": b"%d" % i for i in range(5)})
    assert store.delete_many(container, ["big", "s0", "s1", "s2", "s3", "s4", "gone"]) == 6
    assert store.list_objects(container) == [] and _segments(store, container) == []


def test_large_object_checksum_mismatch_stores_nothing(store: SwiftStore, container: str) -> None:
    data = os.urandom(200 * KiB)
    wrong = hashlib.md5(b"something else").hexdigest()
    with pytest.raises(ChecksumMismatch):
        store.put_object(container, "big", data, etag=wrong)
    with pytest.raises(ChecksumMismatch):  # a stream is only known to be wrong at its end
        store.put_object(container, "big", iter([data[:150 * KiB], data[150 * KiB:]]), etag=wrong)
    assert store.list_objects(container) == [] and _segments(store, container) == []
    good = hashlib.md5(data).hexdigest()
    store.put_object(container, "big", iter([data]), etag=good)
    assert store.get_object(container, "big") == data


def test_large_object_create_mode(store: SwiftStore, container: str) -> None:
    store.put_object(container, "big", b"small body")
    with pytest.raises(AlreadyExists):
        store.put_object(container, "big", os.urandom(200 * KiB), mode=store_create())
    assert _segments(store, container) == []  # refused before uploading anything
    assert store.get_object(container, "big") == b"small body"


def store_create():  # type: ignore[no-untyped-def]
    from sciswift.store import CREATE

    return CREATE


def test_large_object_into_missing_container(store: SwiftStore) -> None:
    with pytest.raises(NotFound):
        store.put_object(f"missing-{uuid.uuid4().hex[:8]}", "big", os.urandom(200 * KiB))


def test_swift_cli_slo_is_readable(store: SwiftStore, container: str, saio: Saio, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(300 * KiB)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    swift = os.path.join(os.path.dirname(sys.executable), "swift")
    subprocess.run([swift, "-A", saio.auth_url, "-U", saio.user, "-K", saio.key, "upload",
                    "--use-slo", "-S", str(64 * KiB), "--object-name", "cli.bin", container, str(path)],
                   check=True, capture_output=True)
    head = store.head_object(container, "cli.bin")
    assert head.size == len(data) and head.system.get("x-static-large-object") == "True"
    assert store.get_object(container, "cli.bin", ByteRange(100 * KiB, 200 * KiB)) == data[100 * KiB:200 * KiB]
    store.delete_object(container, "cli.bin")  # with its segments, as `swift delete` would
    assert _segments(store, container) == []


# --------------------------------------------------------------- streaming
def test_open_object_streams(store: SwiftStore, container: str) -> None:
    data = os.urandom(90 * KiB)
    store.put_object(container, "o", data)
    with store.open_object(container, "o", ByteRange(1000)) as reader:
        assert (reader.start, reader.stop, reader.info.size) == (1000, len(data), len(data))
        parts = [reader.read(4096) for _ in range(3)]
        assert b"".join(parts) == data[1000:1000 + 3 * 4096]
        assert reader.readall() == data[1000 + 3 * 4096:]
        assert reader.read(10) == b""


def test_reader_resumes_after_dropped_connection(store: SwiftStore, container: str) -> None:
    data = os.urandom(64 * KiB)
    store.put_object(container, "o", data)
    with store.open_object(container, "o") as reader:
        head = reader.read(5000)
        reader._resp.close()  # type: ignore[attr-defined]  # the connection drops
        assert head + reader.readall() == data


def test_reader_refuses_to_mix_versions(store: SwiftStore, container: str) -> None:
    store.put_object(container, "o", b"a" * 50_000)
    with store.open_object(container, "o") as reader:
        reader.read(1000)
        store.put_object(container, "o", b"b" * 50_000)
        reader._resp.close()  # type: ignore[attr-defined]
        with pytest.raises(CorruptData, match="replaced while being read"):
            reader.readall()


# ---------------------------------------------------------------- metadata
def test_system_values_and_post_keeps_them(store: SwiftStore, container: str,
                                           client: swiftclient.Connection) -> None:
    store.put_object(container, "s", b"1", metadata={"a": "ünï"}, system={
        "Content-Disposition": 'attachment; filename="x.bin"', "Content-Encoding": "identity",
        "X-Delete-At": "4102444800"})
    head = store.head_object(container, "s")
    assert head.metadata == {"a": "ünï"}
    assert head.system["content-disposition"] == 'attachment; filename="x.bin"'
    assert head.system["x-delete-at"] == "4102444800"
    # Swift's POST alone would drop them; the Store contract keeps what is not given.
    info = store.post_object(container, "s", metadata={"b": "2"}, system={"content-encoding": ""})
    assert info.metadata == {"b": "2"}
    assert info.system.get("content-disposition") == 'attachment; filename="x.bin"'
    assert "content-encoding" not in info.system
    assert client.head_object(container, "s")["x-object-meta-b"] == "2"


def test_container_acl_lets_another_user_read(store: SwiftStore, container: str, saio: Saio) -> None:
    store.put_object(container, "shared", b"data")
    reader = USERS[2]  # test:tester3, no rights of its own
    with SwiftStore(auth_url=saio.auth_url, user=reader.name, key=reader.key) as other:
        with pytest.raises(PermissionDenied):
            other.get_object(container, "shared")
        store.post_container(container, system={"X-Container-Read": reader.name})
        assert store.head_container(container).system["x-container-read"] == reader.name
        assert other.get_object(container, "shared") == b"data"
        store.post_container(container, system={"x-container-read": ""})
        assert "x-container-read" not in store.head_container(container).system


def test_copy_is_server_side_and_keeps_metadata(store: SwiftStore, container: str) -> None:
    data = os.urandom(150 * KiB)
    store.put_object(container, "big", data, metadata={"k": "v"}, system={"content-encoding": "x-raw"})
    info = store.copy_object(container, "big", container, "copy", metadata={"k": "", "n": "1"})
    assert info.etag == hashlib.md5(data).hexdigest()  # one ordinary object now
    head = store.head_object(container, "copy")
    assert head.metadata == {"n": "1"} and head.system.get("content-encoding") == "x-raw"
    assert "x-static-large-object" not in head.system
    assert store.get_object(container, "copy") == data


# ----------------------------------------------------------------- listings
def test_listing_pages_through_the_server_limit(store: SwiftStore, container: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"p/{i:02d}" for i in range(23)] + ["q/1", "q/2"]
    store.put_many(container, {n: b"" for n in names})
    monkeypatch.setattr(store, "_listing_limit", lambda key, default, wanted=None: 5)
    assert [e.name for e in store.list_objects(container)] == names
    assert [e.name for e in store.list_objects(container, ListingParams(limit=12))] == names[:12]
    assert [e.name for e in store.list_objects(container, ListingParams(reverse=True))] == names[::-1]
    rolled = store.list_objects(container, ListingParams(delimiter="/"))
    assert [e.name for e in rolled] == ["p/", "q/"]


# -------------------------------------------------------------------- auth
def test_from_environment_and_swift_urls(saio: Saio, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in [k for k in os.environ if k.startswith(("ST_", "OS_"))]:
        monkeypatch.delenv(k)
    for k, v in saio.env().items():
        monkeypatch.setenv(k, v)
    with SwiftStore.from_environment() as s:
        assert s.storage_url == saio.storage_url("test")
    other = USERS[1]  # explicit arguments override the environment
    with SwiftStore.from_environment(user=other.name, key=other.key) as s:
        assert s.storage_url == saio.storage_url("test2")
    loc = parse_location("swift://wind/run1.h5")
    assert isinstance(loc.store, SwiftStore) and (loc.container, loc.prefix) == ("wind", "run1.h5")
    loc.store.close()


def test_bad_credentials_name_the_endpoint(saio: Saio) -> None:
    with SwiftStore(auth_url=saio.auth_url, user=saio.user, key="wrong") as s:
        with pytest.raises(Unauthenticated, match=saio.auth_url):
            s.account_info()


def test_unreachable_endpoint_is_unavailable() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/auth/v1.0"
    with SwiftStore(auth_url=url, user="u", key="k", retries=1, backoff=0.01) as s:
        with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}"):
            s.account_info()


def test_preauthenticated_token(saio: Saio, client: swiftclient.Connection) -> None:
    url, token = client.get_auth()
    with SwiftStore(storage_url=url, token=token) as s:
        assert s.account_info().container_count >= 0
    with SwiftStore(storage_url=url, token="AUTH_tk" + "0" * 32) as s:
        with pytest.raises(Unauthenticated, match="no credentials to renew"):
            s.account_info()


def test_expired_token_is_renewed_once(store: SwiftStore, container: str) -> None:
    store.put_object(container, "o", b"1")
    store._conn._token = "AUTH_tk" + "0" * 32  # what an expired token looks like to Swift
    assert store.get_object(container, "o") == b"1"
    assert store._conn._token != "AUTH_tk" + "0" * 32


def test_bulk_delete_is_used(store: SwiftStore, container: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "bulk_delete" in store.capabilities()
    names = [f"n{i}" for i in range(30)]
    store.put_many(container, {n: b"x" for n in names})
    calls: list[int] = []
    real = store._bulk_delete
    monkeypatch.setattr(store, "_bulk_delete", lambda c, batch: calls.append(len(batch)) or real(c, batch))
    assert store.delete_many(container, [*names, "absent"]) == 30
    assert sum(calls) == 31 and len(calls) > 1  # batches, sent in parallel
    assert store.list_objects(container) == []
