"""Dimension scales and labels (``dset.dims``).

The Zarr ``dimension_names`` of an array name its dimensions the way netCDF-4 and
h5netcdf do, so xarray and other Zarr readers see them: an axis is named after the
first scale attached to it, else its label, and a one-dimensional scale's own axis
after the scale itself (``sync_dimension_names``, run whenever labels or
attachments change). HDF5 labels are those names unless a scale supplied one:
then the reserved ``labels`` entry keeps the labels themselves, so ``dims[i].label``
and ``DIMENSION_LABELS`` stay as h5py reports them. Names derived so follow later
moves of a scale only when the attachments change again.

Attachments are kept under the reserved key in both directions,
as HDF5 keeps them: ``dims`` on the dataset (one list of scale paths per axis),
``scale`` (the scale's name) and ``refs`` (``[dataset path, axis]`` pairs) on each
scale. ``sciswift.h5.scaleattrs`` shows them as HDF5's CLASS / NAME /
REFERENCE_LIST / DIMENSION_LIST attributes; ``sciswift.h5.h5ds`` is the h5py
``h5ds`` module over the same functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sciswift.h5.scaleattrs import labels_of, scale_name_str

if TYPE_CHECKING:
    from sciswift.h5.backend import ArrayBackend
    from sciswift.h5.dataset import Dataset

__all__ = ["DimensionManager", "DimensionProxy", "make_scale", "is_scale", "scale_name", "attach_scale",
           "detach_scale", "is_attached", "scales_of", "labels", "sync_dimension_names"]


def labels(arr: ArrayBackend) -> list[str | None]:
    """The HDF5 dimension labels of a dataset's array, one per axis (None: none)."""
    ndim = len(arr.shape)
    stored = list(labels_of(arr.reserved, arr.dimension_names) or [])[:ndim]
    return stored + [None] * (ndim - len(stored))


def sync_dimension_names(arr: ArrayBackend, path: str, new_labels: list[str | None] | None = None) -> None:
    """Set the array's Zarr ``dimension_names`` from its scales and labels (see the
    module docstring), keeping ``new_labels`` (default: the current ones) as its
    HDF5 labels."""
    ndim = len(arr.shape)
    current = labels(arr) if new_labels is None else list(new_labels)
    res = arr.reserved
    lists = [list(x) for x in (res.get("dims") or [])] + [[] for _ in range(ndim)]
    own = path.rsplit("/", 1)[-1] if "scale" in res and ndim == 1 else None
    names: list[str | None] = []
    for axis in range(ndim):
        attached = lists[axis][0].rsplit("/", 1)[-1] if lists[axis] else None
        names.append(attached or current[axis] or (own if axis == 0 else None))
    derived = names != current
    if not derived and "labels" not in res:
        arr.set_dimension_names(names)
        return
    # Order matters to readers in between: the labels entry first, then the names.
    arr.update_reserved(labels=current if derived else None)
    arr.set_dimension_names(names)


def _sync(dset: Dataset) -> None:
    sync_dimension_names(dset._arr, dset._path)


def make_scale(dset: Dataset, name: Any = "") -> None:
    """Mark ``dset`` as a dimension scale called ``name`` (str, or bytes in UTF-8).
    Its attachments are kept."""
    dset._check_writable(RuntimeError, "set a dimension scale")
    dset._arr.update_reserved(scale=scale_name_str(name))
    _sync(dset)


def is_scale(dset: Dataset) -> bool:
    return "scale" in dset._arr.reserved


def scale_name(dset: Dataset) -> str:
    """The scale's name ("" if it has none or is no scale)."""
    return str(dset._arr.reserved.get("scale") or "")


def _scale_lists(dset: Dataset) -> list[list[str]]:
    ndim = len(dset._arr.shape)
    lists = [list(x) for x in (dset._arr.reserved.get("dims") or [])]
    lists += [[] for _ in range(ndim - len(lists))]
    return lists


def _check_axis(dset: Dataset, axis: Any) -> int:
    """``axis`` as a Python int (numpy integers come from REFERENCE_LIST);
    ValueError if out of range."""
    index = int(axis)
    if not 0 <= index < len(dset._arr.shape):
        raise ValueError(f"Dimension index {axis} out of range for a {len(dset._arr.shape)}-dimensional dataset")
    return index


