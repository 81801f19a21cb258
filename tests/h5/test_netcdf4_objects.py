"""A netCDF-4 file uploaded as one object, opened with ``sciswift.h5py.File``, is
the file h5py shows locally (dimension scales, ``_Netcdf4Dimid``, every
attribute), so h5netcdf and xarray's ``engine="h5netcdf"`` running on it give
exactly what they give on the local file: no ``phony_dim_*``, coordinates as
coordinates, no stray ``_dims``. Files: the netCDF-4 files shipped in sunpy's
wheel, and ones netCDF-C (netCDF4-python) writes here with groups, unlimited
dimensions, strings and a dimension without a variable."""

from __future__ import annotations

import contextlib
import os
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import sciswift.h5py as sh5
from sciswift.store import LocalStore

h5netcdf = pytest.importorskip("h5netcdf")
netCDF4 = pytest.importorskip("netCDF4")
xr = pytest.importorskip("xarray")

SITE = Path(np.__file__).parents[1]
SHIPPED = sorted(str(p) for p in SITE.glob("sunpy/data/test/*.nc") if p.read_bytes()[:4] == b"\x89HDF")


def _netcdf_c_file(path: Path) -> None:
    with netCDF4.Dataset(path, "w") as nc:
        nc.title = "netCDF-C"
        nc.history = np.array([1, 2], dtype="i2")
        nc.createDimension("time", None)
        nc.createDimension("lat", 3)
        nc.createDimension("nchar", 4)
        nc.createDimension("unused", 5)  # a dimension without a variable
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "hours since 2020-01-01"
        t.calendar = "standard"
        t[:] = [0, 6, 12, 18]
        lat = nc.createVariable("lat", "f4", ("lat",))
        lat.standard_name = "latitude"
        lat[:] = [-10, 0, 10]
        v = nc.createVariable("temp", "f4", ("time", "lat"), zlib=True, fill_value=np.float32(-1), chunksizes=(2, 3))
        v.coordinates = "station"
        v.scale_factor = np.float32(0.5)
        v[:] = np.ma.masked_equal(np.arange(12, dtype="f4").reshape(4, 3), 5)
        nc.createVariable("station", str, ("lat",))[:] = np.array(["a", "bb", "ccc"], dtype=object)
        nc.createVariable("code", "S1", ("lat", "nchar"))[:] = netCDF4.stringtochar(np.array(["ab", "cd", "ef"], "S4"))
        nc.createVariable("scalar", "i8")[...] = 7
        g = nc.createGroup("forecast")
        g.createDimension("step", 2)
        s = g.createVariable("step", "i4", ("step",))
        s[:] = [1, 2]
        g.createVariable("lead", "f8", ("time", "step"))[:] = np.arange(8.0).reshape(4, 2)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    made = tmp_path_factory.mktemp("nc4") / "netcdf_c.nc"
    _netcdf_c_file(made)
    return [*SHIPPED, str(made)]


@pytest.fixture(scope="module")
def uploaded(tmp_path_factory: pytest.TempPathFactory, files: list[str]) -> Iterator[dict[str, str]]:
    """Each file as one object in a LocalStore; ``{local path: file:// URL}``."""
    root = tmp_path_factory.mktemp("acct")
    store = LocalStore(root, mark_root=True)
    store.create_container("nc")
    urls = {}
    for path in files:
        name = os.path.basename(path)
        store.put_object("nc", name, Path(path).read_bytes())
        urls[path] = f"{root.as_uri()}/nc/{name}"
    store.close()
    yield urls


def _sciswift_as_h5py() -> types.ModuleType:
    shim = types.ModuleType("h5py")
    for name in sh5.__all__:
        setattr(shim, name, getattr(sh5, name))
    shim.__version__ = sh5.__version__  # type: ignore[attr-defined]
    return shim


@contextlib.contextmanager
def h5netcdf_using(module: Any) -> Iterator[None]:
    """h5netcdf calls ``module`` as its ``h5py`` inside the block (sciswift.h5py:
    what the router does for a whole program)."""
    saved = h5netcdf.core.h5py
    h5netcdf.core.h5py = module
    try:
        yield
    finally:
        h5netcdf.core.h5py = saved


def test_there_are_shipped_netcdf4_files() -> None:
    assert len(SHIPPED) >= 5, SHIPPED


