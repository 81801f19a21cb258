"""HDF5's and netCDF's own tools through the mount: h5dump, h5ls, ncdump and ncgen
give the same output as on a local copy of the file, and a file written with the
real h5py into the mount is the same file as one written locally."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from .conftest import Mounted, Served

CDL = """netcdf ocean {
dimensions:
    time = UNLIMITED ;
    lat = 3 ;
    lon = 4 ;
variables:
    float sst(time, lat, lon) ;
        sst:units = "degC" ;
    double lat(lat) ;
    double lon(lon) ;
// global attributes:
    :title = "mount test" ;
data:
 lat = -10, 0, 10 ;
 lon = 0, 90, 180, 270 ;
 sst = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24 ;
}
"""


@pytest.fixture
def mounted(mount: Callable[..., Mounted], served: Served) -> Mounted:
    container = f"t{uuid.uuid4().hex[:8]}"
    served.store().create_container(container)
    return mount(f"swift://{container}", env=served.env)


def _run(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{argv[0]} failed: {result.stderr}"
    return result.stdout


def _write_sample(path: Path) -> None:
    with h5py.File(path, "w", track_order=True) as f:
        f.attrs["title"] = "sample"
        g = f.create_group("grp")
        g.create_dataset("t", data=np.arange(12000, dtype="f4").reshape(120, 100), chunks=(30, 50),
                         compression="gzip", shuffle=True)
        g.create_dataset("names", data=["alpha", "beta"], dtype=h5py.string_dtype())
        f.create_dataset("big", data=np.arange(300_000, dtype="i8"))


def test_h5py_file_h5dump_h5ls_through_the_mount(mounted: Mounted, tmp_path: Path) -> None:
    local = tmp_path / "sample.h5"
    _write_sample(local)
    _write_sample(mounted.path / "sample.h5")
    assert (mounted.path / "sample.h5").read_bytes() == local.read_bytes()
    dump_local = _run("h5dump", str(local)).replace(str(local), "F")
    dump_mount = _run("h5dump", str(mounted.path / "sample.h5")).replace(str(mounted.path / "sample.h5"), "F")
    assert dump_mount == dump_local and 'DATASET "t"' in dump_mount
    assert _run("h5ls", "-r", str(mounted.path / "sample.h5")) == _run("h5ls", "-r", str(local))
    out = tmp_path / "big.bin"
    _run("h5dump", "-d", "/big", "-b", "LE", "-o", str(out), str(mounted.path / "sample.h5"))
    assert np.array_equal(np.fromfile(out, dtype="<i8"), np.arange(300_000))


def test_netcdf_tools_through_the_mount(mounted: Mounted, tmp_path: Path) -> None:
    cdl = tmp_path / "ocean.cdl"
    cdl.write_text(CDL)
    for fmt in ("3", "4"):  # classic netCDF and netCDF-4 (HDF5 underneath)
        name = f"ocean{fmt}.nc"
        _run("ncgen", f"-{fmt}", "-o", str(mounted.path / name), str(cdl))
        _run("ncgen", f"-{fmt}", "-o", str(tmp_path / name), str(cdl))
        header = _run("ncdump", "-h", str(mounted.path / name))
        assert 'sst:units = "degC"' in header and "time = UNLIMITED" in header
        assert _run("ncdump", str(mounted.path / name)) == _run("ncdump", str(tmp_path / name))


def test_python_libraries_with_their_own_hdf5(mounted: Mounted, tmp_path: Path) -> None:
    """netCDF4-python, PyTables and astropy (which sniffs formats with a plain
    open()) work through the mount unchanged."""
    import netCDF4
    import tables
    from astropy.table import Table

    path = mounted.path / "nc4.nc"
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("x", 5)
        v = ds.createVariable("v", "f8", ("x",), zlib=True)
        v[:] = np.arange(5.0)
        v.units = "m"
    with netCDF4.Dataset(path) as ds:
        assert list(ds["v"][:]) == [0.0, 1.0, 2.0, 3.0, 4.0] and ds["v"].units == "m"

    with tables.open_file(str(mounted.path / "pt.h5"), "w") as f:
        f.create_array("/", "a", np.arange(100, dtype="i4"))
    with tables.open_file(str(mounted.path / "pt.h5")) as f:
        assert f.root.a[:].tolist() == list(range(100))

    Table({"a": [1, 2, 3], "b": ["x", "y", "z"]}).write(mounted.path / "t.fits")
    back = Table.read(mounted.path / "t.fits")  # format guessed by reading the file
    assert list(back["a"]) == [1, 2, 3] and list(back["b"]) == ["x", "y", "z"]


def test_fortran_program_through_the_mount(mounted: Mounted, kernels: Path, tmp_path: Path) -> None:
    program = str(kernels / "fortran_grid")
    _run(program, "write", str(mounted.path / "f.h5"))
    _run(program, "write", str(tmp_path / "f.h5"))
    assert (mounted.path / "f.h5").read_bytes() == (tmp_path / "f.h5").read_bytes()
    out = _run(program, "read", str(mounted.path / "f.h5"))
    assert "mismatching 0" in out and out == _run(program, "read", str(tmp_path / "f.h5"))
