"""The Swift API through python-swiftclient (and raw HTTP where headers matter)."""

from __future__ import annotations

import email.parser
import hashlib
import json
import time
import uuid
from xml.dom import minidom

import pytest
from swiftclient.exceptions import ClientException

from .conftest import RunningServer


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


# ------------------------------------------------------------------ auth
def test_auth_returns_token_and_storage_url(server: RunningServer) -> None:
    resp, _ = server.raw("GET", "/auth/v1.0", headers={"X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
    assert resp.status == 200
    assert resp.getheader("X-Storage-Url") == f"{server.url}/v1/AUTH_test"
    token = resp.getheader("X-Auth-Token")
    assert token and token == resp.getheader("X-Storage-Token")
    assert 86000 < int(resp.getheader("X-Auth-Token-Expires")) <= 86400
    # the legacy header pair works too
    resp, _ = server.raw("GET", "/auth/v1.0", headers={"X-Storage-User": "test:tester", "X-Storage-Pass": "testing"})
    assert resp.status == 200 and resp.getheader("X-Auth-Token")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Auth-User": "test:tester", "X-Auth-Key": "wrong"},
        {"X-Auth-User": "test:nobody", "X-Auth-Key": "testing"},
        {"X-Auth-User": "tester", "X-Auth-Key": "testing"},
        {},
    ],
)
def test_bad_credentials_get_401(server: RunningServer, headers: dict[str, str]) -> None:
    resp, body = server.raw("GET", "/auth/v1.0", headers=headers)
    assert resp.status == 401
    assert resp.getheader("Www-Authenticate", "").startswith("Swift realm=")
    assert b"Unauthorized" in body


def test_every_request_needs_a_valid_token(server: RunningServer) -> None:
    url, token = server.auth()
    path = url.split(str(server.port), 1)[1]
    assert server.raw("HEAD", path)[0].status == 401
    assert server.raw("HEAD", path, headers={"X-Auth-Token": token + "x"})[0].status == 401
    assert server.raw("HEAD", path, headers={"X-Auth-Token": "AUTH_tkbogus"})[0].status == 401
    assert server.raw("HEAD", path, headers={"X-Auth-Token": token})[0].status == 204
    # /info needs none
    resp, body = server.raw("GET", "/info")
    assert resp.status == 200 and "slo" in json.loads(body)


def test_other_accounts_are_forbidden_not_unauthorized(server: RunningServer) -> None:
    _, token = server.auth()
    assert server.raw("GET", "/v1/AUTH_test2", headers={"X-Auth-Token": token})[0].status == 403
    _, token3 = server.auth("test:tester3", "testing3")  # non-admin user of the same account
    assert server.raw("GET", "/v1/AUTH_test", headers={"X-Auth-Token": token3})[0].status == 403
    _, admin = server.auth("admin:admin", "admin")  # reseller admin owns every account
    assert server.raw("HEAD", "/v1/AUTH_test", headers={"X-Auth-Token": admin})[0].status == 204


# ----------------------------------------------------------- containers
def test_container_lifecycle_and_totals(server: RunningServer) -> None:
    conn = server.connection()
    name = f"life-{uuid.uuid4().hex[:8]}"
    conn.put_container(name, headers={"X-Container-Meta-Project": "wind"})
    resp: dict = {}
    conn.put_container(name, response_dict=resp)
    assert resp["status"] == 202  # already there
    conn.put_object(name, "a", b"12345")
    conn.put_object(name, "b", b"123")
    head = conn.head_container(name)
    assert head["x-container-object-count"] == "2" and head["x-container-bytes-used"] == "8"
    assert head["x-container-meta-project"] == "wind"
    with pytest.raises(ClientException) as exc:
        conn.delete_container(name)
    assert exc.value.http_status == 409
    acct = conn.head_account()
    assert int(acct["x-account-object-count"]) >= 2
    for o in ("a", "b"):
        conn.delete_object(name, o)
    conn.delete_container(name)
    with pytest.raises(ClientException) as exc:
        conn.head_container(name)
    assert exc.value.http_status == 404


