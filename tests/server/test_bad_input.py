"""Malformed and hostile requests get Swift's status and a short clear body,
never a traceback, and never touch anything outside the data directory."""

from __future__ import annotations

import json
import os
import socket
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from .conftest import RunningServer


def send_raw(server: RunningServer, data: bytes, timeout: float = 5) -> bytes:
    """Send bytes as they are on a fresh connection; return the raw reply."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except TimeoutError:
            pass
    return out


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def body_of(reply: bytes) -> bytes:
    return reply.split(b"\r\n\r\n", 1)[1]


@pytest.fixture
def token(server: RunningServer) -> str:
    return server.auth()[1]


@pytest.fixture
def made(server: RunningServer, container: str) -> str:
    return container


def head(token: str, *extra: str) -> bytes:
    lines = ["Host: test", f"X-Auth-Token: {token}", "Connection: close", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_bad_content_length(server: RunningServer, token: str, made: str) -> None:
    for value in ("X", "-5", "1e3"):
        reply = send_raw(server, f"PUT /v1/AUTH_test/{made}/o HTTP/1.1\r\n".encode()
                         + head(token, f"Content-Length: {value}") + b"abc")
        assert status_of(reply) == 400, value
        assert b"Content-Length" in body_of(reply)
        assert b"Traceback" not in reply


def test_missing_length_and_unsupported_transfer_encoding(server: RunningServer, token: str, made: str) -> None:
    reply = send_raw(server, f"PUT /v1/AUTH_test/{made}/o HTTP/1.1\r\n".encode() + head(token))
    assert status_of(reply) == 411 and body_of(reply) == b"Missing Content-Length header."
    # a client that sends a body anyway, in the same packet, still gets 411 (not a
    # parse error for its body taken as a next request)
    reply = send_raw(server, f"PUT /v1/AUTH_test/{made}/o HTTP/1.1\r\n".encode() + head(token) + b"x" * 100)
    assert status_of(reply) == 411 and body_of(reply) == b"Missing Content-Length header."
    reply = send_raw(server, f"PUT /v1/AUTH_test/{made}/o HTTP/1.1\r\n".encode()
                     + head(token, "Transfer-Encoding: gzip, chunked") + b"x" * 100)
    assert status_of(reply) == 501 and b"Transfer-Coding" in body_of(reply)
    assert b"Traceback" not in reply


def test_bad_chunked_encoding(server: RunningServer, token: str, made: str) -> None:
    reply = send_raw(server, f"PUT /v1/AUTH_test/{made}/o HTTP/1.1\r\n".encode()
                     + head(token, "Transfer-Encoding: chunked") + b"zz\r\nabc\r\n0\r\n\r\n")
    assert status_of(reply) in (400, 499)
    assert b"chunked" in body_of(reply) or b"Client Disconnect" in body_of(reply)
    assert server.connection().get_container(made)[1] == []  # nothing was stored


def test_chunked_upload_works(server: RunningServer, token: str, made: str) -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    reply = send_raw(server, f"PUT /v1/AUTH_test/{made}/chunky HTTP/1.1\r\n".encode()
                     + head(token, "Transfer-Encoding: chunked") + body)
    assert status_of(reply) == 201
    assert server.connection().get_object(made, "chunky")[1] == b"hello world"


def test_bad_range_is_ignored(server: RunningServer, made: str) -> None:
    conn = server.connection()
    conn.put_object(made, "r", b"0123456789")
    for bad in ("bytes=5-2", "parsecs=1-2", "bytes=abc", "bytes=-"):
        headers, body = conn.get_object(made, "r", headers={"Range": bad})
        assert body == b"0123456789" and "content-range" not in headers, bad


@pytest.mark.parametrize(
    "path, status, text",
    [
        (b"/v1/AUTH_test/%ff%fe", 412, b"Invalid UTF8 or contains NULL"),
        (b"/v1/AUTH_test/\xff\xfe", 412, b"Invalid UTF8 or contains NULL"),
        (b"/v1/AUTH_test/abc%00def", 412, b"Invalid UTF8 or contains NULL"),
        (b"/v1/AUTH_test/c/abc%00def", 412, b"Invalid UTF8 or contains NULL"),
        (b"/v1", 412, b"Bad URL"),
        (b"//v1/AUTH_test", 404, b"Not Found"),
        (b"/v2/AUTH_test", 400, b"Bad Request"),
        (b"/v1/AUTH_test/" + b"c" * 257, 400, b"Container name length of 257 longer than 256"),
        (b"/v1/AUTH_test/..", 400, b"'..' is not allowed"),
        (b"/v1/AUTH_test/%2e%2e", 400, b"'..' is not allowed"),
    ],
)
def test_bad_paths(server: RunningServer, token: str, path: bytes, status: int, text: bytes) -> None:
    reply = send_raw(server, b"PUT " + path + b" HTTP/1.1\r\n" + head(token, "Content-Length: 0"))
    assert status_of(reply) == status
    assert text in body_of(reply)


def test_over_long_object_name(server: RunningServer, made: str) -> None:
    url, token = server.auth()
    resp, body = server.raw("PUT", f"/v1/AUTH_test/{made}/" + "o" * 1025, b"x", headers={"X-Auth-Token": token})
    assert resp.status == 400 and body == b"Object name length of 1025 longer than 1024"
    resp, _ = server.raw("PUT", f"/v1/AUTH_test/{made}/" + "o" * 1024, b"x", headers={"X-Auth-Token": token})
    assert resp.status == 201


def test_dot_dot_object_names_stay_names(disk_server: RunningServer) -> None:
    """``..`` segments in object names are plain names (as in Swift): they can
    never reach a filesystem path outside the data directory. (Sent raw:
    HTTP client libraries would collapse the dot segments themselves.)"""
    assert disk_server.data_dir is not None
    url, token = disk_server.auth()
    auth = {"X-Auth-Token": token}
    cont = f"dots-{uuid.uuid4().hex[:8]}"
    assert disk_server.raw("PUT", f"/v1/AUTH_test/{cont}", headers=auth)[0].status == 201
    outside = disk_server.data_dir.parent / "escaped"
    names = ["../../escaped", "../escaped", "..", "a/../../b", "/etc/passwd"]
    before = set(os.listdir(disk_server.data_dir.parent))
    for n in names:
        path = f"/v1/AUTH_test/{cont}/" + quote(n, safe="/.")
        assert disk_server.raw("PUT", path, n.encode(), headers=auth)[0].status == 201, n
    assert not outside.exists()
    assert set(os.listdir(disk_server.data_dir.parent)) == before
    conn = disk_server.connection()
    _, objs = conn.get_container(cont)
    assert sorted(o["name"] for o in objs) == sorted(names)
    for n in names:
        resp, body = disk_server.raw("GET", f"/v1/AUTH_test/{cont}/" + quote(n, safe="/."), headers=auth)
        assert resp.status == 200 and body == n.encode()
        assert disk_server.raw("DELETE", f"/v1/AUTH_test/{cont}/" + quote(n, safe=""), headers=auth)[0].status == 204
    conn.delete_container(cont)


def test_metadata_limits(server: RunningServer, made: str) -> None:
    url, token = server.auth()
    path = f"/v1/AUTH_test/{made}/m"
    cases = [
        ({"X-Object-Meta-" + "k" * 129: "v"}, b"Metadata name too long"),
        ({"X-Object-Meta-K": "v" * 257}, b"Metadata value longer than 256"),
        ({f"X-Object-Meta-{i}": "v" for i in range(91)}, b"Too many metadata items; max 90"),
        ({"X-Object-Meta-": "v"}, b"Metadata name cannot be empty"),
    ]
    for headers, text in cases:
        resp, body = server.raw("PUT", path, b"x", headers={"X-Auth-Token": token, **headers})
        assert resp.status == 400 and text in body


def test_bad_slo_manifests(server: RunningServer, made: str) -> None:
    url, token = server.auth()
    path = f"/v1/AUTH_test/{made}/slo?multipart-manifest=put"
    for body, text in [
        (b"{not json", b"Manifest must be valid JSON."),
        (b'{"a": 1}', b"Manifest must be a list."),
        (json.dumps([{"path": "nocontainer"}]).encode(), b"path does not refer to an object"),
        (json.dumps([{"path": f"/{made}/x", "teag": "1"}]).encode(), b'extraneous keys "teag"'),
        (json.dumps([{"path": f"/{made}/missing"}]).encode(), b"404 Not Found"),
    ]:
        resp, out = server.raw("PUT", path, body, headers={"X-Auth-Token": token})
        assert resp.status == 400 and text in out, body


def test_no_tracebacks_in_replies_or_log(server: RunningServer) -> None:
    send_raw(server, b"GARBAGE\r\n\r\n")
    send_raw(server, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = send_raw(server, b"GET /v1/AUTH_test HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + b"t" * 9000 + b"\r\n\r\n")
    assert status_of(reply) == 400 and b"Traceback" not in reply
    assert "Traceback" not in server.log_text()


def test_data_dir_is_created_and_holds_only_accounts(start_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "new" / "data"
    srv = start_server(data_dir=data)
    assert data.is_dir()
    conn = srv.connection()
    conn.put_container("c")
    conn.put_object("c", "o", b"x")
    assert sorted(p.name for p in data.iterdir()) == [".cache-generation", ".token-secret", "AUTH_test"]
    assert oct((data / ".token-secret").stat().st_mode & 0o777) == "0o600"
    assert oct((data / ".cache-generation").stat().st_mode & 0o777) == "0o600"


def test_unknown_methods_get_405(server: RunningServer, token: str) -> None:
    for method in (b"LICK", b"GETorHEAD_base"):
        reply = send_raw(server, method + b" /v1/AUTH_test HTTP/1.1\r\n" + head(token))
        assert status_of(reply) == 405, method
        assert b"Allow: GET, HEAD, OPTIONS, POST" in reply


def test_raw_utf8_names_on_a_keep_alive_connection(server: RunningServer, token: str, made: str) -> None:
    """Raw UTF-8 request targets work mid-connection too (they take the lenient
    parser for that one request, then the fast one again)."""
    name = "caf\u00e9-\u2603"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        f = s.makefile("rb")
        for i, path in enumerate([f"/v1/AUTH_test/{made}/plain", f"/v1/AUTH_test/{made}/{name}"] * 2):
            body = f"body{i}".encode()
            s.sendall(f"PUT {path} HTTP/1.1\r\nHost: t\r\nX-Auth-Token: {token}\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status = f.readline()
            assert b" 201 " in status, (path, status)
            length = 0
            while (line := f.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            f.read(length)
    assert server.connection().get_object(made, name)[1] == b"body3"


def test_static_large_object_header_is_reserved(server: RunningServer, made: str) -> None:
    """As Swift's slo middleware: a plain PUT may not mark itself an SLO."""
    token = server.auth()[1]
    resp, body = server.raw("PUT", f"/v1/AUTH_test/{made}/fake-slo", b"[]",
                            headers={"X-Auth-Token": token, "X-Static-Large-Object": "true"})
    assert resp.status == 400 and b"X-Static-Large-Object is a reserved header" in body
    resp, _ = server.raw("HEAD", f"/v1/AUTH_test/{made}/fake-slo", headers={"X-Auth-Token": token})
    assert resp.status == 404
    # a false value is no claim: stored as a plain object
    resp, _ = server.raw("PUT", f"/v1/AUTH_test/{made}/plain", b"x",
                         headers={"X-Auth-Token": token, "X-Static-Large-Object": "false"})
    assert resp.status == 201


