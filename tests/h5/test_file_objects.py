"""A file-like object given as the file, as h5py's ``fileobj`` driver takes it:
an HDF5 file in memory or any Python binary file reads through the format
plugins; writing one is refused with a message that says what to do."""

from __future__ import annotations

import io
import os
from pathlib import Path

import h5py as real
import numpy as np
import pytest

import sciswift.h5py as h5py

SHIPPED = sorted((Path(real.__file__).parent / "tests" / "data_files").glob("*.h5"))


def _in_memory() -> io.BytesIO:
    buf = io.BytesIO()
    with real.File(buf, "w") as f:
        f["x"] = np.arange(5)
        f.create_dataset("g/y", data=np.arange(12.0).reshape(3, 4), chunks=(1, 4), compression="gzip")
        f.attrs["title"] = "in memory"
    return buf


def test_an_hdf5_file_in_memory_reads_as_with_h5py() -> None:
    buf = _in_memory()
    with h5py.File(buf, "r") as f, real.File(buf, "r") as expect:
        assert sorted(f) == sorted(expect) == ["g", "x"]
        np.testing.assert_array_equal(f["x"][...], expect["x"][...])
        np.testing.assert_array_equal(f["g/y"][1:, 2:], expect["g/y"][1:, 2:])
        assert f.attrs["title"] == "in memory"
        assert f.filename == repr(buf)
    assert not buf.closed  # the caller's object, as in h5py


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_h5py_shipped_files_read_through_an_open_python_file(path: Path) -> None:
    assert SHIPPED
    with open(path, "rb") as fo, h5py.File(fo, "r") as f, real.File(path, "r") as expect:
        names: list[str] = []
        expect.visit(names.append)
        for name in names:
            if isinstance(expect[name], real.Dataset):
                got, want = f[name][()], expect[name][()]
                assert np.asarray(got).shape == np.asarray(want).shape
                if np.asarray(want).dtype.kind not in "OV":
                    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", ["r+", "a", "w", "w-", "x"])
def test_writing_a_file_object_is_refused_and_leaves_it_untouched(mode: str) -> None:
    buf = _in_memory()
    before = buf.getvalue()
    with pytest.raises(OSError, match=r"BytesIO object .* in mode .*read-only.*store URL or a path"):
        h5py.File(buf, mode)
    assert buf.getvalue() == before


def test_what_is_not_a_readable_binary_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="not a binary file object"):
        h5py.File(io.StringIO("text"), "r")
    with pytest.raises(OSError, match="file signature not found"):
        h5py.File(io.BytesIO(os.urandom(64)), "r")
    with pytest.raises(ValueError, match="Driver must be 'fileobj'"):
        h5py.File(_in_memory(), "r", driver="core")