def test_listing_parameters(server: RunningServer, container: str) -> None:
    conn = server.connection()
    names = ["a/1", "a/2", "a/b/3", "b", "c-1", "c-2", "\u00e9t\u00e9"]
    for n in names:
        conn.put_object(container, n, n.encode())

    def listing(**params: str | int) -> list[str]:
        _, objs = conn.get_container(container, **params)
        return [o.get("name", o.get("subdir")) for o in objs]

    assert listing() == sorted(names, key=lambda s: s.encode())
    assert listing(prefix="a/") == ["a/1", "a/2", "a/b/3"]
    assert listing(delimiter="/") == ["a/", "b", "c-1", "c-2", "\u00e9t\u00e9"]
    assert listing(prefix="a/", delimiter="/") == ["a/1", "a/2", "a/b/"]
    assert listing(marker="b", limit=2) == ["c-1", "c-2"]
    assert listing(marker="a/2", end_marker="c-2") == ["a/b/3", "b", "c-1"]
    _, objs = conn.get_container(container, headers={}, query_string="reverse=on&limit=2")
    assert [o["name"] for o in objs] == ["\u00e9t\u00e9", "c-2"]
    _, objs = conn.get_container(container, query_string="path=a")
    assert [o["name"] for o in objs] == ["a/1", "a/2"]
    # limit above Swift's maximum is refused
    with pytest.raises(ClientException) as exc:
        conn.get_container(container, limit=10001)
    assert exc.value.http_status == 412


def test_listing_formats(server: RunningServer, container: str) -> None:
    conn = server.connection()
    conn.put_object(container, "x.txt", b"abc", content_type="text/plain")
    url, token = server.auth()
    base = url.split(str(server.port), 1)[1] + "/" + container
    resp, body = server.raw("GET", base, headers={"X-Auth-Token": token})
    assert resp.getheader("Content-Type") == "text/plain; charset=utf-8" and body == b"x.txt\n"
    resp, body = server.raw("GET", base + "?format=json", headers={"X-Auth-Token": token})
    rec = json.loads(body)[0]
    assert resp.getheader("Content-Type") == "application/json; charset=utf-8"
    assert list(rec) == ["bytes", "hash", "name", "content_type", "last_modified"]
    assert rec["bytes"] == 3 and rec["hash"] == md5(b"abc") and rec["content_type"] == "text/plain"
    resp, body = server.raw("GET", base, headers={"X-Auth-Token": token, "Accept": "application/xml"})
    assert resp.getheader("Content-Type") == "application/xml; charset=utf-8"
    doc = minidom.parseString(body)
    assert doc.documentElement.getAttribute("name") == container
    assert doc.getElementsByTagName("name")[0].firstChild.data == "x.txt"
    # empty text listings are 204, JSON ones 200 []
    conn.delete_object(container, "x.txt")
    assert server.raw("GET", base, headers={"X-Auth-Token": token})[0].status == 204
    resp, body = server.raw("GET", base + "?format=json", headers={"X-Auth-Token": token})
    assert resp.status == 200 and body == b"[]"


def test_listing_with_metadata(server: RunningServer, container: str) -> None:
    """sciswift's extension: ``?with_metadata=true`` gives each object's user
    metadata in a JSON listing (offered in /info); without it, Swift's entries."""
    conn = server.connection()
    conn.put_object(container, "m.txt", b"abc", headers={"X-Object-Meta-Mtime": "1577880000.5",
                                                          "X-Object-Meta-Color": "blue"})
    conn.put_object(container, "plain.txt", b"abc")
    url, token = server.auth()
    base = url.split(str(server.port), 1)[1] + "/" + container
    _, body = server.raw("GET", base + "?format=json&with_metadata=true", headers={"X-Auth-Token": token})
    m, plain = json.loads(body)
    assert m["metadata"] == {"mtime": "1577880000.5", "color": "blue"}
    assert "metadata" not in plain and list(plain) == ["bytes", "hash", "name", "content_type", "last_modified"]
    _, body = server.raw("GET", base + "?format=json", headers={"X-Auth-Token": token})
    assert all("metadata" not in rec for rec in json.loads(body))
    _, body = server.raw("GET", base + "?with_metadata=true", headers={"X-Auth-Token": token})
    assert body == b"m.txt\nplain.txt\n"  # text listings are names only
    _, body = server.raw("GET", "/info")
    assert json.loads(body)["sciswift"]["listing_metadata"] is True


