"""Zarr v3 node metadata (``zarr.json``) as typed objects.

``RESERVED`` is the one attribute key under which sciswift keeps what HDF5 has and
Zarr lacks (docs/layout.md). The engine reads and writes its ``dtype``,
``filters``, ``maxshape`` and ``fill`` entries; the HDF5 layer owns the rest
(links, typed attributes, attribute order, dimension scales).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sciswift.engine.codecs import Pipeline
from sciswift.engine.dtypes import DtypeInfo, decode_fill, encode_fill, from_zarr
from sciswift.engine.vlen import pack, unpack
from sciswift.errors import CorruptData, NotSupported

__all__ = ["RESERVED", "ArrayMeta", "group_json", "parse_json", "dump_json", "chunk_key_encoder"]

RESERVED = "_sciswift"


def dump_json(doc: dict[str, Any]) -> bytes:
    """Compact, deterministic JSON (NaN written as the Zarr strings, never bare)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def parse_json(raw: bytes, what: str) -> dict[str, Any]:
    """A ``zarr.json`` document; CorruptData naming ``what`` if it is not one."""
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptData(f"metadata {what} is not valid JSON: {e}", what) from e
    except RecursionError:
        raise CorruptData(f"metadata {what} is not a Zarr document: it nests deeper than Python can read", what) \
            from None
    if not isinstance(doc, dict) or doc.get("node_type") not in ("group", "array"):
        raise CorruptData(f"metadata {what} is not a Zarr v3 group or array document", what)
    if type(doc.get("zarr_format")) is not int:
        raise CorruptData(f"metadata {what} is malformed: zarr_format is {doc.get('zarr_format')!r}", what)
    if doc.get("zarr_format") != 3:
        raise NotSupported(f"metadata {what} has zarr_format {doc.get('zarr_format')!r}; only 3 is supported", what)
    return doc


def group_json(attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Zarr v3 group document."""
    return {"zarr_format": 3, "node_type": "group", "attributes": dict(attributes or {})}


def chunk_key_encoder(doc: dict[str, Any]) -> tuple[str, str]:
    """``(kind, separator)`` of an array's chunk key encoding (default ``/``)."""
    enc = doc.get("chunk_key_encoding") or {"name": "default"}
    name = enc.get("name", "default")
    sep = (enc.get("configuration") or {}).get("separator", "/" if name == "default" else ".")
    if name not in ("default", "v2"):
        raise NotSupported(f"chunk key encoding {name!r} is not supported")
    return name, sep


@dataclass
class ArrayMeta:
    """An array's ``zarr.json``, parsed. ``doc`` is the JSON as stored, kept so that
    fields we do not interpret survive a rewrite."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    info: DtypeInfo
    codecs: list[dict[str, Any]]
    fill_value: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    dimension_names: list[str | None] | None = None
    doc: dict[str, Any] = field(default_factory=dict)
    #: The Pipeline ``from_json`` checked the settings with, handed to the first
    #: ``pipeline()`` call (building one is a third of opening a small array).
    _checked: Pipeline | None = field(default=None, repr=False, compare=False)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.info.dtype

    @property
    def reserved(self) -> dict[str, Any]:
        """The reserved-key dict inside ``attributes`` (created on first use)."""
        return self.attributes.setdefault(RESERVED, {})

    @classmethod
    def create(
        cls,
        shape: tuple[int, ...],
        chunks: tuple[int, ...],
        info: DtypeInfo,
        codecs: list[dict[str, Any]],
        fill_value: Any,
        attributes: dict[str, Any] | None = None,
        dimension_names: list[str | None] | None = None,
    ) -> ArrayMeta:
        meta = cls(tuple(shape), tuple(chunks), info, codecs, fill_value, dict(attributes or {}), dimension_names)
        if info.spec is not None:
            meta.reserved["dtype"] = info.spec
        return meta

    @classmethod
    def from_json(cls, doc: dict[str, Any], what: str) -> ArrayMeta:
        try:
            shape = tuple(int(s) for s in doc["shape"])
            grid = doc["chunk_grid"]
            if grid.get("name") != "regular":
                raise NotSupported(f"array {what} uses chunk grid {grid.get('name')!r}; only 'regular' is supported", what)
            chunks = tuple(int(c) for c in grid["configuration"]["chunk_shape"])
            codecs = list(doc["codecs"])
            attributes = dict(doc.get("attributes") or {})
            spec = (attributes.get(RESERVED) or {}).get("dtype")
            info = from_zarr(doc["data_type"], codecs, spec)
            reserved = attributes.get(RESERVED) or {}
            if "_v2_fill" in doc:  # a Zarr v2 array, translated by engine.zarr2
                fill = doc["_v2_fill"]
            elif "fill" in reserved:
                fill = unpack(base64.b64decode(reserved["fill"]), info.dtype)
            else:
                fill = decode_fill(doc.get("fill_value"), info)
            if info.storage == "fixed" and isinstance(fill, np.ndarray) and fill.ndim:
                raise ValueError(f"fill_value {doc.get('fill_value')!r} is not one value of {info.dtype}")
            checked = Pipeline(codecs, info, fill)  # the codec settings make sense (InvalidInput if not)
        except (KeyError, TypeError, ValueError, OverflowError) as e:  # InvalidInput is a ValueError
            raise CorruptData(f"array metadata {what} is malformed: {e}", what) from e
        if len(chunks) != len(shape):
            raise CorruptData(f"array metadata {what}: chunk shape {chunks} does not match shape {shape}", what)
        return cls(shape, chunks, info, codecs, fill, attributes, doc.get("dimension_names"), doc, checked)

    def to_json(self) -> dict[str, Any]:
        doc = dict(self.doc)
        attrs = dict(self.attributes)
        if RESERVED in attrs and not attrs[RESERVED]:
            del attrs[RESERVED]
        fill_json = encode_fill(self.fill_value, self.info)
        if self.info.storage in ("vlen-bytes", "records") and not _is_empty(self.fill_value):
            # Zarr's vlen fill is a plain string; our packed objects need their own slot.
            packed = base64.b64encode(pack(self.fill_value, self.info.dtype)).decode()
            attrs[RESERVED] = {**attrs.get(RESERVED, {}), "fill": packed}
        doc.update(
            {
                "zarr_format": 3,
                "node_type": "array",
                "shape": list(self.shape),
                "data_type": self.info.data_type,
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(self.chunks)}},
                "chunk_key_encoding": doc.get("chunk_key_encoding") or {"name": "default", "configuration": {"separator": "/"}},
                "fill_value": fill_json,
                "codecs": self.codecs,
                "attributes": attrs,
            }
        )
        if self.dimension_names is not None:
            doc["dimension_names"] = list(self.dimension_names)
        else:
            doc.pop("dimension_names", None)
        return doc

    def pipeline(self) -> Pipeline:
        """A Pipeline of its own for these settings."""
        checked, self._checked = self._checked, None
        # (unless the settings were changed since: then they are checked anew)
        if checked is not None and checked.info is self.info and checked.fill is self.fill_value \
                and checked.json == self.codecs:
            return checked
        return Pipeline(self.codecs, self.info, self.fill_value)


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, bytes)):
        return not value
    if isinstance(value, np.ndarray):
        return value.size == 0 and value.dtype.kind != "V"
    return False
