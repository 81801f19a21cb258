"""Versioning, both of Swift's APIs: ``X-Versions-Location`` and
``X-History-Location`` set with the ``swift`` command line, and
``X-Versions-Enabled`` with python-swiftclient. Every acknowledged version
must be recoverable, also when writers race."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from swiftclient import client as swift_client

from ..conftest import RunningServer
from .conftest import swift_cli

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"


def status_of(call: Callable[[], object]) -> int:
    with pytest.raises(swift_client.ClientException) as caught:
        call()
    return caught.value.http_status  # type: ignore[no-any-return]


def in_account_of(server: RunningServer, user: str, key: str) -> swift_client.Connection:
    """A connection of ``user`` to test:tester's account (AUTH_test)."""
    url, _ = server.auth()
    _, token = server.auth(user, key)
    return swift_client.Connection(preauthurl=url, preauthtoken=token, retries=0)


def archived(conn: swift_client.Connection, archive: str) -> list[bytes]:
    return [conn.get_object(archive, o["name"])[1] for o in conn.get_container(archive, full_listing=True)[1]]


# ------------------------------------------------------------ legacy modes
def test_versions_location_stack(server: RunningServer, conn: swift_client.Connection,
                                 new_container: Callable[..., str]) -> None:
    cont, archive = new_container(), new_container()
    swift_cli(server, "post", "-H", f"X-Versions-Location: {archive}", cont)
    assert conn.head_container(cont)["x-versions-location"] == archive
    for body in (b"one", b"two", b"three"):
        conn.put_object(cont, "obj", body, content_type=f"text/{body.decode()}")
    assert archived(conn, archive) == [b"one", b"two"]
    names = [o["name"] for o in conn.get_container(archive)[1]]
    assert all(n.startswith("003obj/") for n in names)
    conn.post_object(cont, "obj", {"X-Object-Meta-A": "b"})  # a POST makes no version
    assert len(archived(conn, archive)) == 2
    # each DELETE brings the previous version back, metadata and all
    conn.delete_object(cont, "obj")
    headers, body = conn.get_object(cont, "obj")
    assert (body, headers["content-type"]) == (b"two", "text/two")
    conn.delete_object(cont, "obj")
    conn.delete_object(cont, "obj")
    assert status_of(lambda: conn.get_object(cont, "obj")) == 404
    assert archived(conn, archive) == []


def test_history_location_keeps_everything(server: RunningServer, conn: swift_client.Connection,
                                           new_container: Callable[..., str]) -> None:
    cont, archive = new_container(), new_container()
    swift_cli(server, "post", "-H", f"X-History-Location: {archive}", cont)
    assert conn.head_container(cont)["x-history-location"] == archive
    conn.put_object(cont, "obj", b"one")
    conn.put_object(cont, "obj", b"two")
    conn.delete_object(cont, "obj")
    assert status_of(lambda: conn.get_object(cont, "obj")) == 404
    listing = conn.get_container(archive)[1]
    assert [o["content_type"] for o in listing][-1] == DELETE_MARKER
    assert archived(conn, archive)[:2] == [b"one", b"two"]
    # restoring is a copy from the archive
    conn.copy_object(archive, listing[0]["name"], f"/{cont}/obj")
    assert conn.get_object(cont, "obj")[1] == b"one"


def test_legacy_header_errors(conn: swift_client.Connection, new_container: Callable[..., str]) -> None:
    cont, archive = new_container(), new_container()
    assert status_of(lambda: conn.post_container(cont, {"X-Versions-Location": archive,
                                                        "X-History-Location": archive})) == 400
    # a missing archive container makes the overwrite fail, and keeps the current object
    conn.post_container(cont, {"X-Versions-Location": "no-such-archive"})
    conn.put_object(cont, "obj", b"kept")
    assert status_of(lambda: conn.put_object(cont, "obj", b"new")) == 412
    assert conn.get_object(cont, "obj")[1] == b"kept"


def test_writer_needs_no_access_to_the_archive(server: RunningServer, conn: swift_client.Connection,
                                               new_container: Callable[..., str]) -> None:
    archive = new_container()
    cont = new_container({"X-Versions-Location": archive, "X-Container-Write": "test2"})
    writer = in_account_of(server, "test2:tester2", "testing2")
    writer.put_object(cont, "obj", b"v1")
    writer.put_object(cont, "obj", b"v2")
    assert archived(conn, archive) == [b"v1"]
    assert status_of(lambda: writer.get_container(archive)) == 403  # still no access there
    outsider = in_account_of(server, "test:tester3", "testing3")
    assert status_of(lambda: outsider.put_object(cont, "obj", b"v3")) == 403
    assert archived(conn, archive) == [b"v1"]


@pytest.mark.parametrize("mode", ["legacy", "object_versioning"])
def test_racing_writers_lose_no_acknowledged_version(server: RunningServer, conn: swift_client.Connection,
                                                     new_container: Callable[..., str], mode: str) -> None:
    if mode == "legacy":
        archive = new_container()
        cont = new_container({"X-Versions-Location": archive})
    else:
        cont = new_container({"X-Versions-Enabled": "true"})
    conn.put_object(cont, "obj", b"start")
    acknowledged: list[bytes] = []
    lock = threading.Lock()

    def writer(i: int) -> None:
        c = server.connection()
        for j in range(4):
            body = f"w{i}-{j}".encode()
            try:
                c.put_object(cont, "obj", body)
            except swift_client.ClientException as exc:
                assert exc.http_status == 503  # lost the race: not acknowledged, retryable
                continue
            with lock:
                acknowledged.append(body)
        c.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert acknowledged
    if mode == "legacy":
        kept = set(archived(conn, archive)) | {conn.get_object(cont, "obj")[1]}
    else:
        versions = conn.get_container(cont, query_string="versions")[1]
        kept = {conn.get_object(cont, "obj", query_string=f"version-id={v['version_id']}")[1] for v in versions}
    assert set(acknowledged) | {b"start"} <= kept


