"""h5netcdf, and xarray's ``engine="h5netcdf"``, running on sciswift.h5py.

h5netcdf calls ``h5py`` through one module global; the fixture points it at a
module named ``h5py`` holding sciswift.h5py's names (what the router does for a
whole program, without the router), so every call h5netcdf makes reaches
sciswift: ``.id`` stand-ins, ``attrs.get_id``, ``h5ds``, the dimension-scale
attributes. The same operations run on a local file with the real h5py, and
the results must agree. Files written so are then exported to HDF5 and read
with netCDF4-python.
"""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5netcdf
import h5netcdf.core
import numpy as np
import pytest

import sciswift.h5py as sh5

xr = pytest.importorskip("xarray")
netCDF4 = pytest.importorskip("netCDF4")


@pytest.fixture
def on_sciswift(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    shim = types.ModuleType("h5py")
    for name in sh5.__all__:
        setattr(shim, name, getattr(sh5, name))
    shim.__version__ = sh5.__version__  # type: ignore[attr-defined]
    monkeypatch.setattr(h5netcdf.core, "h5py", shim)
    yield


def _write_netcdf(path: str) -> None:
    """Dimensions (one unlimited), a group, variables of several types with
    compression, string data and attributes, a resize, through h5netcdf's API."""
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"x": 3, "time": None}
        f.attrs["title"] = "h5netcdf on sciswift"
        f.attrs["version"] = np.int32(2)
        x = f.create_variable("x", ("x",), data=np.array([10.0, 20.0, 30.0]))
        x.attrs["units"] = "m"
        t = f.create_variable("time", ("time",), dtype="i8")
        temp = f.create_variable("temp", ("time", "x"), dtype="f4", compression="gzip", compression_opts=4,
                                 fillvalue=np.float32(-1))
        temp.attrs["long_name"] = "temperature"
        f.resize_dimension("time", 4)
        t[:] = np.arange(4)
        temp[:] = np.arange(12, dtype="f4").reshape(4, 3)
        names = f.create_variable("names", ("x",), dtype=sh5.string_dtype())
        names[:] = np.array(["a", "bb", "ccc"], dtype=object)
        g = f.create_group("sub")
        g.dimensions = {"y": 2}
        v = g.create_variable("v", ("y", "x"), data=np.ones((2, 3), dtype="i2"))
        v.attrs["flag_values"] = np.array([0, 1], dtype="i2")


def _describe(path: str) -> dict[str, Any]:
    """What h5netcdf reads back: dimensions (size, unlimited), variables (dims,
    dtype, shape, data, attributes, chunking and compression), per group."""

    def group(g: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dims": {k: (len(d), d.isunlimited()) for k, d in g.dimensions.items()},
            "attrs": {k: _plain(v) for k, v in g.attrs.items()},
            "vars": {},
            "groups": {k: group(sub) for k, sub in g.groups.items()},
        }
        for name, var in g.variables.items():
            out["vars"][name] = {
                "dims": var.dimensions, "dtype": str(var.dtype), "shape": var.shape,
                "data": _plain(var[...]), "attrs": {k: _plain(v) for k, v in var.attrs.items()},
                "compression": (var.compression, var.compression_opts), "chunked": var.chunks is not None,
            }
        return out

    with h5netcdf.File(path, "r") as f:
        return group(f)


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return (str(v.dtype), v.tolist())
    if isinstance(v, np.generic):
        return (type(v).__name__, v.item())
    return (type(v).__name__, v)


def test_h5netcdf_reads_back_what_it_wrote_as_with_h5py(on_sciswift: None, tmp_path: Path) -> None:
    sci = str(tmp_path / "sci.nc")
    _write_netcdf(sci)
    got = _describe(sci)
    h5netcdf.core.h5py = sys.modules["h5py"]  # the real one, for the reference (monkeypatch restores)
    real = str(tmp_path / "real.nc")
    _write_netcdf(real)
    expected = _describe(real)
    assert got == expected


def test_dimension_scales_as_h5netcdf_leaves_them(on_sciswift: None, tmp_path: Path) -> None:
    """The HDF5 view of the file: scales, their names and references both ways."""
    path = str(tmp_path / "scales.nc")
    _write_netcdf(path)
    with sh5.File(path, "r") as f:
        assert sh5.h5ds.is_scale(f["x"].id) and sh5.h5ds.is_scale(f["time"].id)
        assert not sh5.h5ds.is_scale(f["temp"].id)
        assert f["x"].attrs["CLASS"] == b"DIMENSION_SCALE" and f["x"].attrs["NAME"] == b"x"
        dimlist = f["temp"].attrs["DIMENSION_LIST"]
        assert [f[refs[-1]].name for refs in dimlist] == ["/time", "/x"]
        back = sorted((f[ref].name, int(axis)) for ref, axis in f["x"].attrs["REFERENCE_LIST"])
        assert back == [("/names", 0), ("/sub/v", 1), ("/temp", 1)]
        assert f["time"].maxshape == (None,) and f["temp"].maxshape == (None, 3)
        assert f.attrs.get_id("_NCProperties").dtype.kind == "S"


