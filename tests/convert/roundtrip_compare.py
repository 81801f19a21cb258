"""Compare two HDF5 files with h5py, the oracle of the round-trip tests.

``differences(a, b)`` lists every way file ``b`` differs from file ``a``: the
tree (names, kinds, soft/external link targets, which names are hard links to
one object), dtypes (with h5py's metadata: string encodings, enum values, vlen
bases, reference kinds, opaque marks, compound offsets), shapes and maxshapes,
chunk shapes, filters, fill values, attribute dtypes/shapes/values, values,
references (which object, which region), group creation-order tracking,
dimension scales. An empty list means "the same file" as far as h5py can tell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

__all__ = ["differences"]


def _dtype_key(dt: np.dtype) -> Any:
    """Everything that defines a dtype for HDF5, comparable with ==."""
    if dt.names is not None:
        return ("compound", dt.itemsize,
                tuple((n, dt.fields[n][1], _dtype_key(dt.fields[n][0])) for n in dt.names))
    if dt.subdtype is not None:
        return ("array", dt.subdtype[1], _dtype_key(dt.subdtype[0]))
    meta = dict(dt.metadata or {})
    vlen = meta.get("vlen")
    if isinstance(vlen, np.dtype):
        meta["vlen"] = _dtype_key(vlen)
    elif vlen is not None:
        meta["vlen"] = vlen.__name__
    if "ref" in meta:
        meta["ref"] = meta["ref"].__name__
    if dt.kind == "S":
        meta.setdefault("h5py_encoding", "ascii")
    return (dt.str, tuple(sorted((k, repr(v)) for k, v in meta.items())))


class _File:
    def __init__(self, path: Path) -> None:
        self.f = h5py.File(path, "r")
        self.paths_of: dict[Any, set[str]] = {}
        self.links: dict[str, tuple[str, ...]] = {}
        self._walk(self.f, "")

    def _walk(self, group: h5py.Group, prefix: str) -> None:
        for name in group:
            path = f"{prefix}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                self.links[path] = ("soft", link.path)
                continue
            if isinstance(link, h5py.ExternalLink):
                self.links[path] = ("external", link.filename, link.path)
                continue
            obj = group[name]
            known = obj in self.paths_of
            self.paths_of.setdefault(obj, set()).add(path)
            self.links[path] = ("hard",)
            if not known and isinstance(obj, h5py.Group):
                self._walk(obj, path)

    def canonical(self, obj: Any) -> str:
        return min(self.paths_of.get(obj, {obj.name}))

    def close(self) -> None:
        self.f.close()


def differences(path_a: Path, path_b: Path, *, allow: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """How ``path_b`` differs from ``path_a``. ``allow`` names differences the
    caller expects (e.g. ``"layout:/compact"``), which are then not reported."""
    a, b = _File(path_a), _File(path_b)
    try:
        out: list[str] = []
        _compare_tree(a, b, out)
        objects = sorted((a.canonical(o), o) for o in a.paths_of)
        _compare_attrs(a, b, a.f, b.f, "/", out)
        if _tracks(a.f) != _tracks(b.f):
            out.append("/: creation-order tracking differs")
        for path, obj in objects:
            other = b.f.get(path)
            if other is None:
                continue
            if type(obj) is not type(other):
                out.append(f"{path}: {type(obj).__name__} became {type(other).__name__}")
                continue
            if isinstance(obj, h5py.Dataset):
                _compare_dataset(a, b, obj, other, path, out, allow)
            elif isinstance(obj, h5py.Datatype):
                if _dtype_key(obj.dtype) != _dtype_key(other.dtype):
                    out.append(f"{path}: named datatype {obj.dtype} became {other.dtype}")
            elif isinstance(obj, h5py.Group) and _tracks(obj) != _tracks(other):
                out.append(f"{path}: creation-order tracking differs")
            if isinstance(obj, h5py.Group) and list(obj) != list(other):
                out.append(f"{path}: member order {list(obj)} became {list(other)}")
            _compare_attrs(a, b, obj, other, path, out)
        return out
    finally:
        a.close()
        b.close()


def _tracks(group: h5py.Group) -> bool:
    return bool(group.id.get_create_plist().get_link_creation_order() & h5py.h5p.CRT_ORDER_TRACKED)


def _compare_tree(a: _File, b: _File, out: list[str]) -> None:
    if set(a.links) != set(b.links):
        out.append(f"names only in a: {sorted(set(a.links) - set(b.links))}, only in b: "
                   f"{sorted(set(b.links) - set(a.links))}")
    for path, link in a.links.items():
        if path in b.links and b.links[path] != link:
            out.append(f"{path}: link {link} became {b.links[path]}")
    groups_a = sorted(sorted(p) for p in a.paths_of.values())
    groups_b = sorted(sorted(p) for p in b.paths_of.values())
    if groups_a != groups_b:
        out.append(f"hard-link identity differs: {groups_a} vs {groups_b}")


def _compare_dataset(a: _File, b: _File, da: h5py.Dataset, db: h5py.Dataset, path: str, out: list[str],
                     allow: set[str] | frozenset[str]) -> None:
    if _dtype_key(da.dtype) != _dtype_key(db.dtype):
        out.append(f"{path}: dtype {da.dtype} {_dtype_key(da.dtype)} became {db.dtype} {_dtype_key(db.dtype)}")
        return
    for prop in ("shape", "maxshape", "chunks", "compression", "compression_opts", "shuffle", "fletcher32",
                 "scaleoffset"):
        if getattr(da, prop) != getattr(db, prop):
            out.append(f"{path}: {prop} {getattr(da, prop)!r} became {getattr(db, prop)!r}")
    layout_a = da.id.get_create_plist().get_layout()
    layout_b = db.id.get_create_plist().get_layout()
    if layout_a != layout_b and f"layout:{path}" not in allow:
        out.append(f"{path}: layout {layout_a} became {layout_b}")
    if not da.dtype.hasobject and da.shape is not None:
        fa, fb = np.asarray(da.fillvalue), np.asarray(db.fillvalue)
        if fa.tobytes() != fb.tobytes():
            out.append(f"{path}: fill value {da.fillvalue!r} became {db.fillvalue!r}")
    if da.shape is None:
        return
    if a_scale := h5py.h5ds.is_scale(da.id):
        if not h5py.h5ds.is_scale(db.id) or h5py.h5ds.get_scale_name(da.id) != h5py.h5ds.get_scale_name(db.id):
            out.append(f"{path}: dimension scale name differs")
    elif h5py.h5ds.is_scale(db.id):
        out.append(f"{path}: became a dimension scale")
    _ = a_scale
    for axis in range(len(da.shape)):
        la, lb = da.dims[axis].label, db.dims[axis].label
        if la != lb:
            out.append(f"{path}: label of axis {axis} {la!r} became {lb!r}")
        sa = sorted(a.canonical(s) for s in da.dims[axis].values())
        sb = sorted(b.canonical(s) for s in db.dims[axis].values())
        if sa != sb:
            out.append(f"{path}: scales of axis {axis} {sa} became {sb}")
    va, vb = da[()], db[()]
    if not _values_equal(a, b, va, vb, da.dtype, da, db):
        out.append(f"{path}: values differ")


def _compare_attrs(a: _File, b: _File, oa: Any, ob: Any, path: str, out: list[str]) -> None:
    skip = {"DIMENSION_LIST", "REFERENCE_LIST"}  # hold references; compared as dims above
    names_a = [n for n in oa.attrs if n not in skip]
    names_b = [n for n in ob.attrs if n not in skip]
    if sorted(names_a) != sorted(names_b):
        out.append(f"{path}: attributes {sorted(names_a)} became {sorted(names_b)}")
        return
    if names_a != names_b:
        out.append(f"{path}: attribute order {names_a} became {names_b}")
    for name in names_a:
        ia, ib = oa.attrs.get_id(name), ob.attrs.get_id(name)
        if _dtype_key(ia.dtype) != _dtype_key(ib.dtype) or ia.shape != ib.shape:
            out.append(f"{path}: attribute {name!r} {ia.dtype}{ia.shape} became {ib.dtype}{ib.shape}")
            continue
        if not _values_equal(a, b, oa.attrs[name], ob.attrs[name], ia.dtype, None, None):
            out.append(f"{path}: attribute {name!r} value {oa.attrs[name]!r} became {ob.attrs[name]!r}")


def _values_equal(a: _File, b: _File, va: Any, vb: Any, dt: np.dtype, da: Any, db: Any) -> bool:
    if isinstance(va, h5py.Empty) or isinstance(vb, h5py.Empty):
        return isinstance(va, h5py.Empty) and isinstance(vb, h5py.Empty) and va.dtype == vb.dtype
    if dt.names is not None:
        ra, rb = np.asarray(va), np.asarray(vb)
        return all(_values_equal(a, b, ra[n], rb[n], dt.fields[n][0], da, db) for n in dt.names)
    ref = h5py.check_ref_dtype(dt)
    if ref is not None:
        fa, fb = np.asarray(va, dtype=object).reshape(-1), np.asarray(vb, dtype=object).reshape(-1)
        return fa.shape == fb.shape and all(_ref_equal(a, b, x, y) for x, y in zip(fa, fb))
    if dt.kind == "O":
        fa, fb = np.asarray(va, dtype=object).reshape(-1), np.asarray(vb, dtype=object).reshape(-1)
        if fa.shape != fb.shape:
            return False
        return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(fa, fb))
    xa, xb = np.asarray(va), np.asarray(vb)
    if xa.shape != xb.shape:
        return False
    if xa.dtype.kind in "fc":
        return bool(np.array_equal(xa, xb, equal_nan=True))
    return xa.tobytes() == xb.tobytes() if xa.dtype == xb.dtype else bool(np.array_equal(xa, xb))


def _ref_equal(a: _File, b: _File, ra: Any, rb: Any) -> bool:
    if not ra or not rb:
        return not ra and not rb
    oa, ob = a.f[ra], b.f[rb]
    if a.canonical(oa) != b.canonical(ob):
        return False
    if isinstance(ra, h5py.RegionReference):
        return isinstance(rb, h5py.RegionReference) and np.array_equal(oa[ra], ob[rb])
    return True
