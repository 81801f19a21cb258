"""What sciswift.h5py does differently from h5py, found by running h5py programs
and h5netcdf through the router. Each test states h5py's behaviour (checked
against the real h5py in the same test) and is marked xfail(strict) until
sciswift.h5 matches it; a fix makes it pass and the marker must go (the
exception-class cases were fixed that way and now guard against regressions).

Every case writes one small file with the real h5py (local) and with
sciswift.h5py (memory://) the same way and compares one observable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import sciswift.h5py as sh5


@pytest.fixture
def both(tmp_path: Path) -> Iterator[Callable[[str], tuple[Any, Any]]]:
    """``open(mode)``: the same file opened with h5py (local) and sciswift (memory://)."""
    real_path = str(tmp_path / "gap.h5")
    sci_url = f"memory://gaps{uuid.uuid4().hex[:8]}/gap.h5"
    opened: list[Any] = []

    def open_both(mode: str) -> tuple[Any, Any]:
        pair = (h5py.File(real_path, mode), sh5.File(sci_url, mode))
        opened.extend(pair)
        return pair

    yield open_both
    for f in opened:
        f.close()


def _gap(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"sciswift.h5 gap: {reason}")


def test_fixed_length_bytes_attribute(both: Callable[[str], tuple[Any, Any]]) -> None:
    real, sci = both("w")
    for f in (real, sci):
        f.attrs["tag"] = np.bytes_(b"fixed")
    assert type(real.attrs["tag"]) is np.bytes_
    assert type(sci.attrs["tag"]) is type(real.attrs["tag"])
    assert sci.attrs["tag"] == real.attrs["tag"]


def test_compound_string_field_metadata(both: Callable[[str], tuple[Any, Any]]) -> None:
    real, sci = both("w")
    dt = np.dtype([("id", "<i4"), ("tag", "S4")])
    for f in (real, sci):
        f.create_dataset("c", data=np.zeros(2, dtype=dt))
    assert real["c"].dtype["tag"].metadata == {"h5py_encoding": "ascii"}
    assert sci["c"].dtype.descr == real["c"].dtype.descr


def test_vlen_fillvalue(both: Callable[[str], tuple[Any, Any]]) -> None:
    real, sci = both("w")
    for f in (real, sci):
        f.create_dataset("r", shape=(2,), dtype=h5py.vlen_dtype(np.dtype("i4")))
    assert real["r"].fillvalue is None
    assert sci["r"].fillvalue is None


def _exception_of(fn: Callable[[], Any]) -> type[BaseException]:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - which class is the point
        return type(e)
    raise AssertionError("no exception")


def _closed_member(f: Any) -> Callable[[], Any]:
    f["x"] = [1, 2]
    f.close()
    return lambda: f["x"]


def _closed_dataset_read(f: Any) -> Callable[[], Any]:
    d = f.create_dataset("x", data=[1, 2])
    f.close()
    return lambda: d[0]


@pytest.mark.parametrize("case, h5py_raises", [
    pytest.param(_closed_member, KeyError, id="member-of-closed-file"),
    pytest.param(_closed_dataset_read, RuntimeError, id="read-dataset-of-closed-file"),
])
def test_exception_classes(both: Callable[[str], tuple[Any, Any]], case: Callable[[Any], Callable[[], Any]],
                           h5py_raises: type[BaseException]) -> None:
    real, sci = both("w")
    assert _exception_of(case(real)) is h5py_raises
    assert issubclass(_exception_of(case(sci)), h5py_raises)


def test_attribute_write_read_only(both: Callable[[str], tuple[Any, Any]]) -> None:
    real, sci = both("w")
    real.close()
    sci.close()
    real, sci = both("r")
    assert _exception_of(lambda: real.attrs.__setitem__("a", 1)) is OSError
    assert issubclass(_exception_of(lambda: sci.attrs.__setitem__("a", 1)), OSError)


# ---------------------------------------------------------------- h5netcdf
# h5netcdf (and so xarray's engine="h5netcdf") needs these; see docs/compat.md.

def test_dimension_scale_attributes(both: Callable[[str], tuple[Any, Any]]) -> None:
    real, sci = both("w")
    for f in (real, sci):
        x = f.create_dataset("x", data=np.arange(3.0))
        x.make_scale("x")
        v = f.create_dataset("v", data=np.zeros((3,)))
        v.dims[0].attach_scale(x)
    for f in (real, sci):
        assert f["x"].attrs["CLASS"] == b"DIMENSION_SCALE"
        assert f["x"].attrs["NAME"] == b"x"
        assert f[f["v"].attrs["DIMENSION_LIST"][0][0]] == f["x"]
        ref, axis = f["x"].attrs["REFERENCE_LIST"][0]
        assert f[ref] == f["v"] and axis == 0


def test_low_level_ids_h5netcdf_uses(both: Callable[[str], tuple[Any, Any]]) -> None:
    real, sci = both("w")
    for f in (real, sci):
        f.create_dataset("d", data=np.arange(3, dtype="f4"))
    assert sci.id.get_create_plist().get_attr_creation_order() == real.id.get_create_plist().get_attr_creation_order()
    assert sci["d"].id.get_type().get_class() == real["d"].id.get_type().get_class()
    assert sh5.h5ds.is_scale(sci["d"].id) is False


def test_attribute_get_id(both: Callable[[str], tuple[Any, Any]]) -> None:
    real, sci = both("w")
    for f in (real, sci):
        f.attrs["a"] = np.float32(1.5)
    assert sci.attrs.get_id("a").dtype == real.attrs.get_id("a").dtype
    assert sci.attrs.get_id("a").shape == real.attrs.get_id("a").shape