# --------------------------------------------------------------- objects
def test_put_get_head_and_metadata(server: RunningServer, container: str) -> None:
    conn = server.connection()
    etag = conn.put_object(container, "obj", b"payload", headers={"X-Object-Meta-Color": "blue"})
    assert etag == md5(b"payload")
    head = conn.head_object(container, "obj")
    assert head["content-length"] == "7" and head["etag"] == etag
    assert head["x-object-meta-color"] == "blue" and head["accept-ranges"] == "bytes"
    conn.post_object(container, "obj", headers={"X-Object-Meta-Shape": "round", "Content-Type": "text/x-test"})
    head = conn.head_object(container, "obj")
    assert "x-object-meta-color" not in head  # POST replaces user metadata
    assert head["x-object-meta-shape"] == "round" and head["content-type"] == "text/x-test"
    _, body = conn.get_object(container, "obj")
    assert body == b"payload"


def test_content_type_is_guessed_and_etag_checked(server: RunningServer, container: str) -> None:
    conn = server.connection()
    url, token = server.auth()
    path = url.split(str(server.port), 1)[1] + f"/{container}/notes.txt"
    resp, _ = server.raw("PUT", path, b"hi", headers={"X-Auth-Token": token})
    assert resp.status == 201
    assert conn.head_object(container, "notes.txt")["content-type"] == "text/plain"
    resp, _ = server.raw("PUT", path, b"hi", headers={"X-Auth-Token": token, "Etag": md5(b"other")})
    assert resp.status == 422
    _, body = conn.get_object(container, "notes.txt")
    assert body == b"hi"  # the refused PUT changed nothing


def test_single_and_multiple_ranges(server: RunningServer, container: str) -> None:
    conn = server.connection()
    data = bytes(range(256)) * 40
    conn.put_object(container, "r", data, content_type="app/x")
    h, body = conn.get_object(container, "r", headers={"Range": "bytes=10-19"})
    assert body == data[10:20] and h["content-range"] == f"bytes 10-19/{len(data)}"
    _, body = conn.get_object(container, "r", headers={"Range": "bytes=-5"})
    assert body == data[-5:]
    h, body = conn.get_object(container, "r", headers={"Range": "bytes=0-1,100-102"})
    ctype = h["content-type"]
    assert ctype.startswith("multipart/byteranges;boundary=")
    msg = email.parser.BytesParser().parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    parts = msg.get_payload()
    assert [p.get_payload(decode=True) for p in parts] == [data[0:2], data[100:103]]
    assert parts[1]["Content-Range"] == f"bytes 100-102/{len(data)}" and parts[1]["Content-Type"] == "app/x"
    with pytest.raises(ClientException) as exc:
        conn.get_object(container, "r", headers={"Range": f"bytes={len(data)}-"})
    assert exc.value.http_status == 416
    _, body = conn.get_object(container, "r", headers={"Range": "bytes=9-3"})  # invalid: ignored
    assert body == data


def test_conditional_requests(server: RunningServer, container: str) -> None:
    conn = server.connection()
    etag = conn.put_object(container, "c", b"cond")
    lm = conn.head_object(container, "c")["last-modified"]
    for headers, status in [
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Match": '"other", "x"'}, 412),
        ({"If-Match": f'"{etag}"'}, 200),
        ({"If-Modified-Since": lm}, 304),
        ({"If-Unmodified-Since": "Thu, 01 Jan 2004 00:00:00 GMT"}, 412),
    ]:
        try:
            h, _ = conn.get_object(container, "c", headers=headers)
            got = 200
        except ClientException as exc:
            got = exc.http_status
        assert got == status, headers
    with pytest.raises(ClientException) as exc:
        conn.put_object(container, "c", b"again", headers={"If-None-Match": "*"})
    assert exc.value.http_status == 412


