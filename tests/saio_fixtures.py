"""pytest plugin: the Swift endpoints the test session runs against.

- ``saio``: a real OpenStack Swift all-in-one (``tests/support/saio.py``), started
  once for the whole run, also under pytest-xdist: the first worker that needs it
  starts it under a file lock in a folder shared by all workers, the others reuse
  it, and the controlling process stops it (by PID) when the session ends. If it
  cannot start, every test that needs it fails with the reason; set
  ``SCISWIFT_SKIP_SAIO=1`` to skip them instead, explicitly.
- ``sciswift_server``: ``sciswift serve`` on a free port over a temporary folder,
  one per worker process.

Registered from ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import saio as saio_mod

_SHARED_ENV = "SCISWIFT_TEST_SHARED"


def pytest_configure(config: pytest.Config) -> None:
    # Only the controlling process (or a run without xdist) makes the shared folder;
    # xdist workers are started later and inherit the variable.
    if hasattr(config, "workerinput") or os.environ.get(_SHARED_ENV):
        return
    shared = tempfile.mkdtemp(prefix="sciswift-test-")
    os.environ[_SHARED_ENV] = shared
    config.stash[_owner_key] = Path(shared)


_owner_key = pytest.StashKey[Path]()


def pytest_unconfigure(config: pytest.Config) -> None:
    shared = config.stash.get(_owner_key, None)
    if shared is None:
        return
    root = shared / "saio"
    if (root / "run").exists():
        saio_mod.stop(root, purge=True, log=lambda _m: None)
    shutil.rmtree(shared, ignore_errors=True)
    os.environ.pop(_SHARED_ENV, None)


@pytest.fixture(scope="session")
def saio() -> saio_mod.Saio:
    """The running all-in-one (shared by every test and worker of the session)."""
    if os.environ.get("SCISWIFT_SKIP_SAIO") == "1":
        pytest.skip("SCISWIFT_SKIP_SAIO=1: tests against real OpenStack Swift skipped on request")
    shared = Path(os.environ[_SHARED_ENV])
    shared.mkdir(parents=True, exist_ok=True)  # a variable left over from another run
    root = shared / "saio"
    failed = shared / "saio.failed"
    with open(shared / "saio.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if failed.exists():
            pytest.fail(failed.read_text(), pytrace=False)
        try:
            running = saio_mod.Saio.load(root)
            if running.alive():
                return running
        except saio_mod.SaioError:
            pass
        try:
            return saio_mod.start(root, log=lambda _m: None)
        except saio_mod.SaioError as e:
            message = (
                f"the real OpenStack Swift all-in-one could not be started: {e}\n"
                "Set SCISWIFT_SKIP_SAIO=1 to skip the tests that need it."
            )
            failed.write_text(message)
            pytest.fail(message, pytrace=False)


# ------------------------------------------------------------- sciswift serve
@dataclass(frozen=True)
class ServerEndpoint:
    """A running ``sciswift serve``: its v1.0 auth URL and default user."""

    url: str
    auth_url: str
    user: str = "test:tester"
    key: str = "testing"
    #: the server's ``--data`` directory (its accounts' LocalStores)
    data: str = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _authenticates(ep: ServerEndpoint) -> bool:
    req = urllib.request.Request(ep.auth_url, headers={"X-Auth-User": ep.user, "X-Auth-Key": ep.key})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return bool(resp.headers.get("X-Auth-Token"))
    except OSError:
        return False


@pytest.fixture(scope="session")
def sciswift_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerEndpoint]:
    """``sciswift serve`` on a free port over an empty data folder."""
    data = tmp_path_factory.mktemp("serve-data")
    port = _free_port()
    log = open(data.parent / f"serve-{port}.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sciswift.cli.main", "serve", "--port", str(port), "--data", str(data), "--quiet"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    ep = ServerEndpoint(url=f"http://127.0.0.1:{port}", auth_url=f"http://127.0.0.1:{port}/auth/v1.0",
                        data=str(data))
    deadline = time.monotonic() + 30
    try:
        while not _authenticates(ep):
            if proc.poll() is not None:
                log.flush()
                tail = Path(log.name).read_text(errors="replace")[-2000:]
                pytest.fail(f"sciswift serve exited with {proc.returncode}:\n{tail}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"sciswift serve did not answer auth on {ep.auth_url} within 30 s", pytrace=False)
            time.sleep(0.1)
        yield ep
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
