"""The szip filter (``compression='szip'``): accepted, checked and reported as
h5py reports it, with the data kept exactly (szip is lossless); HDF5 export writes
a real szip filter and import keeps it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py as real_h5py
import numpy as np
import pytest

import sciswift.h5py as sh5
from sciswift.convert.api import export_file, import_file


def _tour(module: Any, path: str) -> list[Any]:
    """What a program sees creating szip datasets with good and bad arguments."""
    seen: list[Any] = []

    def attempt(name: str, **kwds: Any) -> None:
        try:
            d = f.create_dataset(name, **kwds)
        except (TypeError, ValueError) as e:
            seen.append((name, type(e).__name__, str(e)))
            return
        pipeline = d.id.get_create_plist()
        seen.append((name, d.compression, d.compression_opts, d.chunks, d.shuffle,
                     [pipeline.get_filter(i) for i in range(pipeline.get_nfilters())]))

    grid = np.arange(600, dtype="f4").reshape(20, 30) / 7
    with module.File(path, "w") as f:
        attempt("ec16", data=grid, compression="szip", compression_opts=("ec", 16))
        attempt("default", data=np.arange(100), compression="szip", shuffle=True)
        attempt("big_endian", data=np.arange(40, dtype=">i2"), compression="szip", chunks=(20,))
        # 4 is szip's filter id, but h5py reads 0-9 as gzip levels: a conflict with options
        attempt("by_number", data=np.arange(50, dtype="u1"), compression=4, compression_opts=("nn", 8))
        for i, opts in enumerate([("xx", 8), ("nn", 7), ("nn", 64), 5, ("nn", 0)]):
            attempt(f"opts{i}", data=np.arange(10), compression="szip", compression_opts=opts)
        for i, dt in enumerate(["S1", "S16", "(3,)f4", "c8", [("a", "i2"), ("b", "i2")], module.opaque_dtype("V4"),
                                module.ref_dtype, module.string_dtype(), module.vlen_dtype("i4"), "?"]):
            attempt(f"dtype{i}", shape=(10,), dtype=dt, compression="szip")
        for i, (shape, chunks) in enumerate([((4,), None), ((3, 10), (3, 2)), ((100,), (8,))]):
            attempt(f"chunk{i}", shape=shape, dtype="i4", chunks=chunks, compression="szip")
    with module.File(path, "r") as f:
        seen.append([f["ec16"][...].tolist(), f["default"][::7].tolist(), f["big_endian"][...].tolist()])
        seen.append(("szip" in module.filters.encode, "szip" in module.filters.decode))
    return seen


def test_szip_as_h5py(ss_name: Callable[[str], str], ref_name: Callable[[str], str]) -> None:
    want = _tour(real_h5py, ref_name("s.h5"))
    assert want[0][1] == "szip" and want[-1] == (True, True)  # the premise: this h5py has szip
    assert _tour(sh5, ss_name("s.h5")) == want


@pytest.mark.parametrize("direction", ["export", "import"])
def test_conversion_keeps_szip(direction: str, tmp_path: Path) -> None:
    data = np.arange(3000, dtype="i4").reshape(60, 50)
    if direction == "export":
        with sh5.File(str(tmp_path / "native.h5"), "w") as f:
            f.create_dataset("d", data=data, chunks=(20, 50), compression="szip", compression_opts=("ec", 32))
        export_file(str(tmp_path / "native.h5"), str(tmp_path / "out.h5"))
        out = real_h5py.File(tmp_path / "out.h5", "r")
    else:
        with real_h5py.File(tmp_path / "in.h5", "w") as f:
            f.create_dataset("d", data=data, chunks=(20, 50), compression="szip", compression_opts=("ec", 32))
        report = import_file(str(tmp_path / "in.h5"), str(tmp_path / "native.h5"))
        assert not [n for n in report.notes if "szip" in n]
        out = sh5.File(str(tmp_path / "native.h5"), "r")
    with out:
        assert (out["d"].compression, out["d"].compression_opts) == ("szip", ("ec", 32))
        np.testing.assert_array_equal(out["d"][...], data)
