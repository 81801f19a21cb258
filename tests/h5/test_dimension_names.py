"""Dimension scales written through sciswift.h5py also name the Zarr dimensions
(``dimension_names`` in zarr.json), the way netCDF-4 and h5netcdf name them, so
``xarray.open_zarr(sciswift.zarr_store(url), group=...)`` reads native files;
the HDF5 labels stay what h5py reports."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import h5py as real_h5py
import numpy as np
import pytest

import sciswift
import sciswift.h5py as h5py
from sciswift.store import parse_location

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")


def _write(mod, f) -> None:  # type: ignore[no-untyped-def]
    """The same program for the real h5py and sciswift.h5py: a group of variables
    over scales ``time`` and ``lat``, one label without a scale."""
    g = f.create_group("grid")
    time = g.create_dataset("time", data=np.arange(4, dtype="f8"))
    time.make_scale("time")
    time.attrs["units"] = "days since 2000-01-01"
    lat = g.create_dataset("lat", data=np.linspace(-45, 45, 3))
    lat.make_scale()
    temp = g.create_dataset("temp", data=np.arange(12, dtype="f4").reshape(4, 3), chunks=(2, 3))
    temp.dims[0].attach_scale(time)
    temp.dims[1].attach_scale(lat)
    temp.dims[1].label = "latitude"
    flag = g.create_dataset("flag", data=np.zeros((4, 3), "i1"))
    flag.dims[0].attach_scale(time)
    flag.dims[1].label = "lat"


def _zarr_json(url: str, path: str) -> dict:  # type: ignore[type-arg]
    """The stored zarr.json of ``path`` in the file at ``url``, as other readers get it."""
    loc = parse_location(url)
    try:
        return json.loads(loc.store.get_object(loc.container, loc.key(f"{path}/zarr.json")))  # type: ignore[no-any-return]
    finally:
        loc.store.close()


def test_scales_name_zarr_dimensions_and_labels_stay(tmp_path: Path) -> None:
    url = str(tmp_path / "dims.h5")
    with h5py.File(url, "w") as f:
        _write(h5py, f)
    local = tmp_path / "real.h5"
    with real_h5py.File(local, "w") as f:
        _write(real_h5py, f)
    assert _zarr_json(url, "grid/temp")["dimension_names"] == ["time", "lat"]
    assert _zarr_json(url, "grid/time")["dimension_names"] == ["time"]
    assert _zarr_json(url, "grid/lat")["dimension_names"] == ["lat"]
    assert _zarr_json(url, "grid/flag")["dimension_names"] == ["time", "lat"]
    with h5py.File(url, "r") as ours, real_h5py.File(local, "r") as theirs:
        for name in ("grid/temp", "grid/time", "grid/lat", "grid/flag"):
            assert [d.label for d in ours[name].dims] == [d.label for d in theirs[name].dims], name
            assert sorted(ours[name].attrs) == sorted(theirs[name].attrs), name
        assert list(ours["grid/temp"].attrs["DIMENSION_LABELS"]) == ["", "latitude"] == \
            list(theirs["grid/temp"].attrs["DIMENSION_LABELS"])


def test_xarray_open_zarr_reads_a_native_file(tmp_path: Path) -> None:
    url = str(tmp_path / "dims.h5")
    with h5py.File(url, "w") as f:
        _write(h5py, f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.open_zarr(sciswift.zarr_store(url), group="grid", consolidated=False).load()
    assert ds["temp"].dims == ("time", "lat") and ds["flag"].dims == ("time", "lat")
    assert set(ds.coords) == {"time", "lat"}
    assert ds["lat"].values.tolist() == [-45.0, 0.0, 45.0]
    assert np.array_equal(ds["temp"].values, np.arange(12, dtype="f4").reshape(4, 3))
    assert np.issubdtype(ds["time"].dtype, np.datetime64)  # CF decoding by xarray


def test_detaching_and_relabelling_update_the_names(tmp_path: Path) -> None:
    url = str(tmp_path / "d.h5")
    with h5py.File(url, "w") as f:
        x = f.create_dataset("x", data=np.arange(3))
        x.make_scale("x")
        v = f.create_dataset("v", data=np.arange(3))
        v.dims[0].attach_scale(x)
        assert v.dims[0].label == ""
        v.dims[0].detach_scale(x)
        v.dims[0].label = "lab"
    assert _zarr_json(url, "v")["dimension_names"] == ["lab"]
    assert "labels" not in _zarr_json(url, "v")["attributes"].get("_sciswift", {})
    with h5py.File(url, "r+") as f:
        del f["v"].attrs["DIMENSION_LABELS"]
        assert f["v"].dims[0].label == ""
    assert _zarr_json(url, "v").get("dimension_names") is None
