"""Every supported dtype, written and read back through real h5py and through
sciswift.h5py (over MemoryStore and LocalStore): same values, same dtypes, same
Python types, in datasets and in attributes, before and after reopening."""

from __future__ import annotations

from typing import Any

import h5py as real_h5py
import numpy as np
import pytest

from .util import assert_same

ENUM = real_h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i2")
COMPOUND = np.dtype([("a", "<i4"), ("b", "<f8"), ("c", "S5")])
NESTED = np.dtype([("x", COMPOUND), ("y", "<u2", (2,))])
PADDED = np.dtype({"names": ["a", "b"], "formats": ["<i2", "<f8"], "offsets": [0, 8], "itemsize": 24})


def _vlen_ints() -> np.ndarray[Any, Any]:
    out = np.empty(3, dtype=real_h5py.vlen_dtype(np.int32))
    out[0] = np.arange(3, dtype=np.int32)
    out[1] = np.arange(0, dtype=np.int32)
    out[2] = np.array([7], dtype=np.int32)
    return out


def _vlen_str() -> np.ndarray[Any, Any]:
    return np.array(["", "héllo", "wörld"], dtype=real_h5py.string_dtype())


def _vlen_bytes() -> np.ndarray[Any, Any]:
    return np.array([b"abc", b"", b"\xff\x01"], dtype=real_h5py.string_dtype("ascii"))


def _compound_vlen() -> np.ndarray[Any, Any]:
    dt = np.dtype([("name", real_h5py.string_dtype()), ("n", "<i4"), ("seq", real_h5py.vlen_dtype("<f4"))])
    out = np.zeros(2, dtype=dt)
    out[0] = ("first", 1, np.array([1.5, 2.5], dtype="<f4"))
    out[1] = ("second", 2, np.array([], dtype="<f4"))
    return out


CASES: dict[str, Any] = {
    "int8": np.array([-128, 0, 127], dtype="i1"),
    "int16": np.array([-(2**15), 1, 2**15 - 1], dtype="i2"),
    "int32": np.arange(-3, 3, dtype="<i4"),
    "int64": np.array([-(2**63), 0, 2**63 - 1], dtype="<i8"),
    "uint8": np.array([0, 255], dtype="u1"),
    "uint16": np.array([0, 65535], dtype="<u2"),
    "uint32": np.array([0, 2**32 - 1], dtype="<u4"),
    "uint64": np.array([0, 2**64 - 1], dtype="<u8"),
    "float16": np.array([0.5, -1.25, np.inf], dtype="<f2"),
    "float32": np.array([1.5, np.nan, -np.inf], dtype="<f4"),
    "float64": np.linspace(0, 1, 7),
    "bigendian": np.arange(4, dtype=">i4"),
    "complex64": np.array([1 + 2j, -3j], dtype="<c8"),
    "complex128": np.array([1e300 + 1j, 0j], dtype="<c16"),
    "bool": np.array([True, False, True]),
    "fixed_bytes": np.array([b"a", b"hello", b""], dtype="S5"),
    "fixed_utf8": np.array([b"ab", "é".encode()], dtype=real_h5py.string_dtype("utf-8", 4)),
    "vlen_str": _vlen_str(),
    "vlen_bytes": _vlen_bytes(),
    "compound": np.array([(1, 2.5, b"x"), (-4, 0.0, b"hello")], dtype=COMPOUND),
    "nested_compound": np.array([((1, 2.0, b"a"), [3, 4])], dtype=NESTED),
    "padded_compound": np.array([(1, 2.0), (3, 4.0)], dtype=PADDED),
    "enum": np.array([0, 42, 1], dtype=ENUM),
    "array_member": np.array([([1, 2, 3],)], dtype=[("v", "<i4", (3,))]),
    "opaque": np.array([b"\x00\x01\x02\x03"], dtype=real_h5py.opaque_dtype(np.dtype("V4"))),
    "vlen_int": _vlen_ints(),
    "compound_vlen": _compound_vlen(),
    "scalar_f8": np.array(3.25),
    "scalar_compound": np.array((7, 1.5, b"z"), dtype=COMPOUND),
    "empty_shape": np.zeros((0, 3), dtype="<i4"),
    "datetime_as_int": np.array([1, 2], dtype="<i8"),
}


