"""Engine tests run over every local Store backend."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

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
