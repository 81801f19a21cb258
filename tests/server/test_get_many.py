"""``POST <container>?get-many`` through ``sciswift serve``: each listed object
answers as its own GET by the same caller would (ACLs, absence, quarantine),
bodies only whole, and bad requests get a clear 4xx."""

from __future__ import annotations

import io
import json
import os
import socket
import time
import uuid
from urllib.parse import quote

import pytest
from swiftclient import client as swift_client

from sciswift.errors import CorruptData
from sciswift.server.get_many import GROUP, MAX_OBJECT_BYTES, MAX_OBJECTS
from sciswift.store.object_frames import CONTENT_TYPE, Frame, read_frames
from sciswift.testing.damage import flip_byte

from .conftest import RunningServer


def _post(srv: RunningServer, container: str, names: list[str], token: str | None = None,
          user: tuple[str, str] = ("test:tester", "testing")) -> tuple[int, dict[str, str], bytes]:
    """The reply to ``names`` in test:tester's ``container``, asked as ``user``."""
    url, _ = srv.auth()
    path = url.split(f":{srv.port}", 1)[1] + f"/{container}?get-many"
    headers = {"X-Auth-Token": token if token is not None else srv.auth(*user)[1]}
    body = "\n".join(quote(n) for n in names).encode()
    resp, data = srv.raw("POST", path, body, headers)
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def _frames(body: bytes) -> list[Frame]:
    return list(read_frames(io.BytesIO(body).read, "test reply"))


def test_info_announces_batched_get(server: RunningServer) -> None:
    _resp, body = server.raw("GET", "/info")
    assert json.loads(body)["sciswift"]["batched_get"]["max_objects_per_request"] == MAX_OBJECTS


def test_each_object_answers_as_its_own_get(server: RunningServer, container: str) -> None:
    conn = server.connection()
    objects = {"a": b"alpha", "dir/b": b"", "sp ace/\u00e9": b"x" * 300_000}
    for name, data in objects.items():
        conn.put_object(container, name, data)
    asked = ["dir/b", "missing", "a", "sp ace/\u00e9", "a"]
    status, headers, body = _post(server, container, asked)
    assert status == 200 and headers["content-type"] == CONTENT_TYPE
    frames = _frames(body)
    assert [f.name for f in frames] == asked  # in the order asked, repeats included
    by_name = {f.name: f for f in frames}
    for name, data in objects.items():
        assert by_name[name].status == 200 and by_name[name].body == data
        assert by_name[name].etag == conn.head_object(container, name)["etag"]
    assert by_name["missing"].status == 404 and not by_name["missing"].quarantined


