"""Dtype translation between h5py and sciswift.h5py, and the words ls/dump use."""

from __future__ import annotations

import h5py
import numpy as np

import sciswift.h5py as sh5
from sciswift.convert.apis import h5py_api, has_refs, sciswift_api, translate_dtype
from sciswift.convert.describe import corner, dtype_text, shape_text


def test_reference_dtypes_name_the_target_library() -> None:
    h, s = h5py_api(), sciswift_api()
    assert sh5.check_ref_dtype(translate_dtype(h5py.ref_dtype, h, s)) is sh5.Reference
    assert sh5.check_ref_dtype(translate_dtype(h5py.regionref_dtype, h, s)) is sh5.RegionReference
    assert h5py.check_ref_dtype(translate_dtype(sh5.ref_dtype, s, h)) is h5py.Reference
    nested = np.dtype([("name", "S4"), ("refs", h5py.ref_dtype, (2,))])
    out = translate_dtype(nested, h, s)
    assert sh5.check_ref_dtype(out["refs"].subdtype[0]) is sh5.Reference
    assert out.itemsize == nested.itemsize and has_refs(out)


def test_other_dtypes_pass_through_unchanged() -> None:
    h, s = h5py_api(), sciswift_api()
    padded = np.dtype({"names": ["a", "b"], "formats": ["<i2", ">f8"], "offsets": [0, 8], "itemsize": 24})
    for dt in (np.dtype(">i4"), h5py.string_dtype(), h5py.string_dtype("ascii", 5), padded,
               h5py.enum_dtype({"A": 1}, basetype="i2"), h5py.vlen_dtype("f4"), np.dtype(("f4", (2, 3)))):
        out = translate_dtype(dt, h, s)
        assert out == dt and out.metadata == dt.metadata and not has_refs(out)
    assert out.itemsize == 24 if (out := translate_dtype(padded, h, s)) is not None else False


def test_dtype_words() -> None:
    assert dtype_text(np.dtype("<f4")) == "float32"
    assert dtype_text(np.dtype(">i2")) == "int16 (big-endian)"
    assert dtype_text(h5py.string_dtype()) == "string (vlen, utf-8)"
    assert dtype_text(h5py.string_dtype("ascii", 5)) == "string[5] (ascii)"
    assert dtype_text(h5py.vlen_dtype("f8")) == "vlen<float64>"
    assert dtype_text(h5py.enum_dtype({"B": 2, "A": 1}, basetype="u1")) == "enum<uint8> {A=1, B=2}"
    assert dtype_text(np.dtype([("x", "f8"), ("v", "i4", (3,))])) == "compound {x: float64, v: int32[3]}"
    assert dtype_text(h5py.ref_dtype) == "object reference"
    assert dtype_text(np.dtype("V7")) == "opaque[7]"
    assert shape_text((10, 48), (None, 48)) == "{10/Inf, 48}"
    assert shape_text(()) == "scalar" and shape_text(None) == "null"
    assert corner((1000, 1000), 64) == (slice(0, 1), slice(0, 64))
    assert corner((3, 4), 64) == (slice(0, 3), slice(0, 4))
