"""The h5py API on a local file whose disk fills up: writes raise OSError with
errno ENOSPC naming the file, and the file keeps what it held before."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import sciswift.h5py as h5py
from support.small_disk import SmallDisk


def test_writes_to_a_full_disk_raise_enospc_and_keep_the_file(tmp_path: Path) -> None:
    with SmallDisk(tmp_path / "disk", "8m") as disk:
        name = str(disk.path / "data" / "run.h5")
        os.makedirs(disk.path / "data")
        a = np.arange(1000.0)
        with h5py.File(name, "w") as f:
            f.create_dataset("a", data=a, chunks=(100,))
            f.attrs["x"] = 1
        f = h5py.File(name, "a")
        disk.fill(0)
        for write in (lambda: f.create_dataset("b", data=np.random.rand(200_000), chunks=(10_000,)),
                      lambda: f["a"].__setitem__(slice(None), -1.0)):
            with pytest.raises(OSError) as exc:
                write()
            assert exc.value.errno == errno.ENOSPC
            assert "run.h5" in str(exc.value) and "Free space" in str(exc.value)
        f.attrs["y"] = "z" * 10_000  # kept in memory until the file is closed ...
        with pytest.raises(OSError) as exc:
            f.close()  # ... where it cannot be stored
        assert exc.value.errno == errno.ENOSPC
        assert disk.leftovers() == []
        disk.free()
        with h5py.File(name, "r") as f:
            assert list(f) == ["a"]
            np.testing.assert_array_equal(f["a"][:], a)
            assert dict(f.attrs) == {"x": 1}