@pytest.mark.parametrize("backend", ["server", "disk_server"])
def test_put_if_match_is_compare_and_swap(backend: str, request: pytest.FixtureRequest) -> None:
    """Beyond Swift (announced in /info): one ETag in If-Match makes a PUT replace
    the object only if that is its current ETag."""
    server: RunningServer = request.getfixturevalue(backend)
    conn = server.connection()
    container = f"cas-{uuid.uuid4().hex[:8]}"
    conn.put_container(container)
    assert json.loads(server.raw("GET", "/info")[1])["sciswift"] == {
        "conditional_put": True, "batched_extract": True, "extract_crc32c": True, "listing_metadata": True,
        "batched_get": {"max_objects_per_request": 1000, "max_object_bytes": 16 << 20},
    }
    first = conn.put_object(container, "o", b"one")
    for headers in ({"If-Match": '"0123456789abcdef0123456789abcdef"'}, {"If-Match": md5(b"two")}):
        with pytest.raises(ClientException) as exc:
            conn.put_object(container, "o", b"two", headers=headers)
        assert exc.value.http_status == 412
    assert conn.get_object(container, "o")[1] == b"one"
    second = conn.put_object(container, "o", b"two", headers={"If-Match": f'"{first}"'})
    assert conn.get_object(container, "o")[1] == b"two" and second == md5(b"two")
    with pytest.raises(ClientException) as exc:  # the old ETag no longer matches
        conn.put_object(container, "o", b"three", headers={"If-Match": first})
    assert exc.value.http_status == 412
    with pytest.raises(ClientException) as exc:  # nothing to match
        conn.put_object(container, "missing", b"x", headers={"If-Match": first})
    assert exc.value.http_status == 412
    # lists and * are ignored on PUT, as Swift ignores If-Match there
    conn.put_object(container, "o", b"four", headers={"If-Match": '"a", "b"'})
    assert conn.get_object(container, "o")[1] == b"four"


def test_copy_and_x_copy_from(server: RunningServer, container: str) -> None:
    conn = server.connection()
    conn.put_object(container, "src", b"copy me", headers={"X-Object-Meta-A": "1", "Content-Encoding": "gzip"})
    url, token = server.auth()
    path = url.split(str(server.port), 1)[1] + f"/{container}/src"
    resp, _ = server.raw("COPY", path, headers={"X-Auth-Token": token, "Destination": f"{container}/dst",
                                                 "X-Object-Meta-B": "2"})
    assert resp.status == 201 and resp.getheader("X-Copied-From") == f"{container}/src"
    h, body = conn.get_object(container, "dst")
    assert body == b"copy me" and h["x-object-meta-a"] == "1" and h["x-object-meta-b"] == "2"
    assert h["content-encoding"] == "gzip"
    conn.put_object(container, "dst2", b"", headers={"X-Copy-From": f"/{container}/src", "X-Fresh-Metadata": "true",
                                                     "Range": "bytes=0-3"})
    h, body = conn.get_object(container, "dst2")
    assert body == b"copy" and "x-object-meta-a" not in h
    resp, _ = server.raw("COPY", path, headers={"X-Auth-Token": token, "Destination": "no-slash"})
    assert resp.status == 412


def test_cross_account_copy_needs_acls(server: RunningServer, container: str) -> None:
    conn = server.connection()
    conn.put_object(container, "shared", b"cross")
    conn2 = server.connection("test2:tester2", "testing2")
    dest = f"dest-{uuid.uuid4().hex[:8]}"
    conn2.put_container(dest)
    copy_headers = {"X-Copy-From": f"{container}/shared", "X-Copy-From-Account": "AUTH_test"}
    with pytest.raises(ClientException) as exc:
        conn2.put_object(dest, "got", b"", headers=copy_headers)
    assert exc.value.http_status == 403
    conn.post_container(container, {"X-Container-Read": "test2:tester2"})
    conn2.put_object(dest, "got", b"", headers=copy_headers)
    assert conn2.get_object(dest, "got")[1] == b"cross"
    conn2.delete_object(dest, "got")
    conn2.delete_container(dest)


