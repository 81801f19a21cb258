"""Export of ordinary data: netCDF-4 by default for .nc (every dtype xarray
writes), netCDF-3 on request as xarray encodes it, table attributes kept (Parquet
metadata, a CSV sidecar or --drop-attrs), modes from the umask, right counts.
Checked with xarray (netCDF4 and h5netcdf engines), netCDF4-python, pyarrow."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

import sciswift.h5py as sh5
from sciswift.convert import export_file, import_file
from sciswift.errors import NotSupported


def _xarray_dataset() -> xr.Dataset:
    return xr.Dataset(
        {
            "temperature": (("time", "station"), np.random.default_rng(0).normal(280, 5, (5, 3))),
            "count": (("station",), np.array([1, 2**40, 3], dtype="i8")),
            "name": (("station",), np.array(["alpha", "béta", "c"], dtype=object)),
            "ok": (("time",), np.array([True, False, True, True, False])),
        },
        coords={"time": pd.date_range("2026-01-01", periods=5, freq="6h"), "station": [10, 20, 30]},
        attrs={"title": "stations", "version": np.int64(3), "weights": np.array([0.5, 1.5])},
    )


@pytest.fixture
def native_from_xarray(tmp_path: Path) -> str:
    src = tmp_path / "src.nc"
    _xarray_dataset().to_netcdf(src, engine="netcdf4")
    url = f"file://{tmp_path}/native.h5"
    import_file(str(src), url)
    return url


@pytest.mark.parametrize("engine", ["netcdf4", "h5netcdf"])
def test_nc_export_is_netcdf4_and_round_trips_xarray_data(native_from_xarray: str, tmp_path: Path,
                                                          engine: str) -> None:
    out = tmp_path / "out.nc"
    report = export_file(native_from_xarray, str(out))
    assert report.datasets == 6
    with xr.open_dataset(tmp_path / "src.nc", engine=engine) as a, xr.open_dataset(out, engine=engine) as b:
        assert b.identical(a)
        assert b["count"].dtype == np.int64 and b["time"].dtype.kind == "M"
    import netCDF4

    with netCDF4.Dataset(out) as nc:
        assert nc.data_model == "NETCDF4" and list(nc.dimensions) == ["time", "station"]


def test_dimension_labels_and_netcdf3_dims_become_netcdf4_dimensions(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/labels.h5"
    with sh5.File(url, "w") as f:
        d = f.create_dataset("v", data=np.arange(12.0).reshape(3, 4))
        d.dims[0].label = "y"
        d.dims[1].label = "x"
        f["x"] = np.arange(4) * 10
    export_file(url, str(tmp_path / "labels.nc"))
    with xr.open_dataset(tmp_path / "labels.nc") as ds:
        assert ds["v"].dims == ("y", "x") and list(ds["x"].values) == [0, 10, 20, 30]
        assert "x" in ds.coords and ds.sizes["y"] == 3


def test_netcdf3_on_request_is_what_xarray_writes(native_from_xarray: str, tmp_path: Path) -> None:
    ours = tmp_path / "ours.nc"
    ds = _xarray_dataset()
    ds["count"] = ds["count"].where(ds["count"] < 2**31, 0).astype("i8")
    theirs = tmp_path / "theirs.nc"
    with pytest.raises(NotSupported, match="/count.*int32"):
        export_file(native_from_xarray, str(tmp_path / "nofit.nc"), format="netcdf3")
    # values that fit are narrowed as xarray narrows them
    url = f"file://{tmp_path}/fits.h5"
    ds.to_netcdf(tmp_path / "fits4.nc", engine="netcdf4")
    import_file(str(tmp_path / "fits4.nc"), url)
    export_file(url, str(ours), format="netcdf3")
    ds.to_netcdf(theirs, format="NETCDF3_64BIT")
    with xr.open_dataset(ours) as a, xr.open_dataset(theirs) as b:
        assert a.identical(b)
    with open(ours, "rb") as fh:
        assert fh.read(3) == b"CDF"


def _native_table(url: str) -> None:
    with sh5.File(url, "w") as f:
        f["speed"] = np.linspace(0, 1, 4)
        f["n"] = np.arange(4, dtype="i4")
        f.attrs["source"] = "tunnel"
        f.attrs["runs"] = np.int64(7)
        f.attrs["bounds"] = np.array([1.5, 2.5], dtype="f4")
        f["speed"].attrs["units"] = "m/s"
        f["speed"].attrs["scale"] = 0.5


def test_parquet_keeps_any_attribute_with_its_type(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/t.h5"
    _native_table(url)
    out = tmp_path / "t.parquet"
    report = export_file(url, str(out))
    assert (report.datasets, report.attributes) == (2, 5)
    meta = pq.read_schema(out).metadata
    assert meta[b"source"] == b"tunnel" and json.loads(meta[b"runs"]) == 7  # readable by anyone
    with sh5.File(str(out)) as g:
        assert g.attrs["runs"] == 7 and g.attrs["runs"].dtype == np.int64
        assert g.attrs["bounds"].dtype == np.dtype("f4") and list(g.attrs["bounds"]) == [1.5, 2.5]
        assert g["speed"].attrs["scale"] == 0.5 and g["speed"].attrs["units"] == "m/s"
        assert "sciswift:attrs" not in g.attrs


def test_pandas_parquet_exports_to_csv_with_a_sidecar(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(tmp_path / "p.parquet")
    url = f"file://{tmp_path}/p.h5"
    import_file(str(tmp_path / "p.parquet"), url)
    report = export_file(url, str(tmp_path / "p.csv"))
    assert report.datasets == 2 and report.attributes >= 1
    assert pd.read_csv(tmp_path / "p.csv").equals(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    side = json.loads((tmp_path / "p.csv.attrs.json").read_text())
    assert side["format"] == "sciswift-attrs" and "pandas" in side["attrs"]["/"]
    assert any("p.csv.attrs.json" in n for n in report.notes)
    report = export_file(url, str(tmp_path / "q.csv"), drop_attrs=True)
    assert report.attributes == 0 and not (tmp_path / "q.csv.attrs.json").exists()


def test_typed_attributes_in_the_sidecar(tmp_path: Path) -> None:
    from sciswift.convert.sidecar import decode_attrs

    url = f"file://{tmp_path}/t.h5"
    _native_table(url)
    export_file(url, str(tmp_path / "t.csv"))
    side = json.loads((tmp_path / "t.csv.attrs.json").read_text())
    root = decode_attrs(side["attrs"]["/"], side["typed"].get("/", {}))
    assert root["bounds"].dtype == np.dtype("f4") and root["runs"] == 7
    assert side["attrs"]["/speed"] == {"units": "m/s", "scale": 0.5}


@pytest.mark.parametrize("ext", [".h5", ".nc", ".parquet", ".csv"])
def test_exported_files_follow_the_umask(tmp_path: Path, ext: str) -> None:
    url = f"file://{tmp_path}/t.h5"
    _native_table(url)
    old = os.umask(0o027)
    try:
        out = tmp_path / f"out{ext}"
        export_file(url, str(out))
        assert stat.S_IMODE(out.stat().st_mode) == 0o640
        os.chmod(out, 0o604)  # an existing file keeps its mode, as cp onto it does
        export_file(url, str(out), overwrite=True)
        assert stat.S_IMODE(out.stat().st_mode) == 0o604
    finally:
        os.umask(old)
