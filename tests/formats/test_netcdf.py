"""netCDF-3 and netCDF-4: compared with scipy.io.netcdf_file and netCDF4-python (the
netCDF-C library) reading the same local file."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import h5py
import netCDF4
import numpy as np
import pytest
from fmt_helpers import (
    CONTAINER,
    assert_same_array,
    assert_same_value,
    compare_with_h5py,
    nc_dimensions,
    read,
    site_files,
    upload,
)
from scipy.io import netcdf_file

from sciswift.errors import CorruptData, NotSupported
from sciswift.formats.base import GroupNode
from sciswift.formats.ranged import TransferStats
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore, Store

NC3_SHIPPED = site_files("scipy/io/tests/data/*.nc") + site_files("xarray/tests/data/*.nc")


def scipy_attr(value: Any) -> Any:
    """scipy's attribute as the mapping presents it (text decoded)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def compare_with_scipy(root: GroupNode, path: str) -> int:
    with netcdf_file(path, "r", mmap=False, maskandscale=False) as nc:
        assert set(root.keys()) == set(nc.variables)
        for k, v in nc._attributes.items():
            assert_same_value(root.attrs[k], scipy_attr(v), f"global {k}")
        for name, var in nc.variables.items():
            node = root[name]
            want = var.data
            assert (node.shape, node.dtype) == (want.shape, want.dtype), name
            assert_same_array(read(node), want, name)
            if want.ndim and all(want.shape):
                sel = tuple(slice(n // 3, n, 2) for n in want.shape)
                assert_same_array(node.read(sel), want[sel], f"{name}{sel}")
            assert list(node.attrs["_dims"]) == list(var.dimensions)
            assert h5py.check_string_dtype(node.attrs["_dims"].dtype) is not None
            for k, v in var._attributes.items():
                assert_same_value(node.attrs[k], scipy_attr(v), f"{name} attr {k}")
        return len(nc.variables)


@pytest.mark.parametrize("path", NC3_SHIPPED, ids=lambda p: p.split("site-packages/")[-1])
def test_shipped_netcdf3_matches_scipy(store: MemoryStore, path: str) -> None:
    name = upload(store, path, "shipped.nc")
    with open_object(store, CONTAINER, name) as root:
        assert compare_with_scipy(root, path) >= 1


def make_nc(path: Path, fmt: str) -> None:
    """A file with record and fixed variables of every type the format allows."""
    with netCDF4.Dataset(path, "w", format=fmt) as nc:
        nc.title = "generated"
        nc.version = np.int32(3)
        nc.createDimension("time", None)
        nc.createDimension("y", 7)
        nc.createDimension("x", 5)
        nc.createDimension("strlen", 4)
        types = ["i1", "i2", "i4", "f4", "f8"] + (["u1", "u2", "u4", "i8", "u8"] if fmt == "NETCDF3_64BIT_DATA" else [])
        for t in types:
            v = nc.createVariable(f"rec_{t}", t, ("time", "y", "x"))
            v.units = "m"
            v[:] = (np.arange(3 * 7 * 5) % 100).reshape(3, 7, 5).astype(t)
            f = nc.createVariable(f"fix_{t}", t, ("y", "x"), fill_value=np.array(9, t))
            f[:] = (np.arange(35) % 50).reshape(7, 5).astype(t)
            f.scale_factor = np.float32(0.5)
        nc.createVariable("scalar", "f8")[...] = 1.25
        nc.createVariable("chars", "S1", ("y", "strlen"))[:] = np.array([list("abcd")] * 7, dtype="S1")
        nc.createVariable("one_rec", "i2", ("time",))[:] = [1, 2, 3]


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA"])
def test_generated_netcdf3_matches_netcdf_c(store: MemoryStore, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "g.nc"
    make_nc(path, fmt)
    upload(store, path)
    with open_object(store, CONTAINER, "g.nc") as root, netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        assert set(root.keys()) == set(nc.variables)
        assert root.attrs["title"] == "generated" and root.attrs["version"] == 3
        for name, var in nc.variables.items():
            want = np.asarray(var[...])
            got = read(root[name])
            assert got.shape == want.shape and got.dtype.newbyteorder("=") == want.dtype.newbyteorder("=")
            assert_same_array(got.astype(want.dtype), want, name)
            assert list(root[name].attrs["_dims"]) == list(var.dimensions)
            for k in var.ncattrs():
                assert_same_value(np.asarray(root[name].attrs[k]).tolist(), np.asarray(var.getncattr(k)).tolist(),
                                  f"{name} {k}")
    if fmt != "NETCDF3_64BIT_DATA":  # scipy reads classic and 64-bit offset only
        with open_object(store, CONTAINER, "g.nc") as root:
            compare_with_scipy(root, str(path))


def test_netcdf3_slice_fetches_only_its_bytes(store: MemoryStore) -> None:
    buf = io.BytesIO()
    with netcdf_file(buf, "w") as nc:
        nc.createDimension("t", None)
        nc.createDimension("n", 2000)
        for v in ("a", "b"):
            var = nc.createVariable(v, "f8", ("t", "n"))
            var[:] = np.arange(500 * 2000, dtype="f8").reshape(500, 2000)
        nc.flush()
        data = buf.getvalue()
    store.put_object(CONTAINER, "rec.nc", data)  # 16 MB of interleaved records
    stats = TransferStats()
    with open_object(store, CONTAINER, "rec.nc", stats=stats) as root:
        stats.reset()
        block = root["b"].read((slice(100, 110, 1), slice(10, 20, 1)))
    assert block.tolist() == (np.arange(500 * 2000).reshape(500, 2000)[100:110, 10:20]).tolist()
    assert stats.bytes_fetched < 10 * 4096


def test_netcdf4_matches_netcdf_c(store: MemoryStore, local_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "v4.nc"
    with netCDF4.Dataset(path, "w") as nc:
        nc.title = "four"
        nc.createDimension("time", None)
        nc.createDimension("lat", 6)
        nc.createDimension("nv", 2)
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "days since 2000-01-01"
        t[:] = [0, 1, 2, 3]
        v = nc.createVariable("temp", "f4", ("time", "lat"), zlib=True, shuffle=True, fill_value=-999.0,
                              chunksizes=(2, 3))
        v.scale_factor = 0.5
        v.set_auto_maskandscale(False)
        v[:] = np.arange(24, dtype="f4").reshape(4, 6)
        nc.createVariable("bnds", "i4", ("lat", "nv"))[:] = np.arange(12).reshape(6, 2)
        g = nc.createGroup("forecast")
        g.createDimension("step", 3)
        g.createVariable("lead", "i8", ("step",))[:] = [6, 12, 18]
        g.createVariable("label", str, ("step",))[:] = np.array(["a", "bb", "ccc"], dtype=object)
    for s in (store, local_store):
        upload(s, path)
        with open_object(s, CONTAINER, "v4.nc") as root, netCDF4.Dataset(path) as nc:
            # Exactly the HDF5 file h5py shows (netCDF's own dimension datasets and
            # bookkeeping attributes included), with its dimension scales.
            assert compare_with_h5py(root, str(path)) == 8
            assert sorted(root.keys()) == ["bnds", "forecast", "lat", "nv", "temp", "time"]
            nc.set_auto_maskandscale(False)
            for name in ("time", "temp", "bnds"):
                var = nc.variables[name]
                assert_same_array(read(root[name]), np.asarray(var[...]), name)
                assert nc_dimensions(root[name], name) == var.dimensions
            assert root["temp"].read_path == "chunks"
            sub = root["forecast"]
            assert read(sub["lead"]).tolist() == [6, 12, 18]
            assert nc_dimensions(sub["lead"], "lead") == ("step",)
            assert [x.decode() if isinstance(x, bytes) else x for x in read(sub["label"])] == ["a", "bb", "ccc"]


@pytest.mark.parametrize("cut", [3, 40, -8])
def test_truncated_netcdf3_is_corrupt(store: MemoryStore, tmp_path: Path, cut: int) -> None:
    path = tmp_path / "g.nc"
    make_nc(path, "NETCDF3_CLASSIC")
    data = path.read_bytes()
    store.put_object(CONTAINER, "cut.nc", data[:cut])
    with pytest.raises(CorruptData, match=r"data/cut\.nc.*netCDF"):
        open_object(store, CONTAINER, "cut.nc")


def test_garbage_header_is_corrupt(store: MemoryStore) -> None:
    store.put_object(CONTAINER, "bad.nc", b"CDF\x01" + os.urandom(200))
    with pytest.raises(CorruptData, match=r"data/bad\.nc.*netCDF-3"):
        open_object(store, CONTAINER, "bad.nc")


# NASA CDF (Common Data Format) files share netCDF's ".cdf" extension; sunpy ships
# three (Parker Solar Probe and Solar Orbiter data).
NASA_CDF_FILES = site_files("sunpy/data/test/*.cdf")


@pytest.mark.skipif(not NASA_CDF_FILES, reason="sunpy's test files are not installed")
@pytest.mark.parametrize("path", NASA_CDF_FILES, ids=os.path.basename)
def test_nasa_cdf_is_not_supported_not_damaged(store: MemoryStore, tmp_path: Path, path: str) -> None:
    """Picked by its name, a NASA CDF file is refused as a format sciswift cannot
    read (NotSupported naming the object and the format), not called a damaged
    netCDF-3 file; so is the same file opened with ``format="netcdf"``, and a local
    copy opened with ``sciswift.h5py``."""
    import sciswift.h5py as sh5

    name = upload(store, path)
    for fmt in (None, "netcdf"):
        with pytest.raises(NotSupported, match=rf"{name}: it is a NASA CDF file.*not netCDF"):
            open_object(store, CONTAINER, name, format=fmt)
    copy = tmp_path / "copy.cdf"
    copy.write_bytes(Path(path).read_bytes())
    with pytest.raises(NotSupported, match=r"copy\.cdf: it is a NASA CDF file"):
        sh5.File(str(copy), "r")


@pytest.mark.parametrize("path", NC3_SHIPPED, ids=lambda p: p.split("site-packages/")[-1])
def test_shipped_netcdf3_exports_to_netcdf4(tmp_path: Path, path: str) -> None:
    """Every shipped netCDF-3 file exports to netCDF-4 (``.nc``) that netCDF-C
    reads with the same variables, dimensions and values. xarray's bears.nc
    failed with 'Unspecified error in H5DSattach_scale': its first variable is a
    coordinate variable, made a dimension scale and then attached to itself."""
    from sciswift.convert import export_file

    out = tmp_path / "out.nc"
    export_file(path, str(out))
    with netcdf_file(path, "r", mmap=False) as want, netCDF4.Dataset(out) as got:
        got.set_auto_maskandscale(False)
        assert set(got.variables) == set(want.variables)
        for name, var in want.variables.items():
            assert got.variables[name].dimensions == var.dimensions, name
            assert np.array_equal(np.asarray(got.variables[name][...]), var.data, equal_nan=var.data.dtype.kind == "f"), name
