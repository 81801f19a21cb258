"""Fixtures for the server tests: ``sciswift serve`` subprocesses on free ports.

- ``server``: the memory backend with several TempAuth users (one per xdist
  worker, for the whole session).
- ``disk_server``: the local backend over a temporary data directory.
- ``start_server(...)``: start another one (the crash tests kill theirs).

Every server is stopped by its PID at the end.
"""

from __future__ import annotations

import http.client
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from swiftclient import client as swift_client

from sciswift.server.spawn import ServerProcess, spawn

USERS = """\
# TempAuth lines, as in Swift's proxy-server.conf
user_test_tester = testing .admin
user_test_tester3 = testing3
user_test2_tester2 = testing2 .admin
user_admin_admin = admin .admin .reseller_admin
user_test5_tester5 = testing5 service
"""


@dataclass
class RunningServer:
    """A ``sciswift serve`` subprocess (a ServerProcess) with client helpers."""

    server: ServerProcess
    log_path: Path
    data_dir: Path | None = None

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.server.proc

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def auth_url(self) -> str:
        return self.server.auth_url

    @property
    def banner(self) -> str:
        return self.server.banner

    def auth(self, user: str = "test:tester", key: str = "testing") -> tuple[str, str]:
        """``(storage_url, token)``."""
        return swift_client.get_auth(self.auth_url, user, key)  # type: ignore[no-any-return]

    def connection(self, user: str = "test:tester", key: str = "testing") -> swift_client.Connection:
        return swift_client.Connection(authurl=self.auth_url, user=user, key=key, retries=0)

    def env(self, user: str = "test:tester", key: str = "testing") -> dict[str, str]:
        return {"ST_AUTH": self.auth_url, "ST_USER": user, "ST_KEY": key}

    def raw(self, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, bytes]:
        """One request on a fresh connection (path sent exactly as given)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None and "Content-Length" not in (headers or {}):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp, resp.read()
        finally:
            conn.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_once(self, *texts: str, timeout: float = 10.0) -> str:
        """The log once every one of ``texts`` is in it (or, after ``timeout``
        seconds, as it stands). The server writes a request's access-log line
        after the reply has left, so a client can be done before the line is."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_text()
            if all(t in log for t in texts) or time.monotonic() > deadline:
                return log
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.stop(grace=15)


def start(args: list[str], log_path: Path, data_dir: Path | None = None) -> RunningServer:
    """Start ``sciswift serve --port 0 ARGS``, its log in ``log_path``."""
    with open(log_path, "wb") as log:
        server = spawn(args, stderr=log, log_path=log_path)
    return RunningServer(server, log_path, data_dir)


@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.conf"
    path.write_text(USERS)
    return path


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, users_file: Path) -> Iterator[RunningServer]:
    """A memory-backed server with users test:tester (admin), test:tester3,
    test2:tester2 (admin), admin:admin (reseller admin), test5:tester5."""
    log = tmp_path_factory.mktemp("server-log") / "server.log"
    s = start(["--backend", "memory", "--users", str(users_file)], log)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def disk_server(tmp_path_factory: pytest.TempPathFactory, users_file: Path) -> Iterator[RunningServer]:
    """A LocalStore-backed server over a temporary data directory."""
    base = tmp_path_factory.mktemp("disk-server")
    data = base / "data"
    s = start(["--data", str(data), "--users", str(users_file)], base / "server.log", data_dir=data)
    yield s
    s.stop()


@pytest.fixture
def start_server(tmp_path: Path, users_file: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start extra servers in a test; all are stopped (by PID) afterwards."""
    started: list[RunningServer] = []

    def _start(*args: str, data_dir: Path | None = None) -> RunningServer:
        argv = list(args)
        if data_dir is not None:
            argv += ["--data", str(data_dir)]
        s = start([*argv, "--users", str(users_file)], tmp_path / f"server-{len(started)}.log", data_dir)
        started.append(s)
        return s

    yield _start
    for s in started:
        s.stop()


@pytest.fixture
def container(server: RunningServer) -> Iterator[str]:
    """A fresh container in test:tester's account (emptied and removed after)."""
    name = f"ct-{uuid.uuid4().hex[:12]}"
    conn = server.connection()
    conn.put_container(name)
    yield name
    try:
        _, objs = conn.get_container(name, full_listing=True)
        for o in objs:
            conn.delete_object(name, o["name"])
        conn.delete_container(name)
    except swift_client.ClientException:
        pass
    conn.close()
