"""A native file's objects as the HDF5 view presents them, from its consolidated
metadata alone (one GET of the root ``zarr.json``; no chunk is read).

Groups, datasets and named datatypes become ``Node`` objects keyed by node path
(``""`` is the root); group members are hard links to nodes (the member of the
same name, or a ``["hard", path]`` link), soft links or external links.
Attributes carry their numpy values and HDF5 types, decoded from the layout's
typed copies (docs/layout.md, section 5), with the dimension-scale attributes
HDF5 keeps (``CLASS``, ``NAME``, ``REFERENCE_LIST``, ``DIMENSION_LIST``,
``DIMENSION_LABELS``) derived from the reserved entries, as ``sciswift.h5``
shows them to h5py programs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import sciswift.h5  # noqa: F401  (registers the reference classes the engine decodes)
from sciswift.engine import Array, ArrayMeta, describe, spec_to_dtype
from sciswift.engine.hierarchy import use_packed
from sciswift.engine.kv import KV
from sciswift.engine.metadata import RESERVED, parse_json
from sciswift.engine.vlen import decode_vlen
from sciswift.errors import CorruptData, NotFound, SciSwiftError
from sciswift.h5.scaleattrs import labels_of, scale_name_str
from sciswift.h5view.datatypes import (
    CSET_ASCII,
    STR_NULLTERM,
    Compound,
    FixedPoint,
    FixedString,
    HType,
    Reference,
    VlenSequence,
    VlenString,
    htype_of,
)
from sciswift.h5view.errors import NotExpressible
from sciswift.store.url import Location

__all__ = ["Attribute", "Member", "DatasetInfo", "Node", "Tree", "load_tree", "ROOT_KEY"]

ROOT_KEY = "zarr.json"
#: Hidden root members of the layout: anonymous objects (gone at close) and
#: objects copied because a reference named them (kept, reachable by reference).
_ANON = ".sciswift-anonymous"
_REFERENCED = ".sciswift-referenced"

_VSTR = np.dtype("O", metadata={"vlen": str})


@dataclass
class Attribute:
    """One attribute: ``value`` holds ``shape`` elements of numpy dtype ``dtype``
    (None, with ``shape`` None, for a null dataspace)."""

    name: str
    dtype: np.dtype[Any]
    htype: HType
    shape: tuple[int, ...] | None
    value: np.ndarray[Any, Any] | None


@dataclass
class Member:
    """A name in a group: ``kind`` "hard" (``target`` is a node path), "soft"
    (``target`` is the link value) or "external" (``filename`` and ``target``)."""

    name: str
    kind: str
    target: str
    filename: str = ""


@dataclass
class DatasetInfo:
    """What the view needs of one dataset. ``dtype`` is the numpy dtype of the
    element bytes served (the HDF5 type's twin for fixed-size types);
    ``array`` the engine's array (chunk keys, codecs)."""

    array: Array
    dtype: np.dtype[Any]
    htype: HType
    shape: tuple[int, ...]
    maxshape: tuple[int | None, ...]
    chunks: tuple[int, ...]
    contiguous: bool
    empty: bool
    fill: Any


@dataclass
class Node:
    path: str
    kind: str  # "group", "dataset" or "datatype"
    attrs: list[Attribute] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    dataset: DatasetInfo | None = None
    datatype: HType | None = None
    #: Members are listed in creation order (``members`` is in that order).
    track_order: bool = False

    @property
    def display(self) -> str:
        return "/" + self.path


class Tree:
    """Every object of one native file, and how references find them."""

    def __init__(self, nodes: dict[str, Node], moved: dict[str, str], etag: str, display: str) -> None:
        self.nodes = nodes
        self.moved = moved
        self.etag = etag
        self.display = display

    def header_key(self, path: str) -> Hashable:
        return ("ohdr", path)

    def ref_target(self, ref: Any) -> Hashable | None:
        """The header key of the object an object reference names (following the
        root's ``moved`` table), None for a null or dangling reference."""
        path = getattr(ref, "path", ref)
        if isinstance(path, bytes):
            path = path.decode("utf-8", "surrogatepass")
        if not path:
            return None
        cur = str(path).strip("/")
        for _ in range(32):
            if cur in self.nodes:
                return self.header_key(cur)
            best = max((old for old in self.moved if cur == old or cur.startswith(old + "/")), key=len, default=None)
            if best is None:
                return None
            cur = self.moved[best] + cur[len(best):]
        return None


# ------------------------------------------------------------------ loading

def load_tree(location: Location) -> Tree:
    """Read the root ``zarr.json`` (with its ETag) and build the tree. NotFound if
    there is no native file at ``location``; NotExpressible for what the view
    cannot present."""
    kv = KV(location)
    got = kv.get_with_etag(ROOT_KEY)
    if got is None:
        raise NotFound(f"no native file at {location.display} (no {ROOT_KEY})", location.display)
    raw, etag = got
    root = parse_json(raw, kv.describe(ROOT_KEY))
    hidden = use_packed(kv, root)  # packed small arrays: documents in the root, chunks in packs
    docs = _documents(root, location)
    docs.update(hidden)
    res = (root.get("attributes") or {}).get(RESERVED) or {}
    moved = {str(k).strip("/"): str(v).strip("/") for k, v in (res.get("moved") or {}).items()}
    nodes: dict[str, Node] = {}
    children: dict[str, list[str]] = {}
    for path in docs:
        if path:
            parent, _, name = path.rpartition("/")
            children.setdefault(parent, []).append(name)
    for path, doc in docs.items():
        if path == _ANON or path.startswith(_ANON + "/"):
            continue
        nodes[path] = _node(kv, path, doc, children.get(path, []), docs)
    return Tree(nodes, moved, etag or "", location.display)


def _documents(root: dict[str, Any], location: Location) -> dict[str, dict[str, Any]]:
    """Every node's document: the consolidated ones, or (a hierarchy another tool
    wrote without consolidation) each node's own, found by listing."""
    cons = root.pop("consolidated_metadata", None)
    if isinstance(cons, dict) and isinstance(cons.get("metadata"), dict):
        docs = {"": root}
        for path, doc in cons["metadata"].items():
            if isinstance(doc, dict):
                doc = dict(doc)
                doc.pop("consolidated_metadata", None)
                docs[path] = doc
        return docs
    from sciswift.engine import Hierarchy

    h = Hierarchy(location, "r")
    docs = {"": root}
    for path in h.walk(""):
        doc = h.get(path)
        if doc is not None:
            docs[path] = doc
    return docs


def _node(kv: KV, path: str, doc: dict[str, Any], child_names: list[str], docs: dict[str, Any]) -> Node:
    attributes = doc.get("attributes") or {}
    res = attributes.get(RESERVED) or {}
    what = "/" + path
    if doc.get("node_type") == "array":
        node = Node(path, "dataset", dataset=_dataset(kv, path, doc, what))
    elif "datatype" in res:
        node = Node(path, "datatype", datatype=htype_of(spec_to_dtype(res["datatype"]), f"named datatype {what}"))
    else:
        node = Node(path, "group", members=_members(path, child_names, res, what),
                    track_order=bool(res.get("track_order")))
    node.attrs = _attributes(attributes, res, doc, docs, what)
    return node


def _members(path: str, child_names: list[str], res: dict[str, Any], what: str) -> list[Member]:
    members = []
    for name in child_names:
        if not path and name in (_ANON, _REFERENCED):
            continue
        members.append(Member(name, "hard", f"{path}/{name}" if path else name))
    for name, link in (res.get("links") or {}).items():
        kind = link[0]
        if kind == "soft":
            members.append(Member(name, "soft", str(link[1])))
        elif kind == "hard":
            members.append(Member(name, "hard", str(link[1]).strip("/")))
        elif kind == "external":
            members.append(Member(name, "external", str(link[2]), str(link[1])))
        else:
            raise CorruptData(f"group {what}: link {name!r} has unknown kind {kind!r}", what)
    if res.get("track_order"):
        order = {n: i for i, n in enumerate(res.get("order") or [])}
        members.sort(key=lambda m: (order.get(m.name, len(order)), m.name.encode("utf-8", "surrogatepass")))
    return members


# ----------------------------------------------------------------- datasets

def _dataset(kv: KV, path: str, doc: dict[str, Any], what: str) -> DatasetInfo:
    try:
        meta = ArrayMeta.from_json(doc, f"{kv.location.display}:{what}")
        res = meta.attributes.get(RESERVED) or {}
        if "virtual" in res:
            raise NotExpressible(f"dataset {what}: virtual datasets are not supported by the HDF5 view", what)
        array = Array(kv, path, meta)
    except NotExpressible:
        raise
    except SciSwiftError as e:
        if isinstance(e, CorruptData):
            raise
        raise NotExpressible(f"dataset {what}: {e}", what) from e
    shape = tuple(meta.shape)
    empty = bool(res.get("empty"))
    if "h5dtype" in res:
        h5dtype = spec_to_dtype(res["h5dtype"])
        htype = htype_of(h5dtype, f"dataset {what}")
        dtype = meta.dtype  # raw bytes of the array type's itemsize
    else:
        pipeline = array.pipeline
        dtype = pipeline.stored_dtype if not pipeline.sharded else meta.dtype
        htype = htype_of(dtype, f"dataset {what}")
    ms = res.get("maxshape")
    maxshape: tuple[int | None, ...] = (
        tuple(None if m is None else int(m) for m in ms) if ms is not None and not empty else shape)
    chunks = tuple(meta.chunks)
    if array.pipeline.sharded:
        chunks = tuple(array.pipeline.shard.inner_shape)
    contiguous = not shape or (res.get("layout") == "contiguous" and maxshape == shape)
    if empty:
        contiguous = True
    for c in chunks:
        if c < 1 or c > 0xFFFFFFFF:
            raise NotExpressible(f"dataset {what}: chunk shape {chunks} cannot be described in HDF5", what)
    return DatasetInfo(array, dtype, htype, shape, maxshape, chunks, contiguous, empty, meta.fill_value)


# --------------------------------------------------------------- attributes

def _attributes(attributes: dict[str, Any], res: dict[str, Any], doc: dict[str, Any],
                docs: dict[str, Any], what: str) -> list[Attribute]:
    typed = res.get("attrs") or {}
    out = []
    for name, plain in attributes.items():
        if name == RESERVED:
            continue
        where = f"attribute {name!r} of {what}"
        try:
            out.append(_typed(name, typed[name], where) if name in typed else _plain(name, plain, where))
        except NotExpressible:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise CorruptData(f"{where} is stored in a malformed way: {e}", what) from e
    if doc.get("node_type") == "array":
        stored = {a.name for a in out}
        out = [a for a in _scale_attributes(res, doc, docs, what) if a.name not in stored] + out
    return out


def _typed(name: str, entry: dict[str, Any], where: str) -> Attribute:
    dt = spec_to_dtype(entry["dtype"])
    if entry.get("empty"):
        return Attribute(name, dt, htype_of(dt, where), None, None)
    shape = tuple(int(s) for s in entry["shape"])
    raw = base64.b64decode(entry["data"])
    if dt.subdtype is not None and not dt.hasobject:
        # A top-level array type: the elements are raw bytes of its itemsize.
        arr = np.frombuffer(raw, dtype=f"V{dt.itemsize}").reshape(shape)
        return Attribute(name, arr.dtype, htype_of(dt, where), shape, arr)
    info = describe(dt)
    if info.storage == "fixed":
        arr = np.frombuffer(raw, dtype=info.dtype).reshape(shape)
    else:
        arr = decode_vlen(raw, info.storage, info.dtype, shape)
    return Attribute(name, info.dtype, htype_of(info.dtype, where), shape, arr)


def _plain(name: str, value: Any, where: str) -> Attribute:
    """A plain JSON attribute as sciswift.h5 reads it: int64 (uint64 beyond),
    float64, bool, UTF-8 str, arrays of those; any other JSON value (objects,
    null, mixed lists, written by other Zarr tools) as its JSON text."""
    arr = _plain_array(value)
    if arr is None:
        arr = np.empty((), dtype=_VSTR)
        arr[()] = json.dumps(value, ensure_ascii=False)
    return Attribute(name, arr.dtype, htype_of(arr.dtype, where), arr.shape, arr)


def _plain_array(value: Any) -> np.ndarray[Any, Any] | None:
    if isinstance(value, bool):
        return np.asarray(value, dtype="?")
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return np.asarray(value, dtype="<i8")
        return np.asarray(value, dtype="<u8") if 0 <= value < 2**64 else None
    if isinstance(value, float):
        return np.asarray(value, dtype="<f8")
    if isinstance(value, str):
        out = np.empty((), dtype=_VSTR)
        out[()] = value
        return out
    if isinstance(value, list) and value:
        try:
            arr = np.asarray(value)
        except ValueError:
            return None
        if arr.dtype.kind == "b":
            return arr.astype("?")
        if arr.dtype.kind in "iu":
            return arr.astype("<i8") if arr.dtype.kind == "i" or arr.max() < 2**63 else arr.astype("<u8")
        if arr.dtype.kind == "f":
            return arr.astype("<f8")
        if arr.dtype.kind == "U":
            out = np.empty(arr.shape, dtype=_VSTR)
            out[...] = arr.astype(object)
            return out
    return None


# ------------------------------------------------------- dimension scales

_NULLTERM_CLASS = FixedString(16, STR_NULLTERM, CSET_ASCII)
_REFLIST = Compound(16, (("dataset", 0, Reference()), ("dimension", 8, FixedPoint(4, False))))
_REFLIST_DTYPE = np.dtype({"names": ["dataset", "dimension"], "formats": ["O", "<u4"], "offsets": [0, 8],
                           "itemsize": 16})
_DIMLIST = VlenSequence(Reference())
_DIMLIST_DTYPE = np.dtype("O", metadata={"vlen": np.dtype("O")})
_LABELS = VlenString(CSET_ASCII)


def _scale_attributes(res: dict[str, Any], doc: dict[str, Any], docs: dict[str, Any], what: str) -> list[Attribute]:
    """HDF5's dimension-scale attributes, as the dimension scale API writes them
    (null-terminated CLASS and NAME, REFERENCE_LIST of (object reference, uint32; newer HDF5 writes it so),
    DIMENSION_LIST as variable-length sequences of object references)."""
    out = []
    ndim = len(doc.get("shape") or ())

    def exists(p: str) -> bool:
        return p.strip("/") in docs

    if "scale" in res:
        out.append(Attribute("CLASS", np.dtype("S16"), _NULLTERM_CLASS, (), np.asarray(b"DIMENSION_SCALE", "S16")))
        name = scale_name_str(res["scale"]).encode("utf-8")
        size = len(name) + 1
        out.append(Attribute("NAME", np.dtype(f"S{size}"), FixedString(size, STR_NULLTERM, CSET_ASCII), (),
                             np.asarray(name, f"S{size}")))
        refs = [(p, int(a)) for p, a in res.get("refs") or () if exists(p)]
        if refs:
            arr = np.empty(len(refs), dtype=_REFLIST_DTYPE)
            for i, (p, axis) in enumerate(refs):
                arr[i] = ("/" + p.strip("/"), axis)
            out.append(Attribute("REFERENCE_LIST", _REFLIST_DTYPE, _REFLIST, arr.shape, arr))
    dims = list(res.get("dims") or ())
    if any(dims):
        dims += [[] for _ in range(ndim - len(dims))]
        arr = np.empty(len(dims), dtype=_DIMLIST_DTYPE)
        for i, paths in enumerate(dims):
            seq = np.empty(len([p for p in paths if exists(p)]), dtype=object)
            seq[:] = ["/" + p.strip("/") for p in paths if exists(p)]
            arr[i] = seq
        out.append(Attribute("DIMENSION_LIST", _DIMLIST_DTYPE, _DIMLIST, arr.shape, arr))
    # The HDF5 labels: Zarr dimension_names, unless those were derived from
    # attached scales; then the reserved entry keeps the labels themselves.
    labels = labels_of(res, doc.get("dimension_names"))
    if labels and any(labels):
        labels = list(labels) + [None] * (ndim - len(labels))
        arr = np.empty(len(labels), dtype=np.dtype("O", metadata={"vlen": bytes}))
        # An unlabelled dimension is a NULL string, as H5DSset_label leaves it
        # (ncdump prints NIL, h5dump NULL), not an empty one.
        arr[:] = [lab.encode("utf-8") if lab else None for lab in labels]
        out.append(Attribute("DIMENSION_LABELS", arr.dtype, _LABELS, arr.shape, arr))
    return out
