"""Fixtures shared by the store tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sciswift.store.local import LocalStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    """A non-durable LocalStore with one container, ``c`` (modules that test
    another backend define their own ``store``)."""
    s = LocalStore(tmp_path / "acct", durable=False)
    s.create_container("c")
    yield s
    s.close()
