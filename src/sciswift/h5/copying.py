"""``Group.copy``: objects copied within a file or to another file, through the
public API (so any backend can be the source and any writable one the target)."""

from __future__ import annotations

import math
import posixpath
from typing import Any

from sciswift.h5.backend import EXTERNAL, HARD, SOFT
from sciswift.h5.base import HLObject
from sciswift.h5.links import Empty, ExternalLink, SoftLink

__all__ = ["copy_object"]

#: Datasets are copied in blocks of about this many bytes.
_BLOCK_BYTES = 32 << 20


def copy_object(group: Any, source: Any, dest: Any, name: Any, *, shallow: bool = False, expand_soft: bool = False,
                expand_external: bool = False, expand_refs: bool = False, without_attrs: bool = False) -> None:
    from sciswift.h5.group import Group

    src = source if isinstance(source, HLObject) else group[source]
    if isinstance(dest, Group):
        if name is not None:
            dest_name = name
        else:
            base = src.name or ""
            dest_name = posixpath.basename(base.rstrip("/")) or posixpath.basename(str(source).rstrip("/"))
            if not dest_name:
                raise ValueError("Unable to copy the root group without a destination name")
        dest_group = dest
    elif isinstance(dest, HLObject):
        raise TypeError("Destination must be path or Group object")
    else:
        dest_group = group
        dest_name = dest
    opts = {"shallow": shallow, "expand_soft": expand_soft, "expand_external": expand_external,
            "without_attrs": without_attrs}
    _copy(src, dest_group, dest_name, opts, top=True)


def _copy_attrs(src: Any, dst: Any) -> None:
    for key in src.attrs:
        dst.attrs.create(key, src.attrs[key])


def _copy(src: Any, dest_group: Any, dest_name: str, opts: dict[str, Any], top: bool) -> None:
    from sciswift.h5.dataset import Dataset
    from sciswift.h5.datatype import Datatype

    if isinstance(src, Dataset):
        dst = _copy_dataset(src, dest_group, dest_name)
    elif isinstance(src, Datatype):
        dest_group[dest_name] = src.dtype
        dst = dest_group[dest_name]
    else:
        dst = dest_group.create_group(dest_name, track_order=src._backend.track_order(src._path) or None)
        if top or not opts["shallow"]:
            _copy_members(src, dst, opts)
    if not opts["without_attrs"]:
        _copy_attrs(src, dst)


def _copy_members(src: Any, dst: Any, opts: dict[str, Any]) -> None:
    backend = src._backend
    for member in src:
        path = f"{src._path}/{member}" if src._path else member
        entry = backend.lookup(path)
        if entry is None:
            continue
        if entry.kind == SOFT and not opts["expand_soft"]:
            dst[member] = SoftLink(entry.target)
            continue
        if entry.kind == EXTERNAL and not opts["expand_external"]:
            dst[member] = ExternalLink(entry.filename, entry.target)
            continue
        if entry.kind in (SOFT, EXTERNAL, HARD):
            try:
                obj = src[member]
            except KeyError:
                continue  # a dangling link has nothing to copy
        else:
            obj = src[member]
        _copy(obj, dst, member, opts, top=False)


def _copy_dataset(src: Any, dest_group: Any, dest_name: str) -> Any:
    a = src._arr
    if a.empty:
        return dest_group.create_dataset(dest_name, data=Empty(a.dtype))
    kwds: dict[str, Any] = {}
    if src.chunks is not None:
        kwds["chunks"] = src.chunks
        if src.maxshape != src.shape:
            kwds["maxshape"] = src.maxshape
    for key in ("compression", "compression_opts", "scaleoffset"):
        value = getattr(src, key)
        if value is not None:
            kwds[key] = value
    if src.shuffle:
        kwds["shuffle"] = True
    if src.fletcher32:
        kwds["fletcher32"] = True
    fill = a.fillvalue
    dst = dest_group.create_dataset(dest_name, shape=src.shape, dtype=src.dtype, fillvalue=fill, **kwds)
    shape = src.shape
    if not shape:
        dst[()] = a.read(())
        return dst
    if math.prod(shape) == 0:
        return dst
    row_bytes = max(1, math.prod(shape[1:]) * max(1, src.dtype.itemsize))
    step = max(1, _BLOCK_BYTES // row_bytes)
    if src.chunks is not None:
        step = max(src.chunks[0], step // src.chunks[0] * src.chunks[0])
    for start in range(0, shape[0], step):
        sel = (slice(start, min(shape[0], start + step), 1),) + tuple(slice(0, n, 1) for n in shape[1:])
        dst._arr.write(sel, a.read(sel))
    return dst
