"""Creation property lists (filters, fill, layout, allocation) and per-class
type identifiers, compared with what real h5py answers for the same data: what
h5py-based tools such as h5grove ask of ``dataset.id``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

FILTERED = {
    "gzip+shuffle+fletcher32": dict(compression="gzip", compression_opts=6, shuffle=True, fletcher32=True),
    "lzf": dict(compression="lzf"),
    "gzip default": dict(compression="gzip"),
    "scaleoffset int": dict(scaleoffset=0),
    "scaleoffset int fill": dict(scaleoffset=0, fillvalue=7),
    "scaleoffset+shuffle+gzip": dict(scaleoffset=0, shuffle=True, compression="gzip"),
    "no filters chunked": dict(),
}


def _plist_answers(d: Any) -> tuple[Any, ...]:
    p = d.id.get_create_plist()
    n = p.get_nfilters()
    fill = np.zeros((), d.dtype)
    p.get_fill_value(fill)
    return (
        n, [p.get_filter(i) for i in range(n)], p.get_layout(), p.get_chunk(), p.fill_value_defined(),
        p.get_fill_time(), p.get_alloc_time(), p.get_external_count(), fill.item(),
        p.get_filter_by_id(2), p.get_filter_by_id(32000),
    )


@pytest.mark.parametrize("kwargs", [pytest.param(v, id=k) for k, v in FILTERED.items()])
@pytest.mark.parametrize("dtype", ["<i4", "<u2", "<f8"])
def test_filter_pipeline_like_h5py(both: Any, kwargs: dict[str, Any], dtype: str) -> None:
    if "scaleoffset" in kwargs and dtype == "<f8":
        kwargs = {**kwargs, "scaleoffset": 2}

    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            d = f.create_dataset("d", data=np.arange(100).astype(dtype), chunks=(50,), **kwargs)
            return _plist_answers(d)

    expected, got = both(run)
    assert got == expected


def test_bad_filter_index_and_contiguous_layout(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            d = f.create_dataset("d", data=np.arange(10))
            p = d.id.get_create_plist()
            out: list[Any] = [p.get_nfilters(), p.get_layout(), p.get_alloc_time(), p.fill_value_defined()]
            for call in (lambda: p.get_filter(0), lambda: p.get_chunk()):
                try:
                    call()
                    out.append("no error")
                except Exception as e:  # noqa: BLE001 - the type is the answer
                    out.append(type(e))
            c = f.create_dataset("c", data=np.arange(10), chunks=(5,), compression="gzip")
            try:
                c.id.get_create_plist().get_filter(5)
                out.append("no error")
            except Exception as e:  # noqa: BLE001
                out.append(type(e))
            return out

    expected, got = both(run)
    assert got == expected


TYPES = {
    "int16": lambda m: np.dtype("<i2"), "big uint64": lambda m: np.dtype(">u8"), "float32": lambda m: np.dtype("<f4"),
    "bool": lambda m: np.dtype("?"), "complex128": lambda m: np.dtype("<c16"), "S7": lambda m: np.dtype("S7"),
    "opaque": lambda m: np.dtype("V6"), "vlen str": lambda m: m.string_dtype(),
    "vlen ascii": lambda m: m.string_dtype("ascii"), "vlen int": lambda m: m.vlen_dtype(np.dtype("i4")),
    "enum": lambda m: m.enum_dtype({"A": 1, "B": 5}, basetype="u1"),
    "reference": lambda m: m.ref_dtype,
    "compound": lambda m: np.dtype([("x", "<i4"), ("y", "S3"), ("z", [("p", "<f8")])]),
    "compound with array": lambda m: np.dtype([("a", "<f4", (2, 3))]),
}


def _describe(t: Any, mod: Any) -> Any:
    """Every answer h5py's per-class type identifiers give for ``t``, by class."""
    out: dict[str, Any] = {"class": t.get_class(), "size": t.get_size(), "kind": type(t).__name__}
    for method in ("get_order", "get_sign", "get_cset", "get_strpad", "get_tag", "get_array_dims",
                   "get_array_ndims"):
        if hasattr(t, method):
            out[method] = getattr(t, method)()
    if t.get_class() == 3:  # sciswift answers is_variable_str for every type, h5py for strings
        out["is_variable_str"] = t.is_variable_str()
    if hasattr(t, "get_nmembers"):
        n = t.get_nmembers()
        out["members"] = [t.get_member_name(i) for i in range(n)]
        if hasattr(t, "get_member_value"):
            out["values"] = [t.get_member_value(i) for i in range(n)]
        else:
            out["member types"] = [_describe(t.get_member_type(i), mod) for i in range(n)]
            out["offsets"] = [t.get_member_offset(i) for i in range(n)]
            out["member classes"] = [t.get_member_class(i) for i in range(n)]
    try:
        out["super"] = _describe(t.get_super(), mod)
    except Exception as e:  # noqa: BLE001 - atomic types have no base: the error type is the answer
        out["super"] = type(e)
    return out


@pytest.mark.parametrize("make", [pytest.param(m, id=k) for k, m in TYPES.items()])
def test_type_ids_per_class_like_h5py(both: Any, make: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            d = f.create_dataset("d", shape=(2,), dtype=make(mod))
            return _describe(d.id.get_type(), mod)

    expected, got = both(run)
    assert got == expected