def _h5_view(f: Any) -> dict[str, Any]:
    """What an h5py-like file shows: every object's kind, shape, dtype, attributes
    (references as the names they point at), dimension scales and labels."""
    out: dict[str, Any] = {}

    def value(v: Any) -> Any:
        if isinstance(v, np.ndarray) and v.dtype.names and "dataset" in v.dtype.names:
            return [(f[r].name, int(a)) for r, a in v]
        if isinstance(v, np.ndarray) and v.dtype.kind == "O" and len(v) and isinstance(v[0], np.ndarray):
            return [[f[r].name for r in refs] for refs in v]
        if isinstance(v, np.ndarray):
            return (str(v.dtype), v.tolist())
        return (type(v).__name__, v.item() if isinstance(v, np.generic) else v)

    def visit(name: str, obj: Any) -> None:
        attrs = {k: value(obj.attrs[k]) for k in obj.attrs}
        types_ = {k: str(obj.attrs.get_id(k).dtype) for k in obj.attrs}
        if hasattr(obj, "dims"):
            dims = [(d.label, [s.name for s in d.values()]) for d in obj.dims]
            out[name] = ("dataset", obj.shape, str(obj.dtype), obj.maxshape, attrs, types_, dims)
        else:
            out[name] = ("group", list(obj), attrs, types_)

    visit("/", f)
    f.visititems(visit)
    return out


def test_the_object_is_the_file_h5py_shows(files: list[str], uploaded: dict[str, str]) -> None:
    for path in files:
        with sh5.File(uploaded[path], "r") as ours, h5py.File(path, "r") as local:
            assert _h5_view(ours) == _h5_view(local), path
            for name in ("time", "lat"):
                if name in local:
                    assert sh5.h5ds.is_scale(ours[name].id) == h5py.h5ds.is_scale(local[name].id)
                    assert ours[name].attrs["_Netcdf4Dimid"] == local[name].attrs["_Netcdf4Dimid"]


def _h5netcdf_view(f: Any) -> dict[str, Any]:
    def group(g: Any) -> dict[str, Any]:
        return {
            "dims": {k: (len(d), d.isunlimited()) for k, d in g.dimensions.items()},
            "attrs": {k: repr(v) for k, v in g.attrs.items()},
            "vars": {k: (v.dimensions, v.shape, str(v.dtype), {a: repr(x) for a, x in v.attrs.items()},
                         repr(v[...].tolist()))
                     for k, v in g.variables.items()},
            "groups": {k: group(s) for k, s in g.groups.items()},
        }

    return group(f)


def test_h5netcdf_and_xarray_read_it_as_the_local_file(files: list[str], uploaded: dict[str, str]) -> None:
    for path in files:
        with h5netcdf_using(_sciswift_as_h5py()), sh5.File(uploaded[path], "r") as sf, \
                h5netcdf.File(sf, "r") as ours:
            got = _h5netcdf_view(ours)
            ds = xr.open_dataset(xr.backends.H5NetCDFStore(ours)).load()
            groups = {g: xr.open_dataset(xr.backends.H5NetCDFStore(ours[g])).load() for g in ours.groups}
        with h5netcdf.File(path, "r") as theirs:
            assert got == _h5netcdf_view(theirs), path
        xr.testing.assert_identical(ds, xr.open_dataset(path, engine="h5netcdf").load())
        for g, gds in groups.items():
            xr.testing.assert_identical(gds, xr.open_dataset(path, engine="h5netcdf", group=g).load())
        assert not any(str(d).startswith("phony_dim") for d in ds.dims)
        assert all("_dims" not in v.attrs for v in ds.variables.values()) and "_dims" not in ds.attrs


def test_coordinates_and_cf_decoding_survive(files: list[str], uploaded: dict[str, str]) -> None:
    made = files[-1]
    with h5netcdf_using(_sciswift_as_h5py()), sh5.File(uploaded[made], "r") as sf, h5netcdf.File(sf, "r") as hf:
        ds = xr.open_dataset(xr.backends.H5NetCDFStore(hf)).load()
        assert len(hf.dimensions["unused"]) == 5 and hf.dimensions["time"].isunlimited()
    assert set(ds.coords) == {"time", "lat", "station"}
    assert np.issubdtype(ds["time"].dtype, np.datetime64)
    assert ds["temp"].dims == ("time", "lat") and bool(ds["temp"].isnull()[1, 2])
    assert "unused" not in ds.variables  # a dimension, not a variable (xarray drops unused dimensions)
