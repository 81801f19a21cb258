"""NumPy dtypes (with h5py's metadata conventions) <-> Zarr v3 data types.

Two descriptions are kept for every array:

- the Zarr ``data_type`` (and the array-to-bytes codec it implies), chosen so that
  other Zarr readers (zarr-python 3.1, tensorstore) can read ordinary arrays: the
  core numeric types, ``null_terminated_bytes`` for fixed-length byte strings,
  ``string``/``variable_length_bytes`` with the vlen codecs, ``structured`` for plain
  compound types, and the enum's integer base type;
- a JSON *dtype spec* stored under the reserved attribute key (``docs/layout.md``)
  whenever the Zarr type alone loses information h5py has: string encodings,
  enums, compound offsets and nesting, array members, opaque types, vlen
  sequences of numbers, object references.

h5py marks special dtypes with numpy dtype metadata; we use the same keys so that
helpers such as ``check_dtype`` work unchanged: ``vlen`` (``str``, ``bytes`` or a
dtype), ``enum`` (name -> value), ``h5py_encoding`` (fixed-length strings),
``h5py_opaque`` and ``ref`` (the reference class, registered by the HDF5 layer
through ``REF_CLASSES``).
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import numpy as np

from sciswift.errors import InvalidInput, NotSupported

__all__ = [
    "REF_CLASSES",
    "DtypeInfo",
    "describe",
    "from_zarr",
    "dtype_to_spec",
    "spec_to_dtype",
    "encode_fill",
    "decode_fill",
    "is_object_dtype",
    "default_fill",
]

#: Reference classes by kind ("object", "region"), filled in by ``sciswift.h5``.
REF_CLASSES: dict[str, Any] = {}

_NUMERIC = {
    "b": {1: "bool"},
    "i": {1: "int8", 2: "int16", 4: "int32", 8: "int64"},
    "u": {1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64"},
    "f": {2: "float16", 4: "float32", 8: "float64"},
    "c": {8: "complex64", 16: "complex128"},
}
_BY_NAME = {name: np.dtype(name) for sizes in _NUMERIC.values() for name in sizes.values()}


def _meta(dt: np.dtype[Any]) -> dict[str, Any]:
    return dict(dt.metadata or {})


def is_object_dtype(dt: np.dtype[Any]) -> bool:
    """True if values of ``dt`` hold Python objects anywhere (vlen, references)."""
    if dt.hasobject:
        return True
    return False


# --------------------------------------------------------------------- spec

def dtype_to_spec(dt: np.dtype[Any]) -> Any:
    """A JSON description of ``dt`` that ``spec_to_dtype`` turns back into an equal
    dtype, h5py metadata included."""
    meta = _meta(dt)
    if "vlen" in meta:
        v = meta["vlen"]
        if v is str:
            return {"kind": "vlen_str", "encoding": "utf-8"}
        if v is bytes:
            return {"kind": "vlen_bytes"}
        return {"kind": "vlen", "base": dtype_to_spec(np.dtype(v))}
    if "ref" in meta:
        ref = meta["ref"]
        kind = next((k for k, c in REF_CLASSES.items() if c is ref), None)
        if kind is None:
            kind = "region" if "Region" in getattr(ref, "__name__", "") else "object"
        return {"kind": "ref", "ref": kind}
    if "enum" in meta:
        return {
            "kind": "enum",
            "base": dt.str,
            "values": {str(k): int(v) for k, v in meta["enum"].items()},
        }
    if dt.fields is not None:
        fields = []
        for name in dt.names or ():
            fdt, offset = dt.fields[name][:2]
            fields.append([name, dtype_to_spec(fdt), int(offset)])
        return {"kind": "compound", "fields": fields, "itemsize": dt.itemsize}
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        return {"kind": "array", "base": dtype_to_spec(base), "shape": list(shape)}
    if dt.kind == "S":
        enc = meta.get("h5py_encoding")
        return {"kind": "fixed_str", "size": dt.itemsize, "encoding": enc} if enc else dt.str
    if dt.kind == "V":
        spec: dict[str, Any] = {"kind": "opaque", "size": dt.itemsize}
        if meta.get("h5py_opaque"):
            spec["h5py_opaque"] = True
        return spec
    if dt.kind in "biufcmM":
        return dt.str
    raise NotSupported(f"dtype {dt} cannot be stored")


def spec_to_dtype(spec: Any) -> np.dtype[Any]:
    """The numpy dtype described by a spec from ``dtype_to_spec``."""
    if isinstance(spec, str):
        return np.dtype(spec)
    kind = spec.get("kind")
    if kind == "vlen_str":
        return np.dtype("O", metadata={"vlen": str})
    if kind == "vlen_bytes":
        return np.dtype("O", metadata={"vlen": bytes})
    if kind == "vlen":
        return np.dtype("O", metadata={"vlen": spec_to_dtype(spec["base"])})
    if kind == "ref":
        cls = REF_CLASSES.get(spec["ref"], spec["ref"])
        return np.dtype("O", metadata={"ref": cls})
    if kind == "enum":
        # HDF5 keeps enum members sorted by name (byte-wise, as strcmp), so h5py
        # reports them in that order whatever order the program gave.
        members = sorted(spec["values"].items(), key=lambda kv: kv[0].encode("utf-8"))
        return np.dtype(spec["base"], metadata={"enum": dict(members)})
    if kind == "compound":
        names = [f[0] for f in spec["fields"]]
        formats = [spec_to_dtype(f[1]) for f in spec["fields"]]
        offsets = [f[2] for f in spec["fields"]]
        return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": spec["itemsize"]})
    if kind == "array":
        return np.dtype((spec_to_dtype(spec["base"]), tuple(spec["shape"])))
    if kind == "fixed_str":
        return np.dtype(f"S{spec['size']}", metadata={"h5py_encoding": spec["encoding"]})
    if kind == "opaque":
        if spec.get("h5py_opaque"):
            return np.dtype(f"V{spec['size']}", metadata={"h5py_opaque": True})
        return np.dtype(f"V{spec['size']}")
    raise InvalidInput(f"unknown dtype spec {spec!r}")


# --------------------------------------------------------------- zarr types

class DtypeInfo:
    """How an array of a given numpy dtype is laid out in Zarr.

    ``data_type``: the Zarr ``data_type`` JSON value. ``array_codec``: the
    array-to-bytes codec JSON (``bytes`` with endianness, or a vlen codec).
    ``spec``: the dtype spec to keep under the reserved key, or None when the Zarr
    type says everything. ``storage``: ``"fixed"`` (raw itemsize bytes),
    ``"vlen-utf8"``, ``"vlen-bytes"`` or ``"records"`` (objects packed per element
    by ``sciswift.engine.vlen``).
    """

    __slots__ = ("dtype", "data_type", "array_codec", "spec", "storage")

    def __init__(self, dtype: np.dtype[Any], data_type: Any, array_codec: dict[str, Any], spec: Any, storage: str):
        self.dtype = dtype
        self.data_type = data_type
        self.array_codec = array_codec
        self.spec = spec
        self.storage = storage


def _endian(dt: np.dtype[Any]) -> dict[str, Any]:
    if dt.itemsize == 1 or dt.byteorder == "|":
        return {"name": "bytes"}
    big = dt.byteorder == ">" or (dt.byteorder == "=" and not np.little_endian)
    return {"name": "bytes", "configuration": {"endian": "big" if big else "little"}}


def _plain_structured(dt: np.dtype[Any]) -> list[list[str]] | None:
    """Zarr ``structured`` fields for a packed compound of native-order numeric
    fields, or None if zarr-python could not represent ``dt`` exactly."""
    if dt.fields is None or dt.metadata:
        return None
    fields = []
    offset = 0
    for name in dt.names or ():
        fdt, off = dt.fields[name][:2]
        if off != offset or fdt.metadata or fdt.kind not in _NUMERIC or fdt.subdtype is not None:
            return None
        if fdt.itemsize > 1 and fdt.byteorder not in ("=", "|", "<" if np.little_endian else ">"):
            return None
        fields.append([name, _NUMERIC[fdt.kind][fdt.itemsize]])
        offset += fdt.itemsize
    if offset != dt.itemsize or not fields:
        return None
    return fields


def _reads_back_changed(dt: np.dtype[Any]) -> bool:
    """True if ``dt`` holds an enum (members come back sorted) or a reference
    (the class comes back as the one in REF_CLASSES, whichever the caller gave)."""
    meta = _meta(dt)
    if "enum" in meta or "ref" in meta:
        return True
    if dt.names:
        return any(_reads_back_changed(dt[n]) for n in dt.names)
    return dt.subdtype is not None and _reads_back_changed(dt.subdtype[0])


def describe(dt: np.dtype[Any]) -> DtypeInfo:
    """The Zarr layout of numpy dtype ``dt`` (see DtypeInfo)."""
    dt = np.dtype(dt)
    if _reads_back_changed(dt):
        # The dtype as it reads back, also before a reopen: a program may create a
        # dataset with another library's ref_dtype and then store our references.
        dt = spec_to_dtype(dtype_to_spec(dt))
    meta = _meta(dt)
    if "vlen" in meta and meta["vlen"] is str:
        return DtypeInfo(dt, "string", {"name": "vlen-utf8"}, None, "vlen-utf8")
    if "vlen" in meta and meta["vlen"] is bytes:
        return DtypeInfo(dt, "variable_length_bytes", {"name": "vlen-bytes"}, dtype_to_spec(dt), "vlen-bytes")
    if dt.hasobject or "vlen" in meta or "ref" in meta:
        return DtypeInfo(dt, "variable_length_bytes", {"name": "vlen-bytes"}, dtype_to_spec(dt), "records")
    if "enum" in meta:
        base = np.dtype(dt.str)
        return DtypeInfo(dt, _NUMERIC[base.kind][base.itemsize], _endian(base), dtype_to_spec(dt), "fixed")
    if dt.kind in _NUMERIC and dt.subdtype is None and dt.itemsize in _NUMERIC[dt.kind]:
        return DtypeInfo(dt, _NUMERIC[dt.kind][dt.itemsize], _endian(dt), None, "fixed")
    if dt.kind == "S":
        spec = dtype_to_spec(dt) if meta else None
        return DtypeInfo(
            dt, {"name": "null_terminated_bytes", "configuration": {"length_bytes": dt.itemsize}},
            {"name": "bytes"}, spec, "fixed",
        )
    if dt.fields is not None:
        fields = _plain_structured(dt)
        if fields is not None:
            return DtypeInfo(
                dt, {"name": "structured", "configuration": {"fields": fields}},
                {"name": "bytes"}, dtype_to_spec(dt), "fixed",
            )
    if dt.kind in "mM":
        unit, count = np.datetime_data(dt)
        name = "numpy.datetime64" if dt.kind == "M" else "numpy.timedelta64"
        return DtypeInfo(
            dt, {"name": name, "configuration": {"unit": unit, "scale_factor": count}}, _endian(dt), None, "fixed"
        )
    # Compound with padding or nesting, array members, opaque: raw bytes to other
    # readers, exact dtype from the spec for us.
    return DtypeInfo(
        dt, {"name": "raw_bytes", "configuration": {"length_bytes": dt.itemsize}},
        {"name": "bytes"}, dtype_to_spec(dt), "fixed",
    )


def from_zarr(data_type: Any, codecs: list[dict[str, Any]], spec: Any = None) -> DtypeInfo:
    """The DtypeInfo of an array stored with ``data_type`` and ``codecs`` (and the
    reserved-key ``spec`` if one was kept)."""
    array_codec = _find_array_codec(codecs)
    if spec is not None:
        dt = spec_to_dtype(spec)
        info = describe(dt)
        info.array_codec = array_codec or info.array_codec
        return info
    endian = (array_codec or {}).get("configuration", {}).get("endian", "little")
    order = ">" if endian == "big" else "<"
    if isinstance(data_type, str):
        if data_type in _BY_NAME:
            dt = _BY_NAME[data_type]
            if dt.itemsize > 1 and (order == "<") != np.little_endian:
                # Only a foreign order is spelled out: a native one stays numpy's
                # canonical dtype (dtype('int32'), not dtype('<i4')), as h5py has it.
                dt = dt.newbyteorder(order)  # type: ignore[arg-type]
            return DtypeInfo(dt, data_type, array_codec or _endian(dt), None, "fixed")
        if data_type == "string":
            return describe(np.dtype("O", metadata={"vlen": str}))
        if data_type in ("bytes", "variable_length_bytes"):
            return describe(np.dtype("O", metadata={"vlen": bytes}))
        if data_type.startswith("r") and data_type[1:].isdigit():
            dt = np.dtype(f"V{int(data_type[1:]) // 8}")
            return DtypeInfo(dt, data_type, array_codec or {"name": "bytes"}, None, "fixed")
        raise NotSupported(f"Zarr data type {data_type!r} is not supported")
    name = data_type.get("name")
    conf = data_type.get("configuration", {})
    if name == "null_terminated_bytes":
        return DtypeInfo(np.dtype(f"S{conf['length_bytes']}"), data_type, {"name": "bytes"}, None, "fixed")
    if name == "raw_bytes":
        return DtypeInfo(np.dtype(f"V{conf['length_bytes']}"), data_type, {"name": "bytes"}, None, "fixed")
    if name == "fixed_length_utf32":
        dt = np.dtype(f"{order}U{conf['length_bytes'] // 4}")
        return DtypeInfo(dt, data_type, array_codec or _endian(dt), None, "fixed")
    if name == "structured":
        dt = np.dtype([(f, _BY_NAME[t] if isinstance(t, str) else from_zarr(t, []).dtype) for f, t in conf["fields"]])
        return DtypeInfo(dt, data_type, array_codec or {"name": "bytes"}, None, "fixed")
    if name in ("numpy.datetime64", "numpy.timedelta64"):
        letter = "M" if name.endswith("datetime64") else "m"
        dt = np.dtype(f"{order}{letter}8[{conf.get('scale_factor', 1)}{conf['unit']}]".replace("[1", "["))
        return DtypeInfo(dt, data_type, array_codec or _endian(dt), None, "fixed")
    raise NotSupported(f"Zarr data type {data_type!r} is not supported")


def _find_array_codec(codecs: list[dict[str, Any]]) -> dict[str, Any] | None:
    for c in codecs:
        if c.get("name") in ("bytes", "vlen-utf8", "vlen-bytes"):
            return c
        if c.get("name") == "sharding_indexed":
            return _find_array_codec(c.get("configuration", {}).get("codecs", []))
    return None


# --------------------------------------------------------------- fill values

def default_fill(dt: np.dtype[Any]) -> Any:
    """h5py's default fill value for ``dt``: zeros, empty strings/bytes, None refs."""
    meta = _meta(dt)
    if "vlen" in meta:
        v = meta["vlen"]
        if v is str:
            return ""
        if v is bytes:
            return b""
        return np.zeros(0, dtype=v)
    if "ref" in meta:
        ref = meta["ref"]
        return ref() if isinstance(ref, type) else None
    if dt.fields is not None and dt.hasobject:
        # Object fields hold their own defaults (empty sequences/strings), not 0.
        out = np.zeros((), dt)
        for name in dt.names or ():
            fdt = dt.fields[name][0]
            if fdt.hasobject and fdt.fields is None and fdt.subdtype is None:
                out[name][()] = default_fill(fdt)
            elif fdt.hasobject and fdt.fields is not None:
                out[name] = default_fill(fdt)
        return out[()]
    return np.zeros((), dt)[()]