def _dataset() -> Any:
    return xr.Dataset(
        {
            "temperature": (("time", "x"), np.arange(12, dtype="f4").reshape(4, 3) + 0.5, {"units": "K"}),
            "count": (("x",), np.array([1, 2, 3], dtype="i4")),
            "label": (("x",), np.array(["a", "bb", "ccc"], dtype=object)),
            "flag": (("x",), np.array([b"y", b"n", b"y"])),
        },
        coords={"time": ("time", np.arange(4), {"calendar": "none"}), "x": ("x", np.array([10.0, 20.0, 30.0]))},
        attrs={"title": "xarray on sciswift", "version": 3},
    )


_ENCODING = {"temperature": {"zlib": True, "complevel": 4}, "count": {"zlib": True, "shuffle": True}}
#: Encodings compared with h5py's. Not "chunksizes": sciswift picks larger chunks
#: than h5py for datasets with unlimited dimensions (object stores pay per request).
_KEYS = ("dtype", "zlib", "complevel", "shuffle", "_FillValue", "original_shape", "contiguous")


def test_xarray_roundtrip_same_as_local_h5py(on_sciswift: None, tmp_path: Path) -> None:
    ds = _dataset()
    sci = str(tmp_path / "sci.nc")
    ds.to_netcdf(sci, engine="h5netcdf", unlimited_dims=["time"], encoding=_ENCODING)
    with xr.open_dataset(sci, engine="h5netcdf") as back:
        back.load()
        got = back
        got_enc = {k: {e: back[k].encoding.get(e) for e in _KEYS} for k in back.variables}
    h5netcdf.core.h5py = sys.modules["h5py"]
    real = str(tmp_path / "real.nc")
    ds.to_netcdf(real, engine="h5netcdf", unlimited_dims=["time"], encoding=_ENCODING)
    with xr.open_dataset(real, engine="h5netcdf") as expected:
        expected.load()
        assert got.identical(expected)
        exp_enc = {k: {e: expected[k].encoding.get(e) for e in _KEYS} for k in expected.variables}
    assert str(got_enc) == str(exp_enc)  # str: NaN fill values compare equal
    assert got.identical(ds.assign(flag=ds["flag"]))


def _netcdf4_view(path: str) -> dict[str, Any]:
    """What netCDF4-python (the netCDF C library) reads from a file."""

    def group(g: Any) -> dict[str, Any]:
        return {
            "dims": {k: (len(d), d.isunlimited()) for k, d in g.dimensions.items()},
            "attrs": {k: str(g.getncattr(k)) for k in g.ncattrs()},
            "vars": {k: (v.dimensions, str(v.dtype), str(v[...].tolist()),
                         {a: str(v.getncattr(a)) for a in v.ncattrs()}, v.filters()["zlib"])
                     for k, v in g.variables.items()},
            "groups": {k: group(sub) for k, sub in g.groups.items()},
        }

    with netCDF4.Dataset(path) as nc:
        nc.set_auto_mask(False)
        return group(nc)


def test_exported_netcdf_opens_in_netcdf4_python(on_sciswift: None, tmp_path: Path) -> None:
    """Written through h5netcdf into sciswift, exported to HDF5 with ``sciswift
    export``: netCDF4-python reads what it reads from the file h5py wrote."""
    sci = str(tmp_path / "sci.nc")
    _dataset().to_netcdf(sci, engine="h5netcdf", unlimited_dims=["time"], encoding=_ENCODING)
    _write_netcdf(str(tmp_path / "api.nc"))
    for name in ("sci.nc", "api.nc"):
        out = tmp_path / f"exported-{name}"
        proc = subprocess.run([sys.executable, "-m", "sciswift.cli.main", "export", "-q", "--format", "hdf5",
                               str(tmp_path / name), str(out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    h5netcdf.core.h5py = sys.modules["h5py"]
    _dataset().to_netcdf(str(tmp_path / "real.nc"), engine="h5netcdf", unlimited_dims=["time"], encoding=_ENCODING)
    _write_netcdf(str(tmp_path / "real-api.nc"))
    assert _netcdf4_view(str(tmp_path / "exported-sci.nc")) == _netcdf4_view(str(tmp_path / "real.nc"))
    assert _netcdf4_view(str(tmp_path / "exported-api.nc")) == _netcdf4_view(str(tmp_path / "real-api.nc"))
    with xr.open_dataset(str(tmp_path / "exported-sci.nc"), engine="netcdf4") as back:
        assert back.load().identical(_dataset())
