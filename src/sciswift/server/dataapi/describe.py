"""What a file holds, in the JSON shapes h5grove 4 answers and H5Web reads.

Entities: ``{"kind": "group", "name", "attributes", "children"}``,
``{"kind": "dataset", "name", "attributes", "shape", "type", "chunks",
"filters"}``, ``{"kind": "datatype", ...}``, ``{"kind": "soft_link",
"target_path"}``, ``{"kind": "external_link", "target_file",
"target_path"}``. Types: ``{"class", "dtype", "size"}`` plus, per HDF5 type
class, ``order``/``sign`` (integers), ``order`` (floats),
``cset``/``strpad``/``vlen`` (strings), ``members`` (compounds, enums),
``base`` (enums, vlens, arrays), ``dims`` (arrays), ``tag`` (opaque).

Everything is read through the h5py API of ``sciswift.h5`` and its low-level
identifiers (``dataset.id.get_type()``, ``attrs.get_id(name)``,
``get_create_plist().get_filter(i)``), the same questions h5grove asks of
h5py, so any file sciswift opens is described the same way.
"""

from __future__ import annotations

import math
import posixpath
from typing import Any

import numpy as np

from sciswift.h5.names import as_str
from sciswift.server.dataapi.errors import ApiError

__all__ = ["entity", "entity_metadata", "type_metadata", "attribute_values", "walk_paths", "LINK_MODES",
           "jsonable"]

#: h5grove's ``resolve_links``: which soft/external links are followed.
LINK_MODES = ("only_valid", "all", "none")


def _dtype_str(dt: np.dtype[Any]) -> Any:
    if dt.fields is None:
        return dt.str
    return {name: _dtype_str(dt.fields[name][0]) for name in dt.names or ()}


def type_metadata(t: Any) -> dict[str, Any]:
    """h5grove's type description of a type identifier ``t``."""
    cls = t.get_class()
    meta: dict[str, Any] = {"class": cls, "dtype": _dtype_str(t.dtype), "size": t.get_size()}
    if cls == 0:
        meta.update(order=t.get_order(), sign=t.get_sign())
    elif cls in (1, 4):
        meta["order"] = t.get_order()
    elif cls == 3:
        meta.update(cset=t.get_cset(), strpad=t.get_strpad(), vlen=bool(t.is_variable_str()))
    elif cls == 5:
        meta["tag"] = t.get_tag().decode("utf-8", "replace")
    elif cls == 6:
        meta["members"] = [
            {"name": t.get_member_name(i).decode("utf-8"), **type_metadata(t.get_member_type(i))}
            for i in range(t.get_nmembers())
        ]
    elif cls == 8:
        meta["members"] = {t.get_member_name(i).decode("utf-8"): t.get_member_value(i)
                           for i in range(t.get_nmembers())}
        meta["base"] = type_metadata(t.get_super())
    elif cls == 9:
        meta["base"] = type_metadata(t.get_super())
    elif cls == 10:
        meta["dims"] = list(t.get_array_dims())
        meta["base"] = type_metadata(t.get_super())
    return meta


def _shape(shape: tuple[int, ...] | None) -> list[int] | None:
    return None if shape is None else [int(n) for n in shape]


def _attributes(obj: Any) -> list[dict[str, Any]]:
    out = []
    for name in sorted(as_str(n) for n in obj.attrs.keys()):
        aid = obj.attrs.get_id(name)
        out.append({"name": name, "shape": _shape(aid.shape), "type": type_metadata(aid.get_type())})
    return out


def _filters(dset: Any) -> list[dict[str, Any]] | None:
    plist = dset.id.get_create_plist()
    n = plist.get_nfilters()
    if n <= 0:
        return None
    return [{"id": code, "name": name.decode("utf-8", "replace")}
            for code, _, _, name in (plist.get_filter(i) for i in range(n))]


def _link_of(f: Any, path: str) -> Any:
    link = f.get(path, getlink=True)
    if link is None:
        raise ApiError(404, f"{path} is not a valid path in {posixpath.basename(f.filename)}")
    return link


