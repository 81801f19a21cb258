"""netCDF-4 files through the HDF5 view, read by netCDF-C's ``ncdump``: one
written by h5netcdf on sciswift.h5py (dimension scales with object references,
an unlimited dimension, a group, strings, compression), and real netCDF-4 files
shipped in sunpy's wheel, brought in with ``sciswift import``."""

from __future__ import annotations

import glob
import os
import site
import types
from collections.abc import Callable
from pathlib import Path

import h5netcdf
import h5netcdf.core
import h5py
import netCDF4
import numpy as np
import pytest
from view_helpers import NCDUMP, run, view_file

import sciswift.h5py as sh
from sciswift.convert import import_file
from sciswift.store import Location


def _write_netcdf(path: str) -> None:
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"x": 3, "time": None, "n": 2}
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
        names = f.create_variable("names", ("x",), dtype=h5py.string_dtype())
        names[:] = np.array(["a", "bb", "ccc"], dtype=object)
        f.create_variable("counts", ("n",), data=np.array([5, 6], "i2"))  # "n" has no coordinate variable
        g = f.create_group("sub")
        g.dimensions = {"y": 2}
        g.create_variable("yv", ("y", "x"), data=np.ones((2, 3), "i2"))


def _ncdump(path: Path, *args: str) -> list[str]:
    """ncdump's lines without the first (which names the file)."""
    return run([NCDUMP, *args, str(path)]).stdout.splitlines()[1:]


def test_ncdump_of_an_h5netcdf_file(native_url: Callable[[str], str], location: Callable[[str], Location],
                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = tmp_path / "reference.nc"
    _write_netcdf(str(reference))  # real h5py
    shim = types.ModuleType("h5py")
    for name in sh.__all__:
        setattr(shim, name, getattr(sh, name))
    shim.__version__ = sh.__version__  # type: ignore[attr-defined]
    monkeypatch.setattr(h5netcdf.core, "h5py", shim)
    url = native_url("ocean.nc")
    _write_netcdf(url)
    monkeypatch.undo()
    path = view_file(location(url), tmp_path / "view.nc")
    want, got = _ncdump(reference), _ncdump(path)
    assert got == want
    assert "\ttime = UNLIMITED ; // (4 currently)" in got
    # netCDF-C sees the dimension scales as its dimensions, also in the group.
    with netCDF4.Dataset(path) as nc:
        assert list(nc.dimensions) == ["x", "time", "n"]
        assert "n" not in nc.variables
        assert nc["temp"].dimensions == ("time", "x")
        assert nc["sub"]["yv"].dimensions == ("y", "x")
        assert np.array_equal(nc["temp"][:], np.arange(12, dtype="f4").reshape(4, 3))
        assert list(nc["names"][:]) == ["a", "bb", "ccc"]


SUNPY_NETCDF4 = sorted(
    p for root in site.getsitepackages() for p in glob.glob(os.path.join(root, "sunpy/data/test/*.nc"))
    if open(p, "rb").read(4) == b"\x89HDF"
)


@pytest.mark.parametrize("source", SUNPY_NETCDF4[:2], ids=os.path.basename)
def test_ncdump_of_an_imported_netcdf4_file(source: str, native_url: Callable[[str], str],
                                            location: Callable[[str], Location], tmp_path: Path) -> None:
    url = native_url("imported.nc")
    import_file(source, url)
    path = view_file(location(url), tmp_path / "view.nc")
    # The same header: the import keeps every variable, attribute and dimension,
    # and the order of variables (netCDF-4 tracks the root's creation order).
    want, got = _ncdump(Path(source), "-h"), _ncdump(path, "-h")
    assert got == want
    with netCDF4.Dataset(source) as a, netCDF4.Dataset(path) as b:
        for name, var in a.variables.items():
            assert np.array_equal(np.ma.filled(var[:], 0), np.ma.filled(b[name][:], 0)), name


def test_sunpy_files_are_found() -> None:
    assert len(SUNPY_NETCDF4) >= 2, "sunpy's netCDF-4 test files are missing (pip install sciswift[test])"
