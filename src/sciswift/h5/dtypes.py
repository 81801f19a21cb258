"""h5py's dtype helpers: special dtypes marked with numpy dtype metadata.

The marks are h5py's own (``vlen``, ``enum``, ``h5py_encoding``, ``h5py_opaque``,
``ref``), which the engine stores and restores (``sciswift.engine.dtypes``), so code
written against h5py's helpers sees the same dtypes here.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from sciswift.h5.refs import Reference, RegionReference

__all__ = [
    "string_dtype",
    "vlen_dtype",
    "enum_dtype",
    "opaque_dtype",
    "special_dtype",
    "check_dtype",
    "check_string_dtype",
    "check_vlen_dtype",
    "check_enum_dtype",
    "check_opaque_dtype",
    "check_ref_dtype",
    "string_info",
    "ref_dtype",
    "regionref_dtype",
    "guess_dtype",
    "with_string_marks",
    "reported_dtype",
    "is_vlen_str",
    "normalize_dtype",
    "complex_compat_dtype",
    "check_complex_dtype",
]

ref_dtype = np.dtype("O", metadata={"ref": Reference})
regionref_dtype = np.dtype("O", metadata={"ref": RegionReference})


class string_info(NamedTuple):
    """What ``check_string_dtype`` reports: the encoding and the fixed length (None
    for variable-length strings)."""

    encoding: str
    length: int | None


def string_dtype(encoding: str = "utf-8", length: int | None = None) -> np.dtype[Any]:
    """A string dtype: variable-length (``length=None``) or fixed-length bytes."""
    enc = encoding.lower().replace("_", "-")
    if enc not in ("utf-8", "ascii"):
        raise ValueError("Invalid encoding (%r); 'utf-8' or 'ascii' allowed" % encoding)
    enc = "utf-8" if enc == "utf-8" else "ascii"
    if isinstance(length, int) and not isinstance(length, bool):
        return np.dtype("|S" + str(length), metadata={"h5py_encoding": enc})
    if length is None:
        return np.dtype("O", metadata={"vlen": str if enc == "utf-8" else bytes})
    raise TypeError("length must be integer or None (got %r)" % length)


def vlen_dtype(basetype: Any) -> np.dtype[Any]:
    """A variable-length sequence of ``basetype`` elements."""
    return np.dtype("O", metadata={"vlen": basetype})


def enum_dtype(values_dict: Mapping[str, int], basetype: Any = np.uint8) -> np.dtype[Any]:
    """An integer dtype whose values carry names (HDF5 enum)."""
    dt = np.dtype(basetype)
    if dt.kind not in "iu":
        raise TypeError("Enum base type must be an integer type")
    return np.dtype(dt, metadata={"enum": dict(values_dict)})


def opaque_dtype(np_dtype: Any) -> np.dtype[Any]:
    """A dtype stored as an opaque blob of its itemsize."""
    dt = np.dtype(np_dtype)
    if dt.hasobject:
        raise TypeError("Cannot store numpy object arrays as opaque data")
    if dt.names is not None:
        raise TypeError("Cannot store numpy structured arrays as opaque data")
    if dt.subdtype is not None:
        raise TypeError("Cannot store numpy sub-array dtype as opaque data")
    if dt.itemsize == 0:
        raise TypeError("dtype for opaque data must have explicit size")
    return np.dtype(dt, metadata={"h5py_opaque": True})


def special_dtype(**kwds: Any) -> np.dtype[Any]:
    """The legacy form: ``special_dtype(vlen=str)``, ``(enum=(base, dict))``, ``(ref=Reference)``."""
    if len(kwds) != 1:
        raise TypeError("Exactly one keyword may be provided")
    name, val = kwds.popitem()
    if name == "vlen":
        return np.dtype("O", metadata={"vlen": val})
    if name == "enum":
        try:
            dt, enum_vals = val
        except TypeError:
            raise TypeError("Enums must be created from a 2-tuple (basetype, values_dict)") from None
        return enum_dtype(enum_vals, dt)
    if name == "ref":
        if val not in (Reference, RegionReference):
            raise ValueError("Ref class must be Reference or RegionReference")
        return ref_dtype if val is Reference else regionref_dtype
    raise TypeError('Unknown special type "%s"' % name)


def _meta(dt: Any) -> Mapping[str, Any]:
    if not isinstance(dt, np.dtype):
        return {}
    return dt.metadata or {}


def check_vlen_dtype(dt: np.dtype[Any]) -> Any:
    """The base type of a vlen dtype (str, bytes or a dtype), or None."""
    return _meta(dt).get("vlen")


def check_string_dtype(dt: np.dtype[Any]) -> string_info | None:
    """``string_info(encoding, length)`` for string dtypes, None otherwise."""
    vlen_kind = check_vlen_dtype(dt)
    if vlen_kind is str:
        return string_info("utf-8", None)
    if vlen_kind is bytes:
        return string_info("ascii", None)
    if dt.kind == "S":
        enc = _meta(dt).get("h5py_encoding", "ascii")
        return string_info(enc, dt.itemsize)
    if dt.kind == "T":
        return string_info("utf-8", None)
    return None


def check_enum_dtype(dt: np.dtype[Any]) -> dict[str, int] | None:
    """The name -> value dict of an enum dtype, or None."""
    return _meta(dt).get("enum")


def check_opaque_dtype(dt: np.dtype[Any]) -> bool:
    """True if ``dt`` is marked opaque."""
    return bool(_meta(dt).get("h5py_opaque", False))


def check_ref_dtype(dt: np.dtype[Any]) -> Any:
    """Reference or RegionReference for reference dtypes, None otherwise."""
    return _meta(dt).get("ref")


def check_dtype(**kwds: Any) -> Any:
    """The legacy form: ``check_dtype(vlen=dt)``, ``(enum=dt)``, ``(ref=dt)``."""
    if len(kwds) != 1:
        raise TypeError("Exactly one keyword may be provided")
    name, dt = kwds.popitem()
    if name not in ("vlen", "enum", "ref"):
        raise TypeError('Unknown special type "%s"' % name)
    try:
        return _meta(dt)[name]
    except KeyError:
        return None


def is_vlen_str(dt: np.dtype[Any]) -> bool:
    return _meta(dt).get("vlen") in (str, bytes)


_STRING_T = np.dtype("O", metadata={"vlen": str})


def complex_compat_dtype(np_dtype: Any = np.complex128) -> np.dtype[Any]:
    """The compound of two floats (``r``, ``i``) HDF5 1.x files use for complex
    numbers; datasets created with it store (and report) the complex dtype."""
    dt = np.dtype(np_dtype)
    if dt.kind != "c":
        raise TypeError(f"{dt} is not a complex dtype")
    half = np.dtype(f"{dt.byteorder if dt.byteorder != '|' else '='}f{dt.itemsize // 2}")
    return np.dtype([("r", half), ("i", half)])


def check_complex_dtype(dt: np.dtype[Any]) -> np.dtype[Any] | None:
    """The complex dtype ``dt`` stands for (itself, or an ``r``/``i`` float
    compound), None if it is neither."""
    dt = np.dtype(dt)
    if dt.kind == "c":
        return dt
    if dt.names == ("r", "i"):
        r, i = dt.fields["r"][0], dt.fields["i"][0]  # type: ignore[index]
        if r == i and r.kind == "f" and r.itemsize in (4, 8) and dt.fields["i"][1] == r.itemsize:  # type: ignore[index]
            order = r.byteorder if r.byteorder != "|" else "="
            return np.dtype(f"{order}c{2 * r.itemsize}")
    return None


def normalize_dtype(dtype: Any) -> np.dtype[Any]:
    """The dtype a dataset of ``dtype`` stores: numpy's StringDType ("T") becomes a
    variable-length UTF-8 string, as h5py stores it; the complex-compatible compound
    becomes the complex dtype."""
    if isinstance(dtype, str) and dtype == "T":
        return _STRING_T
    dt = np.dtype(dtype)
    if dt.kind == "T":
        return _STRING_T
    if dt.names == ("r", "i") and not dt.metadata:
        cx = check_complex_dtype(dt)
        if cx is not None:
            return cx
    if dt.kind == "U":
        raise TypeError("No conversion path for dtype: %r" % dt)
    return dt


_ASCII = {"h5py_encoding": "ascii"}
_LITTLE = sys.byteorder == "little"


def reported_dtype(dt: np.dtype[Any]) -> np.dtype[Any]:
    """``dt`` as h5py reports the type of a stored dataset or attribute: every
    fixed-length byte string in it (at top level, in compound fields, as a
    subarray base) carries its encoding mark, ``ascii`` unless one is set, and a
    top-level float names its byte order (``dtype('<f4')``: equal to float32, but
    shown so). Returns ``dt`` itself when nothing changes."""
    kind = dt.kind
    if kind == "f":
        return dt if dt.byteorder != "=" else dt.newbyteorder("<" if _LITTLE else ">")
    return with_string_marks(dt)


def with_string_marks(dt: np.dtype[Any]) -> np.dtype[Any]:
    """``dt`` with the encoding mark h5py puts on every fixed-length byte string in
    it (see ``reported_dtype``)."""
    kind = dt.kind
    if kind == "S":
        return dt if dt.metadata else np.dtype(dt, metadata=_ASCII)
    if dt.names is not None:
        fields = dt.fields
        assert fields is not None
        formats = [with_string_marks(fields[n][0]) for n in dt.names]
        if all(f is fields[n][0] for f, n in zip(formats, dt.names)):
            return dt
        marked = np.dtype({"names": list(dt.names), "formats": formats,
                           "offsets": [fields[n][1] for n in dt.names], "itemsize": dt.itemsize})
        return np.dtype(marked, metadata=dict(dt.metadata)) if dt.metadata else marked
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        mbase = with_string_marks(base)
        return dt if mbase is base else np.dtype((mbase, shape))
    return dt


def guess_dtype(data: Any) -> np.dtype[Any] | None:
    """The dtype h5py infers for a Python value that numpy would store as object or
    unicode: str -> vlen UTF-8, bytes -> vlen bytes, Reference -> ref. None means
    "let numpy decide"."""
    if isinstance(data, RegionReference):
        return regionref_dtype
    if isinstance(data, Reference):
        return ref_dtype
    # Exact types, as h5py checks: numpy.bytes_ (a bytes subclass) is a
    # fixed-length string and numpy.str_ is unicode, which numpy decides.
    item_type = type(data)
    if item_type is str:
        return string_dtype()
    if item_type is bytes:
        return string_dtype(encoding="ascii")
    if item_type is np.ndarray and data.dtype.kind == "T":
        return _STRING_T
    return None
