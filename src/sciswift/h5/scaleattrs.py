"""HDF5's dimension-scale attributes, shown from sciswift's own bookkeeping.

The layout keeps dimension scales under the reserved key (docs/layout.md):
``scale`` (the scale's name) and ``refs`` (``[[dataset path, axis], ...]`` it is
attached to) on a scale, ``dims`` (scale paths per axis) on a dataset, and labels
as the Zarr ``dimension_names``. HDF5 keeps the same facts as attributes, which
h5py programs and h5netcdf read: ``CLASS`` and ``NAME`` and ``REFERENCE_LIST``
on a scale, ``DIMENSION_LIST`` and ``DIMENSION_LABELS`` on a dataset. This module
derives those attributes, with h5py's exact types and real object references, so
they are listed, read and typed (``get_id``) as h5py shows them; nothing is
stored twice. An attribute stored under one of these names by a program hides the
derived one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sciswift.h5.dtypes import ref_dtype, string_dtype
from sciswift.h5.refs import Reference

__all__ = ["NAMES", "present", "value", "stored_type", "scale_name_str", "labels_of"]

#: Derived attribute names, in the order h5py's C library creates them.
NAMES = ("CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST", "DIMENSION_LABELS")

_CLASS = np.bytes_(b"DIMENSION_SCALE")
_REFLIST_DTYPE = np.dtype({"names": ["dataset", "dimension"], "formats": [ref_dtype, "<u4"],
                           "offsets": [0, 8], "itemsize": 16})
_DIMLIST_DTYPE = np.dtype("O", metadata={"vlen": np.dtype("O")})
_LABELS_DTYPE = string_dtype("ascii")

Exists = Callable[[str], bool]


def labels_of(res: dict[str, Any], dimension_names: Any) -> Any:
    """The HDF5 dimension labels of an array: its Zarr ``dimension_names``, unless
    those were derived from attached scales (``h5.dims``), when the reserved
    ``labels`` entry keeps the labels themselves."""
    return res["labels"] if "labels" in res else dimension_names


def scale_name_str(name: Any) -> str:
    """A scale name as stored: str as is, bytes (as h5netcdf passes them) as
    UTF-8. ValueError for bytes that are not UTF-8."""
    if isinstance(name, bytes):
        return name.decode("utf-8")
    return "" if name is None else str(name)


def present(res: dict[str, Any], labels: Any) -> list[str]:
    """The derived attributes an array with reserved entries ``res`` and HDF5
    dimension ``labels`` (``labels_of``) has."""
    out: list[str] = []
    if "scale" in res:
        out += ["CLASS", "NAME"]
        if res.get("refs"):
            out.append("REFERENCE_LIST")
    if any(res.get("dims") or ()):
        out.append("DIMENSION_LIST")
    if labels and any(labels):
        out.append("DIMENSION_LABELS")
    return out


def value(name: str, res: dict[str, Any], labels: Any, ndim: int, exists: Exists) -> Any:
    """The value h5py reads for derived attribute ``name`` (KeyError if the array
    has none). References whose target no longer exists are left out."""
    if name not in present(res, labels):
        raise KeyError(name)
    if name == "CLASS":
        return _CLASS
    if name == "NAME":
        return np.bytes_(scale_name_str(res["scale"]).encode("utf-8"))
    if name == "REFERENCE_LIST":
        refs = [(p, a) for p, a in res.get("refs") or () if exists(p)]
        out = np.empty(len(refs), dtype=_REFLIST_DTYPE)
        for i, (path, axis) in enumerate(refs):
            out[i] = (Reference(path), axis)
        return out
    if name == "DIMENSION_LIST":
        lists = list(res.get("dims") or ())
        lists += [[] for _ in range(ndim - len(lists))]
        out = np.empty(len(lists), dtype=_DIMLIST_DTYPE)
        for i, paths in enumerate(lists):
            out[i] = np.array([Reference(p) for p in paths if exists(p)] or [], dtype=object)
        return out
    labels = list(labels) + [None] * (ndim - len(labels))
    return np.array([lab or "" for lab in labels], dtype=_LABELS_DTYPE)


def stored_type(name: str, res: dict[str, Any], ndim: int) -> tuple[np.dtype[Any], tuple[int, ...]]:
    """The HDF5 type and shape h5py reports for derived attribute ``name``
    (``attrs.get_id``): C strings count their terminating NUL."""
    if name == "CLASS":
        return np.dtype("S16"), ()
    if name == "NAME":
        return np.dtype(f"S{len(scale_name_str(res['scale']).encode('utf-8')) + 1}"), ()
    if name == "REFERENCE_LIST":
        return _REFLIST_DTYPE, (len(res.get("refs") or ()),)
    if name == "DIMENSION_LIST":
        return _DIMLIST_DTYPE, (ndim,)
    return _LABELS_DTYPE, (ndim,)
