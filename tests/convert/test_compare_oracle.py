"""The round-trip oracle itself: it must notice every kind of change it claims to
check, or the round-trip tests would pass on anything."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from roundtrip_compare import differences


def _base(path: Path) -> None:
    with h5py.File(path, "w") as f:
        d = f.create_dataset("d", data=np.arange(12.0).reshape(3, 4), chunks=(1, 4), compression="gzip",
                             fillvalue=-1.0)
        d.attrs["units"] = "m"
        d.attrs.create("code", 3, dtype="u2")
        f.create_dataset("e", data=np.array([0, 1], "u1"), dtype=h5py.enum_dtype({"A": 0, "B": 1}))
        f.create_dataset("s", data=np.array([b"ab"], dtype=h5py.string_dtype("ascii", 4)))
        f["hard"] = d
        f["soft"] = h5py.SoftLink("/d")
        f.create_dataset("r", data=np.array([d.ref], dtype=h5py.ref_dtype))
        f.create_dataset("x", data=[1, 2])


def _recreate(f: h5py.File, name: str, **kwds: object) -> None:
    del f[name]
    f.create_dataset(name, **kwds)


MUTATIONS: dict[str, Callable[[h5py.File], None]] = {
    "value": lambda f: f["d"].__setitem__((0, 0), 99.0),
    "chunks": lambda f: _recreate(f, "x", data=[1, 2], chunks=(1,)),
    "compression": lambda f: _recreate(f, "x", data=[1, 2], chunks=(2,), compression="lzf"),
    "attr dtype": lambda f: f["d"].attrs.create("code", 3, dtype="u4"),
    "attr value": lambda f: f["d"].attrs.__setitem__("units", "km"),
    "attr missing": lambda f: f["d"].attrs.__delitem__("units"),
    "enum mapping": lambda f: _recreate(f, "e", data=np.array([0, 1], "u1"), dtype=h5py.enum_dtype({"A": 0, "C": 1})),
    "string encoding": lambda f: _recreate(f, "s", data=np.array([b"ab"], dtype=h5py.string_dtype("utf-8", 4))),
    "soft target": lambda f: (f.__delitem__("soft"), f.__setitem__("soft", h5py.SoftLink("/x"))),
    "hard link became a copy": lambda f: (f.__delitem__("hard"), f.create_dataset("hard", data=f["d"][()])),
    "reference target": lambda f: f["r"].__setitem__(0, f["x"].ref),
    "dtype": lambda f: _recreate(f, "x", data=np.array([1, 2], dtype="i4")),
    "extra name": lambda f: f.create_group("new"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_oracle_sees_the_change(mutation: str, tmp_path: Path) -> None:
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _base(a)
    shutil.copy(a, b)
    assert differences(a, b) == []
    with h5py.File(b, "r+") as f:
        MUTATIONS[mutation](f)
    assert differences(a, b) != []
