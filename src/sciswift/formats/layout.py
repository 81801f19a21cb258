"""Byte-range arithmetic for raw arrays stored in C or Fortran order at an offset
(.npy data, contiguous HDF5 datasets, FITS images, netCDF-3 variables).

``c_order_spans`` says which bytes a selection needs; ``ranged_array_reader``
fetches them from a RangedFile and returns the selected block. A selection is
fetched as one covering range when that wastes little (at most as much again as it
needs, plus the coalescing gap), else as one span per contiguous run, which the
RangedFile coalesces into few requests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sciswift.formats.nodes import selection_shape
from sciswift.formats.ranged import RangedFile

__all__ = ["SpanPlan", "c_order_spans", "ranged_array_reader"]

# More separate spans than this and one covering GET is cheaper to issue.
MAX_SPANS = 65536


@dataclass(frozen=True)
class SpanPlan:
    """Byte spans a selection needs. ``covering`` means one span holds a strided view
    of the selection (``strides``); otherwise the spans, concatenated, are the
    selection's bytes in C order."""

    spans: list[tuple[int, int]]
    covering: bool
    strides: tuple[int, ...] = ()


def c_order_spans(
    offset: int, shape: tuple[int, ...], itemsize: int, selection: tuple[slice, ...], gap: int
) -> SpanPlan:
    """The bytes holding ``selection`` of a C-order array of ``shape`` at ``offset``."""
    if not shape:
        return SpanPlan([(offset, offset + itemsize)], True, ())
    strides = [itemsize * math.prod(shape[i + 1 :]) for i in range(len(shape))]
    view_strides = tuple(st * s.step for st, s in zip(strides, selection, strict=True))
    # k: the innermost dimension not selected whole; everything inside it is one
    # contiguous run per index of the dimensions outside it.
    k = len(shape) - 1
    while k >= 0 and selection[k] == slice(0, shape[k], 1):
        k -= 1
    counts = [len(range(s.start, s.stop, s.step)) for s in selection]
    lo = offset + sum(s.start * st for s, st in zip(selection, strides, strict=True))
    hi = offset + itemsize + sum(
        (s.start + (n - 1) * s.step) * st for s, n, st in zip(selection, counts, strides, strict=True)
    )
    needed = math.prod(counts) * itemsize
    if k < 0 or hi - lo <= 2 * needed + gap:
        return SpanPlan([(lo, hi)], True, view_strides)
    sk = selection[k]
    run = strides[k] if sk.step > 1 else strides[k] * counts[k]
    inner_starts = list(range(sk.start, sk.stop, sk.step)) if sk.step > 1 else [sk.start]
    if math.prod(counts[:k]) * len(inner_starts) > MAX_SPANS:
        return SpanPlan([(lo, hi)], True, view_strides)
    bases = np.zeros(1, dtype=np.int64) + offset
    for s, st in zip(selection[:k], strides, strict=False):
        bases = (bases[:, None] + np.arange(s.start, s.stop, s.step, dtype=np.int64)[None, :] * st).ravel()
    starts = (bases[:, None] + np.asarray(inner_starts, dtype=np.int64)[None, :] * strides[k]).ravel()
    return SpanPlan([(int(a), int(a) + run) for a in starts], False)


def read_c_order(
    source: RangedFile,
    offset: int,
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    selection: tuple[slice, ...],
) -> np.ndarray[Any, Any]:
    """``selection`` of the C-order array of ``shape`` and ``dtype`` at ``offset``."""
    out_shape = selection_shape(selection)
    plan = c_order_spans(offset, shape, dtype.itemsize, selection, source.coalesce_gap)
    bodies = source.fetch(plan.spans)
    if plan.covering:
        view = np.ndarray(out_shape, dtype, buffer=bodies[0], strides=plan.strides)
        return view.copy()
    return np.frombuffer(b"".join(bodies), dtype).reshape(out_shape).copy()


def ranged_array_reader(
    source: RangedFile, offset: int, shape: tuple[int, ...], dtype: np.dtype[Any], fortran: bool
) -> Callable[[tuple[slice, ...]], np.ndarray[Any, Any]]:
    """A ``read(selection)`` function for a raw C- or Fortran-order array of ``shape``
    stored at ``offset`` in ``source``, fetching only the bytes selected."""

    def read(selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        if fortran and len(shape) > 1:
            # A Fortran array is the transpose of a C array of the reversed shape
            # (with fewer than two axes the orders are the same bytes).
            block = read_c_order(source, offset, shape[::-1], dtype, selection[::-1])
            return np.ascontiguousarray(block.T)
        return read_c_order(source, offset, shape, dtype, selection)

    return read
