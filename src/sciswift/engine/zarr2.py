"""Reading Zarr v2 hierarchies written by other tools (zarr-python 2, zarr 3 with
``zarr_format=2``, xarray's ``to_zarr`` before v3, numcodecs users).

v2 keeps ``.zgroup`` / ``.zarray`` / ``.zattrs`` per node and optionally all of them
consolidated in the root's ``.zmetadata``. Each node is translated into the v3
document the rest of the engine understands: the numpy dtype string goes under
the reserved key as a dtype spec, ``order: "F"`` becomes a ``transpose`` codec,
``filters`` and ``compressor`` become ``numcodecs.*`` codecs (the same encodings
zarr-python uses), and chunk keys use the v2 encoding (``0.0`` or ``0/0``).

v2 hierarchies are read-only here: write them out in the native layout with
``sciswift import``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from sciswift.engine.dtypes import describe, dtype_to_spec
from sciswift.engine.kv import KV
from sciswift.engine.metadata import RESERVED, group_json
from sciswift.errors import CorruptData, NotSupported

__all__ = ["V2_MARKERS", "load_consolidated", "load_node", "is_v2_root"]

V2_MARKERS = (".zgroup", ".zarray")

# v2 filters that turn an object array into bytes (v3: array-to-bytes codecs).
_VLEN = {"vlen-utf8": "vlen-utf8", "vlen-bytes": "vlen-bytes"}


def _key(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptData(f"Zarr v2 metadata {what} is not valid JSON: {e}", what) from e
    if not isinstance(doc, dict):
        raise CorruptData(f"Zarr v2 metadata {what} is not a JSON object", what)
    return doc


def _v2_dtype(spec: Any) -> np.dtype[Any]:
    if isinstance(spec, list):
        return np.dtype([tuple(f) if len(f) < 3 else (f[0], f[1], tuple(f[2])) for f in spec])
    return np.dtype(spec)


def _fill(value: Any, dt: np.dtype[Any]) -> Any:
    if value is None:
        return np.zeros((), dt)[()] if dt.kind != "O" else ""
    if dt.kind == "O":
        return value
    if isinstance(value, str) and dt.kind in "SVU" or (isinstance(value, str) and dt.fields is not None):
        raw = base64.b64decode(value)
        return np.frombuffer(raw.ljust(dt.itemsize, b"\0")[: dt.itemsize], dtype=dt)[0]
    if isinstance(value, str) and dt.kind in "fc":
        return np.asarray({"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}[value], dtype=dt)[()]
    return np.asarray(value, dtype=dt)[()]


def array_doc(meta: dict[str, Any], attrs: dict[str, Any], what: str) -> dict[str, Any]:
    """The v3-style document (and fill) the engine uses for a v2 ``.zarray``."""
    try:
        dt = _v2_dtype(meta["dtype"])
        shape = [int(s) for s in meta["shape"]]
        chunks = [int(c) for c in meta["chunks"]]
    except (KeyError, TypeError, ValueError) as e:
        raise CorruptData(f"Zarr v2 array metadata {what} is malformed: {e!r}", what) from e
    codecs: list[dict[str, Any]] = []
    if meta.get("order", "C") == "F" and len(shape) > 1:
        codecs.append({"name": "transpose", "configuration": {"order": list(range(len(shape)))[::-1]}})
    array_codec: dict[str, Any] | None = None
    for f in meta.get("filters") or []:
        fid = f.get("id")
        if fid in _VLEN:
            array_codec = {"name": _VLEN[fid]}
            dt = np.dtype("O", metadata={"vlen": str if fid == "vlen-utf8" else bytes})
        elif fid in ("vlen-array", "pickle", "msgpack2", "json2", "categorize"):
            raise NotSupported(f"Zarr v2 array {what} uses filter {fid!r}, which sciswift cannot read", what)
        else:
            codecs.append({"name": f"numcodecs.{fid}", "configuration": {k: v for k, v in f.items() if k != "id"}})
    info = describe(dt)
    if array_codec is None:
        array_codec = info.array_codec
    codecs.append(array_codec)
    comp = meta.get("compressor")
    if comp:
        codecs.append({"name": f"numcodecs.{comp['id']}", "configuration": {k: v for k, v in comp.items() if k != "id"}})
    attributes = dict(attrs)
    attributes[RESERVED] = {**attributes.get(RESERVED, {}), "dtype": dtype_to_spec(dt)}
    doc = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": info.data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
        "chunk_key_encoding": {"name": "v2", "configuration": {"separator": meta.get("dimension_separator", ".")}},
        "fill_value": None,
        "codecs": codecs,
        "attributes": attributes,
        "_v2_fill": _fill(meta.get("fill_value"), dt),
    }
    return doc


def is_v2_root(kv: KV) -> bool:
    """True if the location holds a Zarr v2 group or array at its root."""
    return any(kv.head(m) is not None for m in (".zmetadata", *V2_MARKERS))


def load_consolidated(kv: KV) -> dict[str, dict[str, Any]] | None:
    """Every node of a v2 hierarchy from its ``.zmetadata``, or None without one."""
    raw = kv.get(".zmetadata")
    if raw is None:
        return None
    doc = _json(raw, kv.describe(".zmetadata"))
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        raise CorruptData(f"{kv.describe('.zmetadata')} has no 'metadata' mapping", kv.describe(".zmetadata"))
    nodes: dict[str, dict[str, Any]] = {}
    for key, value in meta.items():
        path, _, leaf = key.rpartition("/")
        if leaf == ".zgroup":
            nodes[path] = group_json(meta.get(_key(path, ".zattrs"), {}))
        elif leaf == ".zarray":
            nodes[path] = array_doc(value, meta.get(_key(path, ".zattrs"), {}), kv.describe(key))
    return nodes


def load_node(kv: KV, path: str) -> dict[str, Any] | None:
    """The node at ``path`` of a v2 hierarchy (read from its own files), or None."""
    got = kv.get_many([_key(path, ".zarray"), _key(path, ".zgroup"), _key(path, ".zattrs")])
    attrs = _json(got[_key(path, ".zattrs")], kv.describe(_key(path, ".zattrs"))) if _key(path, ".zattrs") in got else {}
    if _key(path, ".zarray") in got:
        meta = _json(got[_key(path, ".zarray")], kv.describe(_key(path, ".zarray")))
        if meta.get("zarr_format") != 2:
            raise NotSupported(f"{kv.describe(_key(path, '.zarray'))}: zarr_format {meta.get('zarr_format')!r}")
        return array_doc(meta, attrs, kv.describe(_key(path, ".zarray")))
    if _key(path, ".zgroup") in got:
        return group_json(attrs)
    return None