def _float_json(x: float) -> Any:
    if math.isnan(x):
        # Keep non-default NaN payloads exactly, as zarr's hex form does.
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return float(x)


def encode_fill(value: Any, info: DtypeInfo) -> Any:
    """The JSON ``fill_value`` of ``value`` for an array laid out as ``info``."""
    dt = info.dtype
    if info.storage == "vlen-utf8":
        return "" if value is None else str(value)
    if info.storage in ("vlen-bytes", "records"):
        return ""
    if dt.kind == "b":
        return bool(value)
    if dt.kind in "iu" and dt.fields is None:
        return int(np.asarray(value).astype(dt)[()])
    if dt.kind == "f":
        x = np.asarray(value, dtype=dt)[()]
        if np.isnan(x):
            bits = x.view(f"u{dt.itemsize}")
            canonical = np.asarray(np.nan, dtype=dt).view(f"u{dt.itemsize}")
            if int(bits) != int(canonical):
                return "0x" + format(int(bits), f"0{2 * dt.itemsize}x")
        return _float_json(float(x))
    if dt.kind == "c":
        z = complex(np.asarray(value, dtype=dt)[()])
        return [_float_json(z.real), _float_json(z.imag)]
    if dt.kind in "mM":
        return int(np.asarray(value, dtype=dt).view("i8")[()])
    raw = np.asarray(value, dtype=dt).tobytes() if value is not None else bytes(dt.itemsize)
    if dt.kind == "S":
        return base64.b64encode(raw.rstrip(b"\x00")).decode()
    return base64.b64encode(raw).decode()


