"""Region references, from either library, as an index expression.

A region reference names a dataset and a selection in it. Copying one means
making a reference with the same selection in the copy (``make_region_ref``),
from the index this module recovers from the source reference (``region_index``):
slices for a single block, a boolean mask for several blocks, and for points
``Points``, the coordinates in their stored order: a point selection reads its
values in that order, which a mask (C order) would lose.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sciswift.convert.apis import Api
from sciswift.h5.selection import Points

__all__ = ["region_index", "make_region_ref"]


def region_index(api: Api, dset: Any, ref: Any) -> Any:
    """The index expression selecting what region reference ``ref`` selects in
    ``dset`` (the dataset it points to, opened through ``api``)."""
    if api.name == "h5py":
        return _h5py_region(dset, ref)
    return _sciswift_region(dset, ref)


def _h5py_region(dset: Any, ref: Any) -> Any:
    import h5py

    space = h5py.h5r.get_region(ref, dset.id)
    shape = tuple(dset.shape)
    kind = space.get_select_type()
    if kind == h5py.h5s.SEL_ALL:
        return tuple(slice(0, n) for n in shape)
    mask = np.zeros(shape, dtype=bool)
    if kind == h5py.h5s.SEL_HYPERSLABS:
        blocks = space.get_select_hyper_blocklist()  # (nblocks, 2, rank): first, last corners
        if len(blocks) == 1:
            first, last = blocks[0]
            return tuple(slice(int(a), int(b) + 1) for a, b in zip(first, last))
        for first, last in blocks:
            mask[tuple(slice(int(a), int(b) + 1) for a, b in zip(first, last))] = True
    elif kind == h5py.h5s.SEL_POINTS:
        return Points(np.asarray(space.get_select_elem_pointlist()).reshape(-1, len(shape)))
    return mask


def _sciswift_region(dset: Any, ref: Any) -> Any:
    from sciswift.h5.selection import Selection

    sel = Selection.from_json(ref.selection, tuple(dset.shape))
    if sel.points is not None:
        return Points(sel.points)
    if sel.mask is not None:
        return sel.mask
    index: list[Any] = []
    for axis in sel.axes:
        if axis[0] == "i":
            index.append(axis[1])
        elif axis[0] == "s":
            index.append(slice(axis[1], axis[2], axis[3]))
        else:
            index.append(list(np.asarray(axis[1]).tolist()))
    return tuple(index)


def make_region_ref(api: Api, dset: Any, index: Any) -> Any:
    """A region reference to ``index`` (from ``region_index``) in ``dset``, a
    dataset opened through ``api``."""
    if isinstance(index, Points) and api.name == "h5py":
        import h5py

        # h5py's regionref turns index expressions into hyperslabs or a C-ordered
        # mask; an ordered point list is made with HDF5's own call.
        space = dset.id.get_space()
        if len(index.coords):
            space.select_elements(np.ascontiguousarray(index.coords, dtype=np.uint64))
        else:
            space.select_none()
        return h5py.h5r.create(dset.id, b".", h5py.h5r.DATASET_REGION, space)
    return dset.regionref[index]
