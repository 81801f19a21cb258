"""Fixtures for the HDF5 view's tests: native files on a LocalStore directory and
on the process-wide MemoryStore (helpers are in view_helpers.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from sciswift.store import Location, parse_location


@pytest.fixture(params=["local", "memory"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def native_url(store_kind: str, tmp_path: Path) -> Callable[[str], str]:
    """``native_url(name)``: where sciswift.h5py writes a fresh native file (a
    plain path for LocalStore, a memory:// URL for MemoryStore)."""
    bucket = f"h5view-{uuid.uuid4().hex[:12]}"
    (tmp_path / "store").mkdir(exist_ok=True)

    def make(name: str = "f.h5") -> str:
        if store_kind == "memory":
            return f"memory://{bucket}/{name}"
        return str(tmp_path / "store" / name)

    return make


@pytest.fixture
def location() -> Callable[[str], Location]:
    """The store Location of a native file's URL, as the mount would hold it."""
    return parse_location
