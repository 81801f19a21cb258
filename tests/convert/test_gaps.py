"""What sciswift.h5 (another engineer's module) does not do yet and the
conversion needs. Each test is a strict xfail: when the gap closes it starts
passing, the xfail fails the run, and the workaround in sciswift.convert can go.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import sciswift.h5py as sh5


def test_attribute_get_id_gives_dtype_and_shape(tmp_path: Path) -> None:
    with sh5.File(str(tmp_path / "f"), "w") as f:
        f.attrs.create("color", 1, dtype=sh5.enum_dtype({"A": 0, "B": 1}, basetype="i2"))
        aid = f.attrs.get_id("color")
        assert sh5.check_enum_dtype(aid.dtype) == {"A": 0, "B": 1}
        assert aid.shape == ()


def test_longdouble_attribute(tmp_path: Path) -> None:
    with sh5.File(str(tmp_path / "f"), "w") as f:
        f.attrs["x"] = np.longdouble(1.5)
    with sh5.File(str(tmp_path / "f")) as f:
        assert f.attrs["x"] == np.longdouble(1.5)
