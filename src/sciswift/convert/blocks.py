"""Cutting a dataset into blocks that are copied one at a time.

A block is a hyperslab made of whole storage chunks (except at the array's edge),
so a block written to the native layout never shares a chunk with another block:
blocks of one dataset can then be written concurrently without read-modify-write
of a shared chunk. Blocks hold about ``budget`` bytes, which bounds the memory a
copy needs whatever the dataset's size.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

__all__ = ["block_shape", "iter_blocks", "DEFAULT_BUDGET"]

#: Bytes per block: large enough that per-call overhead vanishes, small enough that
#: a few blocks in flight stay far below a machine's memory.
DEFAULT_BUDGET = 16 << 20

Selection = tuple[slice, ...]


def block_shape(shape: tuple[int, ...], unit: tuple[int, ...], itemsize: int, budget: int = DEFAULT_BUDGET) -> tuple[int, ...]:
    """The block shape: ``unit`` (a chunk shape) multiplied along the last
    dimensions first, as long as the block stays within ``budget`` bytes.

    A dimension is only grown once every later one spans the whole array, so a
    block is one contiguous run of C-order rows of chunks. At least one unit is
    always taken, even if it alone exceeds the budget.
    """
    if len(unit) != len(shape):
        raise ValueError(f"chunk shape {unit} does not match dataset shape {shape}")
    itemsize = max(1, itemsize)
    block = [max(1, min(u, n)) if n else 1 for u, n in zip(unit, shape)]
    for d in range(len(shape) - 1, -1, -1):
        n = shape[d]
        if n == 0:
            continue
        others = math.prod(block[:d] + block[d + 1:]) * itemsize
        fit = max(1, budget // max(1, others * block[d]))
        units_total = math.ceil(n / block[d])
        block[d] = min(n, block[d] * min(fit, units_total))
        if block[d] < n:
            break
    return tuple(block)


def iter_blocks(shape: tuple[int, ...], unit: tuple[int, ...], itemsize: int,
                budget: int = DEFAULT_BUDGET) -> Iterator[Selection]:
    """Every block of a dataset of ``shape``, in C order, as step-1 slices clipped
    to the array. Nothing for an empty array; one ``()`` for a scalar."""
    if not shape:
        yield ()
        return
    if math.prod(shape) == 0:
        return
    block = block_shape(shape, unit, itemsize, budget)
    starts = [range(0, n, b) for n, b in zip(shape, block)]
    for origin in itertools.product(*starts):
        yield tuple(slice(o, min(o + b, n)) for o, b, n in zip(origin, block, shape))


def selection_nbytes(sel: Selection, itemsize: int) -> int:
    """Bytes of the elements a block selects (fixed-size part for vlen types)."""
    return math.prod(s.stop - s.start for s in sel) * max(1, itemsize)
