"""import then export gives back the same HDF5 file, as h5py sees it.

Every source is an HDF5 file made by h5py (roundtrip_files.py) or one of h5py's own
test files; the oracle (roundtrip_compare.py) compares the original and the
exported file with h5py: tree, links, hard-link identity, dtypes, chunking,
filters, fill values, attributes, values, references, dimension scales.
"""

from __future__ import annotations

import glob
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from roundtrip_compare import differences
from roundtrip_files import ALL_MAKERS

import sciswift.h5py as sh5
from sciswift.convert import export_file, import_file

#: Differences the conversion cannot avoid, and says so in its report (see
#: docs/cli.md): HDF5's compact layout has no counterpart in the native layout.
EXPECTED = {"filters": {"layout:/compact"}}

H5PY_DATA_FILES = sorted(glob.glob(os.path.join(os.path.dirname(h5py.__file__), "tests", "data_files", "*.h5")))


def _roundtrip(src: Path, native: str, out: Path) -> tuple[list[str], list[str]]:
    imported = import_file(str(src), native)
    exported = export_file(native, str(out))
    return imported.notes, exported.notes


@pytest.mark.parametrize("kind", sorted(ALL_MAKERS))
def test_roundtrip_local(kind: str, made: Callable[[str], Path], tmp_path: Path) -> None:
    src = made(kind)
    notes, export_notes = _roundtrip(src, str(tmp_path / "native.h5"), tmp_path / "out.h5")
    diffs = differences(src, tmp_path / "out.h5", allow=EXPECTED.get(kind, set()))
    if kind == "filters":
        # Scale-offset on floats is lossy: each encoder quantises again (HDF5
        # relative to the chunk minimum, sciswift to multiples of 10**-D), so the
        # values agree to the filter's precision, not bit for bit.
        assert diffs == ["/scaleoffset_float: values differ"]
        with h5py.File(src) as a, h5py.File(tmp_path / "out.h5") as b:
            assert np.max(np.abs(a["scaleoffset_float"][()] - b["scaleoffset_float"][()])) <= 10.0**-2
        assert any("/compact: compact storage is not kept" in n for n in notes)
    else:
        assert diffs == []
        assert notes == [] and export_notes == []


@pytest.mark.parametrize("path", H5PY_DATA_FILES, ids=os.path.basename)
def test_roundtrip_h5py_data_files(path: str, tmp_path: Path) -> None:
    notes, export_notes = _roundtrip(Path(path), str(tmp_path / "native"), tmp_path / "out.h5")
    assert differences(Path(path), tmp_path / "out.h5") == []
    assert notes == [] and export_notes == []


def test_h5py_data_files_are_there() -> None:
    # The parametrised test above must not silently run on nothing.
    assert len(H5PY_DATA_FILES) >= 4


def test_roundtrip_through_memory_store(made: Callable[[str], Path], tmp_path: Path) -> None:
    src = made("references")
    url = f"memory://rt-{uuid.uuid4().hex}/run1.h5"
    _roundtrip(src, url, tmp_path / "out.h5")
    assert differences(src, tmp_path / "out.h5") == []


def test_native_copy_keeps_everything(made: Callable[[str], Path], tmp_path: Path) -> None:
    """native -> native (import of an already-native file) loses nothing either."""
    src = made("structure")
    import_file(str(src), str(tmp_path / "first"))
    import_file(str(tmp_path / "first"), str(tmp_path / "second"))
    export_file(str(tmp_path / "second"), str(tmp_path / "out.h5"))
    assert differences(src, tmp_path / "out.h5") == []


def test_references_point_at_the_copies(made: Callable[[str], Path], tmp_path: Path) -> None:
    import sciswift.h5py as sh5

    src = made("references")
    import_file(str(src), str(tmp_path / "native"))
    with sh5.File(str(tmp_path / "native")) as f:
        refs = f["refs"][()]
        assert f[refs[0]] == f["g/d"] and f[refs[0]] == f["alias"]
        assert f[refs[1]] == f["g"]
        assert f[refs[2]] == f["/"]
        assert not refs[3]
        assert f[f.attrs["to_d"]] == f["g/d"]
        assert f[f["compound_refs"][1]["target"]] == f["g"]
        region = f["regions"][0]
        np.testing.assert_array_equal(f["g/d"][region], np.arange(100).reshape(10, 10)[2:5, 1:3])


