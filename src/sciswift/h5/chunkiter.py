"""``Dataset.iter_chunks``: the chunk-aligned pieces of a selection."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

__all__ = ["iter_chunks"]


def iter_chunks(shape: tuple[int, ...], chunks: tuple[int, ...], sel: Any = None) -> Iterator[tuple[slice, ...]]:
    """Yield, in C order, one tuple of step-1 slices per chunk the selection touches,
    each clipped to the selection. ``sel`` holds one slice or int per dimension."""
    rank = len(shape)
    if sel is None:
        items: list[Any] = [slice(0, n) for n in shape]
    elif isinstance(sel, (slice, int)):
        items = [sel]
    else:
        items = list(sel)
    if len(items) != rank:
        raise ValueError("Invalid selection - selection region must have same rank as dataset")
    bounds = []
    for item, n in zip(items, shape):
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise ValueError("Invalid selection - step must be 1")
            start, stop, _ = item.indices(n)
        elif isinstance(item, int):
            start = item + n if item < 0 else item
            stop = start + 1
        else:
            raise ValueError("Invalid selection - expected slices or ints")
        bounds.append((start, stop))
    per_dim = []
    for (start, stop), c in zip(bounds, chunks):
        pieces = []
        pos = start
        while pos < stop:
            end = min(stop, (pos // c + 1) * c)
            pieces.append(slice(pos, end, 1))
            pos = end
        per_dim.append(pieces)
    for combo in itertools.product(*per_dim):
        yield tuple(combo)
