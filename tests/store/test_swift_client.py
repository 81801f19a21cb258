"""SwiftStore's client side: credentials from the environment, retries and backoff
against a misbehaving endpoint, and Keystone auth (keystoneauth1) against a small
identity endpoint that hands out real tokens of the Swift all-in-one."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sciswift.errors import InvalidInput, NotFound, StoreUnavailable, Unauthenticated
from sciswift.store.swift import SwiftStore
from sciswift.store.swift.auth import SwiftCredentials
from support.saio import Saio

# ------------------------------------------------------------- environment


def test_env_v1() -> None:
    c = SwiftCredentials.from_environment(
        {"ST_AUTH": "http://h/auth/v1.0", "ST_USER": "a:b", "ST_KEY": "k", "OS_PASSWORD": "other"})
    assert (c.auth_url, c.user, c.key, c.resolved_version()) == ("http://h/auth/v1.0", "a:b", "k", "1.0")
    assert "k" not in repr(c)  # secrets stay out of logs


def test_env_keystone_v3_and_v2() -> None:
    env = {"OS_AUTH_URL": "http://ks:5000/v3", "OS_USERNAME": "u", "OS_PASSWORD": "p",
           "OS_PROJECT_NAME": "proj", "OS_USER_DOMAIN_NAME": "Default",
           "OS_PROJECT_DOMAIN_NAME": "Default", "OS_REGION_NAME": "R1", "OS_ENDPOINT_TYPE": "internalURL"}
    c = SwiftCredentials.from_environment(env)
    assert c.resolved_version() == "3"
    assert (c.user, c.key, c.project_name, c.region_name, c.interface) == ("u", "p", "proj", "R1", "internalURL")
    v2 = SwiftCredentials.from_environment({"OS_AUTH_URL": "http://ks:5000/", "OS_USERNAME": "u",
                                            "OS_PASSWORD": "p", "OS_TENANT_NAME": "t"})
    assert v2.resolved_version() == "2.0" and v2.project_name == "t"
    forced = SwiftCredentials.from_environment({**env, "OS_IDENTITY_API_VERSION": "2"})
    assert forced.resolved_version() == "2.0"


def test_env_overrides_and_preauth() -> None:
    env = {"ST_AUTH": "http://h/auth/v1.0", "ST_USER": "a:b", "ST_KEY": "k",
           "OS_STORAGE_URL": "http://h/v1/AUTH_a", "OS_AUTH_TOKEN": "tok"}
    c = SwiftCredentials.from_environment(env, user="c:d", key="k2")
    assert (c.user, c.key, c.storage_url, c.token) == ("c:d", "k2", "http://h/v1/AUTH_a", "tok")
    with pytest.raises(InvalidInput, match="unknown SwiftStore option"):
        SwiftCredentials.from_environment(env, colour="blue")
    with pytest.raises(InvalidInput, match="unknown Swift auth version"):
        SwiftCredentials(auth_url="x", user="u", key="k", auth_version="9").resolved_version()


def test_constructor_needs_credentials() -> None:
    with pytest.raises(InvalidInput, match="auth_url, user and key"):
        SwiftStore()


# -------------------------------------------------------- a stub endpoint
class _Stub:
    """An HTTP endpoint on 127.0.0.1 whose answers a test scripts."""

    def __init__(self, handle: Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes]]):
        stub = self
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.requests.append((self.command, self.path, dict(self.headers), body))
                status, headers, out = handle(self, body)
                self.send_response(status)
                for k, v in {**headers, "Content-Length": str(len(out))}.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # many clients connect at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_factory() -> Iterator[Callable[..., _Stub]]:
    stubs: list[_Stub] = []

    def make(handle: Callable[..., tuple[int, dict[str, str], bytes]]) -> _Stub:
        stubs.append(_Stub(handle))
        return stubs[-1]

    yield make
    for s in stubs:
        s.close()


ACCOUNT_HEADERS = {"X-Account-Container-Count": "2", "X-Account-Object-Count": "5",
                   "X-Account-Bytes-Used": "10", "X-Timestamp": "1700000000.00000"}


def test_retries_server_errors_with_backoff(stub_factory: Callable[..., _Stub]) -> None:
    answers = iter([503, 500, 204])
    stub = stub_factory(lambda h, b: (next(answers), ACCOUNT_HEADERS, b""))
    with SwiftStore(storage_url=stub.url + "/v1/AUTH_a", token="t", retries=3, backoff=0.05) as s:
        t0 = time.monotonic()
        info = s.account_info()
        elapsed = time.monotonic() - t0
    assert (info.container_count, info.object_count, info.bytes_used) == (2, 5, 10)
    assert len(stub.requests) == 3
    assert elapsed >= 0.05 * 0.5 + 0.1 * 0.5  # two backoffs (with jitter in [0.5, 1])


def test_gives_up_after_retries(stub_factory: Callable[..., _Stub]) -> None:
    stub = stub_factory(lambda h, b: (503, {}, b"busy"))
    with SwiftStore(storage_url=stub.url + "/v1/AUTH_a", token="t", retries=2, backoff=0.01) as s:
        with pytest.raises(StoreUnavailable, match="503"):
            s.head_container("c")
    assert len(stub.requests) == 3


def test_writes_with_resendable_bodies_are_retried(stub_factory: Callable[..., _Stub]) -> None:
    stub = stub_factory(lambda h, b: (503, {}, b""))
    with SwiftStore(storage_url=stub.url + "/v1/AUTH_a", token="t", retries=3, backoff=0.01) as s:
        with pytest.raises(StoreUnavailable):
            s.post_container("c", {"a": "1"})  # POST of metadata is idempotent: retried
        n = len(stub.requests)
        with pytest.raises(StoreUnavailable):
            s.put_object("c", "o", b"data")  # bytes can be sent again: retried
    assert n == 4 and len(stub.requests) == 8


def test_bulk_reads_and_writes_run_concurrently(stub_factory: Callable[..., _Stub]) -> None:
    def slow(h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.2)
        if h.command == "PUT":
            import hashlib

            return 201, {"Etag": hashlib.md5(body).hexdigest()}, b""
        return 200, {"Etag": "0" * 32, "Content-Type": "text/plain"}, h.path.encode()

    stub = stub_factory(slow)
    names = [f"o{i}" for i in range(20)]
    with SwiftStore(storage_url=stub.url + "/v1/AUTH_a", token="t") as s:
        t0 = time.monotonic()
        got = s.get_many("c", names)
        t1 = time.monotonic()
        s.put_many("c", {n: n.encode() for n in names})
        t2 = time.monotonic()
    assert got == {n: f"/v1/AUTH_a/c/{n}".encode() for n in names}
    assert t1 - t0 < 2.0 and t2 - t1 < 2.0  # 20 requests of 0.2 s each: 4 s one at a time


def test_status_mapping_names_the_object(stub_factory: Callable[..., _Stub]) -> None:
    stub = stub_factory(lambda h, b: (404, {}, b"<html>Not Found</html>"))
    with SwiftStore(storage_url=stub.url + "/v1/AUTH_a", token="t") as s:
        with pytest.raises(NotFound, match="c/some object"):
            s.head_object("c", "some object")
    assert stub.requests[0][1] == "/v1/AUTH_a/c/some%20object"


def test_dot_segments_reach_the_server_unchanged(stub_factory: Callable[..., _Stub]) -> None:
    stub = stub_factory(lambda h, b: (404, {}, b""))
    with SwiftStore(storage_url=stub.url + "/v1/AUTH_a", token="t") as s:
        for name in ("../up", "x/./y", "//double"):
            with pytest.raises(NotFound):
                s.head_object("c", name)
    assert [r[1] for r in stub.requests] == ["/v1/AUTH_a/c/../up", "/v1/AUTH_a/c/x/./y", "/v1/AUTH_a/c///double"]


# ----------------------------------------------------------------- keystone
def _saio_token(saio: Saio) -> tuple[str, str]:
    req = urllib.request.Request(saio.auth_url, headers={"X-Auth-User": saio.user, "X-Auth-Key": saio.key})
    with urllib.request.urlopen(req) as resp:
        return resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]


def _identity(saio: Saio, seen: list[dict[str, Any]]) -> Callable[..., tuple[int, dict[str, str], bytes]]:
    """A minimal Keystone: checks the password and answers with a catalog whose
    object-store endpoint is the all-in-one's account, and a real token for it."""
    def handle(h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        doc = json.loads(body)
        seen.append(doc)
        url, token = _saio_token(saio)
        if h.path.endswith("/v3/auth/tokens"):
            user = doc["auth"]["identity"]["password"]["user"]
            if user["password"] != "secret":
                return 401, {"Content-Type": "application/json"}, b'{"error": {"code": 401}}'
            out = {"token": {
                "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
                "issued_at": "2024-01-01T00:00:00.000000Z",
                "user": {"id": "u1", "name": user["name"], "domain": {"id": "default", "name": "Default"}},
                "project": {"id": "p1", "name": "test", "domain": {"id": "default", "name": "Default"}},
                "roles": [{"id": "r1", "name": "member"}],
                "catalog": [{"type": "object-store", "name": "swift", "id": "s1", "endpoints": [
                    {"id": "e1", "interface": "public", "region": "RegionOne", "region_id": "RegionOne",
                     "url": url},
                    {"id": "e2", "interface": "internal", "region": "RegionOne", "region_id": "RegionOne",
                     "url": "http://127.0.0.1:9/unused"}]}],
            }}
            return 201, {"X-Subject-Token": token, "Content-Type": "application/json"}, json.dumps(out).encode()
        if h.path.endswith("/v2.0/tokens"):
            if doc["auth"]["passwordCredentials"]["password"] != "secret":
                return 401, {"Content-Type": "application/json"}, b'{"error": {"code": 401}}'
            out2 = {"access": {
                "token": {"id": token, "expires": "2099-01-01T00:00:00Z",
                          "tenant": {"id": "p1", "name": doc["auth"].get("tenantName", "")}},
                "user": {"id": "u1", "name": "tester", "roles": []},
                "serviceCatalog": [{"type": "object-store", "name": "swift", "endpoints": [
                    {"region": "RegionOne", "publicURL": url, "internalURL": url, "adminURL": url}]}],
            }}
            return 200, {"Content-Type": "application/json"}, json.dumps(out2).encode()
        return 404, {}, b""
    return handle


@pytest.mark.saio
def test_keystone_v3_from_environment(saio: Saio, stub_factory: Callable[..., _Stub],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    ks = stub_factory(_identity(saio, seen))
    env = {"OS_AUTH_URL": ks.url + "/v3", "OS_USERNAME": "tester", "OS_PASSWORD": "secret",
           "OS_PROJECT_NAME": "test", "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"}
    with SwiftStore.from_environment(env) as s:
        assert s.storage_url == saio.storage_url("test")
        s.create_container("ks-v3")
        s.put_object("ks-v3", "o", b"via keystone")
        assert s.get_object("ks-v3", "o") == b"via keystone"
        s._conn._token = "AUTH_tk" + "0" * 32  # expired: the store goes back to Keystone
        s.delete_object("ks-v3", "o")
        s.delete_container("ks-v3")
    assert len(seen) == 2
    ident = seen[0]["auth"]["identity"]["password"]["user"]
    assert ident == {"name": "tester", "password": "secret", "domain": {"name": "Default"}}
    assert seen[0]["auth"]["scope"]["project"] == {"name": "test", "domain": {"name": "Default"}}
    with SwiftStore.from_environment(env, key="wrong") as s:
        with pytest.raises(Unauthenticated, match="Keystone at " + ks.url):
            s.account_info()


@pytest.mark.saio
def test_keystone_v2(saio: Saio, stub_factory: Callable[..., _Stub]) -> None:
    seen: list[dict[str, Any]] = []
    ks = stub_factory(_identity(saio, seen))
    with SwiftStore(auth_url=ks.url + "/v2.0", user="tester", key="secret", project_name="test") as s:
        assert s.storage_url == saio.storage_url("test")
        assert s.account_info().container_count >= 0
    assert seen[0]["auth"]["tenantName"] == "test"