def test_container_acls_and_public_read(server: RunningServer, container: str) -> None:
    conn = server.connection()
    conn.put_object(container, "o", b"acl")
    url, _ = server.auth()
    path = url.split(str(server.port), 1)[1] + f"/{container}"
    _, t3 = server.auth("test:tester3", "testing3")
    assert server.raw("GET", path + "/o", headers={"X-Auth-Token": t3})[0].status == 403
    assert server.raw("GET", path + "/o")[0].status == 401
    conn.post_container(container, {"X-Container-Read": "test:tester3"})
    assert server.raw("GET", path + "/o", headers={"X-Auth-Token": t3})[1] == b"acl"
    assert server.raw("PUT", path + "/new", b"x", headers={"X-Auth-Token": t3})[0].status == 403
    conn.post_container(container, {"X-Container-Write": "test:tester3"})
    assert server.raw("PUT", path + "/new", b"x", headers={"X-Auth-Token": t3})[0].status == 201
    # public: objects readable by anyone, listing only with .rlistings
    conn.post_container(container, {"X-Container-Read": ".r:*"})
    assert server.raw("GET", path + "/o")[1] == b"acl"
    assert server.raw("GET", path)[0].status == 401
    conn.post_container(container, {"X-Container-Read": ".r:*,.rlistings"})
    assert server.raw("GET", path)[0].status == 200
    # only owners see the ACL headers
    assert "x-container-read" in conn.head_container(container)
    resp, _ = server.raw("HEAD", path, headers={"X-Auth-Token": t3})
    assert resp.getheader("X-Container-Read") is None


def test_account_acls(server: RunningServer) -> None:
    conn = server.connection()
    _, t3 = server.auth("test:tester3", "testing3")
    try:
        conn.post_account({"X-Account-Access-Control": json.dumps({"read-only": ["test:tester3"]})})
        assert server.raw("GET", "/v1/AUTH_test", headers={"X-Auth-Token": t3})[0].status in (200, 204)
        assert server.raw("PUT", "/v1/AUTH_test/nope", headers={"X-Auth-Token": t3})[0].status == 403
        resp, body = server.raw("POST", "/v1/AUTH_test", headers={"X-Auth-Token": conn.get_auth()[1],
                                                                 "X-Account-Access-Control": "not json"})
        assert resp.status == 400 and b"X-Account-Access-Control invalid" in body
    finally:
        conn.post_account({"X-Account-Access-Control": "{}"})


def test_expiring_objects_answer_404(server: RunningServer, container: str) -> None:
    conn = server.connection()
    delete_at = int(time.time()) + 2  # (+1 could be in the past by the time the PUT arrived)
    conn.put_object(container, "soon", b"x", headers={"X-Delete-At": str(delete_at)})
    assert conn.head_object(container, "soon")["x-delete-at"]
    time.sleep(delete_at + 1.1 - time.time())
    with pytest.raises(ClientException) as exc:
        conn.get_object(container, "soon")
    assert exc.value.http_status == 404
    with pytest.raises(ClientException) as exc:
        conn.put_object(container, "past", b"x", headers={"X-Delete-After": "nope"})
    assert exc.value.http_status == 400


def test_quotas(server: RunningServer, container: str) -> None:
    conn = server.connection()
    conn.post_container(container, {"X-Container-Meta-Quota-Bytes": "10"})
    with pytest.raises(ClientException) as exc:
        conn.put_object(container, "big", b"x" * 11)
    assert exc.value.http_status == 413
    conn.put_object(container, "ok", b"x" * 10)
    # only a reseller admin may set account quotas
    with pytest.raises(ClientException) as exc:
        conn.post_account({"X-Account-Quota-Bytes": "100"})
    assert exc.value.http_status == 403


def test_static_large_object(server: RunningServer, container: str) -> None:
    conn = server.connection()
    a, b = b"a" * 1000, b"b" * 10
    ea, eb = conn.put_object(container, "seg/a", a), conn.put_object(container, "seg/b", b)
    manifest = [{"path": f"/{container}/seg/a", "etag": ea, "size_bytes": 1000},
                {"path": f"/{container}/seg/b", "etag": None, "size_bytes": None}]
    conn.put_object(container, "slo", json.dumps(manifest), query_string="multipart-manifest=put")
    h, body = conn.get_object(container, "slo")
    assert body == a + b
    assert h["etag"] == '"%s"' % md5((ea + eb).encode())
    _, body = conn.get_object(container, "slo", headers={"Range": "bytes=995-1004"})
    assert body == a[995:] + b[:5]
    _, raw = conn.get_object(container, "slo", query_string="multipart-manifest=get&format=raw")
    assert [s["path"] for s in json.loads(raw)] == [f"/{container}/seg/a", f"/{container}/seg/b"]
    with pytest.raises(ClientException) as exc:
        conn.put_object(container, "bad", b"{not json", query_string="multipart-manifest=put")
    assert exc.value.http_status == 400 and "valid JSON" in exc.value.http_response_content.decode()
    conn.delete_object(container, "slo", query_string="multipart-manifest=delete")
    _, objs = conn.get_container(container)
    assert objs == []