def test_a_cut_reply_is_never_a_shorter_batch(server: RunningServer, container: str) -> None:
    conn = server.connection()
    conn.put_object(container, "a", b"alpha" * 100)
    conn.put_object(container, "b", b"beta" * 100)
    _status, _h, body = _post(server, container, ["a", "b"])
    assert len(_frames(body)) == 2
    for cut in (len(body) - 1, len(body) // 2, 3):
        with pytest.raises(CorruptData, match="test reply"):
            _frames(body[:cut])


def test_acls_are_the_callers(server: RunningServer, container: str) -> None:
    conn = server.connection()
    conn.put_object(container, "secret", b"s")
    frames = _frames(_post(server, container, ["secret"], user=("test:tester3", "testing3"))[2])
    assert [(f.status, f.body) for f in frames] == [(403, b"")]  # a non-admin without an ACL
    conn.post_container(container, {"X-Container-Read": "test:tester3"})
    frames = _frames(_post(server, container, ["secret"], user=("test:tester3", "testing3"))[2])
    assert [(f.status, f.body) for f in frames] == [(200, b"s")]
    # Another account's admin is refused; a bad token is refused before anything is read.
    other = _post(server, container, ["secret"], user=("test2:tester2", "testing2"))
    assert other[0] == 200 and [f.status for f in _frames(other[2])] == [403]
    assert _post(server, container, ["secret"], token="AUTH_tkbogus")[0] == 401


def test_public_read_containers_serve_anonymous_callers(server: RunningServer, container: str) -> None:
    conn = server.connection()
    conn.put_object(container, "pub", b"open")
    url, _ = server.auth()
    path = url.split(f":{server.port}", 1)[1] + f"/{container}?get-many"
    resp, body = server.raw("POST", path, b"pub")
    assert resp.status == 200 and [f.status for f in _frames(body)] == [401]  # as its own GET: 401
    conn.post_container(container, {"X-Container-Read": ".r:*"})
    resp, body = server.raw("POST", path, b"pub")
    assert resp.status == 200 and [(f.status, f.body) for f in _frames(body)] == [(200, b"open")]


def test_bad_requests_get_a_clear_error(server: RunningServer, container: str) -> None:
    url, token = server.auth()
    base = url.split(f":{server.port}", 1)[1]
    auth = {"X-Auth-Token": token}
    resp, body = server.raw("POST", f"{base}/{container}?get-many", "caf\u00e9".encode(), auth)
    assert resp.status == 400 and b"percent-encoded" in body
    resp, body = server.raw("POST", f"{base}/{container}/obj?get-many", b"a", auth)
    assert resp.status == 400 and b"request on a container" in body
    many = "\n".join(f"o{i}" for i in range(MAX_OBJECTS + 1)).encode()
    resp, body = server.raw("POST", f"{base}/{container}?get-many", many, auth)
    assert resp.status == 413 and str(MAX_OBJECTS).encode() in body
    resp, _ = server.raw("POST", f"{base}/{container}?get-many", b"", auth)
    assert resp.status == 200


def test_big_objects_are_left_to_their_own_get(server: RunningServer, container: str) -> None:
    conn = server.connection()
    conn.put_object(container, "big", b"b" * (MAX_OBJECT_BYTES + 1))
    conn.put_object(container, "small", b"s")
    frames = _frames(_post(server, container, ["big", "small"])[2])
    assert [(f.name, f.status, len(f.body)) for f in frames] == [("big", 413, 0), ("small", 200, 1)]


@pytest.mark.parametrize("copies", [1024, 4096])  # checked in its group's pool call; in one of its own
def test_damaged_objects_are_never_served(disk_server: RunningServer, copies: int) -> None:
    conn = disk_server.connection()
    container = f"gm-{uuid.uuid4().hex[:10]}"
    conn.put_container(container)
    good, bad = bytes(range(256)) * copies, bytes(range(255, -1, -1)) * copies
    conn.put_object(container, "good", good)
    conn.put_object(container, "bad", bad)
    assert disk_server.data_dir is not None
    flip_byte(disk_server.data_dir / "AUTH_test", container, "bad", 70_000 * copies // 1024)
    frames = _frames(_post(disk_server, container, ["bad", "good"])[2])
    assert [(f.name, f.status, f.quarantined) for f in frames] == [("bad", 404, True), ("good", 200, False)]
    assert frames[1].body == good and frames[0].body == b""
    with pytest.raises(swift_client.ClientException) as ei:
        conn.get_object(container, "bad")  # and it stays set aside
    assert ei.value.http_status == 404


def test_stored_files_are_sent_whole_and_in_order(disk_server: RunningServer) -> None:
    """On a disk-backed server the bodies leave with sendfile: every size,
    empty ones too, arrives exactly, framed in the order asked."""
    conn = disk_server.connection()
    container = f"gm-{uuid.uuid4().hex[:10]}"
    conn.put_container(container)
    sizes = [0, 1, 100, 65_535, 65_536, 200_000, 262_144, 1 << 20, 3, 0]
    objects = {f"o{i:02d}": bytes([i]) * size for i, size in enumerate(sizes)}
    for name, data in objects.items():
        conn.put_object(container, name, data)
    asked = list(objects)[::-1]
    frames = _frames(_post(disk_server, container, asked)[2])
    assert [(f.name, f.status, f.body) for f in frames] == [(n, 200, objects[n]) for n in asked]


@pytest.mark.parametrize("backend", ["memory", "disk"])
def test_every_kind_of_object_answers_as_its_own_get(request: pytest.FixtureRequest, backend: str) -> None:
    """Plain objects take the grouped way, the rest their own GET; across
    several groups each frame still says what a GET of the object says."""
    srv: RunningServer = request.getfixturevalue("server" if backend == "memory" else "disk_server")
    conn = srv.connection()
    container, other = f"gm-{uuid.uuid4().hex[:10]}", f"gm-{uuid.uuid4().hex[:10]}"
    conn.put_container(container)
    conn.put_container(other)
    conn.put_object(other, "target", b"the target")
    ea = conn.put_object(container, "seg/a", b"a" * 70_000)
    eb = conn.put_object(container, "seg/b", b"b" * 10)
    manifest = [{"path": f"/{container}/seg/a", "etag": ea, "size_bytes": 70_000},
                {"path": f"/{container}/seg/b", "etag": eb, "size_bytes": 10}]
    conn.put_object(container, "slo", json.dumps(manifest), query_string="multipart-manifest=put")
    conn.put_object(container, "dlo", b"", headers={"X-Object-Manifest": f"{container}/seg/"})
    conn.put_object(container, "link", b"", headers={"X-Symlink-Target": f"{other}/target"})
    conn.put_object(container, "dangling", b"", headers={"X-Symlink-Target": f"{other}/nothing"})
    conn.put_object(container, "soon-gone", b"expiring", headers={"X-Delete-After": "1"})
    plain = {f"p{i}": os.urandom(size) for i, size in enumerate([0, 1, 65_536, 65_537, 300_000] * 3)}
    for name, data in plain.items():
        conn.put_object(container, name, data)
    time.sleep(1.1)  # soon-gone expires
    asked = ["slo", *plain, "link", "missing", "dlo", "p4", "dangling", "soon-gone", "seg/a"]
    assert len(asked) > 2 * GROUP
    frames = _frames(_post(srv, container, asked)[2])
    assert [f.name for f in frames] == asked
    for frame in frames:
        try:
            headers, body = conn.get_object(container, frame.name)
        except swift_client.ClientException as exc:
            assert (frame.status, frame.body) == (exc.http_status, b""), frame.name
            continue
        assert (frame.status, frame.body, frame.etag) == (200, body, headers["etag"].strip('"')), frame.name
    statuses = {f.name: f.status for f in frames}
    assert statuses["soon-gone"] == statuses["missing"] == statuses["dangling"] == 404
    assert [f.body for f in frames if f.name == "link"] == [b"the target"]
    assert [f.body for f in frames if f.name in ("slo", "dlo")] == [b"a" * 70_000 + b"b" * 10] * 2


def _open_files(srv: RunningServer) -> int:
    """Descriptors the server's processes hold open."""
    pids = [srv.proc.pid]
    for pid in list(pids):
        children = f"/proc/{pid}/task/{pid}/children"
        if os.path.exists(children):
            pids += [int(p) for p in open(children).read().split()]
    return sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in pids if os.path.exists(f"/proc/{pid}/fd"))


def test_replies_cut_short_leave_no_file_open(disk_server: RunningServer) -> None:
    """Objects opened ahead for a reply the client stops reading are closed."""
    conn = disk_server.connection()
    container = f"gm-{uuid.uuid4().hex[:10]}"
    conn.put_container(container)
    names = [f"o{i}" for i in range(6 * GROUP)]
    for name in names:
        conn.put_object(container, name, bytes([len(name)]) * 200_000)
    url, token = disk_server.auth()
    path = url.split(f":{disk_server.port}", 1)[1] + f"/{container}?get-many"
    body = "\n".join(names).encode()
    assert len(_frames(_post(disk_server, container, names)[2])) == len(names)
    before = _open_files(disk_server)
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", disk_server.port)) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    deadline = time.monotonic() + 10
    while _open_files(disk_server) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _open_files(disk_server) <= before
    assert len(_frames(_post(disk_server, container, names)[2])) == len(names)  # and it still serves
