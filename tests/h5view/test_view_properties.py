"""Property test: random shapes, chunk shapes, dtypes, codecs, fill values and
partial writes; h5py's reading of the view (materialised from random pieces)
equals what was written."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from view_helpers import materialize

import sciswift.h5py as sh
from sciswift.h5view import open_view
from sciswift.store import parse_location

DTYPES = ["<i1", "<u2", ">i4", "<u8", "<f4", ">f8", "<f2", "<c8", "?", "S5",
          "vlen-str", "compound", "enum"]
CODECS = [None, "gzip", "zstd", "shuffle", "lz4", "fletcher32"]


def _dtype(name: str) -> np.dtype[Any]:
    if name == "vlen-str":
        return sh.string_dtype()
    if name == "compound":
        return np.dtype([("a", "<i2"), ("b", ">f4"), ("c", "S2")])
    if name == "enum":
        return sh.enum_dtype({"ON": 1, "OFF": 0, "UNKNOWN": 9}, basetype="u1")
    return np.dtype(name)


def _values(dt: np.dtype[Any], shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray[Any, Any]:
    n = int(np.prod(shape))
    if dt.kind == "O":
        out = np.empty(n, dtype=object)
        out[:] = [("x" * int(k)) + "é" * int(k % 2) for k in rng.integers(0, 9, n)]
        return out.reshape(shape)
    if dt.names is not None:
        out = np.zeros(n, dt)
        out["a"] = rng.integers(-100, 100, n)
        out["b"] = rng.random(n)
        out["c"] = [b"ab", b"c", b""] * (n // 3) + [b"z"] * (n % 3)
        return out.reshape(shape)
    if dt.metadata and "enum" in dt.metadata:
        return rng.choice([0, 1, 9], n).astype("u1").reshape(shape)
    if dt.kind == "S":
        return rng.integers(97, 123, (n, 3)).astype("u1").view("S3").ravel().astype(dt).reshape(shape)
    if dt.kind == "b":
        return (rng.random(n) > 0.5).reshape(shape)
    if dt.kind == "c":
        return (rng.random(n) + 1j * rng.random(n)).astype(dt).reshape(shape)
    if dt.kind == "f":
        return (rng.random(n) * 1000 - 500).astype(dt).reshape(shape)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, n, dtype=dt.newbyteorder("=")).astype(dt).reshape(shape)


@st.composite
def cases(draw: Any) -> dict[str, Any]:
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.integers(0, 9)) for _ in range(ndim))
    resizable = ndim > 0 and draw(st.booleans())
    contiguous = ndim == 0 or (not resizable and (0 in shape or draw(st.booleans())))
    # h5py's rule: chunks fit a fixed-size dataset; a resizable one may have larger.
    chunks = tuple(draw(st.integers(1, n + 2 if resizable else max(1, n))) for n in shape)
    dtype = draw(st.sampled_from(DTYPES))
    codec = draw(st.sampled_from(CODECS)) if not contiguous and dtype != "vlen-str" else None
    return {
        "shape": shape, "chunks": None if contiguous else chunks, "dtype": dtype, "codec": codec,
        "fill": draw(st.booleans()), "partial": draw(st.booleans()), "seed": draw(st.integers(0, 99)),
        "resizable": resizable and not contiguous,
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_h5py_reads_random_datasets(case: dict[str, Any], tmp_path: Path) -> None:
    rng = np.random.default_rng(case["seed"])
    dt = _dtype(case["dtype"])
    shape = case["shape"]
    url = f"memory://props-{uuid.uuid4().hex[:10]}/f.h5"
    kwargs: dict[str, Any] = {}
    if case["chunks"] is not None:
        kwargs["chunks"] = case["chunks"]
        if case["codec"] in ("gzip", "zstd", "lz4"):
            kwargs["compression"] = case["codec"]
        elif case["codec"] == "shuffle":
            kwargs["shuffle"] = True
        elif case["codec"] == "fletcher32":
            kwargs["fletcher32"] = True
        if case["resizable"]:
            kwargs["maxshape"] = (None,) * len(shape)
    fill = None
    if case["fill"] and dt.kind in "iuf":
        fill = np.asarray(7, dt)[()]
        kwargs["fillvalue"] = fill
    values = _values(dt, shape, rng)
    with sh.File(url, "w") as f:
        d = f.create_dataset("d", shape=shape, dtype=dt, **kwargs)
        if case["partial"] and shape and all(shape):
            part = tuple(slice(0, max(1, n // 2)) for n in shape)
            d[part] = values[part]
            expected = np.array(d[()])
        else:
            d[()] = values
            expected = values
    path = materialize(open_view(parse_location(url)), tmp_path / f"{uuid.uuid4().hex}.h5",
                       random.Random(case["seed"]))
    with h5py.File(path, "r") as f:
        got = f["d"][()]
        assert f["d"].shape == shape and f["d"].dtype == dt
        if case["chunks"] is not None:
            assert f["d"].chunks == case["chunks"]
        if fill is not None:
            assert f["d"].fillvalue == fill
    if dt.kind == "O":
        def text(v: Any) -> list[str]:
            return [b.decode("utf-8") if isinstance(b, bytes) else b for b in np.asarray(v, dtype=object).reshape(-1)]
        assert text(got) == text(expected)
    elif dt.names is not None:
        for name in dt.names:
            assert np.array_equal(got[name], expected[name])
    else:
        assert np.array_equal(got, expected, equal_nan=dt.kind in "fc")
