"""A file-like object given as the file, as h5py's ``fileobj`` driver takes it:
an HDF5 file in memory or any Python binary file reads through the format
plugins; written (w, a, r+), the object holds an HDF5 file that h5py reads
after ``flush`` and after the close, also when the File was dropped unclosed."""

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


def test_a_file_written_into_a_file_object_is_hdf5_that_h5py_reads() -> None:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["x"] = np.arange(5)
        f.create_dataset("g/y", data=np.arange(12.0).reshape(3, 4), chunks=(1, 4), compression="gzip")
        f["g"].attrs["units"] = "m"
        f.flush()  # the bytes are in the object at flush, as with h5py
        with real.File(io.BytesIO(buf.getvalue()), "r") as mid:
            assert sorted(mid) == ["g", "x"]
        f["late"] = 1.5
    assert not buf.closed
    with real.File(buf, "r") as got:
        assert sorted(got) == ["g", "late", "x"]
        np.testing.assert_array_equal(got["g/y"][...], np.arange(12.0).reshape(3, 4))
        assert got["g"].attrs["units"] == "m" and got["late"][()] == 1.5
    # edited in place: its HDF5 content comes in, the changes go back
    with h5py.File(buf, "a") as f:
        del f["x"]
        f["g/y"][0, 0] = -1.0
    with real.File(buf, "r") as got:
        assert sorted(got) == ["g", "late"] and got["g/y"][0, 0] == -1.0


def test_an_h5py_file_object_edited_in_r_plus_mode() -> None:
    buf = _in_memory()
    with h5py.File(buf, "r+") as f:
        f.attrs["edited"] = True
        f["x"][1] = 42
    with real.File(buf, "r") as got:
        assert got.attrs["edited"] and list(got["x"][...]) == [0, 42, 2, 3, 4]
        assert got.attrs["title"] == "in memory"


def test_a_dropped_file_still_reaches_its_object_and_leaves_no_scratch() -> None:
    import gc

    from sciswift.h5.files import _close_dropped
    from sciswift.store.memory import MemoryStore

    def scratch_objects() -> int:
        store = MemoryStore.named("")
        return sum(1 for c in store.list_containers() if c.name == "sciswift-fileobj"
                   for _ in store.iter_names(c.name, ""))

    before = scratch_objects()
    buf = io.BytesIO()

    def write_and_forget() -> None:
        f = h5py.File(buf, "w")
        f["d"] = np.arange(4)

    write_and_forget()
    gc.collect()
    _close_dropped()
    with real.File(buf, "r") as got:
        np.testing.assert_array_equal(got["d"][...], np.arange(4))
    assert scratch_objects() == before


def test_create_only_modes_refuse_an_object_that_holds_bytes() -> None:
    buf = _in_memory()
    before = buf.getvalue()
    for mode in ("w-", "x"):
        with pytest.raises(FileExistsError, match="file exists"):
            h5py.File(buf, mode)
    assert buf.getvalue() == before
    with pytest.raises(OSError, match="not an HDF5 file"):
        h5py.File(io.BytesIO(b"no hdf5 here" * 100), "r+")


def test_what_is_not_a_readable_binary_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="not a binary file object"):
        h5py.File(io.StringIO("text"), "r")
    with pytest.raises(OSError, match="file signature not found"):
        h5py.File(io.BytesIO(os.urandom(64)), "r")
    with pytest.raises(ValueError, match="Driver must be 'fileobj'"):
        h5py.File(_in_memory(), "r", driver="core")


def test_writing_needs_the_real_h5py_and_says_so_at_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """With sciswift.h5py put in h5py's place (programs and harnesses do), the
    export at close could not write HDF5: refused at open, the object untouched."""
    import sys

    buf = _in_memory()  # (real h5py imports its own modules by name as it works)
    before = buf.getvalue()
    monkeypatch.setitem(sys.modules, "h5py", h5py)
    with pytest.raises(OSError, match="needs the real h5py"):
        h5py.File(buf, "a")
    assert buf.getvalue() == before
