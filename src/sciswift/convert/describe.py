"""Words for what is in a file: dtypes, shapes, storage settings, values, and a walk
over the tree that says what each name is. ``sciswift ls``/``dump`` print these,
and conversion messages use them to name what does not fit.

Works on both h5py and sciswift.h5py objects (through ``apis.Api``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sciswift.convert.apis import Api, field_of, meta_of
from sciswift.errors import SciSwiftError

__all__ = ["dtype_text", "shape_text", "storage_text", "value_text", "Item", "walk", "corner"]

_NATIVE_ORDER = "<" if sys.byteorder == "little" else ">"


def dtype_text(dt: np.dtype[Any]) -> str:
    """A short readable name for an HDF5-style dtype: ``float32``,
    ``int16 (big-endian)``, ``string[5] (ascii)``, ``string (vlen, utf-8)``,
    ``vlen<float64>``, ``enum<int16> {RED=0, ...}``, ``compound {x: float64, ...}``,
    ``float32[2, 3]``, ``opaque[7]``, ``object reference``."""
    if dt.names is not None:
        inner = ", ".join(f"{n}: {dtype_text(field_of(dt, n)[0])}" for n in dt.names)
        return f"compound {{{inner}}}"
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        return f"{dtype_text(base)}[{', '.join(map(str, shape))}]"
    meta = meta_of(dt)
    ref = meta.get("ref")
    if ref is not None:
        return "region reference" if "Region" in ref.__name__ else "object reference"
    vlen = meta.get("vlen")
    if vlen is str:
        return "string (vlen, utf-8)"
    if vlen is bytes:
        return "string (vlen, ascii)"
    if vlen is not None:  # a dtype, or what h5py.vlen_dtype was given ("f8", np.int32)
        return f"vlen<{dtype_text(np.dtype(vlen))}>"
    if dt.kind == "S":
        return f"string[{dt.itemsize}] ({meta.get('h5py_encoding', 'ascii')})"
    if dt.kind == "V":
        return f"opaque[{dt.itemsize}]"
    if dt.kind == "O":
        return "object"
    if dt.kind == "T":
        return "string (vlen, utf-8)"
    enum = meta.get("enum")
    base = np.dtype(dt.str).newbyteorder("=") if dt.byteorder in "<>" else np.dtype(dt.str)
    name = base.name
    if dt.byteorder in "<>" and dt.byteorder != _NATIVE_ORDER and dt.itemsize > 1:
        name += " (big-endian)" if dt.byteorder == ">" else " (little-endian)"
    if enum is not None:
        members = ", ".join(f"{k}={v}" for k, v in sorted(enum.items(), key=lambda kv: kv[1]))
        return f"enum<{name}> {{{members}}}"
    return name


def shape_text(shape: tuple[int, ...] | None, maxshape: tuple[int | None, ...] | None = None) -> str:
    """``{4096, 4096}``, ``{10/Inf, 48}`` (h5ls's way of showing maxshape),
    ``scalar`` or ``null`` (no dataspace)."""
    if shape is None:
        return "null"
    if shape == ():
        return "scalar"
    parts = []
    for i, n in enumerate(shape):
        m = maxshape[i] if maxshape is not None and i < len(maxshape) else n
        parts.append(str(n) if m == n else f"{n}/{'Inf' if m is None else m}")
    return "{" + ", ".join(parts) + "}"


def storage_text(ds: Any, api: Api) -> str:
    """Layout, chunk shape, filters and fill value, in one line."""
    layout = api.layout(ds)
    parts = [f"chunks {tuple(ds.chunks)}" if ds.chunks is not None else layout]
    if layout not in ("chunked", "contiguous"):
        parts[0] = layout
    if ds.chunks is not None:
        spec = api.filters(ds)
        filters = []
        if spec.scaleoffset is not None:
            filters.append(f"scaleoffset({spec.scaleoffset})")
        if spec.shuffle:
            filters.append("shuffle")
        if spec.compression:
            opts = spec.compression_opts
            filters.append(f"{spec.compression}({opts})" if opts is not None else spec.compression)
        if spec.fletcher32:
            filters.append("fletcher32")
        filters.extend(spec.others)
        if filters:
            parts.append(" + ".join(filters))
    if ds.shape is not None and not ds.dtype.hasobject:
        try:
            fill = ds.fillvalue
        except (OSError, ValueError, TypeError, RuntimeError):
            # RuntimeError: h5py's "fill value is undefined" (a dataset HDF5 was
            # told not to define one for, as PyTables writes some).
            fill = None
        if fill is not None and np.asarray(fill).tobytes().strip(b"\x00"):
            parts.append(f"fill {value_text(fill, ds.dtype)}")
    return ", ".join(parts)


RefNamer = Callable[[Any], str]


def _is_ref(v: Any) -> bool:
    return type(v).__name__ in ("Reference", "RegionReference")


def _elem_text(v: Any, name_ref: RefNamer | None) -> str:
    if isinstance(v, bytes):
        return repr(v.decode("utf-8", "backslashreplace"))
    if isinstance(v, str):
        return repr(v)
    if _is_ref(v):
        if not v:
            return "<null reference>"
        kind = "region" if type(v).__name__ == "RegionReference" else "object"
        target = name_ref(v) if name_ref is not None else ""
        return f"<{kind} reference to {target}>" if target else f"<{kind} reference>"
    if isinstance(v, np.void) and v.dtype.names is not None:
        return "(" + ", ".join(_elem_text(v[n], name_ref) for n in v.dtype.names) + ")"
    if isinstance(v, np.ndarray):
        return value_text(v, name_ref=name_ref, threshold=20)
    if isinstance(v, np.generic):
        return repr(v.item()) if v.dtype.kind != "V" else str(v.tobytes())
    return repr(v)


def value_text(value: Any, dtype: np.dtype[Any] | None = None, *, threshold: int = 1000, width: int = 100,
               name_ref: RefNamer | None = None) -> str:
    """A value as text: numpy's layout for arrays (summarised with "..." above
    ``threshold`` elements), strings decoded, references named by ``name_ref``
    (object -> path), compound elements as tuples."""
    if value is None:
        return "(none)"
    if type(value).__name__ == "Empty":
        return "(empty: no dataspace)"
    if not isinstance(value, np.ndarray):
        return _elem_text(value, name_ref)
    if value.dtype.kind in "OSV" or value.dtype.names is not None:
        # numpy would print reprs (b'..', <HDF5 object reference>): format each
        # element ourselves, then let numpy lay the strings out.
        shown = value
        if value.size > threshold:
            shown = value[corner(value.shape, threshold)]
        texts = np.empty(shown.shape, dtype=object)
        flat_in, flat_out = shown.reshape(-1), texts.reshape(-1)
        for i in range(flat_in.size):
            flat_out[i] = _elem_text(flat_in[i], name_ref)
        out = np.array2string(texts, separator=", ", threshold=threshold, max_line_width=width,
                              formatter={"all": str})
        return out if shown is value else out + " ..."
    return np.array2string(value, separator=", ", threshold=threshold, max_line_width=width)


def corner(shape: tuple[int, ...], limit: int) -> tuple[slice, ...]:
    """The leading block of an array of ``shape`` holding at most about ``limit``
    elements (what ``dump`` shows of a large dataset without reading it all)."""
    if not shape:
        return ()
    block = [1] * len(shape)
    # Fill the last dimension first (one row), then whole rows of earlier ones.
    budget = max(1, limit)
    for d in range(len(shape) - 1, -1, -1):
        take = min(shape[d], max(1, budget // max(1, math.prod(block[d + 1:]))))
        block[d] = take
        if take < shape[d]:
            break
    return tuple(slice(0, b) for b in block)


@dataclass
class Item:
    """One name met by ``walk``. ``kind``: group, dataset, datatype, soft,
    external, or hard (a further name of an object already met at ``target``);
    ``obj`` is the opened object (None for links)."""

    path: str
    name: str
    depth: int
    kind: str
    obj: Any = None
    target: str = ""
    filename: str = ""


#: What opening one member can raise without the rest of the listing being
#: unreadable: h5py's errors, and sciswift's own for a member a format plugin
#: cannot present (NotSupported: a pickled ``.npz`` member, an HDF5 type with no
#: NumPy equivalent) or finds damaged (CorruptData).
_UNREADABLE = (KeyError, OSError, ValueError, SciSwiftError)


def walk(group: Any, api: Api, *, recursive: bool = True, base: str | None = None) -> Iterator[Item]:
    """Every member under ``group`` in member order, parents before children; each
    object once (further names of it come as ``hard`` items), links not followed.
    A member that cannot be opened is an ``unreadable`` item saying why; the rest
    are still listed."""
    seen: dict[Any, str] = {group: group.name or "/"}
    yield from _walk(group, api, recursive, base if base is not None else (group.name or "/"), 0, seen)


def _walk(group: Any, api: Api, recursive: bool, prefix: str, depth: int, seen: dict[Any, str]) -> Iterator[Item]:
    for name in group:
        path = prefix.rstrip("/") + "/" + name
        try:
            link = group.get(name, getlink=True)
        except _UNREADABLE as exc:
            yield Item(path, name, depth, "unreadable", target=str(exc))
            continue
        if api.is_soft(link):
            yield Item(path, name, depth, "soft", target=link.path)
            continue
        if api.is_external(link):
            yield Item(path, name, depth, "external", target=link.path, filename=link.filename)
            continue
        try:
            obj = group[name]
        except _UNREADABLE as exc:
            yield Item(path, name, depth, "unreadable", target=str(exc))
            continue
        if obj in seen:
            yield Item(path, name, depth, "hard", obj, target=seen[obj])
            continue
        seen[obj] = path
        if api.is_group(obj):
            yield Item(path, name, depth, "group", obj)
            if recursive:
                yield from _walk(obj, api, recursive, path, depth + 1, seen)
        elif api.is_dataset(obj):
            try:
                obj.dtype  # noqa: B018 - h5py makes it when asked, and raises then
            except (TypeError, ValueError, SciSwiftError) as exc:
                # An HDF5 type with no NumPy equivalent (H5T_TIME, 128-bit floats):
                # h5py opens the dataset but cannot say its dtype.
                yield Item(path, name, depth, "unreadable", target=f"its datatype has no NumPy equivalent ({exc})")
                continue
            yield Item(path, name, depth, "dataset", obj)
        else:
            yield Item(path, name, depth, "datatype", obj)
