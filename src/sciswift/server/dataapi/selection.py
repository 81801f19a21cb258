"""Selections written as text, h5py style: ``"0:100, ::4"``, ``"[5, :, 2:8]"``,
``"..., 0"``, checked against a dataset's shape before anything is read.

The grammar is NumPy's basic indexing, which h5py accepts: per axis an integer
(negative counts from the end), a slice ``start:stop:step`` (any part may be
empty; the step must be positive, as h5py requires), or one ``...`` standing
for all axes not named. Brackets around the whole are optional (H5Web sends
none; shell users often type them). Slices past the end are clipped as NumPy
clips them; an integer past the end is an error.

Every problem is a :class:`SelectionError` (a ValueError) whose message names
the selection, the axis and the shape, so the API answers 400, never 500.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Selection", "SelectionError", "parse_selection"]

Index = int | slice


class SelectionError(ValueError):
    """A selection that does not parse or does not fit the dataset's shape."""


@dataclass(frozen=True)
class Selection:
    """A checked selection: ``index`` is what to hand to ``dataset[...]``,
    ``shape`` the shape of the result (integer axes dropped)."""

    index: tuple[Index, ...]
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def _int(text: str, what: str, selection: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SelectionError(f"selection {selection!r}: {what} {text.strip()!r} is not an integer") from None


def _member(text: str, selection: str) -> Index | None:
    """One comma-separated member: an int, a slice, or None for ``...``."""
    text = text.strip()
    if text == "...":
        return None
    if text == "":
        raise SelectionError(f"selection {selection!r}: an empty member (two commas, or a trailing comma?)")
    if ":" not in text:
        return _int(text, "index", selection)
    parts = text.split(":")
    if len(parts) > 3:
        raise SelectionError(f"selection {selection!r}: {text!r} has more than two colons")
    start, stop, step = (parts + [""] * 3)[:3]
    return slice(
        _int(start, "start", selection) if start.strip() else None,
        _int(stop, "stop", selection) if stop.strip() else None,
        _int(step, "step", selection) if step.strip() else None,
    )


def parse_selection(text: str | None, shape: tuple[int, ...] | None) -> Selection:
    """The selection ``text`` on a dataset of ``shape`` (None: an empty
    dataspace, which takes no selection). An empty or missing text selects
    everything."""
    if shape is None:
        if text and text.strip():
            raise SelectionError(f"selection {text!r}: the dataset has no data (empty dataspace) to select from")
        return Selection((), ())
    source = (text or "").strip()
    body = source[1:-1] if source.startswith("[") and source.endswith("]") else source
    if not body.strip():
        return Selection((), tuple(shape))
    members = [_member(m, source) for m in body.split(",")]
    if members.count(None) > 1:
        raise SelectionError(f"selection {source!r}: only one '...' is allowed")
    named = len(members) - members.count(None)
    if named > len(shape):
        raise SelectionError(
            f"selection {source!r} has {named} members, but the dataset has {len(shape)} "
            f"dimension{'s' if len(shape) != 1 else ''} (shape {list(shape)})"
        )
    if None in members:
        at = members.index(None)
        members[at : at + 1] = [slice(None)] * (len(shape) - named)
    full: list[Index] = [m for m in members if m is not None]
    full += [slice(None)] * (len(shape) - len(full))
    index: list[Index] = []
    out: list[int] = []
    for axis, (m, n) in enumerate(zip(full, shape)):
        if isinstance(m, int):
            if not -n <= m < n:
                raise SelectionError(
                    f"selection {source!r}: index {m} is out of range for axis {axis} of size {n} "
                    f"(shape {list(shape)})"
                )
            index.append(m % n)
            continue
        if m.step is not None and m.step <= 0:
            raise SelectionError(
                f"selection {source!r}: step {m.step} on axis {axis} must be at least 1"
            )
        start, stop, step = m.indices(n)
        index.append(slice(start, stop, step))
        out.append(len(range(start, stop, step)))
    return Selection(tuple(index), tuple(out))
