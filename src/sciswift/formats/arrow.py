"""Arrow columns as datasets: the type mapping and null policy shared by the Parquet
and CSV plugins, and the reverse for writing.

Types (Arrow -> numpy, as h5py would hold them):

- integers, floats (16/32/64), bool -> the same numpy dtype
- string/large_string -> vlen str (``h5py.string_dtype()``); binary -> vlen bytes;
  fixed_size_binary(n) -> ``S<n>``
- timestamp/date -> ``datetime64[unit]`` (a timezone is dropped: values are UTC;
  the dataset gets a ``timezone`` attribute), duration -> ``timedelta64[unit]``
- dictionary -> its decoded value type
- fixed_size_list<numeric>[n] -> a 2-D dataset (rows, n)
- list<numeric> -> vlen of the element type (``h5py.vlen_dtype``)
- struct -> no dataset of its own: its fields appear as ``parent.child`` datasets
- anything else (decimal, time of day, map, list of strings/structs, null) is not
  presented; the root attribute ``_unsupported_columns`` names what was left out.

Nulls: a null takes the dataset's fill value (NaN for floats, NaT for datetimes, 0,
False, "" or b"" otherwise), and the column gets a boolean mask dataset
``_nulls/<column>`` (True where null) whenever the file says the column may hold
nulls. Writing puts masked values back as nulls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sciswift.errors import NotSupported
from sciswift.formats.nodes import vlen_base, vlen_bytes_dtype, vlen_dtype, vlen_str_dtype

__all__ = ["ColumnType", "column_type", "to_numpy", "from_numpy", "NULLS_GROUP", "flatten_fields", "arrow_errors"]

#: The group holding null masks, one boolean dataset per column that may hold nulls.
NULLS_GROUP = "_nulls"


def arrow_errors() -> tuple[type[BaseException], ...]:
    """What pyarrow raises for bytes it cannot decode: its ArrowException family
    (ArrowInvalid for malformed metadata and pages, ArrowIOError, ArrowTypeError,
    ArrowNotImplementedError for encodings it does not know, ArrowKeyError,
    ArrowIndexError; not ArrowMemoryError, a MemoryError), OSError ("Unexpected
    end of stream", a file cut short) and UnicodeDecodeError (names in the file's
    metadata that are not UTF-8, which pyarrow decodes in Python)."""
    import pyarrow as pa

    return (pa.ArrowException, OSError, UnicodeDecodeError)


@dataclass(frozen=True)
class ColumnType:
    """How one Arrow column becomes a dataset: its numpy ``dtype``, the extra
    dimensions of each row (``inner``), and the conversion ``kind``."""

    dtype: np.dtype[Any]
    kind: str  # "plain", "str", "bytes", "fixed_bytes", "list", "fixed_list", "temporal"
    inner: tuple[int, ...] = ()
    timezone: str | None = None


def column_type(t: Any) -> ColumnType | None:
    """The dataset an Arrow type maps to, or None if it has no h5py counterpart."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return column_type(t.value_type)
    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t):
        return ColumnType(np.dtype(t.to_pandas_dtype()), "plain")
    if pa.types.is_timestamp(t):
        return ColumnType(np.dtype(f"datetime64[{t.unit}]"), "temporal", timezone=t.tz)
    if pa.types.is_date32(t):
        return ColumnType(np.dtype("datetime64[D]"), "temporal")
    if pa.types.is_date64(t):
        return ColumnType(np.dtype("datetime64[ms]"), "temporal")
    if pa.types.is_duration(t):
        return ColumnType(np.dtype(f"timedelta64[{t.unit}]"), "temporal")
    if pa.types.is_string(t) or pa.types.is_large_string(t) or _is(t, "is_string_view"):
        return ColumnType(vlen_str_dtype(), "str")
    if pa.types.is_fixed_size_binary(t):
        return ColumnType(np.dtype(f"S{t.byte_width}"), "fixed_bytes")
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or _is(t, "is_binary_view"):
        return ColumnType(vlen_bytes_dtype(), "bytes")
    if pa.types.is_fixed_size_list(t):
        inner = column_type(t.value_type)
        if inner is not None and inner.kind == "plain":
            return ColumnType(inner.dtype, "fixed_list", (t.list_size,))
        return None
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = column_type(t.value_type)
        if inner is not None and inner.kind == "plain":
            return ColumnType(vlen_dtype(inner.dtype), "list")
    return None


