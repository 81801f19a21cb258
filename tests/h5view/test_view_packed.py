"""The HDF5 view of a native file whose small arrays are packed (engine.packing):
every packed dataset, its attributes and the groups that hold only packed
datasets are served, read by h5py from the view as from the source."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from view_helpers import compare, view_file

import sciswift.h5py as sh
from sciswift.engine.packing import PACK_MIN_ARRAYS, PACKS_DIR
from sciswift.store import parse_location


def test_view_serves_packed_small_datasets(sciswift_server: Any, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    monkeypatch.delenv("SCISWIFT_PACK_SMALL", raising=False)
    url = f"swift://h5view-{uuid.uuid4().hex[:8]}/many.h5"
    with sh.File(url, "w") as f:
        for i in range(PACK_MIN_ARRAYS + 5):
            d = f.create_dataset(f"g{i % 4}/d{i:03d}", data=np.arange(100, dtype="f4") * i + 1)
            d.attrs["index"] = i
        f["tiny"] = np.int8(5)  # inlined in the metadata
        f.create_dataset("big", data=np.arange(40_000, dtype="i8"), chunks=(10_000,))
    loc = parse_location(url)
    names = [n[len(loc.prefix) + 1:] for n in loc.store.iter_names(loc.container, loc.prefix + "/")]
    assert any(n.startswith(PACKS_DIR) for n in names)
    assert "g0/d000/zarr.json" not in names
    path = view_file(loc, tmp_path / "many.h5", random.Random(3))
    with sh.File(url, "r") as src, h5py.File(path, "r") as view:
        assert compare(src, view) == PACK_MIN_ARRAYS + 5 + 2
        assert view["g1/d001"].attrs["index"] == 1
        np.testing.assert_array_equal(view["g3/d003"][...], np.arange(100, dtype="f4") * 3 + 1)
        assert view["tiny"][()] == 5
