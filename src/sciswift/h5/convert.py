"""Values given to ``Dataset.__setitem__`` / ``create_dataset(data=...)`` as arrays of
the dataset's dtype, with h5py's rules for strings, vlen sequences and references."""

from __future__ import annotations

from typing import Any

import numpy as np

from sciswift.h5.dtypes import check_ref_dtype, check_vlen_dtype
from sciswift.h5.refs import Reference

__all__ = ["to_dataset_values", "strings_as_bytes", "map_elements"]


def _as_bytes(v: Any) -> Any:
    return v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v


def strings_as_bytes(value: Any, dt: np.dtype[Any]) -> Any:
    """``value`` (of dtype ``dt``) with every variable-length string, however deeply
    nested in compounds and sequences, as bytes: how h5py reads them."""
    vlen = check_vlen_dtype(dt)
    if vlen is str or vlen is bytes:
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        if isinstance(value, np.ndarray) and value.dtype.kind == "O":
            return map_elements(value, value.dtype, _as_bytes)
        return value
    if not dt.hasobject:
        return value
    if vlen is not None:
        base = np.dtype(vlen)
        if isinstance(value, np.ndarray) and value.dtype.kind == "O":
            out = np.empty(value.shape, dtype=value.dtype)
            for idx in np.ndindex(value.shape):
                out[idx] = strings_as_bytes(value[idx], base)
            return out
        return strings_as_bytes(value, base) if isinstance(value, np.ndarray) and value.dtype == base else value
    if dt.names is not None and isinstance(value, (np.ndarray, np.void)):
        for name in dt.names:
            fdt = dt.fields[name][0]  # type: ignore[index]
            if fdt.hasobject:
                current = value[name]
                converted = strings_as_bytes(current, fdt)
                if converted is not current:
                    value[name] = converted
        return value
    return value


def _object_array(val: Any) -> np.ndarray[Any, Any]:
    if isinstance(val, np.ndarray):
        if val.dtype.kind == "O":
            return val
        if val.dtype.kind in "SUT":
            return val.astype(object)
        return val.astype(object)
    if isinstance(val, (str, bytes, Reference)) or val is None:
        out = np.empty((), dtype=object)
        out[()] = val
        return out
    try:
        return np.asarray(val, dtype=object)
    except ValueError:
        seq: np.ndarray[Any, Any] = np.empty(len(val), dtype=object)
        for i, v in enumerate(val):
            seq[i] = v
        return seq


def map_elements(arr: np.ndarray[Any, Any], dtype: Any, fn: Any) -> np.ndarray[Any, Any]:
    """A new array of ``dtype`` and ``arr``'s shape holding ``fn(element)``."""
    out: np.ndarray[Any, Any] = np.empty(arr.shape, dtype=dtype)
    flat_in = arr.reshape(-1)
    flat_out = out.reshape(-1)
    for i in range(flat_in.size):
        flat_out[i] = fn(flat_in[i])
    return out


def _string_element(v: Any, kind: type) -> str | bytes:
    if isinstance(v, np.str_):
        v = str(v)
    elif isinstance(v, np.bytes_):
        v = bytes(v)
    if kind is bytes and isinstance(v, str):
        v = v.encode("ascii")  # UnicodeEncodeError for non-ASCII, as h5py
    elif not isinstance(v, (str, bytes)):
        raise TypeError(f"Can't implicitly convert non-string objects to strings (got {type(v).__name__})")
    if ("\x00" if isinstance(v, str) else b"\x00") in v:
        raise ValueError("Variable-length strings cannot hold embedded NUL characters")
    return v


def _strings(val: Any, dtype: np.dtype[Any], kind: type) -> np.ndarray[Any, Any]:
    return map_elements(_object_array(val), dtype, lambda v: _string_element(v, kind))


