"""Helpers for the middleware tests: the ``swift`` CLI, fresh containers,
and signatures computed the way clients compute them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from swiftclient import client as swift_client

from ..conftest import RunningServer

SWIFT = str(Path(sys.executable).parent / "swift")


def swift_cli(server: RunningServer, *args: str, user: str = "test:tester", key: str = "testing",
              check: bool = True) -> str:
    """Run the real ``swift`` command line against ``server``."""
    env = dict(os.environ, **server.env(user, key))
    proc = subprocess.run([SWIFT, *args], env=env, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"swift {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr


@pytest.fixture
def conn(server: RunningServer) -> Iterator[swift_client.Connection]:
    c = server.connection()
    yield c
    c.close()


@pytest.fixture
def new_container(server: RunningServer) -> Iterator[Callable[..., str]]:
    """Make containers (``new_container(headers=...)``) in test:tester's
    account; each is emptied (versions and all) and removed afterwards."""
    made: list[str] = []
    conn = server.connection()

    def make(headers: dict[str, str] | None = None) -> str:
        name = f"mw-{uuid.uuid4().hex[:12]}"
        conn.put_container(name, headers=headers or {})
        made.append(name)
        return name

    yield make
    for name in reversed(made):
        try:
            conn.post_container(name, {"X-Versions-Enabled": "false", "X-Remove-Versions-Location": "x"})
            _, versions = conn.get_container(name, query_string="versions", full_listing=False)
            for v in versions:
                if "version_id" in v and v["version_id"] != "null":
                    conn.delete_object(name, v["name"], query_string=f"version-id={v['version_id']}")
            for o in conn.get_container(name, full_listing=True)[1]:
                conn.delete_object(name, o["name"])
            conn.delete_container(name)
        except swift_client.ClientException:
            pass
    conn.close()
