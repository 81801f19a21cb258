"""Reads answered in the auth reply (``X-Sciswift-Prefetch``, see
``sciswift.server.auth_prefetch``): made as the authenticated user's own
requests would be, only after the credentials were accepted; anything the
header does not honour leaves the ordinary auth reply."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pytest

from sciswift.server import auth_prefetch
from sciswift.store.object_frames import CONTENT_TYPE, Frame, read_frames

from .conftest import RunningServer

HEADER = "X-Sciswift-Prefetch"


def _auth(server: RunningServer, prefetch: str, user: str = "test:tester", key: str = "testing",
          ) -> tuple[int, dict[str, str], list[Frame]]:
    resp, body = server.raw("GET", "/auth/v1.0", headers={"X-Auth-User": user, "X-Auth-Key": key, HEADER: prefetch})
    headers = dict(resp.getheaders())
    frames = list(read_frames(io.BytesIO(body).read, "auth reply")) \
        if headers.get("Content-Type") == CONTENT_TYPE else []
    return resp.status, headers, frames


@pytest.fixture
def objects(server: RunningServer) -> Iterator[str]:
    """A container of test:tester holding ``a`` (3 bytes, with metadata) and ``big``."""
    name = f"pf-{uuid.uuid4().hex[:10]}"
    conn = server.connection()
    conn.put_container(name)
    conn.put_object(name, "dir/a", b"abc", headers={"X-Object-Meta-Color": "blue"})
    conn.put_object(name, "big", b"x" * (auth_prefetch.MAX_BODY + 1))
    yield name
    for obj in ("dir/a", "big"):
        conn.delete_object(name, obj)
    conn.delete_container(name)
    conn.close()


def test_reads_come_with_the_token(server: RunningServer, objects: str) -> None:
    status, headers, frames = _auth(server, f"HEAD /{objects}/dir/a, GET /{objects}/dir/a, GET /{objects}/none")
    assert status == 200 and headers["X-Auth-Token"] and headers[HEADER] == "3"
    head, get, missing = frames
    assert (head.name, head.status, head.body) == (f"HEAD /{objects}/dir/a", 200, b"")
    assert head.headers["Content-Length"] == "3" and head.headers["X-Object-Meta-Color"] == "blue"
    assert (get.status, get.body, get.headers["Etag"]) == (200, b"abc", "900150983cd24fb0d6963f7d28e17f72")
    assert missing.status == 404
    # the reads are in the access log, as the client's own requests would be
    log = server.log_once(f"HEAD /v1/AUTH_test/{objects}/dir/a", f"GET /v1/AUTH_test/{objects}/none")
    assert f"GET /v1/AUTH_test/{objects}/dir/a HTTP/1.1 200" in log


def test_nothing_is_read_for_refused_credentials(server: RunningServer, objects: str) -> None:
    status, headers, frames = _auth(server, f"GET /{objects}/dir/a", key="wrong")
    assert status == 401 and frames == [] and "X-Auth-Token" not in headers


def test_reads_are_made_as_the_user_who_authenticated(server: RunningServer, objects: str) -> None:
    """test:tester3 (no admin, no ACL on the container) is refused what test:tester
    may read; another account's objects are out of reach of the path too."""
    status, _, frames = _auth(server, f"GET /{objects}/dir/a, HEAD /{objects}/dir/a", "test:tester3", "testing3")
    assert status == 200 and [f.status for f in frames] == [403, 403] and frames[0].body == b""
    status, headers, frames = _auth(server, f"GET /{objects}/dir/a", "test2:tester2", "testing2")
    assert status == 200 and headers["X-Storage-Url"].endswith("/AUTH_test2")
    assert [f.status for f in frames] == [404]  # AUTH_test2 has no such container
    status, _, frames = _auth(server, f"GET /../AUTH_test/{objects}/dir/a", "test2:tester2", "testing2")
    assert [f.status for f in frames] != [200]


def test_a_large_body_is_left_to_its_own_request(server: RunningServer, objects: str) -> None:
    _, _, frames = _auth(server, f"GET /{objects}/big")
    assert [(f.status, f.body) for f in frames] == [(413, b"")]


@pytest.mark.parametrize("value", [
    "PUT /c/o", "DELETE /c/o", "GET c/o", "GET /c", "GET /c/o?x=1", "",
    ", ".join(f"GET /c/o{i}" for i in range(auth_prefetch.MAX_ENTRIES + 1)),
])
def test_a_header_not_honoured_leaves_the_ordinary_reply(server: RunningServer, value: str) -> None:
    status, headers, frames = _auth(server, value)
    assert status == 200 and headers["X-Auth-Token"] and HEADER not in headers and frames == []
    assert headers["Content-Type"].startswith("text/html")


def test_info_comes_with_the_token(server: RunningServer) -> None:
    status, _, frames = _auth(server, "GET /info")
    assert status == 200 and [(f.name, f.status) for f in frames] == [("GET /info", 200)]
    assert b'"swift"' in frames[0].body
