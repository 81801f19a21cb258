"""Region references, from either library, as an index expression.

A region reference names a dataset and a selection in it. Copying one means
making a reference with the same selection in the copy: ``dset.regionref[index]``
on the destination side, where ``index`` is what this module recovers from the
source reference: slices for a single block, a boolean mask for anything else
(several blocks, points). Both libraries accept both forms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sciswift.convert.apis import Api

__all__ = ["region_index"]


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
        points = space.get_select_elem_pointlist()
        if len(points):
            mask[tuple(points.T)] = True
    return mask


def _sciswift_region(dset: Any, ref: Any) -> Any:
    from sciswift.h5.selection import Selection

    sel = Selection.from_json(ref.selection, tuple(dset.shape))
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
