"""Compound fields of zero bytes (a FITS column of repeat count 0) on export to
HDF5 and netCDF-4: left out with a note naming them, every other field intact."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from astropy.io import fits

from sciswift.convert import export_file
from sciswift.convert.zerowidth import project_fields, without_zero_width

ZEROWIDTH = Path(fits.__file__).parent / "tests" / "data" / "zerowidth.fits"


@pytest.mark.parametrize("ext", ["h5", "nc"])
def test_astropy_zerowidth_fits_exports(ext: str, tmp_path: Path) -> None:
    dest = tmp_path / f"zerowidth.{ext}"
    report = export_file(str(ZEROWIDTH), str(dest))
    assert any("'ORBPARM'" in note and "/AIPS AN/data" in note for note in report.notes), report.notes
    with fits.open(ZEROWIDTH) as hdul:
        table = hdul["AIPS AN"].data
        raw = np.asarray(table)  # the stored values: bytes, not astropy's str columns
        names = [n for n in table.names if n != "ORBPARM"]
        with h5py.File(dest) as out:
            data = out["AIPS AN/data"][()]
            assert list(data.dtype.names) == names
            for name in names:
                np.testing.assert_array_equal(data[name], raw[name], err_msg=name)
            # the per-column dataset keeps the column: 29 rows of nothing
            assert out["AIPS AN/columns/ORBPARM"].shape == (len(table), 0)


def test_nested_zero_width_fields_are_dropped_by_name() -> None:
    inner = np.dtype([("x", "<i2"), ("nil", "<f8", (0,)), ("y", "<i2")])
    dt = np.dtype([("a", "<i4"), ("z", "<f4", (0,)), ("s", inner), ("b", "<f8")])
    kept, dropped = without_zero_width(dt)
    assert dropped == ["z", "s.nil"]
    assert kept.names == ("a", "s", "b") and kept["s"].names == ("x", "y")
    assert kept.itemsize == dt.itemsize
    data = np.zeros(3, dt)
    data["a"], data["b"] = [1, 2, 3], [0.5, 1.5, 2.5]
    data["s"]["x"], data["s"]["y"] = [7, 8, 9], [-1, -2, -3]
    out = project_fields(data, kept)
    assert out.dtype == kept
    np.testing.assert_array_equal(out["b"], data["b"])
    np.testing.assert_array_equal(out["s"]["y"], data["s"]["y"])