def _roundtrip_dataset(mod: Any, path: str, data: np.ndarray[Any, Any]) -> dict[str, Any]:
    with mod.File(path, "w") as f:
        d = f.create_dataset("d", data=data)
        first = {"dtype": d.dtype, "shape": d.shape, "all": d[()], "meta": dict(d.dtype.metadata or {})}
        if d.shape and d.shape[0]:
            first["one"] = d[0]
    with mod.File(path, "r") as f:
        d = f["d"]
        again = {"dtype": d.dtype, "shape": d.shape, "all": d[()], "meta": dict(d.dtype.metadata or {})}
        if d.shape and d.shape[0]:
            again["one"] = d[0]
    return {"first": first, "again": again}


def _roundtrip_attr(mod: Any, path: str, data: np.ndarray[Any, Any]) -> dict[str, Any]:
    with mod.File(path, "w") as f:
        f.attrs["a"] = data
        first = f.attrs["a"]
    with mod.File(path, "r") as f:
        return {"first": first, "again": f.attrs["a"]}


def _dtype_eq(a: np.dtype[Any], b: np.dtype[Any]) -> bool:
    """Equal dtypes; for compounds holding objects only names and field types count
    (h5py reports HDF5's in-file offsets for those, e.g. 16-byte vlen slots)."""
    if a.names is not None and b.names is not None and (a.hasobject or b.hasobject):
        return a.names == b.names and all(_dtype_eq(a.fields[n][0], b.fields[n][0]) for n in a.names)
    return a == b


