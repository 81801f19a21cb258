"""Zarr hierarchies that zarr-python wrote as plain directories open through
sciswift.h5py by their path, v2 and v3."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import sciswift.h5py as h5py

zarr = pytest.importorskip("zarr")


@pytest.mark.parametrize("fmt", [2, 3])
def test_zarr_python_directory_opens_by_path(tmp_path: Path, fmt: int) -> None:
    path = tmp_path / f"data{fmt}.zarr"
    temp = np.arange(30, dtype="f4").reshape(5, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.open_group(str(path), mode="w", zarr_format=fmt, attributes={"source": "zarr-python"})
        a = g.create_group("obs").create_array("temp", shape=(5, 6), chunks=(2, 4), dtype="f4")
        a[:] = temp
        a.attrs["units"] = "K"
    with h5py.File(str(path), "r") as f:
        assert list(f.keys()) == ["obs"]
        assert f.attrs["source"] == "zarr-python"
        d = f["obs/temp"]
        assert d.shape == (5, 6) and d.dtype == np.dtype("f4") and d.chunks == (2, 4)
        assert d.attrs["units"] == "K"
        assert np.array_equal(d[1:4, ::2], temp[1:4, ::2])
