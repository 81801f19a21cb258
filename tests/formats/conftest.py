"""Fixtures for the format plugin tests (helpers are in fmt_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fmt_helpers import CONTAINER

from sciswift.store import MemoryStore, Store


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    s = MemoryStore()
    s.create_container(CONTAINER)
    yield s


@pytest.fixture
def local_store(tmp_path: Path) -> Iterator[Store]:
    from sciswift.store import LocalStore

    s = LocalStore(tmp_path / "acct", durable=False)
    s.create_container(CONTAINER)
    yield s
    s.close()