def _meta_repr(meta: dict[str, Any]) -> dict[str, Any]:
    # h5py's metadata values are classes of its own (Reference) or dtypes: compare names.
    return {k: getattr(v, "__name__", str(v)) if not isinstance(v, dict) else v for k, v in meta.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dataset_roundtrip(both: Any, case: str) -> None:
    data = CASES[case]
    ref, got = both(lambda mod, path: _roundtrip_dataset(mod, path, data))
    assert not isinstance(got, type), f"sciswift raised {got}"
    for when in ("first", "again"):
        assert _dtype_eq(got[when]["dtype"], ref[when]["dtype"]), (case, when, got[when]["dtype"])
        assert got[when]["shape"] == ref[when]["shape"]
        assert _meta_repr(got[when]["meta"]) == _meta_repr(ref[when]["meta"])
        assert_same(ref[when]["all"], got[when]["all"], f"{case}/{when}/all")
        if "one" in ref[when]:
            assert_same(ref[when]["one"], got[when]["one"], f"{case}/{when}/one")


@pytest.mark.parametrize("case", sorted(c for c in CASES if c not in ("empty_shape",)))
def test_attribute_roundtrip(both: Any, case: str) -> None:
    data = CASES[case]
    ref, got = both(lambda mod, path: _roundtrip_attr(mod, path, data))
    assert not isinstance(got, type), f"sciswift raised {got}"
    assert_same(ref["first"], got["first"], f"{case}/first")
    assert_same(ref["again"], got["again"], f"{case}/again")


PYTHON_VALUES: dict[str, Any] = {
    "int": 42,
    "big_int": 2**62,
    "float": 2.5,
    "nan": float("nan"),
    "bool": True,
    "str": "héllo",
    "bytes": b"raw\xff",
    "list_int": [1, 2, 3],
    "list_float": [0.5, 1.5],
    "list_str": ["a", "bb"],
    "tuple_bytes": (b"x", b"yz"),
    "numpy_f4": np.float32(1.5),
    "numpy_u8": np.uint64(2**64 - 1),
    "complex": 1 + 2j,
}


@pytest.mark.parametrize("case", sorted(PYTHON_VALUES))
def test_attribute_python_values(both: Any, case: str) -> None:
    value = PYTHON_VALUES[case]
    ref, got = both(lambda mod, path: _roundtrip_attr(mod, path, value))
    assert_same(ref["first"], got["first"], case)
    assert_same(ref["again"], got["again"], case)


def test_empty_values(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            f.attrs["e"] = mod.Empty("f4")
            d = f.create_dataset("d", data=mod.Empty("i2"))
            res = [f.attrs["e"], d.shape, d.dtype, d.size, d.nbytes, d[()]]
        with mod.File(path, "r") as f:
            d = f["d"]
            return res + [f.attrs["e"], d.shape, d[()], d.maxshape]

    ref, got = both(run)
    assert len(got) == len(ref)
    for a, b in zip(ref, got):
        assert type(a).__name__ == type(b).__name__, (a, b)
        assert (a.dtype == b.dtype) if type(a).__name__ == "Empty" else (a == b), (a, b)


def test_references(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            g = f.create_group("g")
            d = f.create_dataset("data", data=np.arange(10))
            f.create_dataset("refs", data=[g.ref, d.ref])
            f.create_dataset("one", data=d.ref)
            f.attrs["r"] = g.ref
            regs = f.create_dataset("regs", (2,), dtype=mod.regionref_dtype)
            regs[0] = d.regionref[2:5]
            regs[1] = d.regionref[[1, 3]]
            dt = np.dtype([("n", "i4"), ("r", mod.ref_dtype)])
            comp = f.create_dataset("comp", (1,), dtype=dt)
            comp[0] = (5, d.ref)
            f.create_dataset("null", (2,), dtype=mod.ref_dtype)
        with mod.File(path, "r") as f:
            r0, r1 = f["refs"][0], f["refs"][1]
            return [
                type(r0).__name__, f[r0].name, f[r1].name, f[f["one"][()]].name, f[f.attrs["r"]].name,
                list(f["data"][f["regs"][0]]), list(f["data"][f["regs"][1]]),
                f[f["comp"][0]["r"]].name, bool(f["null"][0]), f["refs"].dtype.metadata["ref"].__name__,
                mod.check_ref_dtype(f["refs"].dtype).__name__,
            ]

    ref, got = both(run)
    assert got == ref


def test_variable_length_lists_of_references(both: Any) -> None:
    # An array of references assigned to one element is that element's sequence.
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            a, g = f.create_dataset("a", data=[1]), f.create_group("g")
            vl = f.create_dataset("v", shape=(3,), dtype=mod.vlen_dtype(mod.ref_dtype))
            vl[0] = np.array([a.ref, g.ref], dtype=mod.ref_dtype)
            vl[1] = [g.ref]
        with mod.File(path, "r") as f:
            rows = f["v"][...]
            return [[f[r].name for r in row] for row in rows], [row.dtype.kind for row in rows]

    ref, got = both(run)
    assert ref == ([["/a", "/g"], ["/g"], []], ["O", "O", "O"])  # the premise
    assert got == ref


def test_ref_dtype_rejects_region(ss_name: Any) -> None:
    import sciswift.h5py as h5py

    with h5py.File(ss_name(), "w") as f:
        d = f.create_dataset("d", data=np.arange(12))
        refs = f.create_dataset("refs", (1,), dtype=h5py.ref_dtype)
        with pytest.raises(TypeError, match="convert"):
            refs[0] = d.regionref[:6]
        assert not refs[0]


def test_dtype_helpers_match_h5py() -> None:
    import sciswift.h5py as h5py

    for fn in ("check_string_dtype", "check_vlen_dtype", "check_enum_dtype", "check_opaque_dtype"):
        for dt in (real_h5py.string_dtype(), real_h5py.string_dtype("ascii", 10), ENUM, np.dtype("f4"),
                   real_h5py.vlen_dtype("i2"), real_h5py.opaque_dtype("V3")):
            assert getattr(h5py, fn)(dt) == getattr(real_h5py, fn)(dt), (fn, dt)
    assert h5py.string_dtype() == real_h5py.string_dtype()
    assert h5py.string_dtype("ascii", 7).metadata == real_h5py.string_dtype("ascii", 7).metadata
    assert h5py.check_dtype(vlen=h5py.vlen_dtype(np.int8)) == np.int8
    assert h5py.special_dtype(enum=("i1", {"A": 1})).metadata == {"enum": {"A": 1}}
    with pytest.raises(TypeError):
        h5py.enum_dtype({"a": 1}, basetype="f4")
