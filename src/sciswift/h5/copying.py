"""``Group.copy``: objects copied within a file or to another file, through the
public API (so any backend can be the source and any writable one the target).

With ``expand_refs``, objects that copied attributes or datasets reference are
copied too and the references rewritten to the copies: objects inside the copied
tree map to their copies, others are copied into the hidden group
``.sciswift-referenced`` of the destination file (docs/layout.md).
"""

from __future__ import annotations

import math
import posixpath
import uuid
from typing import Any

import numpy as np

from sciswift.h5.backend import EXTERNAL, HARD, SOFT
from sciswift.h5.base import REFERENCED, HLObject
from sciswift.h5.dtypes import check_ref_dtype
from sciswift.h5.links import Empty, ExternalLink, SoftLink
from sciswift.h5.refs import Reference, RegionReference

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
    if dest_group.get(dest_name, getlink=True) is not None:
        # HDF5's H5Ocopy error, which h5py passes on as RuntimeError
        raise RuntimeError("Unable to synchronously copy object (destination object already exists)")
    copier = _Copier(shallow, expand_soft, expand_external, expand_refs, without_attrs)
    copier.copy(src, dest_group, dest_name, top=True)
    if expand_refs:
        copier.rewrite_references()
    copier.copy_dimensions()


class _Copier:
    def __init__(self, shallow: bool, expand_soft: bool, expand_external: bool, expand_refs: bool,
                 without_attrs: bool) -> None:
        self.shallow = shallow
        self.expand_soft = expand_soft
        self.expand_external = expand_external
        self.expand_refs = expand_refs
        self.without_attrs = without_attrs
        #: (source file key, source path) -> the copy.
        self.copies: dict[tuple[Any, str], Any] = {}
        #: (source object, its copy) for every object copied, for the reference pass.
        self.pairs: list[tuple[Any, Any]] = []

    def copy(self, src: Any, dest_group: Any, dest_name: str, top: bool) -> Any:
        from sciswift.h5.dataset import Dataset
        from sciswift.h5.datatype import Datatype
        from sciswift.h5.group import Group

        done = self.copies.get((src._h.key, src._path))
        if done is not None:
            # An object reached again (another hard link, an expanded soft link to
            # something copied too) is copied once and linked, as H5Ocopy does.
            dest_group[dest_name] = done
            return done
        if isinstance(src, Dataset):
            dst = _copy_dataset(src, dest_group, dest_name)
        elif isinstance(src, Datatype):
            dest_group[dest_name] = src.dtype
            dst = dest_group[dest_name]
        else:
            # As the source is (HDF5 copies the creation properties), whatever the config says.
            dst = dest_group.create_group(dest_name, track_order=bool(src._backend.track_order(src._path)))
        self.copies[(src._h.key, src._path)] = dst  # before the members: a link back up ends here
        if isinstance(dst, Group) and (top or not self.shallow):
            self._copy_members(src, dst)
        if not self.without_attrs:
            derived = _derived_attrs(src)
            for key in src.attrs:
                if key not in derived:
                    dst.attrs.create(key, src.attrs[key])
        self.pairs.append((src, dst))
        return dst

    def _copy_members(self, src: Any, dst: Any) -> None:
        backend = src._backend
        for member in src:
            path = f"{src._path}/{member}" if src._path else member
            entry = backend.lookup(path)
            if entry is None:
                continue
            if entry.kind == SOFT and not self.expand_soft:
                dst[member] = SoftLink(entry.target)
                continue
            if entry.kind == EXTERNAL and not self.expand_external:
                dst[member] = ExternalLink(entry.filename, entry.target)
                continue
            try:
                obj = src[member]
            except KeyError:
                if entry.kind in (SOFT, EXTERNAL, HARD):
                    continue  # a dangling link has nothing to copy
                raise
            self.copy(obj, dst, member, top=False)

    # ---------------------------------------------------- dimension scales
    def copy_dimensions(self) -> None:
        """Scales, labels and attachments of the copied datasets: a scale stays a
        scale; an axis is attached to the copy of its scale if the scale was
        copied too, else to the scale itself when it is in the same file."""
        from sciswift.h5 import dims
        from sciswift.h5.dataset import Dataset

        for src, dst in self.pairs:
            if not isinstance(src, Dataset) or not isinstance(dst, Dataset) or src._arr.empty:
                continue
            if dims.is_scale(src):
                dims.make_scale(dst, dims.scale_name(src))
            for axis in range(len(src._arr.shape)):
                label = src.dims[axis].label
                if label:
                    dst.dims[axis].label = label
                for scale in dims.scales_of(src, axis):
                    target = self.copies.get((scale._h.key, scale._path))
                    if target is None and scale._h.key == dst._h.key:
                        target = scale
                    if target is not None:
                        dims.attach_scale(dst, target, axis)

    # ----------------------------------------------------------- references
    def rewrite_references(self) -> None:
        for src, dst in list(self.pairs):
            for key in list(dst.attrs):
                value = dst.attrs[key]
                fixed = self._map_refs(src, value)
                if fixed is not value:
                    dst.attrs.create(key, fixed)
            if hasattr(dst, "dtype") and check_ref_dtype(dst.dtype) is not None and dst.shape:
                values = dst[()]
                fixed = self._map_refs(src, values)
                if fixed is not values:
                    dst[()] = fixed

    def _map_refs(self, src: Any, value: Any) -> Any:
        if isinstance(value, Reference):
            return self._target_copy(src, value)
        if isinstance(value, np.ndarray) and check_ref_dtype(value.dtype) is not None:
            from sciswift.h5.convert import map_elements

            return map_elements(value, value.dtype, lambda r: self._target_copy(src, r))
        return value

    def _target_copy(self, src: Any, ref: Reference) -> Reference:
        if not ref:
            return ref
        try:
            target = src.file[ref]
        except KeyError:
            return ref  # dangling already; nothing to copy
        hit = self.copies.get((target._h.key, target._path))
        if hit is None:
            dst_file = self.pairs[0][1].file
            holder = dst_file.require_group(REFERENCED)
            hit = self.copy(target, holder, uuid.uuid4().hex, top=True)
        if isinstance(ref, RegionReference):
            return RegionReference("/" + hit._path, ref.selection)
        return Reference("/" + hit._path)


def _derived_attrs(src: Any) -> frozenset[str]:
    """The dimension-scale attributes ``src`` shows from its bookkeeping
    (``scaleattrs``): not copied as attributes, ``copy_dimensions`` redoes them."""
    from sciswift.h5 import scaleattrs
    from sciswift.h5.dataset import Dataset

    if not isinstance(src, Dataset):
        return frozenset()
    res = src._arr.reserved
    return frozenset(scaleattrs.present(res, scaleattrs.labels_of(res, src._arr.dimension_names)))


def _copy_dataset(src: Any, dest_group: Any, dest_name: str) -> Any:
    a = src._arr
    if a.empty:
        return dest_group.create_dataset(dest_name, data=Empty(a.dtype),
                                         track_order=bool(src._backend.track_order(src._path)))
    kwds: dict[str, Any] = {"track_order": bool(src._backend.track_order(src._path))}
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