def test_dynamic_large_object(server: RunningServer, container: str) -> None:
    conn = server.connection()
    for i, part in enumerate([b"one", b"two", b"three"]):
        conn.put_object(container, f"parts/{i:02d}", part)
    conn.put_object(container, "dlo", b"", headers={"X-Object-Manifest": f"{container}/parts/"})
    h, body = conn.get_object(container, "dlo")
    assert body == b"onetwothree" and h["content-length"] == "11"
    _, body = conn.get_object(container, "dlo", headers={"Range": "bytes=2-4"})
    assert body == b"etw"
    with pytest.raises(ClientException) as exc:
        conn.put_object(container, "bad-dlo", b"", headers={"X-Object-Manifest": "no-prefix"})
    assert exc.value.http_status == 400


def test_tokens_cross_worker_processes(start_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    srv = start_server("--workers", "2", data_dir=tmp_path / "data")
    url, token = srv.auth()
    path = url.split(str(srv.port), 1)[1]
    # many fresh connections: the kernel spreads them over both workers
    statuses = {srv.raw("PUT", f"{path}/c{i % 3}", headers={"X-Auth-Token": token})[0].status for i in range(30)}
    assert statuses <= {201, 202}
    for i in range(3):
        assert srv.raw("DELETE", f"{path}/c{i}", headers={"X-Auth-Token": token})[0].status == 204


def test_a_change_through_one_worker_is_seen_by_the_next_request_on_every_worker(
    start_server, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    """Workers cache ACLs for a moment; a change made through one of them must
    not leave another serving the old one (server.generation)."""
    srv = start_server("--workers", "2", data_dir=tmp_path / "data")
    url, token = srv.auth()
    path = url.split(str(srv.port), 1)[1]
    owner = {"X-Auth-Token": token}
    assert srv.raw("PUT", f"{path}/pub", headers=owner)[0].status == 201
    assert srv.raw("PUT", f"{path}/pub/o", body=b"public", headers=owner)[0].status == 201
    for _ in range(5):
        assert srv.raw("POST", f"{path}/pub", headers={**owner, "X-Container-Read": ".r:*"})[0].status == 204
        # anonymous reads on fresh connections: both workers serve (and cache) the ACL
        assert {srv.raw("GET", f"{path}/pub/o")[0].status for _ in range(16)} == {200}
        assert srv.raw("POST", f"{path}/pub", headers={**owner, "X-Container-Read": ""})[0].status == 204
        assert {srv.raw("GET", f"{path}/pub/o")[0].status for _ in range(16)} == {401}
    assert srv.raw("DELETE", f"{path}/pub/o", headers=owner)[0].status == 204
    assert srv.raw("DELETE", f"{path}/pub", headers=owner)[0].status == 204
    assert {srv.raw("PUT", f"{path}/pub/o", body=b"x", headers=owner)[0].status for _ in range(16)} == {404}


def test_server_log_has_one_line_per_request(server: RunningServer) -> None:
    marker = uuid.uuid4().hex
    server.raw("GET", f"/v1/AUTH_test/{marker}")
    lines = [ln for ln in server.log_once(marker).splitlines() if marker in ln]
    assert len(lines) == 1 and " GET " in lines[0] and " 401 " in lines[0]



def test_rfc_compliant_etags_per_container(server: RunningServer, container: str) -> None:
    conn = server.connection()
    etag = conn.put_object(container, "q", b"quote me")
    assert conn.head_object(container, "q")["etag"] == etag
    conn.post_container(container, {"X-Container-Rfc-Compliant-Etags": "true"})
    assert conn.head_object(container, "q")["etag"] == f'"{etag}"'
    assert conn.head_container(container)["x-container-rfc-compliant-etags"] == "True"
    conn.post_container(container, {"X-Container-Rfc-Compliant-Etags": ""})
    assert conn.head_object(container, "q")["etag"] == etag


def test_open_expired(server: RunningServer, container: str) -> None:
    conn = server.connection()
    # (+2: with +1, a PUT sent late in a second was already "in the past" by then)
    delete_at = int(time.time()) + 2
    conn.put_object(container, "gone", b"still here", headers={"X-Delete-At": str(delete_at)})
    time.sleep(delete_at + 1.1 - time.time())
    with pytest.raises(ClientException) as exc:
        conn.head_object(container, "gone")
    assert exc.value.http_status == 404
    _, body = conn.get_object(container, "gone", headers={"X-Open-Expired": "true"})
    assert body == b"still here"
    # a POST with X-Open-Expired revives it
    conn.post_object(container, "gone", headers={"X-Open-Expired": "true", "X-Object-Meta-Back": "yes"})
    assert conn.head_object(container, "gone")["x-object-meta-back"] == "yes"


def _tar(files: dict[str, bytes], mode: str = "w", pax: dict[str, dict[str, str]] | None = None) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = (pax or {}).get(name, {})
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("kind, mode", [("tar", "w"), ("tar.gz", "w:gz"), ("tar.bz2", "w:bz2")])
def test_bulk_upload(server: RunningServer, kind: str, mode: str) -> None:
    conn = server.connection()
    cont = f"up-{uuid.uuid4().hex[:8]}"
    archive = _tar({f"{cont}/a.txt": b"alpha", f"{cont}/dir/b.bin": b"beta", "top-level.txt": b"skipped"}, mode,
                   pax={f"{cont}/a.txt": {"SCHILY.xattr.user.meta.color": "red",
                                          "SCHILY.xattr.user.mime_type": "text/x-alpha"}})
    url, token = server.auth()
    resp, body = server.raw("PUT", "/v1/AUTH_test?extract-archive=" + kind, archive,
                            headers={"X-Auth-Token": token, "Accept": "application/json",
                                     "X-Object-Meta-Batch": "7"})
    assert resp.status == 200
    result = json.loads(body)
    assert result["Number Files Created"] == 2 and result["Response Status"] == "201 Created"
    assert result["Errors"] == []
    h, data = conn.get_object(cont, "a.txt")
    assert data == b"alpha" and h["x-object-meta-color"] == "red" and h["content-type"] == "text/x-alpha"
    assert h["x-object-meta-batch"] == "7"
    assert conn.get_object(cont, "dir/b.bin")[1] == b"beta"


def test_bulk_upload_into_a_container_and_bad_archives(server: RunningServer, container: str) -> None:
    url, token = server.auth()
    archive = _tar({"x/1": b"one", "2": b"two"})
    resp, body = server.raw("PUT", f"/v1/AUTH_test/{container}/pre?extract-archive=tar", archive,
                            headers={"X-Auth-Token": token})
    assert resp.status == 200 and b"Number Files Created: 2" in body
    names = [o["name"] for o in server.connection().get_container(container)[1]]
    assert names == ["pre/2", "pre/x/1"]
    resp, body = server.raw("PUT", f"/v1/AUTH_test/{container}?extract-archive=tar", b"not a tar file" * 100,
                            headers={"X-Auth-Token": token})
    assert resp.status == 200 and b"Response Status: 400 Bad Request" in body and b"Invalid Tar File" in body
    resp, _ = server.raw("PUT", f"/v1/AUTH_test/{container}?extract-archive=zip", b"x",
                         headers={"X-Auth-Token": token})
    assert resp.status == 400
    _, t3 = server.auth("test:tester3", "testing3")  # no write access
    resp, body = server.raw("PUT", f"/v1/AUTH_test/{container}?extract-archive=tar", archive,
                            headers={"X-Auth-Token": t3})
    assert b"403 Forbidden" in body and b"Number Files Created: 0" in body
