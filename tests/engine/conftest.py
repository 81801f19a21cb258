"""Engine tests run over every local Store backend."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from saio_fixtures import ServerEndpoint
from sciswift.store.memory import MemoryStore
from sciswift.store.url import Location

_count = itertools.count()


@pytest.fixture(params=["memory", "local"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Location]:
    """An empty place for one file, in a MemoryStore or a LocalStore."""
    if request.param == "memory":
        store = MemoryStore()
    else:
        from sciswift.store.local import LocalStore

        store = LocalStore(tmp_path / "root", durable=False)
    yield Location(store, f"c{next(_count)}", "run1.h5", f"{request.param}:run1.h5")


@pytest.fixture
def swift_container(sciswift_server: ServerEndpoint, monkeypatch: pytest.MonkeyPatch) -> str:
    """``swift://`` URL of a new container name on ``sciswift serve``, with the
    ``ST_*`` variables set for it (the way a user's shell has them)."""
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    return f"swift://e{next(_count)}-{uuid.uuid4().hex[:8]}"
