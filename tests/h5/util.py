"""Comparison helpers for h5py vs sciswift.h5py results."""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_same(expected: Any, got: Any, what: str = "") -> None:
    """Equal values, equal types (numpy scalar types included), equal dtypes and
    shapes for arrays, element by element for object arrays."""
    if isinstance(expected, type) and issubclass(expected, BaseException):
        assert isinstance(got, type) and issubclass(got, expected), f"{what}: expected {expected}, got {got!r}"
        return
    assert type(got) is type(expected) or _same_kind(expected, got), (
        f"{what}: type {type(got)} != {type(expected)} ({got!r} vs {expected!r})")
    if isinstance(expected, np.ndarray):
        assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
        if expected.dtype.names is not None and expected.dtype.hasobject:
            assert got.dtype.names == expected.dtype.names, f"{what}: fields {got.dtype} != {expected.dtype}"
            for name in expected.dtype.names:
                assert_same(expected[name], got[name], f"{what}.{name}")
            return
        assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
        if expected.dtype.hasobject:
            for a, b in zip(expected.reshape(-1), got.reshape(-1)):
                assert_same(a, b, what)
        elif expected.dtype.kind in "fc":
            np.testing.assert_array_equal(got, expected, err_msg=what)
        else:
            assert expected.tobytes() == got.tobytes() or np.array_equal(expected, got), f"{what}: values differ"
        return
    if isinstance(expected, np.void):
        assert got.dtype.names == expected.dtype.names, f"{what}: dtype {got.dtype} != {expected.dtype}"
        for name in expected.dtype.names or ():
            assert_same(expected[name], got[name], f"{what}.{name}")
        return
    if isinstance(expected, float) and np.isnan(expected):
        assert np.isnan(got)
        return
    assert got == expected, f"{what}: {got!r} != {expected!r}"


def _same_kind(expected: Any, got: Any) -> bool:
    # References are different classes in the two libraries; compare by name.
    return type(expected).__name__ == type(got).__name__
