"""Virtual datasets: a layout mapping selections of source datasets (in this or
other files) into one dataset.

The mapping is kept under the reserved key (``virtual``: a list of
``{"file", "path", "src": selection, "dst": selection}``) of an ordinary array that
holds the fill value; reads assemble the requested block from the sources at read
time, so later changes to the sources show through (as in HDF5).
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

    def __setitem__(self, key: Any, source: VirtualSource) -> None:
        sel = select(key, self.shape)
        if math.prod(sel.mshape) != math.prod(source.shape):
            raise ValueError(
                f"Can't map source selection of shape {source.shape} to layout selection of shape "
                f"{sel.mshape}: different number of elements"
            )
        self.sources.append((sel, source))


def _selection_of(space: Any) -> Selection:
    """The selection of an h5py dataspace (``h5py.h5s.SpaceID``) as ours: all,
    none, regular hyperslabs as MultiBlockSlices, other hyperslabs and point lists
    (in row-major order, HDF5's order for mapping) as masks."""
    from h5py import h5s  # the space came from h5py

    from sciswift.h5.selection import MultiBlockSlice

    shape = tuple(int(n) for n in space.shape)
    kind = space.get_select_type()
    if kind == h5s.SEL_ALL:
        return select((), shape)
    if kind == h5s.SEL_HYPERSLABS and space.is_regular_hyperslab():
        start, stride, count, block = space.get_regular_hyperslab()
        if any(c == h5s.UNLIMITED for c in count):
            raise NotImplementedError("virtual dataset mappings with unlimited selections are not supported")
        index: list[Any] = []
        for st, sd, c, b in zip(start, stride, count, block):
            if c == 1:  # one block: the stride is meaningless
                index.append(slice(st, st + b))
            elif b == 1:
                index.append(slice(st, st + sd * (c - 1) + 1, sd))
            else:
                index.append(MultiBlockSlice(st, c, sd, b))
        if sum(isinstance(x, MultiBlockSlice) for x in index) <= 1:  # our select takes one at most
            return select(tuple(index), shape)
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
    return select((mask,), shape)


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
        source.sel = _selection_of(src_space)
        source._sliced = True
        out.sources.append((_selection_of(dcpl.get_virtual_vspace(i)), source))
    return out


def create_virtual(group: Any, name: Any, layout: Any, fillvalue: Any = None) -> Any:
    """Create the virtual dataset ``name`` in ``group`` from ``layout`` (ours, or a
    real h5py ``VirtualLayout``)."""
    if not isinstance(layout, VirtualLayout):
        if not hasattr(layout, "dcpl"):
            raise TypeError(f"a VirtualLayout is needed, not {type(layout).__name__}")
        layout = _from_h5py(layout, group.file.filename)
    mappings = [
        {"file": src.path, "path": src.name, "src": src.sel.to_json(), "src_shape": list(src._full_shape),
         "dst": sel.to_json()}
        for sel, src in layout.sources
    ]
    kwds: dict[str, Any] = {}
    if layout.maxshape is not None:
        kwds["maxshape"] = layout.maxshape
    dset = group.create_dataset(name, shape=layout.shape, dtype=layout.dtype, fillvalue=fillvalue, **kwds)
    dset._arr.update_reserved(virtual=mappings)
    dset._a = VirtualArray(dset._a)
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

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return self._inner.shape

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
        from sciswift.h5.files import File

        full = self._inner.read(tuple(slice(0, n, 1) for n in self.shape))
        full = np.array(full, copy=True)
        for m in self._inner.reserved.get("virtual") or []:
            try:
                # A file already open in this process (this one included) is shared.
                src = File(m["file"], "r")[m["path"]]
            except (OSError, KeyError):
                continue
            src_sel = Selection.from_json(m["src"], tuple(m["src_shape"]))
            dst_sel = Selection.from_json(m["dst"], self.shape)
            values = src_sel.read(src._arr.read, src.dtype).reshape(dst_sel.mshape)
            dst_sel.write(lambda sl, v: full.__setitem__(sl, v), lambda sl: full[sl], values)
        return full[selection]
