"""h5py's indexing rules, on top of block reads and writes.

A dataset is read and written by rectangular blocks (one normalised slice per
dimension, the engine's and the format nodes' unit). This module turns an h5py
index (ints, slices with positive steps, Ellipsis, one increasing index list per
selection, boolean masks, MultiBlockSlice, ``Points``) into such blocks, and raises what h5py
raises for indices it refuses: IndexError out of range, TypeError for
non-increasing or repeated index lists and np.newaxis, ValueError for negative or
zero steps and for anything but ``()``/``...`` on a scalar dataset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["MultiBlockSlice", "Points", "Selection", "select", "simple_block", "split_fields"]

Reader = Callable[[tuple[slice, ...]], np.ndarray]
Writer = Callable[[tuple[slice, ...], np.ndarray], None]

#: An index list is read as one bounding block when it spans at most this many
#: times its length (plus a little); sparser lists are read run by run.
_DENSE_FACTOR = 4


class Points:
    """Elements listed one by one, in the order given: an HDF5 point selection
    (``H5Sselect_elements``), which reads and writes its values in that order, not
    in C order as a boolean mask does. ``coords`` is ``(npoints, rank)``; a point
    may repeat. ``dset.regionref[Points(coords)]`` makes a region reference to it
    (as h5py's ``regionref`` takes its ``PointSelection``)."""

    __slots__ = ("coords",)

    def __init__(self, coords: Any) -> None:
        self.coords = np.asarray(coords, dtype=np.intp)

    def __repr__(self) -> str:
        return f"Points({self.coords.tolist()!r})"


class MultiBlockSlice:
    """A regular pattern of blocks along one axis: ``count`` blocks of ``block``
    elements, ``stride`` apart, starting at ``start`` (HDF5 hyperslab terms)."""

    def __init__(self, start: int = 0, count: int | None = None, stride: int = 1, block: int = 1) -> None:
        if start < 0 or (count is not None and count < 0) or stride < 0 or block < 0:
            raise ValueError("Values cannot be negative")
        if block > stride:
            raise ValueError(f"Blocks will overlap if block ({block}) > stride ({stride})")
        self.start = start
        self.count = count
        self.stride = stride
        self.block = block

    def indices(self, length: int) -> tuple[int, int, int, int]:
        """``(start, stride, count, block)`` for an axis of ``length``."""
        if self.stride == 0:
            raise ValueError("stride must be >= 1")
        if self.count is None:
            count = (length - self.start - self.block) // self.stride + 1
            if count <= 0:
                raise ValueError(f"No full blocks can be selected using {self} on dimension of length {length}")
        else:
            count = self.count
        end = self.start + self.stride * (count - 1) + self.block
        if end > length:
            raise ValueError(f"{self} range ({self.start} - {end}) extends beyond maximum index ({length})")
        return self.start, self.stride, count, self.block

    def points(self, length: int) -> np.ndarray[Any, Any]:
        start, stride, count, block = self.indices(length)
        return (start + np.arange(count)[:, None] * stride + np.arange(block)[None, :]).reshape(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(start={self.start}, count={self.count}, stride={self.stride}, block={self.block})"


def split_fields(args: Any) -> tuple[list[str], tuple[Any, ...]]:
    """Field names (str arguments) apart from the index proper."""
    if not isinstance(args, tuple):
        args = (args,)
    fields: list[str] = []
    rest = []
    for a in args:
        if isinstance(a, str):
            fields.append(a)
        else:
            rest.append(a)
    return fields, tuple(rest)


def _as_int(x: Any) -> int | None:
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, (int, np.integer)):
        return int(x)
    return None


class Selection:
    """A parsed selection of a dataset of ``shape``.

    ``axes`` holds one entry per dimension: ``("i", index)``, ``("s", start, stop,
    step)`` (normalised), or ``("l", increasing indices)``; or ``mask`` is a boolean
    array of the dataset's shape. A point selection has a mask too, and ``points``,
    its ``(npoints, rank)`` coordinates in their stored order, the order its values
    are read and written in. ``mshape`` is the shape of what is read.
    """

    __slots__ = ("shape", "axes", "mask", "points", "mshape", "scalar")

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.axes: list[tuple[Any, ...]] = []
        self.mask: np.ndarray[Any, Any] | None = None
        self.points: np.ndarray[Any, Any] | None = None
        self.mshape: tuple[int, ...] = ()
        self.scalar = False

    # ------------------------------------------------------------ describing
    @property
    def nselect(self) -> int:
        return math.prod(self.mshape)

    def bounding(self) -> tuple[slice, ...]:
        """One block covering the whole selection."""
        if self.mask is not None:
            nz = np.nonzero(self.mask)
            if not len(nz) or nz[0].size == 0:
                return tuple(slice(0, 0, 1) for _ in self.shape)
            return tuple(slice(int(a.min()), int(a.max()) + 1, 1) for a in nz)
        out = []
        for ax in self.axes:
            if ax[0] == "i":
                out.append(slice(ax[1], ax[1] + 1, 1))
            elif ax[0] == "s":
                out.append(slice(ax[1], ax[2], ax[3]))
            else:
                idx = ax[1]
                out.append(slice(int(idx[0]), int(idx[-1]) + 1, 1) if idx.size else slice(0, 0, 1))
        return tuple(out)

    def to_json(self) -> Any:
        """A JSON description (for region references)."""
        if self.points is not None:
            return {"points": [self.points[:, d].tolist() for d in range(len(self.shape))]}
        if self.mask is not None:
            return {"mask": [a.tolist() for a in np.nonzero(self.mask)]}
        axes: list[Any] = []
        for ax in self.axes:
            if ax[0] == "l":
                axes.append(["l", ax[1].tolist()])
            else:
                axes.append(list(ax))
        return {"axes": axes}

    @classmethod
    def from_json(cls, doc: Any, shape: tuple[int, ...]) -> Selection:
        sel = cls(shape)
        if "points" in doc:
            return sel._set_points(np.asarray(doc["points"], dtype=np.intp).reshape(len(shape), -1).T)
        if "mask" in doc:
            mask = np.zeros(shape, dtype=bool)
            if doc["mask"] and len(doc["mask"][0]):
                mask[tuple(np.asarray(a, dtype=np.intp) for a in doc["mask"])] = True
            sel.mask = mask
            sel.mshape = (int(mask.sum()),)
            return sel
        mshape = []
        for ax in doc["axes"]:
            if ax[0] == "l":
                idx = np.asarray(ax[1], dtype=np.intp)
                sel.axes.append(("l", idx))
                mshape.append(idx.size)
            elif ax[0] == "s":
                sel.axes.append(("s", ax[1], ax[2], ax[3]))
                mshape.append(len(range(ax[1], ax[2], ax[3])))
            else:
                sel.axes.append(("i", ax[1]))
        sel.mshape = tuple(mshape)
        return sel

    def _set_points(self, coords: np.ndarray[Any, Any]) -> Selection:
        """Select the ``(npoints, rank)`` elements ``coords``, in that order."""
        if coords.size and (coords.min() < 0 or np.any(coords.max(axis=0) >= np.asarray(self.shape))):
            raise IndexError("Point selection out of range for shape %s" % (self.shape,))
        mask = np.zeros(self.shape, dtype=bool)
        if len(coords):
            mask[tuple(coords.T)] = True
        self.mask, self.points, self.mshape = mask, coords, (len(coords),)
        return self

    def region_shape(self) -> tuple[int, ...]:
        """The selection's extent per dimension, integer indices counting as 1."""
        if self.points is not None:
            return self.mshape
        if self.mask is not None:
            return (int(self.mask.sum()),)
        out = []
        for ax in self.axes:
            if ax[0] == "i":
                out.append(1)
            elif ax[0] == "s":
                out.append(len(range(ax[1], ax[2], ax[3])))
            else:
                out.append(int(ax[1].size))
        if math.prod(out) == 0:  # HDF5 has no bounds for an empty selection: h5py says 0 on every axis
            return tuple(0 for _ in out)
        return tuple(out)

    # --------------------------------------------------------------- reading
    def _list_axis(self) -> int | None:
        for d, ax in enumerate(self.axes):
            if ax[0] == "l":
                return d
        return None

    def _engine_and_squeeze(self, override: dict[int, slice] | None = None) -> tuple[tuple[slice, ...], tuple[Any, ...]]:
        slices = []
        squeeze: list[Any] = []
        for d, ax in enumerate(self.axes):
            if override and d in override:
                slices.append(override[d])
                squeeze.append(slice(None))
            elif ax[0] == "i":
                slices.append(slice(ax[1], ax[1] + 1, 1))
                squeeze.append(0)
            elif ax[0] == "s":
                slices.append(slice(ax[1], ax[2], ax[3]))
                squeeze.append(slice(None))
        return tuple(slices), tuple(squeeze)

    def _runs(self, idx: np.ndarray[Any, Any]) -> list[tuple[int, int, int]]:
        """``(start, stop, out_offset)`` runs of consecutive indices."""
        if idx.size == 0:
            return []
        breaks = np.nonzero(np.diff(idx) != 1)[0] + 1
        starts = np.concatenate(([0], breaks))
        stops = np.concatenate((breaks, [idx.size]))
        return [(int(idx[a]), int(idx[b - 1]) + 1, int(a)) for a, b in zip(starts, stops)]

    def read(self, reader: Reader, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
        """The selected values, read through ``reader`` (block -> array)."""
        if self.mask is not None:
            if self.mshape[0] == 0:
                return np.empty((0,), dtype=dtype)
            box = self.bounding()
            block = reader(box)
            if self.points is not None:
                return block[self._in_box(box)]
            return block[self.mask[box]]
        if math.prod(self.mshape) == 0:
            return np.empty(self.mshape, dtype=dtype)
        ld = self._list_axis()
        if ld is None:
            slices, squeeze = self._engine_and_squeeze()
            block = reader(slices)
            return block[squeeze] if 0 in squeeze else block
        idx = self.axes[ld][1]
        # The list's position among the axes that remain after ints are dropped.
        out_axis = sum(1 for ax in self.axes[:ld] if ax[0] != "i")
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        if hi - lo <= _DENSE_FACTOR * idx.size + 64:
            slices, squeeze = self._engine_and_squeeze({ld: slice(lo, hi, 1)})
            block = reader(slices)
            if 0 in squeeze:
                block = block[squeeze]
            return np.take(block, idx - lo, axis=out_axis)
        out = np.empty(self.mshape, dtype=dtype)
        for a, b, k in self._runs(idx):
            slices, squeeze = self._engine_and_squeeze({ld: slice(a, b, 1)})
            block = reader(slices)
            if 0 in squeeze:
                block = block[squeeze]
            where = [slice(None)] * len(self.mshape)
            where[out_axis] = slice(k, k + (b - a))
            out[tuple(where)] = block
        return out

    def _in_box(self, box: tuple[slice, ...]) -> tuple[np.ndarray[Any, Any], ...]:
        """The points as an index into the block ``box`` (in their order)."""
        assert self.points is not None
        return tuple(self.points[:, d] - box[d].start for d in range(len(box)))

    # --------------------------------------------------------------- writing
    def write(self, writer: Writer, reader: Reader, value: np.ndarray[Any, Any]) -> None:
        """Store ``value`` (already broadcast to ``mshape``) into the selection."""
        if math.prod(self.mshape) == 0:
            return
        if self.mask is not None:
            box = self.bounding()
            block = np.array(reader(box), copy=True)
            block[self._in_box(box) if self.points is not None else self.mask[box]] = value
            writer(box, block)
            return
        # Dimensions beyond the selection's (a top-level array dtype's) ride along.
        extra = value.shape[len(self.mshape):]
        ld = self._list_axis()
        if ld is None:
            slices, _ = self._engine_and_squeeze()
            writer(slices, value.reshape(tuple(len(range(s.start, s.stop, s.step)) for s in slices) + extra))
            return
        idx = self.axes[ld][1]
        out_axis = sum(1 for ax in self.axes[:ld] if ax[0] != "i")
        for a, b, k in self._runs(idx):
            slices, _ = self._engine_and_squeeze({ld: slice(a, b, 1)})
            where = [slice(None)] * len(self.mshape)
            where[out_axis] = slice(k, k + (b - a))
            part = value[tuple(where)]
            writer(slices, part.reshape(tuple(len(range(s.start, s.stop, s.step)) for s in slices) + extra))


_INT_TYPES = (int, np.integer)


def simple_block(args: tuple[Any, ...], shape: tuple[int, ...]) -> tuple[tuple[slice, ...], tuple[Any, ...] | None] | None:
    """The common index in one pass: only in-range integers, slices with step 1
    (or none) and at most one Ellipsis, on a dataset of rank >= 1.

    Returns ``(block, squeeze)``: the block to read (normalised slices, one per
    dimension) and the index that drops the integer-indexed axes from it (None
    when there are none), so that ``read(block)[squeeze]`` is exactly what
    :func:`select` and :meth:`Selection.read` give. Returns None for anything
    else (other indices, field names, out-of-range integers, bad types), which
    the general path then reads or refuses as h5py does. Per-read cost matters
    for many small reads (random windows): this avoids building a Selection.
    """
    rank = len(shape)
    if rank == 0 or len(args) > rank + 1:
        return None
    block: list[slice] = []
    squeeze: list[Any] | None = None
    ellipsis = False
    i = 0
    for a in args:
        if i > rank:
            return None
        kind = type(a)
        if kind is slice:
            if i == rank:
                return None
            step = a.step
            if step is not None and (type(step) is not int or step != 1):
                return None
            try:
                start, stop, _ = a.indices(shape[i])
            except TypeError:
                return None
            block.append(slice(start, stop if stop > start else start, 1))
        elif a is Ellipsis:
            if ellipsis:
                return None
            ellipsis = True
            for _ in range(rank - (len(args) - 1)):
                block.append(slice(0, shape[i], 1))
                if squeeze is not None:
                    squeeze.append(slice(None))
                i += 1
            continue
        elif kind is int or (isinstance(a, _INT_TYPES) and kind is not bool):
            if i == rank:
                return None
            k = int(a)
            n = shape[i]
            if k < 0:
                k += n
            if not 0 <= k < n:
                return None
            block.append(slice(k, k + 1, 1))
            if squeeze is None:
                squeeze = [slice(None)] * i
            squeeze.append(0)
            i += 1
            continue
        else:
            return None
        if squeeze is not None:
            squeeze.append(slice(None))
        i += 1
    if i > rank:
        return None
    while i < rank:
        block.append(slice(0, shape[i], 1))
        if squeeze is not None:
            squeeze.append(slice(None))
        i += 1
    return tuple(block), (tuple(squeeze) if squeeze is not None else None)


def _expand(args: tuple[Any, ...], rank: int) -> list[Any]:
    n_ell = sum(1 for a in args if a is Ellipsis)
    if n_ell > 1:
        raise ValueError("Only one ellipsis may be used.")
    n_real = len(args) - n_ell
    if n_real > rank:
        raise ValueError("Argument sequence too long")
    out: list[Any] = []
    for a in args:
        if a is Ellipsis:
            out.extend([slice(None)] * (rank - n_real))
        else:
            out.append(a)
    out.extend([slice(None)] * (rank - len(out)))
    return out


def select(args: Any, shape: tuple[int, ...]) -> Selection:
    """Parse an h5py index (field names already removed) against ``shape``."""
    if not isinstance(args, tuple):
        args = (args,)
    for a in args:
        if a is None:
            raise TypeError("h5py does not support np.newaxis (None) in indexing")
    sel = Selection(shape)
    rank = len(shape)
    if rank == 0:
        if args == () or args == (Ellipsis,):
            sel.scalar = args == ()
            return sel
        raise ValueError("Illegal slicing argument for scalar dataspace")
    # A boolean array of the dataset's shape selects points.
    if len(args) == 1 and isinstance(args[0], np.ndarray) and args[0].dtype == np.bool_ and args[0].shape == shape:
        mask = args[0]
        sel.mask = mask
        sel.mshape = (int(np.count_nonzero(mask)),)
        return sel
    if len(args) == 1 and isinstance(args[0], Points):
        coords = args[0].coords.reshape(-1, rank) if args[0].coords.size else np.empty((0, rank), np.intp)
        return sel._set_points(coords)
    expanded = _expand(args, rank)
    mshape: list[int] = []
    seen_list = False
    for arg, n in zip(expanded, shape):
        i = _as_int(arg)
        if i is not None:
            if i < 0:
                i += n
            if not 0 <= i < n:
                raise IndexError("Index (%s) out of range for (0-%s)" % (arg, n - 1))
            sel.axes.append(("i", i))
            continue
        if isinstance(arg, slice):
            if arg.step is not None:
                step = _as_int(arg.step)
                if step is None:
                    raise TypeError("slice indices must be integers")
                if step < 1:
                    raise ValueError("Step must be >= 1 (got %d)" % step)
            start, stop, step = arg.indices(n)
            stop = max(start, stop)
            sel.axes.append(("s", start, stop, step))
            mshape.append(len(range(start, stop, step)))
            continue
        if isinstance(arg, MultiBlockSlice):
            idx = arg.points(n)
            if seen_list:
                raise TypeError("Only one indexing vector or array is currently allowed for fancy indexing")
            seen_list = True
            sel.axes.append(("l", idx.astype(np.intp)))
            mshape.append(idx.size)
            continue
        if isinstance(arg, (list, np.ndarray, range, tuple)):
            try:
                arr = np.asarray(arg)
            except ValueError:
                raise TypeError(f"Illegal index: {arg!r}") from None
            if arr.ndim != 1:
                raise TypeError("Selection can't process %r" % (arg,))
            if arr.dtype == np.bool_:
                if arr.size != n:
                    raise TypeError("boolean index did not match indexed array along axis; size is %d but "
                                    "corresponding boolean size is %d" % (n, arr.size))
                arr = np.nonzero(arr)[0]
            elif arr.size == 0:
                arr = arr.astype(np.intp)
            elif arr.dtype.kind not in "iu":
                raise TypeError("Illegal index: only integers, slices, index lists and boolean masks are valid")
            if seen_list:
                raise TypeError("Only one indexing vector or array is currently allowed for fancy indexing")
            seen_list = True
            idx = arr.astype(np.intp)
            idx = np.where(idx < 0, idx + n, idx)
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                bad = arg[int(np.argmax((idx < 0) | (idx >= n)))] if isinstance(arg, list) else idx.max()
                raise IndexError("Index (%s) out of range for (0-%s)" % (bad, n - 1))
            if idx.size > 1 and not np.all(np.diff(idx) > 0):
                raise TypeError("Indexing elements must be in increasing order")
            sel.axes.append(("l", idx))
            mshape.append(idx.size)
            continue
        raise TypeError("Illegal slicing argument (not a slice, int, index list or mask): %r" % (arg,))
    sel.mshape = tuple(mshape)
    return sel
