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

__all__ = ["RESERVED", "ArrayMeta", "ParsedMemo", "group_json", "parse_json", "dump_json", "chunk_key_encoder", "shares_template"]

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


def shares_template(doc: dict[str, Any], like: dict[str, Any]) -> bool:
    """True if ``doc`` holds the very objects ``like`` holds under every key but
    ``attributes`` (and no other keys): documents made from one template of a
    file's packed nodes (``engine.packing.split_root``), which share all but
    their attributes. What one such document was found to be, the others are;
    equal values in objects of their own do not count (a document parsed or
    changed on its own is worked out on its own)."""
    if len(doc) != len(like):
        return False
    for key, value in doc.items():
        if key != "attributes" and (key not in like or like[key] is not value):
            return False
    return True


@dataclass(frozen=True)
class _Parsed:
    """What ``ArrayMeta.from_json`` worked out from the fields of ``doc`` other
    than its attributes, for the next document sharing them (``shares_template``)."""

    doc: dict[str, Any]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    info: DtypeInfo
    fill: Any
    #: The reserved attribute's dtype spec and packed fill value (None if absent),
    #: which the dtype and fill also depend on.
    spec: Any
    packed_fill: Any


#: ``ArrayMeta.from_json``'s memo: what documents of one template were parsed
#: to (one entry per dtype spec and packed fill they carry), under the id of the
#: template's ``codecs`` list (kept alive by the entries: the id is not reused).
ParsedMemo = dict[int, list[_Parsed]]
_KINDS_PER_TEMPLATE = 8


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
    def from_json(cls, doc: dict[str, Any], what: str, memo: ParsedMemo | None = None) -> ArrayMeta:
        """The array document ``doc`` (``what`` names it in errors), parsed. With a
        ``memo``, a document sharing its template with one parsed before
        (``shares_template``) with the same dtype spec and packed fill in its
        reserved attribute takes that one's shape, chunks, dtype and fill instead
        of working them out again:
        opening 1,000 small datasets of one file parsed 1,000 equal settings."""
        codecs_of = doc.get("codecs")
        seen = memo.get(id(codecs_of)) if memo is not None else None
        if seen and shares_template(doc, seen[0].doc):
            attributes = dict(doc.get("attributes") or {})
            reserved = attributes.get(RESERVED) or {}
            for p in seen if isinstance(reserved, dict) else ():
                if p.spec == reserved.get("dtype") and p.packed_fill == reserved.get("fill"):
                    return cls(p.shape, p.chunks, p.info, list(p.doc["codecs"]), p.fill, attributes,
                               doc.get("dimension_names"), doc)
        meta = cls._parse(doc, what)
        if memo is not None and isinstance(codecs_of, list) and "_v2_fill" not in doc:
            entries = memo.setdefault(id(codecs_of), [])
            # (a few kinds per template: a file of arrays that each have a dtype of
            # their own would otherwise compare each with all before it)
            if len(entries) < _KINDS_PER_TEMPLATE and (not entries or shares_template(doc, entries[0].doc)):
                reserved = meta.attributes.get(RESERVED) or {}
                entries.append(_Parsed(doc, meta.shape, meta.chunks, meta.info, meta.fill_value,
                                       reserved.get("dtype"), reserved.get("fill")))
        return meta

    @classmethod
    def _parse(cls, doc: dict[str, Any], what: str) -> ArrayMeta:
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