# ------------------------------------------------------- object versioning
def test_object_versioning_round_trip(conn: swift_client.Connection, new_container: Callable[..., str]) -> None:
    cont = new_container({"X-Versions-Enabled": "true"})
    assert conn.head_container(cont)["x-versions-enabled"] == "True"
    ids = []
    for body in (b"first", b"second", b"third"):
        headers: dict[str, str] = {}
        conn.put_object(cont, "obj", body, response_dict=(resp := {}), headers=headers)
        ids.append(resp["headers"]["x-object-version-id"])
    headers, body = conn.get_object(cont, "obj")
    assert body == b"third" and headers["x-object-version-id"] == ids[2]
    assert conn.get_object(cont, "obj", query_string=f"version-id={ids[0]}")[1] == b"first"
    listing = conn.get_container(cont, query_string="versions")[1]
    assert [(v["version_id"], v["is_latest"]) for v in listing] == [(ids[2], True), (ids[1], False), (ids[0], False)]
    # the plain listing shows the current version's size and ETag
    (entry,) = conn.get_container(cont)[1]
    assert entry["bytes"] == len(b"third") and entry["version_symlink"] is True
    # the container's bytes count every version
    assert int(conn.head_container(cont)["x-container-bytes-used"]) == len(b"firstsecondthird")
    # a DELETE writes a delete marker; the data stays
    conn.delete_object(cont, "obj", response_dict=(resp := {}))
    marker = resp["headers"]["x-object-version-id"]
    assert status_of(lambda: conn.get_object(cont, "obj")) == 404
    assert status_of(lambda: conn.get_object(cont, "obj", query_string=f"version-id={marker}")) == 404
    listing = conn.get_container(cont, query_string="versions")[1]
    assert listing[0]["content_type"] == DELETE_MARKER and listing[0]["is_latest"] is True
    # restore an old version as the current one
    conn.put_object(cont, "obj", b"", query_string=f"version-id={ids[1]}")
    assert conn.get_object(cont, "obj")[1] == b"second"
    # a versioned container can't go while versions remain
    assert status_of(lambda: conn.delete_container(cont)) == 409


def test_versions_are_the_owners(server: RunningServer, conn: swift_client.Connection,
                                 new_container: Callable[..., str]) -> None:
    cont = new_container({"X-Versions-Enabled": "true", "X-Container-Read": "test:tester3"})
    conn.put_object(cont, "obj", b"v1", response_dict=(resp := {}))
    version = resp["headers"]["x-object-version-id"]
    reader = server.connection("test:tester3", "testing3")
    assert reader.get_object(cont, "obj")[1] == b"v1"  # the read ACL applies to the current version
    assert status_of(lambda: reader.get_object(cont, "obj", query_string=f"version-id={version}")) == 403
    assert status_of(lambda: reader.delete_object(cont, "obj", query_string=f"version-id={version}")) == 403
    # the versions are in no account anyone can name
    token = conn.get_auth()[1]
    for account in (".versions-AUTH_test", "AUTH_.versions-AUTH_test"):
        resp_, _ = server.raw("GET", f"/v1/{account}/{cont}", headers={"X-Auth-Token": token})
        assert resp_.status in (401, 403, 404), account
        assert resp_.status != 200


def test_suspended_versioning_writes_null_versions(conn: swift_client.Connection,
                                                   new_container: Callable[..., str]) -> None:
    cont = new_container({"X-Versions-Enabled": "true"})
    conn.put_object(cont, "obj", b"kept")
    conn.post_container(cont, {"X-Versions-Enabled": "false"})
    conn.put_object(cont, "obj", b"null", response_dict=(resp := {}))
    assert "x-object-version-id" not in resp["headers"]
    listing = conn.get_container(cont, query_string="versions")[1]
    assert [v["version_id"] == "null" for v in listing] == [True, False]
    assert json.loads(json.dumps(listing))[1]["is_latest"] is False


def test_version_api_errors(server: RunningServer, conn: swift_client.Connection,
                            new_container: Callable[..., str]) -> None:
    plain = new_container()
    cont = new_container({"X-Versions-Enabled": "true"})
    conn.put_object(cont, "obj", b"x")
    assert status_of(lambda: conn.get_object(plain, "obj", query_string="version-id=1234567890.12345")) == 400
    assert status_of(lambda: conn.put_object(cont, "obj", b"", query_string="version-id=null")) == 400
    assert status_of(lambda: conn.put_object(cont, "obj", b"", query_string="version-id=bad")) == 400
    assert status_of(lambda: conn.put_object(cont, "obj", b"", query_string="version-id=1234567890.12345")) == 404
    token = conn.get_auth()[1]
    resp, _ = server.raw("POST", f"/v1/AUTH_test/{cont}/obj?version-id=null", b"", {"X-Auth-Token": token})
    assert resp.status == 400
    resp, _ = server.raw("GET", f"/v1/AUTH_test/{cont}?versions&format=xml", headers={"X-Auth-Token": token})
    assert resp.status == 406  # version listings are JSON only
    legacy = new_container({"X-Versions-Location": plain})
    assert status_of(lambda: conn.post_container(legacy, {"X-Versions-Enabled": "true"})) == 400
