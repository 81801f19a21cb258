"""Bulk delete (``?bulk-delete``) with python-swiftclient and SwiftStore: the
objects of one container go to the store in one call (``server/bulk.py``); the
replies must be what a DELETE per path gives, on the memory and disk backends."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from swiftclient import client as swift_client
from tests.server.conftest import RunningServer

from sciswift.store import SwiftStore


@pytest.fixture(params=["server", "disk_server"])
def srv(request: pytest.FixtureRequest) -> RunningServer:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def _bulk(srv: RunningServer, paths: list[str], user: str = "test:tester", key: str = "testing") -> dict:
    _, token = srv.auth(user, key)
    body = "\n".join(quote(p) for p in paths).encode()
    resp, out = srv.raw("POST", "/v1/AUTH_test?bulk-delete", body,
                        headers={"X-Auth-Token": token, "Accept": "application/json", "Content-Type": "text/plain"})
    assert resp.status == 200
    return json.loads(out)  # type: ignore[no-any-return]


def _names(conn: swift_client.Connection, container: str) -> list[str]:
    return [o["name"] for o in conn.get_container(container, full_listing=True)[1]]


def _filled(srv: RunningServer, names: list[str]) -> tuple[swift_client.Connection, str]:
    """A new container of test:tester holding ``names`` (1 byte each)."""
    conn = srv.connection()
    container = f"bd-{uuid.uuid4().hex[:8]}"
    conn.put_container(container)
    for name in names:
        conn.put_object(container, name, b"x")
    return conn, container


def test_objects_then_their_container(srv: RunningServer) -> None:
    conn, c = _filled(srv, ["o0", "o1", "o2"])
    result = _bulk(srv, [f"/{c}/o0", f"/{c}/o1", f"/{c}/o2", f"/{c}/missing", f"/{c}"])
    assert result["Number Deleted"] == 4 and result["Number Not Found"] == 1
    assert result["Response Status"] == "200 OK" and result["Errors"] == []


def test_object_names_stay_whole(srv: RunningServer) -> None:
    # Only leading slashes separate the path: "dir/" and "a//b" are object names.
    names = ["dir/", "a//b", "x/y/"]
    conn, c = _filled(srv, names)
    result = _bulk(srv, [f"/{c}/{n}" for n in names])
    assert result["Number Deleted"] == 3, result
    assert _names(conn, c) == []


def test_objects_of_several_containers_counted_as_one_by_one(srv: RunningServer) -> None:
    conn = srv.connection()
    a, b = f"bd-{uuid.uuid4().hex[:8]}", f"bd-{uuid.uuid4().hex[:8]}"
    for c in (a, b):
        conn.put_container(c)
        for i in range(5):
            conn.put_object(c, f"o{i}", b"x" * i)
    paths = [f"/{a}/o0", f"/{b}/o0", f"/{a}/o1", f"/{a}/o1",  # listed twice: deleted, then not found
             f"/{a}/missing", f"/{b}/o1", f"/{a}/" + "n" * 1100,  # too long a name: its own error
             f"/{a}/o2"]
    result = _bulk(srv, paths)
    assert result["Number Deleted"] == 5 and result["Number Not Found"] == 2, result
    assert result["Errors"] == [[quote(f"/{a}/" + "n" * 1100), "400 Bad Request"]]
    assert _names(conn, a) == ["o3", "o4"] and _names(conn, b) == ["o2", "o3", "o4"]
    # the objects, then their containers, in one request
    result = _bulk(srv, [f"/{a}/o3", f"/{a}/o4", f"/{a}", f"/{b}/o2", f"/{b}/o3", f"/{b}/o4", f"/{b}"])
    assert result["Number Deleted"] == 7 and result["Errors"] == [], result
    assert a not in {c["name"] for c in conn.get_account()[1]}


def test_a_packed_file_goes_whole_and_leaves_no_packs(disk_server: RunningServer) -> None:
    # SwiftStore.put_many sends chunks as one archive: the server packs them.
    container = f"bd-{uuid.uuid4().hex[:8]}"
    with SwiftStore(disk_server.auth_url, "test:tester", "testing", retries=0) as store:
        store.create_container(container)
        store.put_many(container, {f"c/{i}": bytes([i]) * 4096 for i in range(64)})
        packs = Path(str(disk_server.data_dir)).rglob(f"*{container}*/packs/*")
        assert [p for p in packs if p.is_file()]
        result = _bulk(disk_server, [f"/{container}/c/{i}" for i in range(64)] + [f"/{container}"])
        assert result["Number Deleted"] == 65 and result["Errors"] == [], result
    assert not [p for p in Path(str(disk_server.data_dir)).rglob(f"*{container}*/packs/*") if p.is_file()]


def test_each_object_is_refused_to_a_user_who_may_not_write(server: RunningServer) -> None:
    conn, container = _filled(server, ["o0", "o1", "o2"])
    paths = [f"/{container}/o{i}" for i in range(3)]
    result = _bulk(server, paths, "test:tester3", "testing3")
    assert result["Number Deleted"] == 0
    assert sorted(e[0] for e in result["Errors"]) == [quote(p) for p in paths]
    assert {e[1] for e in result["Errors"]} == {"403 Forbidden"}
    assert _names(conn, container) == ["o0", "o1", "o2"]
    conn.post_container(container, {"X-Container-Write": "test:tester3"})
    result = _bulk(server, paths, "test:tester3", "testing3")
    assert result["Number Deleted"] == 3 and result["Errors"] == [], result
    assert _names(conn, container) == []


def test_a_versioned_container_keeps_what_one_by_one_deletes_keep(server: RunningServer) -> None:
    conn = server.connection()
    container = f"bd-{uuid.uuid4().hex[:8]}"
    conn.put_container(container, {"X-Versions-Enabled": "true"})
    for i in range(3):
        conn.put_object(container, f"o{i}", f"v{i}".encode())
    result = _bulk(server, [f"/{container}/o{i}" for i in range(3)])
    assert result["Number Deleted"] == 3, result
    assert _names(conn, container) == []
    versions = conn.get_container(container, query_string="versions")[1]
    markers = [v for v in versions if v["content_type"] == "application/x-deleted;swift_versions_deleted=1"]
    assert sorted(v["name"] for v in markers) == ["o0", "o1", "o2"]  # a delete marker each
    kept = [v for v in versions if v not in markers]
    assert sorted(conn.get_object(container, v["name"], query_string=f"version-id={v['version_id']}")[1]
                  for v in kept) == [b"v0", b"v1", b"v2"]