def decode_fill(fill: Any, info: DtypeInfo) -> Any:
    """The numpy scalar (or Python object) of a JSON ``fill_value``."""
    dt = info.dtype
    if info.storage == "vlen-utf8":
        return fill if isinstance(fill, str) else ""
    if info.storage == "vlen-bytes":
        return base64.b64decode(fill) if isinstance(fill, str) and fill else b""
    if info.storage == "records":
        return default_fill(dt)
    if fill is None:
        return np.zeros((), dt)[()]
    if dt.kind == "b":
        return np.bool_(fill)
    if dt.kind in "iu" and dt.fields is None:
        return np.asarray(fill).astype(dt)[()]
    if dt.kind == "f":
        if isinstance(fill, str) and fill.startswith("0x"):
            return np.asarray(int(fill, 16), dtype=f"u{dt.itemsize}").view(dt)[()]
        return np.asarray(float(fill), dtype=dt)[()]
    if dt.kind == "c":
        if isinstance(fill, list):
            re, im = (float(x) if not (isinstance(x, str) and x.startswith("0x")) else
                      struct.unpack(">d", int(x, 16).to_bytes(8, "big"))[0] for x in fill)
            return np.asarray(complex(re, im), dtype=dt)[()]
        return np.asarray(fill, dtype=dt)[()]
    if dt.kind in "mM":
        return np.asarray(int(fill), dtype="i8").view(dt)[()]
    if isinstance(fill, str):
        raw = base64.b64decode(fill)
        raw = raw.ljust(dt.itemsize, b"\x00")[: dt.itemsize]
        return np.frombuffer(raw, dtype=dt)[0]
    if isinstance(fill, (int, float)) and dt.kind == "V":
        return np.zeros((), dt)[()]
    return np.asarray(fill, dtype=dt)[()]
