"""Every dtype h5py supports maps to Zarr and back without losing information."""

from __future__ import annotations

import numpy as np
import pytest

from sciswift.engine.dtypes import decode_fill, describe, dtype_to_spec, encode_fill, from_zarr, spec_to_dtype

STR = np.dtype("O", metadata={"vlen": str})
BYTES = np.dtype("O", metadata={"vlen": bytes})

DTYPES = [
    np.dtype("?"), np.dtype("i1"), np.dtype("<i2"), np.dtype(">i4"), np.dtype("<u8"),
    np.dtype("<f2"), np.dtype(">f8"), np.dtype("<c8"), np.dtype(">c16"),
    np.dtype("S7"), np.dtype("S5", metadata={"h5py_encoding": "utf-8"}),
    STR, BYTES, np.dtype("O", metadata={"vlen": np.dtype("<i4")}),
    np.dtype("i1", metadata={"enum": {"RED": 0, "GREEN": 1}}),
    np.dtype([("a", "<i4"), ("b", "<f8")]),
    np.dtype([("a", ">i2"), ("b", [("x", "<f4"), ("y", "S3")]), ("c", "<f8", (2, 3))]),
    np.dtype({"names": ["p"], "formats": ["<i4"], "offsets": [4], "itemsize": 12}),
    np.dtype(("<f4", (3,))),
    np.dtype("V6"), np.dtype("V4", metadata={"h5py_opaque": True}),
    np.dtype([("s", STR), ("n", "<i8")]),
    np.dtype("<M8[ns]"),
]


@pytest.mark.parametrize("dt", DTYPES, ids=str)
def test_spec_roundtrip(dt: np.dtype) -> None:
    back = spec_to_dtype(dtype_to_spec(dt))
    assert back == dt
    assert (back.metadata or {}) == (dt.metadata or {})


@pytest.mark.parametrize("dt", DTYPES, ids=str)
def test_zarr_layout_roundtrip(dt: np.dtype) -> None:
    info = describe(dt)
    codecs = [info.array_codec]
    back = from_zarr(info.data_type, codecs, info.spec)
    assert back.dtype == dt
    assert (back.dtype.metadata or {}) == (dt.metadata or {})
    assert back.storage == info.storage


def test_standard_types_need_no_reserved_spec() -> None:
    for dt in ["?", "<i4", ">f8", "<c16", "S3"]:
        info = describe(np.dtype(dt))
        assert info.spec is None
        assert from_zarr(info.data_type, [info.array_codec]).dtype == np.dtype(dt)
    assert describe(STR).data_type == "string"
    assert describe(np.dtype("<f4")).data_type == "float32"
    assert describe(np.dtype(">f4")).array_codec == {"name": "bytes", "configuration": {"endian": "big"}}


@pytest.mark.parametrize(
    "dt,value",
    [
        ("<f4", np.nan), ("<f8", -np.inf), ("<f8", 1.5), ("<i8", -7), ("?", True),
        ("<c8", 1 - 2j), ("S4", b"ab"), ([("a", "<i4"), ("b", "<f4")], (3, 2.5)), ("<u2", 65535),
    ],
)
def test_fill_values_roundtrip(dt, value) -> None:  # type: ignore[no-untyped-def]
    info = describe(np.dtype(dt))
    back = decode_fill(encode_fill(value, info), info)
    expected = np.asarray(value, dtype=np.dtype(dt))[()]
    if np.dtype(dt).kind == "f" and np.isnan(expected):
        assert np.isnan(back)
    else:
        assert np.asarray(back).tobytes() == np.asarray(expected).tobytes()


def test_nan_payload_is_kept() -> None:
    info = describe(np.dtype("<f4"))
    odd = np.array([0x7FC00001], dtype="<u4").view("<f4")[0]
    back = decode_fill(encode_fill(odd, info), info)
    assert np.asarray(back).view("<u4") == 0x7FC00001
