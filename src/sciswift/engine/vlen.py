"""Variable-length element encodings.

Arrays whose elements are Python objects (h5py's vlen strings and bytes, vlen
sequences of numbers, object references, compounds holding any of these) are
stored with Zarr's ``vlen-utf8`` / ``vlen-bytes`` array-to-bytes codecs. Strings and
bytes map directly. The other kinds are first *packed*: each element becomes one
bytes value, laid out as described here, and unpacked with the dtype spec kept in
the array's reserved attributes (docs/layout.md, "records").

Packing of one element of dtype ``dt``:

- vlen sequence of ``base``: the raw little-endian bytes of the numpy array;
- reference: UTF-8 of the reference's target (``__sciswift_encode__``), empty = null;
- vlen str/bytes inside a compound: uint32 length + bytes (UTF-8 for str);
- compound: its fields in order, fixed-size fields as raw bytes, the others as
  uint32 length + their packing;
- any fixed-size dtype: its raw bytes.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from numcodecs import VLenBytes, VLenUTF8

from sciswift.errors import CorruptData

__all__ = ["encode_vlen", "decode_vlen", "pack", "unpack"]

_UTF8 = VLenUTF8()
_BYTES = VLenBytes()
_LEN = struct.Struct("<I")


def _meta(dt: np.dtype[Any]) -> dict[str, Any]:
    return dict(dt.metadata or {})


def _vlen_of(dt: np.dtype[Any]) -> Any:
    return _meta(dt).get("vlen")


def _ref_of(dt: np.dtype[Any]) -> Any:
    return _meta(dt).get("ref")


def pack(value: Any, dt: np.dtype[Any]) -> bytes:
    """One element of dtype ``dt`` as bytes."""
    vlen = _vlen_of(dt)
    if vlen is str:
        if isinstance(value, bytes):
            return value
        return ("" if value is None else str(value)).encode("utf-8", "surrogateescape")
    if vlen is bytes:
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape")
        return b"" if value is None else bytes(value)
    if vlen is not None:
        base = np.dtype(vlen)
        if base.hasobject:
            # Sequences of compounds holding objects: each element packed, length first.
            items = np.asarray(value if value is not None else [], dtype=base).reshape(-1)
            return b"".join(_LEN.pack(len(p)) + p for p in (pack(v, base) for v in items))
        arr = np.asarray(value if value is not None else [], dtype=base.newbyteorder("<") if base.itemsize > 1 else base)
        return np.ascontiguousarray(arr.reshape(-1)).tobytes()
    if _ref_of(dt) is not None:
        if value is None or not value:
            return b""
        return value.__sciswift_encode__()
    if dt.fields is not None and dt.hasobject:
        parts = []
        for name in dt.names or ():
            fdt = dt.fields[name][0]
            sub = pack(value[name], fdt)
            parts.append(_LEN.pack(len(sub)) + sub if fdt.hasobject else sub)
        return b"".join(parts)
    if dt.subdtype is not None and dt.hasobject:
        base, shape = dt.subdtype
        arr = np.asarray(value, dtype=base).reshape(-1)
        return b"".join(_LEN.pack(len(p)) + p for p in (pack(v, base) for v in arr))
    return np.asarray(value, dtype=dt).tobytes()


def unpack(raw: bytes, dt: np.dtype[Any]) -> Any:
    """The element of dtype ``dt`` that ``pack`` turned into ``raw``."""
    vlen = _vlen_of(dt)
    if vlen is str:
        return raw.decode("utf-8", "surrogateescape")
    if vlen is bytes:
        return bytes(raw)
    if vlen is not None:
        base = np.dtype(vlen)
        if base.hasobject:
            elems = []
            pos = 0
            while pos < len(raw):
                (n,) = _LEN.unpack_from(raw, pos)
                pos += 4
                elems.append(unpack(raw[pos : pos + n], base))
                pos += n
            seq = np.empty(len(elems), dtype=base)
            for i, e in enumerate(elems):
                seq[i] = e
            return seq
        stored = base.newbyteorder("<") if base.itemsize > 1 else base
        if len(raw) % max(base.itemsize, 1):
            raise CorruptData(f"vlen element of {len(raw)} bytes is not a whole number of {base}")
        return np.frombuffer(raw, dtype=stored).astype(base)
    ref = _ref_of(dt)
    if ref is not None:
        if not raw:
            return ref() if isinstance(ref, type) else None
        return ref.__sciswift_decode__(raw) if hasattr(ref, "__sciswift_decode__") else raw
    if dt.fields is not None and dt.hasobject:
        out = np.zeros((), dt)
        pos = 0
        for name in dt.names or ():
            fdt = dt.fields[name][0]
            if fdt.hasobject:
                (n,) = _LEN.unpack_from(raw, pos)
                pos += 4
                value = unpack(raw[pos : pos + n], fdt)
                if fdt.fields is None and fdt.subdtype is None:
                    # An object field: store the value itself (a sequence must not
                    # be broadcast into the 0-d field).
                    out[name][()] = value
                else:
                    out[name] = value
                pos += n
            else:
                out[name] = np.frombuffer(raw, dtype=fdt, count=1, offset=pos)[0]
                pos += fdt.itemsize
        return out[()]
    if dt.subdtype is not None and dt.hasobject:
        base, shape = dt.subdtype
        items = []
        pos = 0
        for _ in range(int(np.prod(shape))):
            (n,) = _LEN.unpack_from(raw, pos)
            pos += 4
            items.append(unpack(raw[pos : pos + n], base))
            pos += n
        arr = np.empty(len(items), dtype=base)
        arr[:] = items if base != np.dtype("O") else _objarray(items)
        return arr.reshape(shape)
    return np.frombuffer(raw, dtype=dt)[0]


def _objarray(items: list[Any]) -> np.ndarray[Any, Any]:
    arr = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        arr[i] = v
    return arr


def encode_vlen(arr: np.ndarray[Any, Any], storage: str, dtype: np.dtype[Any] | None = None) -> bytes:
    """A chunk of object elements in the Zarr vlen-utf8 / vlen-bytes byte format.
    Records are packed as ``dtype`` (default ``arr.dtype``): pass the array's
    declared dtype, since an object array made by numpy operations may have lost
    the metadata that says what its elements are."""
    flat = arr.reshape(-1, order="C")
    if storage == "vlen-utf8":
        if flat.dtype.kind != "O":
            flat = flat.astype(object)
        items = np.empty(len(flat), dtype=object)
        for i, v in enumerate(flat):
            items[i] = v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else ("" if v is None else str(v))
        return bytes(_UTF8.encode(items))
    if storage == "vlen-bytes":
        items = np.empty(len(flat), dtype=object)
        for i, v in enumerate(flat):
            items[i] = v.encode("utf-8") if isinstance(v, str) else (b"" if v is None else bytes(v))
        return bytes(_BYTES.encode(items))
    # records
    dt = arr.dtype if dtype is None else dtype
    items = np.empty(len(flat), dtype=object)
    for i, v in enumerate(flat):
        items[i] = pack(v, dt)
    return bytes(_BYTES.encode(items))


def decode_vlen(raw: bytes, storage: str, dt: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """Inverse of ``encode_vlen``: an object array (or ``dt`` array for records of
    compounds) of ``shape``."""
    n = int(np.prod(shape))
    # Both vlen codecs start with the item count: numcodecs allocates that many
    # items before it finds the buffer short, so a damaged count (up to 2**32)
    # costs gigabytes and seconds. A chunk always holds its shape's worth.
    if len(raw) < 4 or _LEN.unpack_from(raw)[0] != n:
        count = _LEN.unpack_from(raw)[0] if len(raw) >= 4 else "no"
        raise CorruptData(f"variable-length chunk says it holds {count} elements, expected {n}")
    try:
        if storage == "vlen-utf8":
            out = _UTF8.decode(raw)
        elif storage == "vlen-bytes":
            out = _BYTES.decode(raw)
        else:
            packed = _BYTES.decode(raw)
            if dt.fields is not None:
                rec = np.empty(len(packed), dtype=dt)
                for i, p in enumerate(packed):
                    rec[i] = unpack(p, dt)
                out = rec
            else:
                # dt, not plain object: a decoded chunk that is modified and stored
                # again must still say what its elements are.
                out = np.empty(len(packed), dtype=dt if dt.kind == "O" else object)
                for i, p in enumerate(packed):
                    out[i] = unpack(p, dt)
    except (ValueError, RuntimeError, struct.error) as e:  # numcodecs' errors on bad bytes; short packed items
        raise CorruptData(f"cannot decode variable-length chunk: {e}") from e
    if len(out) != n:
        raise CorruptData(f"variable-length chunk holds {len(out)} elements, expected {n}")
    return np.asarray(out).reshape(shape)