def entity(f: Any, path: str, resolve_links: str = "only_valid") -> tuple[str, Any]:
    """``(kind, object)`` at ``path``: ``"group"``, ``"dataset"`` or
    ``"datatype"`` with the h5py object, or ``"soft_link"``/``"external_link"``
    with the link (not followed, or not resolvable under ``only_valid``).
    ApiError 404 for a path that names nothing."""
    import sciswift.h5 as h5

    if path != "/":
        link = _link_of(f, path)
        if isinstance(link, (h5.SoftLink, h5.ExternalLink)):
            kind = "soft_link" if isinstance(link, h5.SoftLink) else "external_link"
            if resolve_links == "none":
                return kind, link
            try:
                obj = f[path]
            except (KeyError, OSError, ValueError):
                if resolve_links == "only_valid":
                    return kind, link
                raise ApiError(404, f"Cannot resolve {kind.replace('_', ' ')} at {path}") from None
            return _kind_of(obj), obj
    try:
        obj = f[path]
    except KeyError:
        raise ApiError(404, f"{path} is not a valid path in {posixpath.basename(f.filename)}") from None
    return _kind_of(obj), obj


def _kind_of(obj: Any) -> str:
    import sciswift.h5 as h5

    if isinstance(obj, h5.Dataset):
        return "dataset"
    if isinstance(obj, h5.Group):
        return "group"
    if isinstance(obj, h5.Datatype):
        return "datatype"
    return "other"


def entity_metadata(f: Any, path: str, resolve_links: str = "only_valid", depth: int = 1) -> dict[str, Any]:
    """h5grove's ``/meta/`` answer for ``path``: a group lists its children
    (with their own metadata, one level deep)."""
    kind, obj = entity(f, path, resolve_links)
    name = path.rstrip("/").split("/")[-1] if path != "/" else ""
    meta: dict[str, Any] = {"kind": kind, "name": name}
    if kind in ("soft_link", "external_link"):
        meta["target_path"] = obj.path
        if kind == "external_link":
            meta["target_file"] = obj.filename
        return meta
    if kind == "other":
        return meta
    meta["attributes"] = _attributes(obj)
    if kind == "dataset":
        meta.update(
            shape=_shape(obj.shape), type=type_metadata(obj.id.get_type()),
            chunks=None if obj.chunks is None else list(obj.chunks), filters=_filters(obj),
        )
    elif kind == "datatype":
        meta["type"] = type_metadata(obj.id)
    elif kind == "group" and depth > 0:
        base = path.rstrip("/")
        meta["children"] = [entity_metadata(f, f"{base}/{as_str(child)}", resolve_links, depth - 1)
                             for child in obj.keys()]
    return dict(sorted(meta.items()))


def attribute_values(f: Any, path: str, keys: list[str] | None = None) -> dict[str, Any]:
    """``/attr/``: attribute values by name (all, or those in ``keys``)."""
    kind, obj = entity(f, path)
    if kind in ("soft_link", "external_link", "other"):
        return {}
    names = [as_str(n) for n in obj.attrs.keys()] if keys is None else keys
    out: dict[str, Any] = {}
    for name in names:
        if name not in obj.attrs:
            raise ApiError(404, f"{path} has no attribute {name!r}")
        out[name] = jsonable(obj.attrs[name])
    return out


def walk_paths(f: Any, path: str) -> list[str]:
    """``/paths/``: ``path`` and every path under it (depth first, names in
    order; links listed, not followed). ApiError 400 if ``path`` is no group."""
    kind, obj = entity(f, path)
    if kind != "group":
        raise ApiError(400, f"{path} is not a group")
    out = [path]
    import sciswift.h5 as h5

    def visit(group: Any, base: str) -> None:
        for name in map(as_str, group.keys()):
            child = f"{base.rstrip('/')}/{name}"
            out.append(child)
            link = group.get(name, getlink=True)
            if isinstance(link, h5.HardLink):
                member = group.get(name)
                if isinstance(member, h5.Group):
                    visit(member, child)

    visit(obj, path)
    return out


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of an attribute or data value, as h5grove's encoder
    makes it: arrays as nested lists, bytes decoded, complex as ``[re, im]``,
    non-finite floats as null, h5py.Empty as null, references as text."""
    import sciswift.h5 as h5

    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iub":
            return value.tolist()
        if value.dtype.kind == "f":
            if np.isfinite(value).all():
                return value.tolist()
            return jsonable(value.astype(object))
        return [jsonable(v) for v in value.tolist()] if value.ndim else jsonable(value.item())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, complex):
        return [jsonable(value.real), jsonable(value.imag)]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, h5.Empty):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)