def _is(t: Any, predicate: str) -> bool:
    import pyarrow as pa

    check = getattr(pa.types, predicate, None)
    return bool(check(t)) if check else False


def flatten_fields(schema: Any) -> list[tuple[str, Any, bool, Any]]:
    """``(dotted path, arrow type, nullable, field metadata)`` of every non-struct
    field, structs walked into (a field is nullable if it or a parent is)."""
    import pyarrow as pa

    out: list[tuple[str, Any, bool, Any]] = []

    def walk(prefix: str, field: Any, parent_nullable: bool) -> None:
        path = f"{prefix}.{field.name}" if prefix else field.name
        nullable = parent_nullable or field.nullable
        if pa.types.is_struct(field.type):
            for i in range(field.type.num_fields):
                walk(path, field.type.field(i), nullable)
        else:
            out.append((path, field.type, nullable, field.metadata))

    for field in schema:
        walk("", field, False)
    return out


def fill_value(ct: ColumnType) -> Any:
    """What a null becomes in a dataset of this type."""
    if ct.kind == "str":
        return ""
    if ct.kind == "bytes":
        return b""
    if ct.kind == "temporal":
        return ct.dtype.type("NaT")
    if ct.dtype.kind == "f":
        return ct.dtype.type("nan")
    return np.zeros((), ct.dtype)[()]


