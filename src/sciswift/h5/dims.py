"""Dimension scales and labels (``dset.dims``).

Labels are the Zarr ``dimension_names`` of the array, so xarray and other Zarr
readers see them. Which scales are attached to which axis is kept under the
reserved key: ``dims`` on the dataset (one list of scale paths per axis) and
``scale`` (the scale's name) on each scale dataset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sciswift.h5.dataset import Dataset

__all__ = ["DimensionManager", "DimensionProxy", "make_scale"]


def make_scale(dset: Dataset, name: str = "") -> None:
    """Mark ``dset`` as a dimension scale called ``name``."""
    dset._check_writable(RuntimeError, "set a dimension scale")
    dset._arr.update_reserved(scale=name)


def _scale_lists(dset: Dataset) -> list[list[str]]:
    ndim = len(dset._arr.shape)
    lists = [list(x) for x in (dset._arr.reserved.get("dims") or [])]
    lists += [[] for _ in range(ndim - len(lists))]
    return lists


class DimensionProxy:
    """One axis of a dataset: its label and the scales attached to it."""

    def __init__(self, dset: Dataset, axis: int) -> None:
        self._dset = dset
        self._axis = axis

    @property
    def label(self) -> str:
        names = self._dset._arr.dimension_names
        return (names[self._axis] or "") if names else ""

    @label.setter
    def label(self, value: str) -> None:
        self._dset._check_writable()
        self._dset._arr.set_dimension_name(self._axis, value or None)

    def _scales(self) -> list[Dataset]:
        out = []
        for path in _scale_lists(self._dset)[self._axis]:
            try:
                out.append(self._dset.file[path])
            except KeyError:
                continue
        return out

    def attach_scale(self, dscale: Dataset) -> None:
        self._dset._check_writable()
        if "scale" not in dscale._arr.reserved:
            make_scale(dscale, "")
        lists = _scale_lists(self._dset)
        path = "/" + dscale._path
        if path not in lists[self._axis]:
            lists[self._axis].append(path)
        self._dset._arr.update_reserved(dims=lists)

    def detach_scale(self, dscale: Dataset) -> None:
        self._dset._check_writable()
        lists = _scale_lists(self._dset)
        path = "/" + dscale._path
        if path not in lists[self._axis]:
            raise ValueError("Unable to detach dimension scale: not attached")
        lists[self._axis].remove(path)
        self._dset._arr.update_reserved(dims=lists if any(lists) else None)

    def __len__(self) -> int:
        return len(self._scales())

    def __iter__(self) -> Iterator[Dataset]:
        yield from self._scales()

    def __getitem__(self, item: int | str) -> Dataset:
        scales = self._scales()
        if isinstance(item, int):
            return scales[item]
        for s in scales:
            if s._arr.reserved.get("scale") == item:
                return s
        raise KeyError("No dimension scale named %r" % item)

    def keys(self) -> list[str]:
        return [s._arr.reserved.get("scale", "") for s in self._scales()]

    def values(self) -> list[Dataset]:
        return self._scales()

    def items(self) -> list[tuple[str, Dataset]]:
        return [(s._arr.reserved.get("scale", ""), s) for s in self._scales()]

    def __repr__(self) -> str:
        if not self._dset:
            return "<Dimension of closed HDF5 dataset>"
        return '<"%s" dimension %d of HDF5 dataset at %s>' % (self.label, self._axis, id(self._dset))


class DimensionManager:
    """``dset.dims``: one DimensionProxy per axis."""

    def __init__(self, dset: Dataset) -> None:
        self._dset = dset

    def __getitem__(self, index: int) -> DimensionProxy:
        ndim = self._dset.ndim
        if index < 0:
            index += ndim
        if not 0 <= index < ndim:
            raise IndexError("Index out of range")
        return DimensionProxy(self._dset, index)

    def __len__(self) -> int:
        return self._dset.ndim

    def __iter__(self) -> Iterator[DimensionProxy]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        if not self._dset:
            return "<Dimensions of closed HDF5 dataset>"
        return "<Dimensions of HDF5 object at %s>" % id(self._dset)

    def create_scale(self, dset: Dataset, name: str = "") -> None:
        make_scale(dset, name)