def _vlen_sequences(val: Any, dtype: np.dtype[Any], base: Any) -> np.ndarray[Any, Any]:
    base_dt = np.dtype(base)
    # An object array holds one sequence per element; but an array of references
    # (a vlen of ref_dtype) is itself one sequence.
    if isinstance(val, np.ndarray) and val.dtype.kind == "O" and not (
            base_dt.kind == "O" and val.size and not any(isinstance(x, (list, tuple, np.ndarray)) for x in val.flat)):
        out = np.empty(val.shape, dtype=dtype)
        for idx in np.ndindex(val.shape):
            out[idx] = np.asarray(val[idx], dtype=base_dt)
        return out
    try:
        arr = np.asarray(val, dtype=base_dt)
    except (ValueError, TypeError):
        items = list(val)
        out = np.empty(len(items), dtype=dtype)
        for i, v in enumerate(items):
            out[i] = np.asarray(v, dtype=base_dt)
        return out
    if arr.ndim == 0:
        arr = arr.reshape(1)
    # The last axis is the sequence; the others are the dataset's.
    outer = arr.shape[:-1]
    out = np.empty(outer, dtype=dtype)
    for idx in np.ndindex(outer):
        out[idx] = np.array(arr[idx], copy=True)
    return out


def _reference_element(v: Any, kind: type) -> Any:
    if v is None:
        v = kind()
    if type(v) is not kind:
        raise TypeError(f"Can't convert element of type {type(v).__name__} to {kind.__name__}")
    return v


def _references(val: Any, dtype: np.dtype[Any], kind: type) -> np.ndarray[Any, Any]:
    return map_elements(_object_array(val), dtype, lambda v: _reference_element(v, kind))


def to_dataset_values(val: Any, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """``val`` as an array of ``dtype`` (any shape; broadcasting is the caller's)."""
    if isinstance(val, np.ndarray) and val.dtype == dtype and not dtype.hasobject and dtype.subdtype is None:
        return val
    vlen = check_vlen_dtype(dtype)
    if vlen is str or vlen is bytes:
        return _strings(val, dtype, vlen)
    if vlen is not None:
        return _vlen_sequences(val, dtype, vlen)
    ref = check_ref_dtype(dtype)
    if ref is not None:
        return _references(val, dtype, ref)
    if dtype.names is not None and isinstance(val, np.ndarray) and val.dtype.names is not None:
        if val.dtype == dtype:
            return val
        if set(val.dtype.names) == set(dtype.names) or set(val.dtype.names) <= set(dtype.names):
            out = np.zeros(val.shape, dtype=dtype)
            for n in val.dtype.names:
                out[n] = val[n]
            return out
        raise TypeError("Field names of the data do not match the dataset's compound type")
    if dtype.subdtype is not None:
        base, sub = dtype.subdtype
        arr = np.asarray(val, dtype=base)
        if arr.shape[arr.ndim - len(sub):] != sub:
            # h5py does not broadcast into the elements of an array type.
            raise TypeError(f"Can't broadcast {arr.shape} into elements of array type {dtype}")
        return arr
    if dtype.kind == "S" and isinstance(val, str):
        return np.asarray(val.encode("utf-8" if dict(dtype.metadata or {}).get("h5py_encoding") == "utf-8" else "ascii"),
                          dtype=dtype)
    if isinstance(val, np.ndarray) and val.dtype.kind == "T" and dtype.kind == "S":
        return np.asarray([s.encode("utf-8") for s in val.reshape(-1).tolist()], dtype=dtype).reshape(val.shape)
    if isinstance(val, np.ndarray) and val.dtype.kind == "c" and dtype.kind != "c":
        raise TypeError(f"Can't convert complex data to {dtype}")
    try:
        return np.asarray(val, dtype=dtype, order="C")
    except (ValueError, TypeError) as e:
        # numpy's class, as h5py (which converts with numpy.asarray) lets it through:
        # ValueError for "abc" into integers, TypeError for objects numpy cannot take.
        raise type(e)(f"Can't convert {type(val).__name__} to dataset dtype {dtype}: {e}") from e
