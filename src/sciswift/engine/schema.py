"""The shape of a native file's metadata documents (docs/layout.md), checked when
a document is first used, so that the code reading it can trust the types of
its fields.

A ``zarr.json`` that is valid JSON but not a document of the layout (a field of
the wrong type, a chunk grid of another rank, a link that is not a link) is
damage: CorruptData naming the document and the field, never an AttributeError
or KeyError from whatever code reads it first. Values are checked where they are
parsed (a dtype string numpy does not know, codec settings, fill values); what
is checked here is their JSON shape.

Unknown fields are left alone: other Zarr writers add their own, and later
versions of the layout may too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sciswift.engine.metadata import RESERVED, shares_template
from sciswift.errors import CorruptData

__all__ = ["check_node", "check_spec", "CheckedMemo"]

#: ``check_node``'s memo: an array document checked whole, under the id of its
#: ``codecs`` list.
CheckedMemo = dict[int, dict[str, Any]]

#: Deeper nesting than dtype specs have (compounds of arrays of compounds ...) means garbage.
MAX_SPEC_DEPTH = 32


class _Bad(Exception):
    """What is wrong, as a phrase; turned into CorruptData by ``check_node``."""


def check_node(doc: Any, what: str, memo: CheckedMemo | None = None) -> dict[str, Any]:
    """``doc`` if it is a group or array document of the layout; else CorruptData
    naming ``what`` (the document: its object, or a consolidated entry) and the
    field.

    With a ``memo`` (one per file), an array document sharing its template with
    one checked before (``metadata.shares_template``) has only its attributes
    checked: its other fields are the very objects found good then."""
    try:
        _node(doc, memo)
    except _Bad as bad:
        raise CorruptData(f"metadata {what} is malformed: {bad}", what) from None
    return doc


def check_spec(spec: Any) -> None:
    """ValueError unless ``spec`` has the JSON shape of a dtype spec
    (``engine.dtypes.dtype_to_spec``)."""
    try:
        _spec(spec, "dtype spec", 0)
    except _Bad as bad:
        raise ValueError(str(bad)) from None


# ------------------------------------------------------------------ helpers
def _is_int(v: Any, low: int = 0) -> bool:
    return type(v) is int and v >= low


def _need(ok: bool, field: str, what: str) -> None:
    if not ok:
        raise _Bad(f"{field} is not {what}")


def _list_of(v: Any, check: Callable[[Any], bool], field: str, what: str, length: int | None = None) -> list[Any]:
    _need(isinstance(v, list) and all(check(x) for x in v), field, f"a list of {what}")
    if length is not None and len(v) != length:
        raise _Bad(f"{field} has {len(v)} entries, not one per axis ({length})")
    return v


# ------------------------------------------------------------------ documents
def _node(doc: Any, memo: CheckedMemo | None = None) -> None:
    _need(isinstance(doc, dict), "the document", "a JSON object")
    _need(doc.get("node_type") in ("group", "array"), "node_type", '"group" or "array"')
    attrs = doc.get("attributes")
    _need(attrs is None or isinstance(attrs, dict), "attributes", "an object")
    ndim = None
    if doc["node_type"] == "array":
        codecs = doc.get("codecs")
        seen = memo.get(id(codecs)) if memo is not None else None
        if seen is not None and shares_template(doc, seen):
            ndim = len(doc["shape"])
        else:
            ndim = _array(doc)
            if memo is not None:
                memo.setdefault(id(codecs), doc)  # the entry keeps the list alive: its id is not reused
    res = (attrs or {}).get(RESERVED)
    if res is not None:
        _reserved(res, doc["node_type"], ndim)


def _array(doc: dict[str, Any]) -> int:
    ndim = len(_list_of(doc.get("shape"), _is_int, "shape", "non-negative integers"))
    grid: Any = doc.get("chunk_grid")
    _need(isinstance(grid, dict) and isinstance(grid.get("name"), str), "chunk_grid", "an object with a name")
    config: Any = grid.get("configuration")
    _need(isinstance(config, dict), "chunk_grid.configuration", "an object")
    _list_of(config.get("chunk_shape"), lambda c: _is_int(c, 1), "chunk_grid.configuration.chunk_shape",
             "positive integers", ndim)
    enc: Any = doc.get("chunk_key_encoding")
    if enc is not None:
        _need(isinstance(enc, dict) and isinstance(enc.get("name", ""), str), "chunk_key_encoding", "an object")
        conf = enc.get("configuration")
        _need(conf is None or isinstance(conf, dict), "chunk_key_encoding.configuration", "an object")
        _need((conf or {}).get("separator", "/") in ("/", "."), "chunk_key_encoding separator", '"/" or "."')
    codecs = doc.get("codecs")
    _list_of(codecs, _is_codec, "codecs", "codec objects")
    dtype = doc.get("data_type")
    _need(isinstance(dtype, str) or (isinstance(dtype, dict) and isinstance(dtype.get("name"), str)),
          "data_type", "a name or an object with a name")
    names = doc.get("dimension_names")
    if names is not None:
        _list_of(names, lambda n: n is None or isinstance(n, str), "dimension_names", "names or nulls", ndim)
    return ndim


def _is_codec(c: Any) -> bool:
    # The configuration may be left out, not null: readers take its absence as {}.
    return isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("configuration", {}), dict)


# ------------------------------------------------------------------ reserved key
def _reserved(res: Any, kind: str, ndim: int | None) -> None:
    """The reserved attribute (docs/layout.md section 4)."""
    field = f"attributes.{RESERVED}"
    _need(isinstance(res, dict), field, "an object")
    for key, check in _RESERVED_ENTRIES.items():
        if key in res:
            check(res[key], f"{field}.{key}", ndim)


def _attrs(v: Any, field: str, ndim: int | None) -> None:
    _need(isinstance(v, dict), field, "an object")
    for name, entry in v.items():
        where = f"{field}[{name!r}]"
        _need(isinstance(entry, dict), where, "an object")
        _spec(entry.get("dtype"), f"{where}.dtype", 0)
        if not entry.get("empty"):
            _list_of(entry.get("shape"), _is_int, f"{where}.shape", "non-negative integers")
            _need(isinstance(entry.get("data"), str), f"{where}.data", "a base64 string")


def _links(v: Any, field: str, ndim: int | None) -> None:
    _need(isinstance(v, dict), field, "an object")
    for name, link in v.items():
        ok = isinstance(link, list) and all(isinstance(p, str) for p in link) and (
            (len(link) == 2 and link[0] in ("soft", "hard")) or (len(link) == 3 and link[0] == "external"))
        _need(ok, f"{field}[{name!r}]", 'a link (["soft", path], ["hard", path] or ["external", file, path])')


def _bool(v: Any, field: str, ndim: int | None) -> None:
    _need(isinstance(v, bool), field, "true or false")


def _str(v: Any, field: str, ndim: int | None) -> None:
    _need(isinstance(v, str), field, "a string")


def _names(v: Any, field: str, ndim: int | None) -> None:
    _list_of(v, lambda n: isinstance(n, str), field, "names")


def _str_map(v: Any, field: str, ndim: int | None) -> None:
    _need(isinstance(v, dict) and all(isinstance(x, str) for x in v.values()), field, "an object of paths")


def _object(v: Any, field: str, ndim: int | None) -> None:
    _need(isinstance(v, dict), field, "an object")


def _maxshape(v: Any, field: str, ndim: int | None) -> None:
    _list_of(v, lambda m: m is None or _is_int(m), field, "sizes or nulls", ndim)


def _dims(v: Any, field: str, ndim: int | None) -> None:
    _list_of(v, lambda axis: isinstance(axis, list) and all(isinstance(p, str) for p in axis), field,
             "lists of scale paths", ndim)


def _refs(v: Any, field: str, ndim: int | None) -> None:
    _list_of(v, lambda r: isinstance(r, list) and len(r) == 2 and isinstance(r[0], str) and _is_int(r[1]),
             field, "[dataset path, axis] pairs")


def _labels(v: Any, field: str, ndim: int | None) -> None:
    _list_of(v, lambda n: n is None or isinstance(n, str), field, "labels or nulls", ndim)


def _virtual(v: Any, field: str, ndim: int | None) -> None:
    _list_of(v, lambda m: isinstance(m, dict), field, "mapping objects")


def _spec_entry(v: Any, field: str, ndim: int | None) -> None:
    _spec(v, field, 0)


_RESERVED_ENTRIES: dict[str, Callable[[Any, str, int | None], None]] = {
    "attrs": _attrs, "track_order": _bool, "links": _links, "order": _names, "moved": _str_map,
    "datatype": _spec_entry, "dtype": _spec_entry, "h5dtype": _spec_entry, "fill": _str, "maxshape": _maxshape,
    "layout": _str, "filters": _object, "empty": _bool, "dims": _dims, "scale": _str, "refs": _refs,
    "labels": _labels, "virtual": _virtual,
}


# ------------------------------------------------------------------ dtype specs
def _spec(spec: Any, field: str, depth: int) -> None:
    """What ``engine.dtypes.spec_to_dtype`` reads of a spec, by kind."""
    if depth > MAX_SPEC_DEPTH:
        raise _Bad(f"{field} is nested too deep")
    if isinstance(spec, str):
        return
    _need(isinstance(spec, dict) and isinstance(spec.get("kind"), str), field, "a dtype spec")
    kind = spec["kind"]
    if kind in ("vlen", "array"):
        _spec(spec.get("base"), f"{field}.base", depth + 1)
        if kind == "array":
            _list_of(spec.get("shape"), _is_int, f"{field}.shape", "non-negative integers")
    elif kind == "ref":
        _need(isinstance(spec.get("ref"), str), f"{field}.ref", "a reference kind")
    elif kind == "enum":
        _need(isinstance(spec.get("base"), str), f"{field}.base", "an integer type")
        values = spec.get("values")
        _need(isinstance(values, dict) and all(type(x) is int for x in values.values()), f"{field}.values",
              "an object of integers")
    elif kind == "compound":
        fields = _list_of(spec.get("fields"), lambda f: isinstance(f, list) and len(f) == 3 and isinstance(f[0], str) and _is_int(f[2]),
                 f"{field}.fields", "[name, spec, offset] triples")
        for f in fields:
            _spec(f[1], f"{field}.fields[{f[0]!r}]", depth + 1)
        _need(_is_int(spec.get("itemsize")), f"{field}.itemsize", "a size")
    elif kind in ("fixed_str", "opaque"):
        _need(_is_int(spec.get("size"), 1), f"{field}.size", "a positive size")
        if kind == "fixed_str":
            _need(isinstance(spec.get("encoding"), str), f"{field}.encoding", "an encoding name")
    else:
        _need(kind in ("vlen_str", "vlen_bytes"), f"{field}.kind", "a dtype kind")