def attach_scale(dset: Dataset, dscale: Dataset, axis: int) -> None:
    """Attach scale ``dscale`` to axis ``axis`` of ``dset`` (making it a scale
    without a name if it is none). Attaching twice is harmless."""
    dset._check_writable(RuntimeError, "attach a dimension scale")
    axis = _check_axis(dset, axis)
    if dset._h.key != dscale._h.key:
        raise RuntimeError("Unable to attach a dimension scale of another file")
    if dset == dscale:
        raise RuntimeError("Unable to attach a dimension scale to itself")
    if not is_scale(dscale):
        make_scale(dscale, "")
    lists = _scale_lists(dset)
    spath, dpath = "/" + dscale._path, "/" + dset._path
    if spath not in lists[axis]:
        lists[axis].append(spath)
        dset._arr.update_reserved(dims=lists)
        _sync(dset)
    refs = [list(r) for r in dscale._arr.reserved.get("refs") or ()]
    if [dpath, axis] not in refs:
        refs.append([dpath, axis])
        dscale._arr.update_reserved(refs=refs)


def detach_scale(dset: Dataset, dscale: Dataset, axis: int) -> None:
    """Detach scale ``dscale`` from axis ``axis``; ValueError if not attached."""
    dset._check_writable(RuntimeError, "detach a dimension scale")
    axis = _check_axis(dset, axis)
    lists = _scale_lists(dset)
    spath, dpath = "/" + dscale._path, "/" + dset._path
    if spath not in lists[axis]:
        raise ValueError("Unable to detach dimension scale: not attached")
    lists[axis].remove(spath)
    dset._arr.update_reserved(dims=lists if any(lists) else None)
    _sync(dset)
    refs = [list(r) for r in dscale._arr.reserved.get("refs") or () if list(r) != [dpath, axis]]
    dscale._arr.update_reserved(refs=refs or None)


def is_attached(dset: Dataset, dscale: Dataset, axis: int) -> bool:
    axis = _check_axis(dset, axis)
    return "/" + dscale._path in _scale_lists(dset)[axis]


def scales_of(dset: Dataset, axis: int) -> list[Dataset]:
    """The scales attached to ``axis``, in attachment order (missing ones skipped)."""
    out = []
    for path in _scale_lists(dset)[axis]:
        try:
            out.append(dset.file[path])
        except KeyError:
            continue
    return out


class DimensionProxy:
    """One axis of a dataset: its label and the scales attached to it."""

    def __init__(self, dset: Dataset, axis: int) -> None:
        self._dset = dset
        self._axis = axis

    @property
    def label(self) -> str:
        return labels(self._dset._arr)[self._axis] or ""

    @label.setter
    def label(self, value: str) -> None:
        self._dset._check_writable()
        new = labels(self._dset._arr)
        new[self._axis] = scale_name_str(value) or None
        sync_dimension_names(self._dset._arr, self._dset._path, new)

    def _scales(self) -> list[Dataset]:
        return scales_of(self._dset, self._axis)

    def attach_scale(self, dscale: Dataset) -> None:
        attach_scale(self._dset, dscale, self._axis)

    def detach_scale(self, dscale: Dataset) -> None:
        detach_scale(self._dset, dscale, self._axis)

    def __len__(self) -> int:
        return len(self._scales())

    def __iter__(self) -> Iterator[str]:
        yield from self.keys()  # scale names, as h5py's DimensionProxy

    def __getitem__(self, item: int | str) -> Dataset:
        scales = self._scales()
        if isinstance(item, int):
            return scales[item]
        for s in scales:
            if scale_name(s) == item:
                return s
        raise KeyError("No dimension scale named %r" % item)

    def keys(self) -> list[str]:
        return [scale_name(s) for s in self._scales()]

    def values(self) -> list[Dataset]:
        return self._scales()

    def items(self) -> list[tuple[str, Dataset]]:
        return [(scale_name(s), s) for s in self._scales()]

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
