"""Chunk-grid arithmetic checked against numpy indexing (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sciswift.engine.chunks import (
    CHUNK_MAX,
    block_pieces,
    chunk_pieces,
    dim_pieces,
    guess_chunks,
    normalize_selection,
    selection_shape,
)


@st.composite
def dim_case(draw):  # type: ignore[no-untyped-def]
    size = draw(st.integers(0, 60))
    chunk = draw(st.integers(1, 17))
    start = draw(st.integers(-70, 70) | st.none())
    stop = draw(st.integers(-70, 70) | st.none())
    step = draw(st.integers(1, 25) | st.none())
    return size, chunk, slice(start, stop, step)


@given(dim_case())
@settings(max_examples=400, deadline=None)
def test_dim_pieces_cover_exactly_the_selection(case) -> None:  # type: ignore[no-untyped-def]
    size, chunk, sel = case
    [norm] = normalize_selection([sel], [size])
    expected = list(range(size))[sel]
    got = [None] * len(expected)
    for p in dim_pieces(norm, chunk, size):
        idx = list(range(p.chunk * chunk, min((p.chunk + 1) * chunk, size)))[p.inner]
        for k, i in zip(range(p.outer.start, p.outer.stop), idx, strict=True):
            got[k] = i
    assert got == expected


@given(st.lists(dim_case(), min_size=1, max_size=3))
@settings(max_examples=150, deadline=None)
def test_chunk_pieces_reassemble_numpy(cases) -> None:  # type: ignore[no-untyped-def]
    shape = tuple(c[0] for c in cases)
    chunks = tuple(c[1] for c in cases)
    sel = normalize_selection([c[2] for c in cases], shape)
    data = np.arange(math.prod(shape)).reshape(shape)
    out = np.full(selection_shape(sel), -1)
    for p in chunk_pieces(sel, chunks, shape):
        block = data[tuple(slice(c * n, (c + 1) * n) for c, n in zip(p.coords, chunks, strict=True))]
        out[p.outer] = block[p.inner]
        if p.full:  # a full piece covers every in-bounds element of its chunk
            assert block[p.inner].shape == block.shape
    assert np.array_equal(out, data[tuple(c[2] for c in cases)])


def test_guess_chunks_targets_megabytes() -> None:
    c = guess_chunks((8_000_000,), 4)
    assert (1 << 20) <= c[0] * 4 <= CHUNK_MAX
    c2 = guess_chunks((4096, 4096), 4)
    assert (1 << 20) <= math.prod(c2) * 4 <= CHUNK_MAX
    assert guess_chunks((10, 10), 8) == (10, 10)  # small arrays: one chunk
    assert guess_chunks((), 8) == ()
    ext = guess_chunks((0,), 8, maxshape=(None,))
    assert ext[0] >= 1024  # extendable datasets do not get tiny chunks
    huge = guess_chunks((10**9, 10**9), 1)
    assert math.prod(huge) <= CHUNK_MAX


@st.composite
def block_case(draw):  # type: ignore[no-untyped-def]
    """A shape, chunks and a non-empty unit-step block of that shape."""
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 40)) for _ in range(rank))
    chunks = tuple(draw(st.integers(1, 12)) for _ in range(rank))
    sel = []
    for n in shape:
        start = draw(st.integers(0, n - 1))
        sel.append(slice(start, draw(st.integers(start + 1, n)), 1))
    return shape, chunks, tuple(sel)


@given(block_case())
@settings(max_examples=300, deadline=None)
def test_block_pieces_are_chunk_pieces(case) -> None:  # type: ignore[no-untyped-def]
    """The fast version for unit-step blocks: the same pieces, in the same order."""
    shape, chunks, sel = case
    assert block_pieces(sel, chunks, shape) == list(chunk_pieces(sel, chunks, shape))
