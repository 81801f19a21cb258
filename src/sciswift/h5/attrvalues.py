"""Attribute values as stored in ``zarr.json``.

Every attribute appears under its name in the node's Zarr ``attributes`` (so other
Zarr readers see it, in creation order), as plain JSON when JSON says everything:
Python ints (int64), finite floats (float64), bools and str. Any other value (a
numpy array, a non-default dtype, bytes, compound, vlen, references, Empty) keeps
an exact typed copy under the reserved key, ``_sciswift.attrs.<name>``:
``{"dtype": <dtype spec>, "shape": [...], "data": <base64>}`` (``"empty": true``
instead of shape and data for a null dataspace), and the plain entry is a
best-effort JSON rendition for other readers (or null). docs/layout.md has the
details.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from sciswift.engine.dtypes import describe, dtype_to_spec, spec_to_dtype
from sciswift.engine.metadata import dump_json
from sciswift.engine.vlen import decode_vlen, encode_vlen
from sciswift.errors import CorruptData
from sciswift.h5.dtypes import guess_dtype, normalize_dtype, reported_dtype
from sciswift.h5.links import Empty

__all__ = ["MAX_ATTR_BYTES", "MAX_VLEN_ATTR_BYTES", "AttributeTooLarge", "SubarrayValue", "encode_attr", "decode_attr", "array_for_new_object", "find_item_type", "check_storable"]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_F8 = np.dtype("f8")
_I8 = np.dtype("i8")
_B1 = np.dtype("?")
_MAX_RENDITION = 4096


def find_item_type(data: Any) -> Any:
    """The one Python type of the items of a (nested) list/tuple or object array,
    or None if they differ (h5py's rule for guessing string dtypes)."""
    if isinstance(data, np.ndarray):
        if data.dtype.kind == "O" and not (data.dtype.metadata or {}).get("vlen") and data.size > 0:
            item_types = {type(e) for e in data.flat}
        else:
            return None
    elif isinstance(data, (list, tuple)):
        item_types = {find_item_type(e) for e in data}
    else:
        return type(data)
    if len(item_types) != 1:
        return None
    return item_types.pop()


def _guess(data: Any) -> np.dtype[Any] | None:
    dt = guess_dtype(data)
    if dt is not None:
        return dt
    from sciswift.h5.dtypes import ref_dtype, regionref_dtype, string_dtype
    from sciswift.h5.refs import Reference, RegionReference

    item = find_item_type(data)
    if item is bytes:
        return string_dtype(encoding="ascii")
    if item is str:
        return string_dtype()
    if item is RegionReference:
        return regionref_dtype
    if item is Reference:
        return ref_dtype
    return None


def array_for_new_object(data: Any, specified_dtype: Any = None) -> np.ndarray[Any, Any]:
    """``data`` as a C-ordered array, with h5py's dtype guesses for strings and
    references (and the specified dtype for lists, so numpy does not guess)."""
    if specified_dtype is not None:
        specified_dtype = normalize_dtype(specified_dtype)
    if specified_dtype is not None and specified_dtype.kind == "f" and specified_dtype.itemsize == 2:
        as_dtype = specified_dtype
    elif not isinstance(data, np.ndarray) and specified_dtype is not None:
        as_dtype = specified_dtype
    else:
        as_dtype = _guess(data)
    if as_dtype is not None and as_dtype.kind == "O" and not isinstance(data, np.ndarray):
        arr = _object_array(data, as_dtype)
    else:
        arr = np.asarray(data, order="C", dtype=as_dtype)
        if as_dtype is not None:
            arr = arr.view(dtype=as_dtype)
    if arr.dtype.kind == "T":
        arr = arr.astype(object).view(normalize_dtype("T"))
    return arr


def _object_array(data: Any, dt: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """An object array of ``data``; for a vlen sequence dtype, a list of sequences
    becomes one element per sequence (numpy would make a 2-D array of equal ones)."""
    vlen = dict(dt.metadata or {}).get("vlen")
    if vlen is not None and vlen not in (str, bytes) and isinstance(data, (list, tuple)):
        out = np.empty(len(data), dtype=dt)
        for i, v in enumerate(data):
            out[i] = np.asarray(v, dtype=vlen)
        return out
    return np.asarray(data, dtype=dt)


# ------------------------------------------------------------------ encoding

class SubarrayValue:
    """A value of a top-level array dtype (``'(3,)i4'``), which numpy cannot hold as
    such: the declared dtype, the outer shape and the values as base-dtype array."""

    __slots__ = ("dtype", "shape", "data")

    def __init__(self, dtype: np.dtype[Any], shape: tuple[int, ...], data: np.ndarray[Any, Any]) -> None:
        self.dtype = dtype
        self.shape = shape
        self.data = data


def _rendition(arr: np.ndarray[Any, Any]) -> Any:
    """A JSON value for other Zarr readers (None if there is no sensible one).
    Only Python ints, finite floats and valid UTF-8 strings: the typed copy holds
    the exact value, this is what other readers see."""
    if arr.size > _MAX_RENDITION:
        return None
    kind = arr.dtype.kind
    if arr.dtype.names is not None or arr.dtype.subdtype is not None:
        return None
    if kind in "biu":
        return arr.tolist()
    if kind == "f":
        if arr.dtype.itemsize > 8:
            # longdouble: tolist() keeps numpy scalars, which JSON cannot hold.
            with np.errstate(over="ignore"):
                arr = arr.astype(np.float64)
        if arr.ndim == 0:
            v = float(arr)
            return v if math.isfinite(v) else None
        return arr.tolist() if bool(np.isfinite(arr).all()) else None
    if kind == "S":
        return _map(arr, lambda b: b.decode("utf-8", "replace"))
    if kind == "O" and (arr.dtype.metadata or {}).get("vlen") in (str, bytes):
        return _map(arr, _text)
    return None


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    # Lone surrogates (undecodable bytes kept by surrogateescape) are not UTF-8.
    return str(v).encode("utf-8", "replace").decode("utf-8")


def _map(arr: np.ndarray[Any, Any], fn: Any) -> Any:
    if arr.ndim == 0:
        return fn(arr[()])
    return [_map(a, fn) for a in arr] if arr.ndim > 1 else [fn(v) for v in arr]


#: Largest fixed-size attribute value, in bytes: HDF5's limit for attribute data in
#: an object header (h5py's default files raise OSError above it).
MAX_ATTR_BYTES = 65535
#: Largest variable-length attribute value (HDF5 keeps those in a heap, without
#: limit); a cap that keeps every file's consolidated metadata loadable.
MAX_VLEN_ATTR_BYTES = 16 << 20


class AttributeTooLarge(OSError):
    """An attribute value above MAX_ATTR_BYTES (fixed-size) or MAX_VLEN_ATTR_BYTES."""


def _check_size(nbytes: int, vlen: bool = False) -> None:
    limit = MAX_VLEN_ATTR_BYTES if vlen else MAX_ATTR_BYTES
    if nbytes > limit:
        raise AttributeTooLarge(
            f"Unable to create attribute (object header message is too large: {nbytes} bytes, "
            f"at most {limit}; store large values as datasets)"
        )


def encode_attr(value: Any) -> tuple[Any, dict[str, Any] | None]:
    """``(plain_json, typed_entry)`` for an attribute value that
    ``AttributeManager.create`` has already turned into an array (or Empty).
    Both parts are JSON-serialisable (``check_storable``). AttributeTooLarge (an
    OSError, as h5py raises) above MAX_ATTR_BYTES; NotSupported for dtypes the
    layout cannot describe."""
    if isinstance(value, Empty):
        return None, {"dtype": dtype_to_spec(value.dtype), "empty": True}
    if isinstance(value, SubarrayValue):
        raw = np.ascontiguousarray(value.data).tobytes()
        _check_size(len(raw))
        entry = {"dtype": dtype_to_spec(value.dtype), "shape": list(value.shape),
                 "data": base64.b64encode(raw).decode("ascii")}
        return _rendition(value.data), entry
    arr: np.ndarray[Any, Any] = value
    dt = arr.dtype
    if arr.ndim == 0 and not dt.metadata:
        if dt == _I8:
            return int(arr), None
        if dt == _F8 and math.isfinite(float(arr)):
            return float(arr), None
        if dt == _B1:
            return bool(arr), None
    if arr.ndim == 0 and (dt.metadata or {}).get("vlen") is str:
        v = arr[()]
        if isinstance(v, str) and not _has_surrogates(v):
            _check_size(len(v), vlen=True)
            return v, None
    info = describe(dt)
    if info.storage == "fixed":
        raw = np.ascontiguousarray(arr).tobytes()
    else:
        raw = encode_vlen(np.ascontiguousarray(arr), info.storage, info.dtype)
    _check_size(len(raw), vlen=info.storage != "fixed")
    entry = {"dtype": dtype_to_spec(dt), "shape": list(arr.shape), "data": base64.b64encode(raw).decode("ascii")}
    return _rendition(arr), entry


def check_storable(plain: Any, entry: dict[str, Any] | None) -> None:
    """TypeError unless ``plain`` and ``entry`` serialise as the metadata writer
    will serialise them (strict JSON, UTF-8): a value that passes cannot make a
    later flush fail. The plain fast path (int, finite float, bool, valid str) is
    JSON by construction and skips this."""
    if _scalar_json(plain) and (entry is None or type(entry.get("dtype")) is str):
        # The common typed value (a numpy scalar, a fixed string): a JSON scalar
        # rendition and an entry of str spec, shape ints and base64 text. Checked
        # without serialising (measured: 2.5 us of a 15 us attribute write).
        return
    try:
        dump_json({"p": plain, "e": entry})
    except (TypeError, ValueError) as e:  # UnicodeEncodeError is a ValueError
        raise TypeError(f"value has no JSON rendition the layout can store ({e})") from e


def _scalar_json(v: Any) -> bool:
    t = type(v)
    if v is None or t is int or t is bool:
        return True
    if t is float:
        return math.isfinite(v)
    return t is str and (v.isascii() or not _has_surrogates(v))


def _has_surrogates(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def decode_attr(plain: Any, entry: dict[str, Any] | None, what: str = "attribute") -> Any:
    """The value h5py would return for an attribute stored as ``plain``/``entry``:
    numpy scalars for 0-d values, str for variable-length strings, arrays otherwise."""
    if entry is None:
        return _from_plain(plain)
    try:
        dt = reported_dtype(spec_to_dtype(entry["dtype"]))
        if entry.get("empty"):
            return Empty(dt)
        shape = tuple(entry["shape"])
        raw = base64.b64decode(entry["data"])
        info = describe(dt)
        if dt.subdtype is not None and not dt.hasobject:
            base, sub = dt.subdtype
            return np.frombuffer(raw, dtype=base).reshape(shape + sub).copy()
        if info.storage == "fixed":
            arr = np.frombuffer(raw, dtype=dt).reshape(shape).copy()
        else:
            arr = decode_vlen(raw, info.storage, dt, shape)
            if dt.names is None:
                arr = arr.view(dt) if arr.dtype == dt else arr.astype(dt)
    except CorruptData:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise CorruptData(f"{what} is stored in a malformed way: {e}", what) from e
    return as_h5py_value(arr)


def as_h5py_value(arr: np.ndarray[Any, Any]) -> Any:
    """What h5py hands back for a stored array value: top-level array dtypes are
    unfolded, vlen strings become str, 0-d arrays become scalars."""
    if arr.dtype.subdtype is not None:
        sub, subshape = arr.dtype.subdtype
        arr = arr.view(sub).reshape(arr.shape + subshape) if not arr.dtype.hasobject else np.asarray(arr.tolist(), dtype=sub)
    vlen = (arr.dtype.metadata or {}).get("vlen")
    if arr.dtype.hasobject and vlen not in (str, bytes):
        from sciswift.h5.convert import strings_as_bytes

        arr = strings_as_bytes(arr, arr.dtype)
    if vlen in (str, bytes):
        from sciswift.h5.convert import map_elements

        arr = map_elements(arr, arr.dtype, lambda v: v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v)
    if arr.ndim == 0:
        return arr[()]
    return arr


def _from_plain(value: Any) -> Any:
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return np.int64(value)
        return np.uint64(value) if 0 <= value < 2**64 else value
    if isinstance(value, float):
        return np.float64(value)
    if isinstance(value, list):
        try:
            arr = np.asarray(value)
        except ValueError:
            return value
        if arr.dtype.kind == "U":
            out = np.empty(arr.shape, dtype=normalize_dtype("T"))
            out[...] = value
            return out
        if arr.dtype.kind == "O":
            return value
        return arr.view(reported_dtype(arr.dtype))
    return value
