"""Data as the client asked for it: JSON, NumPy ``.npy``, raw binary or CSV.

``dtype=safe`` (what H5Web asks for) converts numbers to a type JavaScript has
a typed array for, little-endian: float16 to float32, long double to float64,
big-endian to little-endian; anything not numeric is refused. ``bin`` is the
array's bytes in C order, described by ``X-Sciswift-Dtype`` (NumPy's dtype
string) and ``X-Sciswift-Shape`` (comma-separated) headers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from multidict import CIMultiDict

from sciswift.server.dataapi.describe import jsonable
from sciswift.server.dataapi.errors import JSON_TYPE, ApiError
from sciswift.server.http import Reply

__all__ = ["FORMATS", "DTYPES", "convert", "encode"]

FORMATS = ("json", "bin", "npy", "csv")
#: Large binary bodies are sent in slices of the array itself: no 64 MiB copy
#: into one bytes object and another into the transport's buffer (a 4096^2
#: float32 answer: 0.6 s -> 0.35 s to send on loopback here).
SLICE = 4 << 20
DTYPES = ("origin", "safe")


def _numeric(data: np.ndarray[Any, Any]) -> bool:
    return data.dtype.kind in "biuf" and data.dtype.names is None


def convert(data: np.ndarray[Any, Any], dtype: str) -> np.ndarray[Any, Any]:
    """``data`` as ``dtype`` (``origin``: unchanged, ``safe``: see the module)."""
    if dtype == "origin":
        return data
    if not _numeric(data):
        raise ApiError(400, f"dtype=safe applies to numeric data only, not {data.dtype}")
    dt = data.dtype
    if dt.kind == "f" and dt.itemsize < 4:
        target: np.dtype[Any] = np.dtype("<f4")
    elif dt.kind == "f" and dt.itemsize > 8:
        target = np.dtype("<f8")
    elif dt.kind == "b":
        target = np.dtype("u1")
    else:
        target = dt.newbyteorder("<")
    return np.ascontiguousarray(data, dtype=target)


async def _slices(view: memoryview) -> AsyncIterator[bytes]:
    for start in range(0, len(view), SLICE):
        yield view[start : start + SLICE]  # type: ignore[misc]


def _describe_headers(data: np.ndarray[Any, Any]) -> dict[str, str]:
    return {
        "X-Sciswift-Dtype": data.dtype.str if data.dtype.names is None else json.dumps(data.dtype.descr),
        "X-Sciswift-Shape": ",".join(str(n) for n in data.shape),
    }


def encode(data: Any, fmt: str, flatten: bool, name: str) -> Reply:
    """The reply carrying ``data`` (a NumPy array or scalar) in ``fmt``."""
    headers: CIMultiDict[str] = CIMultiDict({"Cache-Control": "no-store"})
    arr = np.asarray(data)
    if flatten and arr.ndim > 1:
        arr = arr.reshape(-1)
    if fmt == "json":
        value = jsonable(arr) if isinstance(data, np.ndarray) else jsonable(data)
        headers["Content-Type"] = JSON_TYPE
        body = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        return Reply(200, headers, body)
    if arr.dtype.hasobject:
        raise ApiError(400, f"format={fmt} needs fixed-size data; {name} holds variable-length values: "
                            "use format=json")
    headers.update(_describe_headers(arr))
    stem = name.rstrip("/").split("/")[-1] or "data"
    if fmt == "bin":
        headers["Content-Type"] = "application/octet-stream"
        flat = np.ascontiguousarray(arr)
        if flat.nbytes <= SLICE:
            return Reply(200, headers, flat.tobytes())
        view = flat.reshape(-1).view(np.uint8).data  # datetime64 has no buffer format of its own
        return Reply(200, headers, _slices(view), content_length=flat.nbytes)
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        headers["Content-Type"] = "application/octet-stream"
        headers["Content-Disposition"] = f'attachment; filename="{stem}.npy"'
        return Reply(200, headers, buf.getvalue())
    if fmt == "csv":
        if arr.ndim > 2:
            raise ApiError(400, f"format=csv takes 1-D or 2-D data; this selection is {arr.ndim}-D "
                                "(select a 2-D slice, or use flatten=true)")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if arr.dtype.names:
            writer.writerow(arr.dtype.names)
        # One value per line for 1-D data and for a single value (a 0-d dataset or
        # a selection of integers only), which is one line of one field; records
        # (compound data) are one line each.
        rows = arr.reshape(-1, 1) if arr.ndim <= 1 and not arr.dtype.names else np.atleast_1d(arr)
        for row in rows:
            writer.writerow([jsonable(v) for v in (row.tolist() if isinstance(row, np.ndarray) else row)])
        headers["Content-Type"] = "text/csv; charset=utf-8"
        headers["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
        return Reply(200, headers, out.getvalue().encode("utf-8"))
    raise ApiError(400, f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
