"""Fixtures for the conversion tests: source files made by h5py
(roundtrip_files.py) and the comparison oracle (roundtrip_compare.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from roundtrip_files import ALL_MAKERS


@pytest.fixture
def made(tmp_path: Path) -> Callable[[str], Path]:
    """``made(kind)``: a fresh HDF5 file of one of the kinds in ALL_MAKERS."""

    def make(kind: str) -> Path:
        path = tmp_path / f"{kind}.h5"
        ALL_MAKERS[kind](path)
        return path

    return make
