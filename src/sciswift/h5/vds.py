"""Virtual datasets: a layout mapping selections of source datasets (in this or
other files) into one dataset.

The mapping is kept under the reserved key (``virtual``: a list of
``{"file", "path", "src": selection, "dst": selection}``) of an ordinary array that
holds the fill value; reads assemble the requested block from the sources at read
time, so later changes to the sources show through (as in HDF5).

A mapping whose slices stop at ``h5py.UNLIMITED`` (``layout[:UNLIMITED, 0] =
source[:UNLIMITED, 1]``) also keeps both keys (``src_key``/``dst_key``: per axis
``["i", index]`` or ``["s", start, stop, step]``, ``stop`` null for unlimited):
it follows the source's current extent, and the virtual dataset's extent along
that axis is the largest any such mapping reaches (HDF5's default view,
``H5D_VDS_LAST_AVAILABLE``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from sciswift.h5.backend import ArrayBackend
from sciswift.h5.selection import Selection, select

__all__ = ["VirtualSource", "VirtualLayout", "VirtualBuilder", "VDSmap", "create_virtual", "virtual_maps",
           "VirtualArray"]


def _shape_of(sel: Selection) -> tuple[int, ...]:
    return sel.mshape


def _is_unlimited(stop: Any) -> bool:
    from sciswift.h5.lowlevel import UNLIMITED

    return isinstance(stop, (int, np.integer)) and int(stop) == UNLIMITED


def _unlimited_key(key: Any, shape: tuple[int, ...]) -> list[list[Any]] | None:
    """The JSON form of ``key`` if one of its slices stops at UNLIMITED, else None.
    Other axes are resolved against ``shape`` now; the unlimited one at each read."""
    parts = key if isinstance(key, tuple) else (key,)
    if not any(isinstance(p, slice) and _is_unlimited(p.stop) for p in parts):
        return None
    if Ellipsis in parts:
        at = parts.index(Ellipsis)
        parts = parts[:at] + (slice(None),) * (len(shape) - len(parts) + 1) + parts[at + 1:]
    parts = parts + (slice(None),) * (len(shape) - len(parts))
    if len(parts) != len(shape):
        raise ValueError(f"a selection of {len(parts)} axes for a dataspace of rank {len(shape)}")
    out: list[list[Any]] = []
    unlimited = 0
    for p, n in zip(parts, shape):
        if isinstance(p, (int, np.integer)):
            out.append(["i", int(p)])
        elif isinstance(p, slice) and _is_unlimited(p.stop):
            start, step = int(p.start or 0), int(p.step or 1)
            if start < 0 or step < 1:
                raise ValueError("an unlimited selection needs a start >= 0 and a positive step")
            out.append(["s", start, None, step])
            unlimited += 1
        elif isinstance(p, slice):
            out.append(["s", *p.indices(n)])
        else:
            raise TypeError("unlimited virtual dataset selections take integers and slices only")
    if unlimited != 1:
        raise ValueError("an unlimited virtual dataset selection has exactly one unlimited axis")
    return out


def _unlimited_axis(key: list[list[Any]]) -> int:
    return next(i for i, part in enumerate(key) if part[0] == "s" and part[2] is None)


def _resolve(key: list[list[Any]], count: int) -> tuple[Any, ...]:
    """The concrete index of ``key`` with ``count`` elements on its unlimited axis."""
    out: list[Any] = []
    for part in key:
        if part[0] == "i":
            out.append(part[1])
        elif part[2] is None:
            start, step = part[1], part[3]
            out.append(slice(start, start + step * (count - 1) + 1, step) if count else slice(start, start))
        else:
            out.append(slice(*part[1:]))
    return tuple(out)


def _unlimited_count(src_key: list[list[Any]], src_shape: tuple[int, ...]) -> int:
    axis = _unlimited_axis(src_key)
    _, start, _, step = src_key[axis]
    return len(range(start, src_shape[axis], step))


class VirtualSource:
    """A source dataset (by file name and path, or an open Dataset) and a selection
    of it."""

    def __init__(self, path_or_dataset: Any, name: str | None = None, shape: Any = None, dtype: Any = None,
                 maxshape: Any = None) -> None:
        from sciswift.h5.dataset import Dataset

        if isinstance(path_or_dataset, Dataset):
            if any(x is not None for x in (name, shape, dtype, maxshape)):
                raise TypeError("If a Dataset is passed as the first argument then no other arguments may be passed.")
            ds = path_or_dataset
            self.path = ds.file.filename
            self.name = ds.name
            self.dtype = ds.dtype
            self.maxshape = ds.maxshape
            shape = ds.shape
        else:
            self.path = str(path_or_dataset)
            if name is None:
                raise TypeError("The name parameter is required when specifying a source by path")
            if shape is None:
                raise TypeError("The shape parameter is required when specifying a source by path")
            self.name = name
            self.dtype = np.dtype(dtype if dtype is not None else "f4")
            self.maxshape = (int(maxshape),) if isinstance(maxshape, (int, np.integer)) else maxshape
        self._full_shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
        self.sel = select((), self._full_shape)
        self.unlimited_key: list[list[Any]] | None = None
        self._sliced = False

    @property
    def shape(self) -> tuple[int, ...]:
        return _shape_of(self.sel)

    def __getitem__(self, key: Any) -> VirtualSource:
        if self.sel.axes or self.sel.mask is not None and self._sliced:
            if getattr(self, "_sliced", False):
                raise RuntimeError("Cannot slice a VirtualSource that has already been sliced")
        out = VirtualSource.__new__(VirtualSource)
        out.__dict__.update(self.__dict__)
        out.sel = select(key, self._full_shape)
        out.unlimited_key = _unlimited_key(key, self._full_shape)
        out._sliced = True
        return out


class VirtualLayout:
    """The target of a virtual dataset: ``layout[sel] = source``."""

    def __init__(self, shape: Any, dtype: Any, maxshape: Any = None, filename: str | None = None) -> None:
        self.shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
        self.dtype = np.dtype(dtype)
        self.maxshape = maxshape
        self._filename = filename
        self.sources: list[tuple[Selection, VirtualSource]] = []
        #: The UNLIMITED keys of ``sources``' entries (None where there is none).
        self.unlimited_keys: list[list[list[Any]] | None] = []

    def __setitem__(self, key: Any, source: VirtualSource) -> None:
        sel = select(key, self.shape)
        dst_key = _unlimited_key(key, self.shape)
        if (dst_key is None) != (source.unlimited_key is None):
            raise ValueError("a virtual dataset mapping is unlimited on both sides or on neither")
        self.unlimited_keys.append(dst_key)
        if dst_key is not None:
            self.sources.append((sel, source))
            return
        if math.prod(sel.mshape) != math.prod(source.shape):
            raise ValueError(
                f"Can't map source selection of shape {source.shape} to layout selection of shape "
                f"{sel.mshape}: different number of elements"
            )
        self.sources.append((sel, source))


def _selection_of(space: Any) -> tuple[Selection, list[list[Any]] | None]:
    """The selection of an h5py dataspace (``h5py.h5s.SpaceID``) as ours: all,
    none, regular hyperslabs as MultiBlockSlices, other hyperslabs and point lists
    (in row-major order, HDF5's order for mapping) as masks; and the unlimited key
    of a regular hyperslab with an unlimited count (blocks of one element)."""
    from h5py import h5s  # the space came from h5py

    from sciswift.h5.selection import MultiBlockSlice

    shape = tuple(int(n) for n in space.shape)
    kind = space.get_select_type()
    if kind == h5s.SEL_ALL:
        return select((), shape), None
    if kind == h5s.SEL_HYPERSLABS and space.is_regular_hyperslab():
        start, stride, count, block = space.get_regular_hyperslab()
        index: list[Any] = []
        for st, sd, c, b in zip(start, stride, count, block):
            if c == h5s.UNLIMITED:
                if b != 1:
                    raise NotImplementedError("unlimited virtual dataset mappings of blocks are not supported")
                index.append(slice(st, h5s.UNLIMITED, sd))
            elif c == 1:  # one block: the stride is meaningless
                index.append(slice(st, st + b))
            elif b == 1:
                index.append(slice(st, st + sd * (c - 1) + 1, sd))
            else:
                index.append(MultiBlockSlice(st, c, sd, b))
        if sum(isinstance(x, MultiBlockSlice) for x in index) <= 1:  # our select takes one at most
            return select(tuple(index), shape), _unlimited_key(tuple(index), shape)
    mask = np.zeros(shape, dtype=bool)
    if kind == h5s.SEL_HYPERSLABS:
        for lo, hi in space.get_select_hyper_blocklist():
            mask[tuple(slice(int(a), int(b) + 1) for a, b in zip(lo, hi))] = True
    elif kind == h5s.SEL_POINTS:
        points = np.asarray(space.get_select_elem_pointlist(), dtype=np.intp).reshape(-1, len(shape))
        flat = np.ravel_multi_index(tuple(points.T), shape) if points.size else points.reshape(0)
        if np.any(np.diff(flat) <= 0):
            raise NotImplementedError("virtual dataset mappings of points out of row-major order are not supported")
        mask[tuple(points.T)] = True
    return select((mask,), shape), None


def _from_h5py(layout: Any, dest_filename: str) -> VirtualLayout:
    """Our layout for a real ``h5py.VirtualLayout`` (what a program running under the
    router builds with ``h5py.VirtualLayout``/``VirtualSource``): its mappings are
    read back from the dataset creation property list h5py filled."""
    out = VirtualLayout(layout.shape, layout.dtype, layout.maxshape, layout._filename)
    dcpl = layout.dcpl
    for i in range(dcpl.get_virtual_count()):
        src_space = dcpl.get_virtual_srcspace(i)
        filename = dcpl.get_virtual_filename(i)
        source = VirtualSource(dest_filename if filename == "." else filename, dcpl.get_virtual_dsetname(i),
                               shape=tuple(src_space.shape), dtype=layout.dtype)
        source.sel, source.unlimited_key = _selection_of(src_space)
        source._sliced = True
        dst_sel, dst_key = _selection_of(dcpl.get_virtual_vspace(i))
        out.sources.append((dst_sel, source))
        out.unlimited_keys.append(dst_key)
    return out


def create_virtual(group: Any, name: Any, layout: Any, fillvalue: Any = None) -> Any:
    """Create the virtual dataset ``name`` in ``group`` from ``layout`` (ours, or a
    real h5py ``VirtualLayout``)."""
    if not isinstance(layout, VirtualLayout):
        if not hasattr(layout, "dcpl"):
            raise TypeError(f"a VirtualLayout is needed, not {type(layout).__name__}")
        layout = _from_h5py(layout, group.file.filename)
    mappings = []
    for (sel, src), dst_key in zip(layout.sources, layout.unlimited_keys):
        mapping = {"file": src.path, "path": src.name, "src": src.sel.to_json(), "src_shape": list(src._full_shape),
                   "dst": sel.to_json()}
        if dst_key is not None:
            mapping.update(src_key=src.unlimited_key, dst_key=dst_key)
        mappings.append(mapping)
    kwds: dict[str, Any] = {}
    if layout.maxshape is not None:
        kwds["maxshape"] = layout.maxshape
    dset = group.create_dataset(name, shape=layout.shape, dtype=layout.dtype, fillvalue=fillvalue, **kwds)
    dset._arr.update_reserved(virtual=mappings)
    dset._a = VirtualArray(dset._a)
    dset._a.own_filename = group.file.filename
    return dset


class VDSmap(NamedTuple):
    """One mapping of a virtual dataset, as h5py's ``Dataset.virtual_sources()``
    lists them. The spaces are ``sciswift.h5.lowlevel.SpaceID`` stand-ins: extents
    only (the selections stay in the dataset's stored mapping)."""

    vspace: Any
    file_name: str
    dset_name: str
    src_space: Any


def virtual_maps(array: ArrayBackend, shape: tuple[int, ...], own_filename: str) -> list[VDSmap]:
    """The mappings stored with a virtual dataset of ``shape`` in the file
    ``own_filename``; sources in that same file are named ``"."``, as HDF5 does."""
    from sciswift.h5.lowlevel import SpaceID

    return [VDSmap(SpaceID(shape), "." if m["file"] == own_filename else m["file"], m["path"],
                   SpaceID(tuple(m["src_shape"])))
            for m in array.reserved.get("virtual") or []]


class VirtualBuilder:
    """``with group.build_virtual_dataset(...) as layout:`` creates it at exit."""

    def __init__(self, group: Any, name: Any, shape: Any, dtype: Any, maxshape: Any, fillvalue: Any) -> None:
        self.group = group
        self.name = name
        self.fillvalue = fillvalue
        self.layout = VirtualLayout(shape, dtype, maxshape)

    def __enter__(self) -> VirtualLayout:
        return self.layout

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            create_virtual(self.group, self.name, self.layout, self.fillvalue)


class VirtualArray(ArrayBackend):
    """Reads of a virtual dataset: the stored array (fill value) overlaid with the
    mapped source selections, assembled at read time."""

    def __init__(self, inner: ArrayBackend) -> None:
        self._inner = inner
        self.dtype = inner.dtype
        #: The virtual dataset's own file name, against which relative source
        #: file names resolve (as HDF5 looks next to the virtual dataset's file);
        #: set by the Dataset that reads through this array.
        self.own_filename: str | None = None

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        shape = list(self._inner.shape)
        reached: dict[int, int] = {}
        for m in self._inner.reserved.get("virtual") or []:
            if "dst_key" not in m:
                continue
            src = self._source(m)
            count = 0 if src is None else _unlimited_count(m["src_key"], src.shape)
            axis = _unlimited_axis(m["dst_key"])
            # An empty source reaches nothing, not its start (as HDF5 counts it).
            stop = _resolve(m["dst_key"], count)[axis].stop if count else 0
            reached[axis] = max(reached.get(axis, 0), stop)
        for axis, extent in reached.items():
            shape[axis] = extent
        return tuple(shape)

    def _source(self, m: dict[str, Any]) -> Any:
        from sciswift.h5.files import File, external_target

        name = m["file"] if self.own_filename is None else external_target(self.own_filename, m["file"])
        try:
            # A file already open in this process (this one included) is shared.
            return File(name, "r")[m["path"]]
        except (OSError, KeyError):
            return None

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return None

    @property
    def maxshape(self) -> tuple[int | None, ...]:
        return self._inner.maxshape

    @property
    def fillvalue(self) -> Any:
        return self._inner.fillvalue

    @property
    def reserved(self) -> dict[str, Any]:
        return self._inner.reserved

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        shape = self.shape
        stored = self._inner.shape
        # Unlimited mappings can reach beyond the stored (fill value) array.
        full = np.full(shape, self._inner.fillvalue, dtype=self._inner.dtype)
        common = tuple(slice(0, min(a, b), 1) for a, b in zip(shape, stored))
        full[common] = self._inner.read(common)
        for m in self._inner.reserved.get("virtual") or []:
            src = self._source(m)
            if src is None:
                continue
            if "dst_key" in m:
                count = _unlimited_count(m["src_key"], src.shape)
                src_sel = select(_resolve(m["src_key"], count), src.shape)
                dst_sel = select(_resolve(m["dst_key"], count), shape)
            else:
                src_sel = Selection.from_json(m["src"], tuple(m["src_shape"]))
                dst_sel = Selection.from_json(m["dst"], shape)
            values = src_sel.read(src._arr.read, src.dtype).reshape(dst_sel.mshape)
            dst_sel.write(lambda sl, v: full.__setitem__(sl, v), lambda sl: full[sl], values)
        return full[selection]
