"""Attribute values of every kind, written with real h5py and with sciswift.h5py and
read back after reopening: the returned object must have exactly h5py's type
(numpy.bytes_, bytes, str, numpy scalars of the exact dtype, arrays, Empty), the
same dtype (metadata and repr included) and the same value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

Make = Callable[[Any, Any], Any]

CASES: dict[str, Make] = {
    "int": lambda m, f: 42,
    "negative int": lambda m, f: -5,
    "int beyond int64": lambda m, f: 2**63,
    "float": lambda m, f: 2.5,
    "nan": lambda m, f: float("nan"),
    "inf": lambda m, f: float("-inf"),
    "bool": lambda m, f: True,
    "complex": lambda m, f: complex(3, -4),
    "str": lambda m, f: "héllo",
    "empty str": lambda m, f: "",
    "bytes": lambda m, f: b"raw\x01bytes",
    "numpy.bytes_": lambda m, f: np.bytes_(b"fixed"),
    "numpy.str_": lambda m, f: np.str_("unicode"),
    "int8": lambda m, f: np.int8(-5),
    "uint16": lambda m, f: np.uint16(65000),
    "uint64 max": lambda m, f: np.uint64(2**64 - 1),
    "float16": lambda m, f: np.float16(1.5),
    "float32": lambda m, f: np.float32(3.25),
    "complex64": lambda m, f: np.complex64(1 + 2j),
    "numpy bool": lambda m, f: np.bool_(False),
    "0-d array": lambda m, f: np.array(7.0),
    "1-element array": lambda m, f: np.array([5]),
    "list of ints": lambda m, f: [1, 2, 3],
    "list of floats": lambda m, f: [0.5, 1.5],
    "mixed list": lambda m, f: [1, 2.5],
    "tuple": lambda m, f: (1, 2),
    "2-d float32": lambda m, f: np.arange(6, dtype="f4").reshape(2, 3),
    "bool array": lambda m, f: np.array([True, False]),
    "empty array": lambda m, f: np.zeros(0, dtype="i4"),
    "list of str": lambda m, f: ["a", "bc"],
    "list of bytes": lambda m, f: [b"x", b"yz"],
    "fixed-length bytes array": lambda m, f: np.array([b"a", b"bcd"]),
    "2-d fixed-length bytes": lambda m, f: np.array([[b"ab"], [b"c"]]),
    "0-d fixed-length bytes": lambda m, f: np.array(b"ab"),
    "fixed-length utf-8": lambda m, f: np.array([b"ab"], dtype=m.string_dtype("utf-8", 2)),
    "fixed-length ascii scalar": lambda m, f: np.array(b"ab", dtype=m.string_dtype("ascii", 4)),
    "vlen str array": lambda m, f: np.array(["one", "three"], dtype=m.string_dtype()),
    "vlen bytes array": lambda m, f: np.array([b"one", b"three"], dtype=m.string_dtype("ascii")),
    "object array of str": lambda m, f: np.array(["a", "b"], dtype=object),
    "compound scalar": lambda m, f: np.array([(1, 2.5)], dtype=[("a", "<i4"), ("b", "<f8")])[0],
    "compound array with strings": lambda m, f: np.array(
        [(1, b"ab", 0.5)], dtype=[("a", "<i4"), ("s", "S4"), ("v", "<f4")]),
    "nested compound": lambda m, f: np.zeros(2, dtype=[("p", [("x", "<f4"), ("y", "<f4")]), ("t", "S2")]),
    "enum": lambda m, f: np.array([0, 42], dtype=m.enum_dtype({"RED": 0, "BLUE": 42}, basetype="i1")),
    "vlen ints": lambda m, f: np.array([np.arange(3, dtype="i4"), np.arange(1, dtype="i4")],
                                       dtype=m.vlen_dtype(np.dtype("i4"))),
    "Empty float": lambda m, f: m.Empty("f4"),
    "Empty fixed string": lambda m, f: m.Empty("S1"),
    "Empty vlen string": lambda m, f: m.Empty(m.string_dtype()),
    "object reference": lambda m, f: f["target"].ref,
    "reference array": lambda m, f: np.array([f["target"].ref, f.ref], dtype=m.ref_dtype),
    "subarray dtype": lambda m, f: np.zeros(2, dtype=np.dtype(("i4", (3,)))),
    "big-endian float": lambda m, f: np.array([1.5], dtype=">f8"),
    "longdouble": lambda m, f: np.longdouble(1.5),
    "clongdouble": lambda m, f: np.clongdouble(1.5 + 2j),
}


def _meta(dt: np.dtype[Any]) -> Any:
    # Classes in metadata (vlen=str, ref=Reference) are compared by name: the two
    # libraries have their own Reference classes.
    return None if dt.metadata is None else {k: getattr(v, "__name__", v) for k, v in dt.metadata.items()}


def _describe(v: Any, f: Any) -> tuple[Any, ...]:
    """What a program can observe of an attribute value (references by target)."""
    if type(v).__name__ == "Empty":
        return ("Empty", repr(v.dtype), _meta(v.dtype))
    if type(v).__name__ == "Reference":
        return ("Reference", f[v].name)
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "O":
            items = [f[x].name if type(x).__name__ == "Reference" else
                     (x.tolist() if isinstance(x, np.ndarray) else x) for x in v.reshape(-1)]
            return ("ndarray", repr(v.dtype), _meta(v.dtype), v.shape, items)
        return ("ndarray", repr(v.dtype), v.dtype.descr, _meta(v.dtype), v.shape, v.tobytes())
    if isinstance(v, np.void):
        return ("void", v.dtype.descr, v.tobytes())
    if isinstance(v, np.generic):
        # Extended precision has padding bytes of no value: compare the value.
        raw = repr(v) if v.dtype.kind in "fc" and v.dtype.itemsize > 8 else v.tobytes()
        return (type(v).__name__, repr(v.dtype), raw)
    return (type(v).__name__, v)


def _roundtrip(make: Make) -> Callable[[Any, str], Any]:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            f.create_group("target")
            f.attrs["v"] = make(mod, f)
        with mod.File(path, "r") as f:
            return _describe(f.attrs["v"], f)

    return run


#: Values h5py refuses that sciswift stores (and reads back exactly).
EXTENSIONS = {"datetime64": lambda m, f: np.datetime64("2020-01-02T03:04:05")}


@pytest.mark.parametrize("make", [pytest.param(m, id=k) for k, m in CASES.items()])
def test_attribute_read_back_as_h5py(both: Any, make: Make) -> None:
    expected, got = both(_roundtrip(make))
    assert got == expected  # NaN compares by its bytes


@pytest.mark.parametrize("make", [pytest.param(m, id=k) for k, m in EXTENSIONS.items()])
def test_values_h5py_refuses_are_kept_exactly(both: Any, make: Make) -> None:
    expected, got = both(_roundtrip(make))
    assert expected is TypeError
    value = make(None, None)
    assert got == (type(value).__name__, repr(value.dtype), value.tobytes())
