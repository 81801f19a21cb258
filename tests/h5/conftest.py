"""Fixtures for sciswift.h5 tests: every test runs over MemoryStore and LocalStore,
and compares with real h5py writing an HDF5 file in a temporary directory."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py as real_h5py
import pytest

import sciswift.h5py as ss_h5py

_counter = itertools.count()


@pytest.fixture(params=["memory", "local"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ss_name(store_kind: str, tmp_path: Path) -> Callable[[str], str]:
    """A fresh sciswift file name (memory:// URL or local path) for a short name."""
    bucket = f"h5test-{uuid.uuid4().hex[:12]}"

    def make(name: str = "f.h5") -> str:
        if store_kind == "memory":
            return f"memory://{bucket}/{name}"
        return str(tmp_path / "ss" / name)

    (tmp_path / "ss").mkdir(exist_ok=True)
    return make


@pytest.fixture
def ref_name(tmp_path: Path) -> Callable[[str], str]:
    """A path for real h5py's file."""
    (tmp_path / "ref").mkdir(exist_ok=True)
    return lambda name="f.h5": str(tmp_path / "ref" / name)


@pytest.fixture
def both(ss_name: Callable[[str], str], ref_name: Callable[[str], str]) -> Callable[..., tuple[Any, Any]]:
    """``both(fn, name)`` runs ``fn(h5py_module, filename)`` with real h5py and with
    sciswift.h5py and returns both results (exceptions are returned as their type)."""

    def run(fn: Callable[[Any, str], Any], name: str = "") -> tuple[Any, Any]:
        name = name or f"f{next(_counter)}.h5"
        out = []
        for mod, path in ((real_h5py, ref_name(name)), (ss_h5py, ss_name(name))):
            try:
                out.append(fn(mod, path))
            except Exception as e:  # noqa: BLE001 - the exception type is the result
                out.append(type(e))
        return out[0], out[1]

    return run
