"""Selections of region references as HDF5 serialises them in the global heap.

A dataset region reference is 12 bytes in the file: the address of a global
heap collection and an object index. The heap object holds the address of the
dataset's object header, then its selection, in the version-1 encodings every
HDF5 since 1.6 reads (the HDF5 File Format Specification, "Dataspace Selection
Serialization"): a 16-byte header (selection type, version 1, 4 reserved bytes,
the length of what follows) and, for

- a hyperslab (type 2): rank, block count, then each block's start and
  (inclusive) end coordinates as 32-bit integers;
- points (type 1): rank, point count, then each point's coordinates;
- nothing (type 0) or everything (type 3): no more.

The selections ``sciswift.h5`` keeps (``Selection.to_json``) are per-axis
indices (``["s", start, stop, step]`` slices, ``["i", n]`` integers,
``["l", [...]]`` increasing lists), a boolean mask (``{"mask": nonzero
indices}``) or an HDF5 point selection (``{"points": coordinates per axis}``,
in the order they were listed, repeats kept), with ``"all": true`` for the whole dataset selected by ``...``
(HDF5's "all" selection, as h5py makes it). Per-axis ones become the hyperslab h5py makes for them, as the
blocks HDF5 lists (runs of consecutive indices on each axis, all combinations
in C order); masks become points, in C order, as h5py makes them, and point
selections points in their own order.
"""

from __future__ import annotations

import itertools
import struct
from typing import Any

import numpy as np

from sciswift.h5view.errors import NotExpressible

__all__ = ["serialize_selection", "SEL_NONE", "SEL_POINTS", "SEL_HYPERSLABS", "SEL_ALL"]

SEL_NONE, SEL_POINTS, SEL_HYPERSLABS, SEL_ALL = 0, 1, 2, 3
_U32 = 0xFFFF_FFFF


def serialize_selection(selection: Any, what: str) -> bytes:
    """The version-1 serialisation of a region reference's ``selection`` (as
    ``sciswift.h5`` stores it). NotExpressible naming ``what`` for a selection
    whose coordinates do not fit HDF5's 32-bit version-1 encodings, or that is
    not one ``sciswift.h5`` writes."""
    if not isinstance(selection, dict):
        raise NotExpressible(f"{what}: region reference with selection {selection!r}", what)
    listed = selection.get("mask", selection.get("points"))
    if listed is not None:
        axes = [np.asarray(a, dtype=np.int64) for a in listed]
        points = np.stack(axes, axis=1) if axes else np.zeros((0, 0), dtype=np.int64)
        if not len(points):
            return _header(SEL_NONE, 0)
        return _encode(SEL_POINTS, len(axes), len(points), points.reshape(-1), what)
    if selection.get("all"):
        return _header(SEL_ALL, 0)
    runs = [_runs(ax, what) for ax in selection.get("axes") or ()]
    if not runs:
        return _header(SEL_ALL, 0)  # a scalar dataset: its one element
    if any(not r for r in runs):
        return _header(SEL_NONE, 0)
    blocks = [list(itertools.chain([b[0] for b in combo], [b[1] for b in combo]))
              for combo in itertools.product(*runs)]
    return _encode(SEL_HYPERSLABS, len(runs), len(blocks), np.asarray(blocks, dtype=np.int64).reshape(-1), what)


def _runs(axis: Any, what: str) -> list[tuple[int, int]]:
    """The ``(first, last)`` runs of consecutive indices one axis selects."""
    kind = axis[0]
    if kind == "i":
        return [(int(axis[1]), int(axis[1]))]
    if kind == "s":
        start, stop, step = int(axis[1]), int(axis[2]), int(axis[3])
        if start >= stop:
            return []
        if step == 1:
            return [(start, stop - 1)]
        return [(i, i) for i in range(start, stop, step)]
    if kind == "l":
        idx = sorted({int(i) for i in axis[1]})
        out: list[tuple[int, int]] = []
        for i in idx:
            if out and out[-1][1] == i - 1:
                out[-1] = (out[-1][0], i)
            else:
                out.append((i, i))
        return out
    raise NotExpressible(f"{what}: region reference with an unknown selection axis {axis!r}", what)


def _header(kind: int, length: int) -> bytes:
    return struct.pack("<IIII", kind, 1, 0, length)


def _encode(kind: int, rank: int, count: int, coords: np.ndarray[Any, Any], what: str) -> bytes:
    if coords.size and (coords.min() < 0 or coords.max() >= _U32):
        raise NotExpressible(f"{what}: a region reference's coordinates exceed HDF5's 32-bit selection "
                             "encoding", what)
    body = struct.pack("<II", rank, count) + coords.astype("<u4").tobytes()
    return _header(kind, len(body)) + body