def test_export_of_a_subgroup(made: Callable[[str], Path], tmp_path: Path) -> None:
    src = made("structure")
    import_file(str(src), str(tmp_path / "native"))
    report = export_file(str(tmp_path / "native"), str(tmp_path / "sub.h5"), path="/a/b")
    with h5py.File(tmp_path / "sub.h5") as f:
        assert sorted(f) == ["data", "loop"]
        np.testing.assert_array_equal(f["data"][()], np.arange(20).reshape(4, 5))
        assert f["data"].attrs["units"] == "m"
        # /a/b/loop is a hard link to /a, outside the subgroup: copied as a group
        assert isinstance(f["loop"], h5py.Group)
    assert report.datasets >= 1


def test_roundtrip_netcdf4_file(tmp_path: Path) -> None:
    """A netCDF-4 file (HDF5 with dimension scales, made by the netCDF library)
    comes back readable by netCDF4 with its dimensions, groups and values. The
    one difference: netCDF-4 tracks attribute order, and the scale bookkeeping
    (CLASS, NAME) is recreated through ``dims`` after the other attributes (the
    native layout keeps scales out of the attributes)."""
    import netCDF4

    src = tmp_path / "t.nc"
    rng = np.random.default_rng(0)
    with netCDF4.Dataset(src, "w") as ds:
        ds.createDimension("time", None)
        ds.createDimension("x", 5)
        ds.createVariable("time", "f8", ("time",))[:] = np.arange(3)
        ds.createVariable("x", "f4", ("x",))[:] = np.linspace(0, 1, 5)
        temp = ds.createVariable("temp", "f4", ("time", "x"), zlib=True, fill_value=-999.0)
        temp[:] = rng.random((3, 5))
        temp.units = "K"
        ds.title = "test"
        ds.createGroup("sub").createVariable("y", "i4", ("x",))[:] = np.arange(5)
    import_file(str(src), str(tmp_path / "native"))
    export_file(str(tmp_path / "native"), str(tmp_path / "out.nc"), format="hdf5")
    diffs = differences(src, tmp_path / "out.nc")
    assert sorted(diffs) == [
        f"/{v}: attribute order ['_Netcdf4Coordinates', 'CLASS', 'NAME', '_Netcdf4Dimid'] became "
        "['_Netcdf4Coordinates', '_Netcdf4Dimid', 'CLASS', 'NAME']" for v in ("time", "x")]
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(tmp_path / "out.nc") as b:
        assert {k: len(d) for k, d in b.dimensions.items()} == {"time": 3, "x": 5}
        assert b["temp"].dimensions == ("time", "x") and b["temp"].units == "K"
        np.testing.assert_array_equal(a["temp"][:], b["temp"][:])
        np.testing.assert_array_equal(b["sub"]["y"][:], np.arange(5))


def test_import_keeps_netcdf4_variable_order(tmp_path: Path) -> None:
    """netCDF-4 files track the creation order of the root group's members (set
    through the file's creation properties): the native file keeps that order,
    and so does a file exported from it, so ncdump lists variables as written."""
    import netCDF4

    src = tmp_path / "order.nc"
    names = ["zeta", "alpha", "mid", "beta"]
    with netCDF4.Dataset(src, "w") as ds:
        ds.createDimension("x", 3)
        for i, name in enumerate(names):
            ds.createVariable(name, "i4", ("x",))[:] = np.arange(3) + i
        ds.createGroup("sub").createVariable("b", "f4", ("x",))
        ds["sub"].createVariable("a", "f4", ("x",))
    with h5py.File(src, "r") as f:
        assert list(f) == ["x", *names, "sub"]  # creation order, as netCDF-C sees it
    native = tmp_path / "native"
    import_file(str(src), str(native))
    with sh5.File(str(native), "r") as f:
        assert list(f) == ["x", *names, "sub"]
        assert list(f["sub"]) == ["b", "a"]
    export_file(str(native), str(tmp_path / "out.nc"), format="hdf5")
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(tmp_path / "out.nc") as b:
        assert list(b.variables) == list(a.variables) == names
        assert list(b["sub"].variables) == ["b", "a"]
