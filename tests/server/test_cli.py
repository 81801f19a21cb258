"""``sciswift serve``'s command line: banner, defaults, --user/--key, --config."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from swiftclient.exceptions import ClientException

from sciswift.server.spawn import spawn
from sciswift.store import SwiftStore

from .conftest import RunningServer, start


def test_banner_gives_a_working_swift_line(server: RunningServer) -> None:
    assert f"auth URL: {server.auth_url}" in server.banner
    assert f"swift -A {server.auth_url} -U test:tester -K testing stat" in server.banner


def test_user_and_key_options(tmp_path: Path) -> None:
    srv = start(["--backend", "memory", "--user", "alice:bob", "--key", "s3cret"], tmp_path / "log")
    try:
        assert "-U alice:bob -K s3cret stat" in srv.banner
        url, _ = srv.auth("alice:bob", "s3cret")
        assert url.endswith("/v1/AUTH_alice")
        with pytest.raises(ClientException):
            srv.auth("test:tester", "testing")  # the default user is replaced
    finally:
        srv.stop()


def test_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "serve.conf"
    conf.write_text("[server]\nbackend = memory\nquiet = yes\n[users]\nuser_lab_ann = pw .admin\nuser_lab_guest = pw2\n")
    srv = start(["--config", str(conf)], tmp_path / "log")
    try:
        conn = srv.connection("lab:ann", "pw")
        conn.put_container("c")
        with pytest.raises(ClientException) as exc:
            srv.connection("lab:guest", "pw2").put_container("d")
        assert exc.value.http_status == 403
        assert "GET /auth" not in srv.log_text()  # quiet
    finally:
        srv.stop()


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "users"
    bad.write_text("user_only_account\n")
    for args in (["--users", str(bad)], ["--backend", "memory", "--workers", "2"], ["--workers", "0"]):
        proc = subprocess.run([sys.executable, "-m", "sciswift.cli.main", "serve", "--port", "0", *args],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2 and "Error:" in proc.stderr and "Traceback" not in proc.stderr


def test_sigterm_stops_a_server_that_stored_objects_at_once(tmp_path: Path) -> None:
    """A server that made durable writes stops on SIGTERM in a moment and with
    status 0 (its workers waited 10 s for idle sync helper threads and exited
    with an error naming them as store calls still running)."""
    server = spawn(["--data", str(tmp_path / "data"), "--workers", "2", "--quiet"], stderr=subprocess.PIPE)
    try:
        store = SwiftStore(server.auth_url, "test:tester", "testing", token_cache=False)
        store.create_container("c")
        store.put_many("c", {f"o{i}": b"x" * (100 + i) for i in range(40)}, max_workers=4)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        _, err = server.proc.communicate(timeout=20)
        took = time.monotonic() - started
    finally:
        server.stop()
    assert server.proc.returncode == 0, err.decode(errors="replace")
    assert b"still running" not in err
    assert took < 5, took


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    """``--workers N``: a supervisor killed with SIGKILL (the OOM killer,
    ``kill -9``) takes its workers with it; none keeps serving the port."""
    server = spawn(["--data", str(tmp_path / "data"), "--workers", "2", "--quiet"], stderr=subprocess.DEVNULL)
    try:
        children = [int(p) for p in Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
                    .read_text().split()]
        assert len(children) == 2
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
        deadline = time.monotonic() + 15
        while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in children):
            assert time.monotonic() < deadline, "workers outlived their supervisor"
            time.sleep(0.1)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    finally:
        server.stop()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"
