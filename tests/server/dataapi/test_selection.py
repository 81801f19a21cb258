"""Text selections against NumPy: the same elements as ``array[index]`` for
every selection NumPy's basic indexing accepts (and h5py: positive steps), a
SelectionError naming the problem for everything else."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciswift.server.dataapi.selection import SelectionError, parse_selection


def _text(member: Any) -> str:
    if member is Ellipsis:
        return "..."
    if isinstance(member, int):
        return str(member)
    parts = ["" if v is None else str(v) for v in (member.start, member.stop, member.step)]
    return ":".join(parts) if member.step is not None else ":".join(parts[:2])


@st.composite
def shapes_and_index(draw: Any) -> tuple[tuple[int, ...], tuple[Any, ...]]:
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))
    named = draw(st.integers(0, len(shape)))
    ellipsis_at = draw(st.one_of(st.none(), st.integers(0, named)))
    # Members before '...' index the leading axes, those after it the trailing ones.
    axes = list(range(named)) if ellipsis_at is None else \
        list(range(ellipsis_at)) + list(range(len(shape) - (named - ellipsis_at), len(shape)))
    members: list[Any] = []
    for axis in axes:
        n = shape[axis]
        if draw(st.booleans()):
            members.append(draw(st.integers(-n, n - 1)))
        else:
            bound = st.one_of(st.none(), st.integers(-n - 3, n + 3))
            members.append(slice(draw(bound), draw(bound), draw(st.one_of(st.none(), st.integers(1, 4)))))
    if ellipsis_at is not None:
        members.insert(ellipsis_at, Ellipsis)
    return shape, tuple(members)


@settings(max_examples=300, deadline=None)
@given(shapes_and_index(), st.booleans())
def test_same_elements_as_numpy(case: tuple[tuple[int, ...], tuple[Any, ...]], brackets: bool) -> None:
    shape, index = case
    array = np.arange(int(np.prod(shape))).reshape(shape)
    text = ", ".join(_text(m) for m in index)
    sel = parse_selection(f"[{text}]" if brackets else text, shape)
    expected = array[index]
    got = array[sel.index] if sel.index else array[()]
    np.testing.assert_array_equal(got, expected)
    assert sel.shape == expected.shape


@pytest.mark.parametrize("text, shape, words", [
    ("5", (5,), "index 5 is out of range for axis 0 of size 5"),
    ("-6", (5,), "index -6 is out of range"),
    ("::0", (5,), "step 0 on axis 0 must be at least 1"),
    ("::-1", (5,), "step -1"),
    ("1,2", (5,), "2 members, but the dataset has 1 dimension"),
    ("x", (5,), "index 'x' is not an integer"),
    ("1:2:3:4", (5,), "more than two colons"),
    ("...,...", (5, 5), "only one '...'"),
    (",", (5, 5), "empty member"),
    ("0", None, "empty dataspace"),
])
def test_errors_name_the_problem(text: str, shape: tuple[int, ...] | None, words: str) -> None:
    with pytest.raises(SelectionError, match="selection") as info:
        parse_selection(text, shape)
    assert words in str(info.value)


def test_empty_text_selects_everything() -> None:
    assert parse_selection("", (3, 4)).shape == (3, 4)
    assert parse_selection(None, (3, 4)).index == ()
    assert parse_selection("[]", (2,)).shape == (2,)
    assert parse_selection("", ()).shape == ()
