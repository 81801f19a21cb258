"""Every error a store can raise reaches the client as the status of the one
table (``sciswift.errors.status_for``), and every 5xx is logged with its
transaction id. The server runs in-process over a MemoryStore that raises a
chosen error on object reads and writes."""

from __future__ import annotations

import asyncio
import errno
import http.client
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sciswift import errors
from sciswift.errors import SciSwiftError, status_for
from sciswift.server.app import SwiftApp
from sciswift.server.auth import TempAuth
from sciswift.server.backend import Backend
from sciswift.server.config import ServerConfig
from sciswift.server.wire import HTTPServer
from sciswift.store.memory import MemoryStore


class FaultyStore(MemoryStore):
    """A MemoryStore whose object reads and writes raise ``fault`` when set."""

    fault: BaseException | None = None

    def _maybe_fail(self) -> None:
        if self.fault is not None:
            raise self.fault

    def head_object(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail()
        return super().head_object(*args, **kwargs)

    def open_object(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail()
        return super().open_object(*args, **kwargs)

    def put_object(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail()
        return super().put_object(*args, **kwargs)


class FaultyBackend(Backend):
    def __init__(self, config: ServerConfig, auth: TempAuth, store: FaultyStore) -> None:
        super().__init__(config, auth)
        self.faulty = store

    def store(self, account: str, create: bool = False) -> FaultyStore:
        return self.faulty


class InProcessServer:
    def __init__(self) -> None:
        config = ServerConfig(backend="memory").with_default_user()
        self.auth = TempAuth(config.users, b"k" * 32, 3600)
        self.store = FaultyStore()
        self.store.create_container("c")
        self.store.put_object("c", "o", b"data")
        self.backend = FaultyBackend(config, self.auth, self.store)
        self.app = SwiftApp(self.backend, quiet=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.server = HTTPServer(self.app.handle)
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.server.start(self.sock))
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/auth/v1.0", headers={"X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
            resp = conn.getresponse()
            resp.read()
            token = resp.getheader("X-Auth-Token") or ""
            conn.request(method, path, body=body, headers={"X-Auth-Token": token})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.shutdown(1.0), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.sock.close()
        self.backend.close()


@pytest.fixture(scope="module")
def srv() -> Iterator[InProcessServer]:
    s = InProcessServer()
    yield s
    s.stop()


def all_errors() -> list[type[SciSwiftError]]:
    out: list[type[SciSwiftError]] = []
    todo: list[type[SciSwiftError]] = [SciSwiftError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(out), key=lambda c: c.__name__)


def test_the_table_covers_every_class_in_the_module() -> None:
    public = {getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)}
    assert public <= set(all_errors())


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT"])
@pytest.mark.parametrize("cls", all_errors(), ids=lambda c: c.__name__)
def test_every_store_error_gets_its_status(
    srv: InProcessServer, cls: type[SciSwiftError], method: str, caplog: pytest.LogCaptureFixture
) -> None:
    exc = cls("the store refused c/o for a test", "c/o")
    expected = status_for(exc)
    srv.store.fault = exc
    try:
        with caplog.at_level(logging.WARNING, logger="sciswift.server"):
            status, headers, body = srv.request(method, "/v1/AUTH_test/c/o", b"new" if method == "PUT" else None)
    finally:
        srv.store.fault = None
    assert status == expected, (cls.__name__, body)
    tid = headers["x-trans-id"]
    logged = [r.getMessage() for r in caplog.records if tid in r.getMessage()]
    if expected >= 500:
        assert logged and cls.__name__ in logged[0], caplog.text
        assert b"the store refused" not in body  # details go to the log, not the client
    else:
        assert not logged
        if method == "GET" and expected not in (304, 404):
            assert b"the store refused c/o" in body  # the message names what is wrong


def test_a_full_disk_is_507_and_other_os_errors_500(srv: InProcessServer, caplog: pytest.LogCaptureFixture) -> None:
    for fault, expected in ((OSError(errno.ENOSPC, "No space left on device"), 507),
                            (OSError(errno.EIO, "Input/output error"), 500)):
        srv.store.fault = fault
        try:
            with caplog.at_level(logging.WARNING, logger="sciswift.server"):
                status, headers, _ = srv.request("PUT", "/v1/AUTH_test/c/o", b"x")
        finally:
            srv.store.fault = None
        assert status == expected
        assert any(headers["x-trans-id"] in r.getMessage() for r in caplog.records), caplog.text
    assert srv.request("GET", "/v1/AUTH_test/c/o")[2] == b"data"  # nothing was written
