"""Virtual datasets: a layout mapping selections of source datasets (in this or
other files) into one dataset.

The mapping is kept under the reserved key (``virtual``: a list of
``{"file", "path", "src": selection, "dst": selection}``) of an ordinary array that
holds the fill value; reads assemble the requested block from the sources at read
time, so later changes to the sources show through (as in HDF5).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sciswift.h5.backend import ArrayBackend
from sciswift.h5.selection import Selection, select

__all__ = ["VirtualSource", "VirtualLayout", "VirtualBuilder", "create_virtual", "VirtualArray"]


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


def create_virtual(group: Any, name: Any, layout: VirtualLayout, fillvalue: Any = None) -> Any:
    """Create the virtual dataset ``name`` in ``group`` from ``layout``."""
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
