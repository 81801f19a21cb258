"""Compound fields of zero bytes, which HDF5 cannot hold.

A FITS binary table may declare a column of repeat count 0 (``TFORMn = '0D'``,
astropy's ``zerowidth.fits``): NumPy spells it a ``(0,)`` subarray field, and
HDF5 refuses any array type with a zero-sized dimension ("Zero-sized dimension
specified"). Such a field holds no data in any row, so writing a compound to
HDF5 without it loses only the field's name; the copier drops it and says so,
naming it (``without_zero_width``), and writes each block through
``project_fields``, which moves the kept fields by name (NumPy assigns one
structured array to another *by position*, which would misplace every field
after a dropped one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["without_zero_width", "project_fields"]


def _zero_width(dt: np.dtype[Any]) -> bool:
    return dt.subdtype is not None and 0 in dt.subdtype[1]


def without_zero_width(dt: np.dtype[Any], where: str = "") -> tuple[np.dtype[Any], list[str]]:
    """``dt`` without its zero-width compound fields (at any depth, offsets of the
    others and the item size kept), and the dropped fields' names as
    ``where.field`` paths. ``dt`` itself when nothing is dropped."""
    if dt.names is None:
        if dt.subdtype is not None and not _zero_width(dt):
            base, shape = dt.subdtype
            inner, lost = without_zero_width(base, where)
            return (np.dtype((inner, shape)) if lost else dt), lost
        return dt, []
    names: list[str] = []
    formats: list[np.dtype[Any]] = []
    offsets: list[int] = []
    dropped: list[str] = []
    fields: dict[str, Any] = dict(dt.fields or {})
    for name in dt.names:
        fdt, offset = fields[name][0], int(fields[name][1])
        path = f"{where}.{name}" if where else name
        if _zero_width(fdt):
            dropped.append(path)
            continue
        inner, below = without_zero_width(fdt, path)
        dropped.extend(below)
        names.append(name)
        formats.append(inner)
        offsets.append(offset)
    if not dropped:
        return dt, []
    out = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": dt.itemsize})
    return (np.dtype(out, metadata=dict(dt.metadata)) if dt.metadata else out), dropped


def project_fields(data: Any, dt: np.dtype[Any]) -> Any:
    """``data`` (a structured array) as an array of ``dt``, whose fields are a
    subset of its fields, copied by name; ``data`` unchanged if it already has
    ``dt``'s fields or is not structured."""
    arr = np.asarray(data)
    if arr.dtype.names is None or dt.names is None or _field_paths(arr.dtype) == _field_paths(dt):
        return data
    out = np.zeros(arr.shape, dtype=dt)
    _copy_fields(arr, out)
    return out


def _field_paths(dt: np.dtype[Any]) -> tuple[Any, ...]:
    if dt.subdtype is not None:
        return _field_paths(dt.subdtype[0])
    return tuple((name, _field_paths(dt[name])) for name in dt.names or ())


def _copy_fields(src: np.ndarray[Any, Any], out: np.ndarray[Any, Any]) -> None:
    for name in out.dtype.names or ():
        if out.dtype[name].names is not None or (
                out.dtype[name].subdtype is not None and out.dtype[name].subdtype[0].names is not None):
            _copy_fields(src[name], out[name])
        else:
            out[name] = src[name]