@pytest.mark.parametrize("method, target, header", [
    ("POST", "/v1/AUTH_test/{c}", b"X-Container-Read: \xff"),
    ("POST", "/v1/AUTH_test/{c}", b"X-Container-Write: a\xed\xa0\x80"),
    ("POST", "/v1/AUTH_test/{c}", b"X-Versions-Location: \xff"),
    ("POST", "/v1/AUTH_test/{c}", b"X-Container-Sync-To: http://\xff/"),
    ("PUT", "/v1/AUTH_test/{c}", b"X-History-Location: \xc3"),
    ("POST", "/v1/AUTH_test", b"X-Account-Access-Control: \xff"),
    ("POST", "/v1/AUTH_test", b'X-Account-Access-Control: {"admin": ["\xff"]}'),
])
def test_stored_header_values_must_be_utf8(disk_server: RunningServer, method: str, target: str,
                                           header: bytes) -> None:
    """ACLs, versions locations and sync targets are kept as text: bytes that
    are not UTF-8 are 400, not a 500 from the store's write (or from quoting
    them in the error), and the container keeps what it had."""
    conn = disk_server.connection()
    container = f"u8-{uuid.uuid4().hex[:8]}"
    conn.put_container(container, headers={"X-Container-Read": ".r:*"})
    tok = disk_server.auth()[1]
    request = f"{method} {target.format(c=container)} HTTP/1.1\r\n".encode() + head(tok, "Content-Length: 0")
    reply = send_raw(disk_server, request.replace(b"\r\n\r\n", b"\r\n" + header + b"\r\n\r\n"))
    assert status_of(reply) == 400, reply[:300]
    assert b"Traceback" not in reply
    assert conn.head_container(container)["x-container-read"] == ".r:*"
    assert "x-history-location" not in conn.head_container(container)
    conn.close()
    assert "Traceback" not in disk_server.log_text()


def test_referer_and_user_agent_that_are_not_utf8_are_logged(server: RunningServer) -> None:
    reply = send_raw(server, b"GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\nReferer: http://\xff/r8\r\n"
                             b"User-Agent: agent-\xfe\r\n\r\n")
    assert status_of(reply) == 200
    log = server.log_once("http://%FF/r8")
    assert "http://%FF/r8" in log and "agent-%FE" in log
    assert "Traceback" not in log
