"""The fast path for simple indices (ints, unit-step slices, one Ellipsis)
gives exactly NumPy's answers (as h5py gives them: a 0-d result is a scalar),
and leaves everything else to the general path.

Checked two ways: ``simple_block`` alone against NumPy indexing of an
in-memory array, and reads through ``sciswift.h5py`` (LocalStore, small chunks
so that reads cross chunk edges) against the same indexing of the data
written (hypothesis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sciswift.h5py as ss_h5py
from sciswift.h5.selection import select, simple_block

SHAPE = (13, 7, 5)
DATA = np.arange(np.prod(SHAPE), dtype="<i4").reshape(SHAPE) * 3 - 100

bounds = st.none() | st.integers(-16, 16)
unit_slice = st.builds(slice, bounds, bounds, st.sampled_from([None, 1]))
other_slice = st.builds(slice, bounds, bounds, st.sampled_from([2, 3, -1]))
an_int = st.integers(-15, 15) | st.integers(-15, 15).map(np.int64)
simple_part = unit_slice | an_int
any_part = simple_part | other_slice | st.just(Ellipsis) | st.just(True) | st.just([0, 2])


@st.composite
def simple_index(draw: Any, rank: int = len(SHAPE)) -> tuple[Any, ...]:
    """An index of ints and unit-step slices, maybe with one Ellipsis."""
    parts = draw(st.lists(simple_part, min_size=0, max_size=rank))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), Ellipsis)
    return tuple(parts)


def numpy_answer(data: np.ndarray[Any, Any], index: tuple[Any, ...]) -> Any:
    """NumPy's answer, as h5py gives it: a 0-d result is a scalar (NumPy keeps
    ``a[..., 0, 0, 0]`` an array; h5py, like ``a[0, 0, 0]``, returns the element)."""
    try:
        out = data[index]
    except IndexError:
        return IndexError
    return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out


@given(simple_index())
@settings(max_examples=200, deadline=None)
def test_simple_block_matches_numpy(index: tuple[Any, ...]) -> None:
    expected = numpy_answer(DATA, index)
    got = simple_block(index, SHAPE)
    if expected is IndexError:
        # Out-of-range integers are the general path's business (it raises
        # h5py's IndexError with h5py's message).
        assert got is None
        return
    assert got is not None, f"{index!r} is simple but was not taken"
    block, squeeze = got
    assert all(s.step == 1 and 0 <= s.start <= s.stop <= n for s, n in zip(block, SHAPE, strict=True))
    out = DATA[block] if squeeze is None else DATA[block][squeeze]
    assert type(out) is type(expected)
    assert np.shape(out) == np.shape(expected)
    assert np.array_equal(out, expected)


@given(st.lists(any_part, min_size=0, max_size=5).map(tuple))
@settings(max_examples=200, deadline=None)
def test_simple_block_agrees_with_the_general_path(index: tuple[Any, ...]) -> None:
    """Whatever simple_block takes, select() reads the same block and squeezes
    the same axes; whatever it refuses is still parsed (or refused) by select()."""
    got = simple_block(index, SHAPE)
    if got is None:
        return
    sel = select(index, SHAPE)
    assert sel.mask is None and all(ax[0] in "is" for ax in sel.axes)
    block, squeeze = got
    general = sel.read(lambda b: DATA[b], DATA.dtype)
    fast = DATA[block] if squeeze is None else DATA[block][squeeze]
    assert type(fast) is type(general)
    assert np.array_equal(fast, general)


@pytest.mark.parametrize("index", [
    (slice(0, 5, 2),), (slice(None, None, -1),), (slice(0, 3, np.int64(1)),), (True,), (np.bool_(False),),
    ([0, 1],), (np.array([1, 2]),), (None,), (1.0,), (slice(0.5, 2),), (Ellipsis, Ellipsis), (0, 0, 0, 0),
    (0, Ellipsis, 0, 0, 0), ("field",), (13,), (-14,),
])
def test_what_the_fast_path_leaves_alone(index: tuple[Any, ...]) -> None:
    assert simple_block(index, SHAPE) is None


def test_scalar_datasets_are_left_alone() -> None:
    assert simple_block((), ()) is None
    assert simple_block((Ellipsis,), ()) is None


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = Path(tmp_path_factory.mktemp("simple")) / "f.h5"
    with ss_h5py.File(str(path), "w") as f:
        f.create_dataset("d", data=DATA, chunks=(4, 3, 2))
        f.create_dataset("big_endian", data=DATA.astype(">f8"), chunks=(5, 5, 5))
    f = ss_h5py.File(str(path), "r")
    yield f
    f.close()


@given(simple_index(), st.sampled_from(["d", "big_endian"]))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_reads_through_the_api_match_numpy(stored: Any, index: tuple[Any, ...], name: str) -> None:
    data = DATA if name == "d" else DATA.astype(">f8")
    expected = numpy_answer(data, index)
    try:
        got = stored[name][index]
    except IndexError:
        got = IndexError
    if expected is IndexError:
        assert got is IndexError
        return
    assert type(got) is type(expected)
    assert np.shape(got) == np.shape(expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    assert np.array_equal(got, expected)
    if isinstance(got, np.ndarray):
        got[...] = 0  # a copy of its own: the chunk cache is untouched
        assert np.array_equal(stored[name][index], expected)