def to_numpy(col: Any, ct: ColumnType) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """An Arrow (chunked) array as ``(values, null mask)`` of the dataset type ``ct``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    n = len(col)
    mask = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else np.zeros(n, dtype=bool)
    fill = fill_value(ct)
    if ct.kind == "plain":
        if col.null_count:
            if ct.dtype.kind == "f":
                values = col.to_numpy(zero_copy_only=False).astype(ct.dtype)
                values[mask] = fill
                return values, mask
            col = pc.fill_null(col, pa.scalar(fill.item(), col.type))
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=ct.dtype), mask
    if ct.kind == "temporal":
        values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=ct.dtype)
        return values, mask
    if ct.kind in ("str", "bytes"):
        out = np.empty(n, dtype=ct.dtype)
        out[:] = [fill if v is None else v for v in col.to_pylist()]
        return out, mask
    if ct.kind == "fixed_bytes":
        return np.array([b"" if v is None else v for v in col.to_pylist()], dtype=ct.dtype), mask
    if ct.kind == "list":
        base = vlen_base(ct.dtype)
        lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy(zero_copy_only=False)
        flat_arrow = pc.list_flatten(col)
        inner_ct = ColumnType(np.dtype(base), "plain")
        flat, _ = to_numpy(flat_arrow, inner_ct)
        out = np.empty(n, dtype=ct.dtype)
        out[:] = np.split(flat, np.cumsum(lengths)[:-1]) if n else []
        return out, mask
    if ct.kind == "fixed_list":
        width = ct.inner[0]
        rows = col.to_numpy(zero_copy_only=False)
        out = np.full((n, width), fill_value(ColumnType(ct.dtype, "plain")), dtype=ct.dtype)
        for i, row in enumerate(rows):
            if row is not None:
                out[i] = row
        return out, mask
    raise AssertionError(ct.kind)


def from_numpy(values: np.ndarray[Any, Any], mask: np.ndarray[Any, Any] | None, path: str, name: str) -> Any:
    """An Arrow array holding a 1-D dataset (2-D -> fixed_size_list, vlen -> list or
    string), with ``mask`` True where the value is null. NotSupported otherwise."""
    import pyarrow as pa

    base = vlen_base(values.dtype)
    if values.ndim == 2 and base is None and values.dtype.kind in "biuf":
        flat = pa.array(values.reshape(-1))
        arr = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
        if mask is not None and mask.any():
            arr = pa.FixedSizeListArray.from_arrays(flat, values.shape[1], mask=pa.array(mask))
        return arr
    if values.ndim != 1:
        raise NotSupported(
            f"cannot write {name}: {path} has shape {values.shape}; columns are 1-D (or 2-D numeric)",
            name,
        )
    m = None if mask is None or not mask.any() else mask
    if base is str:
        return pa.array(list(values), type=pa.string(), mask=m)
    if base is bytes:
        return pa.array(list(values), type=pa.binary(), mask=m)
    if isinstance(base, np.dtype):
        return pa.array([np.asarray(v, dtype=base) for v in values], type=pa.list_(pa.from_numpy_dtype(base)), mask=m)
    if values.dtype.kind == "S":
        return pa.array(list(values), type=pa.binary(values.dtype.itemsize), mask=m)
    if values.dtype.kind in "biufmM" and not values.dtype.names:
        return pa.array(values, mask=m)
    raise NotSupported(f"cannot write {name}: {path} has dtype {values.dtype}, which has no column type", name)


#: Key-value metadata entry listing the attributes ``attrs_metadata`` stored as
#: JSON (``{"name": null}``) or with an exact typed copy (``{"name": {...}}``).
TYPED_KEY = "sciswift:attrs"


def metadata_attrs(meta: Mapping[bytes, bytes] | None) -> dict[str, Any]:
    """Arrow key-value metadata as attributes: UTF-8 text as str, other bytes kept;
    values ``attrs_metadata`` wrote with their type (listed under ``TYPED_KEY``)
    come back with it."""
    import json

    out: dict[str, Any] = {}
    for k, v in (meta or {}).items():
        key = k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)
        try:
            out[key] = v.decode("utf-8") if isinstance(v, bytes) else v
        except UnicodeDecodeError:
            out[key] = v
    typed_doc = out.pop(TYPED_KEY, None)
    if isinstance(typed_doc, str):
        from sciswift.h5.attrvalues import decode_attr

        try:
            typed = json.loads(typed_doc)
        except ValueError:
            return out
        for key, entry in (typed if isinstance(typed, dict) else {}).items():
            if isinstance(out.get(key), str):
                try:
                    out[key] = decode_attr(json.loads(out[key]), entry or None, f"attribute {key!r}")
                except (ValueError, TypeError, KeyError):
                    pass  # edited by another tool: keep its text
    return out


def attrs_metadata(attrs: Mapping[str, Any], where: str, name: str) -> dict[str, str | bytes]:
    """Attributes as Arrow key-value metadata: text and bytes as they are, any
    other value as its JSON rendition (what other readers see), listed under
    ``TYPED_KEY`` with its exact typed copy when JSON alone would change it (the
    native layout's encoding, docs/layout.md section 5), so it reads back with
    its type. NotSupported names an attribute the layout cannot hold either."""
    import json

    from sciswift.convert.sidecar import encode_value

    out: dict[str, str | bytes] = {}
    typed: dict[str, Any] = {}
    for k, v in attrs.items():
        if isinstance(v, np.str_ | np.bytes_):
            v = v.item()
        if isinstance(v, (str, bytes)):
            out[k] = v
            continue
        try:
            plain, entry = encode_value(v)
        except (TypeError, ValueError, OSError, NotSupported) as exc:
            raise NotSupported(f"cannot write {name}: attribute {k!r} of {where} cannot be stored: {exc}",
                               name) from None
        out[k] = json.dumps(plain, allow_nan=True)
        typed[k] = entry
    if typed:
        out[TYPED_KEY] = json.dumps(typed)
    return out
