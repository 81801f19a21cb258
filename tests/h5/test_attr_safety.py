"""No attribute value can lose a file: every odd value either is stored and reads
back exactly after reopening, or is refused when assigned (TypeError, ValueError,
or the OSError of an over-size value) without changing anything, and the file
always closes and reopens with everything else intact."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

import sciswift.h5py as h5

SAME = object()  # "reads back as the value itself"

#: name -> (value, what reading it back gives: SAME, a value, or an exception class
#: assignment must raise)
ODD: dict[str, tuple[Any, Any]] = {
    "longdouble": (np.longdouble(1.5), SAME),
    "longdouble beyond float64": (np.longdouble("1e4000"), SAME),
    "longdouble array": (np.array([1, 2.5, np.longdouble("1e-4000")], dtype=np.longdouble), SAME),
    "clongdouble": (np.clongdouble(1.5 + 2j), SAME),
    "complex with nan and inf": (np.complex128(complex(math.inf, math.nan)), SAME),
    "float nan": (math.nan, np.float64(math.nan)),
    "float -inf": (-math.inf, np.float64(-math.inf)),
    "float32 nan array": (np.array([np.nan, 1.0, np.inf], dtype="f4"), SAME),
    "list with nan": ([math.nan, 1.0], np.array([math.nan, 1.0])),
    "datetime64": (np.datetime64("2020-01-02T03:04:05.123456789"), SAME),
    "timedelta64 array": (np.array([1, -2], dtype="m8[ms]"), SAME),
    "int beyond uint64": (2**70, TypeError),
    "negative int beyond int64": (-(2**70), TypeError),
    "list of huge ints": ([2**64, 1], TypeError),
    "int at uint64 max": (2**64 - 1, np.uint64(2**64 - 1)),
    "object": (object(), TypeError),
    "None": (None, TypeError),
    "dict": ({"a": 1}, TypeError),
    "set": ({1, 2}, TypeError),
    "Decimal": (Decimal("1.5"), TypeError),
    "ragged nested list": ([[1, 2], [3]], (TypeError, ValueError)),
    "nested list": ([[1, 2], [3, 4]], np.array([[1, 2], [3, 4]])),
    "mixed object list": ([1, "a"], (TypeError, ValueError)),
    "numpy.str_": (np.str_("x"), TypeError),
    "unicode array": (np.array(["a", "b"]), TypeError),
    "object Empty": (h5.Empty("O"), TypeError),
    "str with lone surrogate": ("caf\udce9", UnicodeEncodeError),  # as h5py
    "str list with lone surrogate": (["a\udcff", "b"], UnicodeEncodeError),
    "invalid utf-8 bytes": (b"\xff\xfe", "\udcff\udcfe"),
    "fixed-length invalid utf-8": (np.array([b"\xff"]), SAME),
    "opaque void": (np.void(b"\x00\x01\x02"), SAME),
    "1 MiB string": ("x" * (1 << 20), SAME),
    "over-size array": (np.zeros(100_000), OSError),
    "enum with numpy values": (np.array([1], dtype=h5.enum_dtype({"a": np.int64(1), "b": np.int16(2)})), SAME),
    "big-endian int array": (np.arange(3, dtype=">i4"), SAME),
    "0-d object array of str": (np.array("x", dtype=h5.string_dtype()), "x"),
    "bool array": (np.array([True, False]), SAME),
}


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, np.ndarray) or isinstance(expected, np.generic):
        if type(got) is not type(expected) or got.dtype != expected.dtype or np.shape(got) != np.shape(expected):
            return False
        if expected.dtype.kind == "O":
            return bool(all(a == b for a, b in zip(np.ravel(expected), np.ravel(got))))
        return bool(np.asarray(got).tobytes() == np.asarray(expected).tobytes())
    return type(got) is type(expected) and bool(got == expected)


def _assign(f: Any, name: str, value: Any, outcome: Any) -> bool:
    """Assign and check the outcome at assignment; True if the value was stored."""
    if isinstance(outcome, type) and issubclass(outcome, BaseException) or isinstance(outcome, tuple):
        with pytest.raises(outcome):
            f.attrs[name] = value
        assert name not in f.attrs, f"{name}: a refused value left an attribute behind"
        return False
    f.attrs[name] = value
    return True


@pytest.mark.parametrize("name", list(ODD))
def test_odd_value_stored_exactly_or_refused_at_assignment(ss_name: Callable[[str], str], name: str) -> None:
    value, outcome = ODD[name]
    url = ss_name("odd.h5")
    with h5.File(url, "w") as f:
        f.attrs["before"] = 1
        f.create_dataset("d", data=np.arange(4))
        stored = _assign(f, name, value, outcome)
        f.attrs["after"] = "still here"
    with h5.File(url, "r") as f:
        assert f.attrs["before"] == 1 and f.attrs["after"] == "still here"
        assert f["d"][()].tolist() == [0, 1, 2, 3]
        if stored:
            expected = value if outcome is SAME else outcome
            got = f.attrs[name]
            assert _same(expected, got), f"{name}: stored {expected!r}, read back {got!r}"


def test_all_odd_values_in_one_file_reopen(ss_name: Callable[[str], str]) -> None:
    """Every value above assigned to one object (the refused ones skipped): the
    metadata flush at close must succeed and keep every stored value."""
    url = ss_name("all.h5")
    stored = {}
    with h5.File(url, "w") as f:
        g = f.create_group("g")
        for name, (value, outcome) in ODD.items():
            try:
                g.attrs[name] = value
                stored[name] = value if outcome is SAME else outcome
            except (TypeError, ValueError, OSError):
                pass
    with h5.File(url, "r") as f:
        assert sorted(f["g"].attrs) == sorted(stored)
        for name, expected in stored.items():
            assert _same(expected, f["g"].attrs[name]), name


def test_undecodable_names_refused_before_anything_changes(ss_name: Callable[[str], str]) -> None:
    url = ss_name("names.h5")
    with h5.File(url, "w") as f:
        d = f.create_dataset("d", data=[1, 2])
        with pytest.raises(ValueError):
            f.attrs[b"\xff"] = 1
        with pytest.raises(ValueError):
            d.dims[0].label = "\udcff"
        with pytest.raises(ValueError):
            f["l"] = h5.ExternalLink(b"\xffother.h5", "/x")
        f.attrs["ok"] = 1
    with h5.File(url, "r") as f:
        assert list(f.attrs) == ["ok"]
        assert "l" not in f and f["d"].dims[0].label == ""
