"""Helpers for the format plugin tests (imported as ``fmt_helpers``).

Every oracle test uploads a real file to a store, opens it through the registry and
compares what the plugin presents with what the format's own library reads from
the same local file.
"""

from __future__ import annotations

import glob
import os
import site
from collections.abc import Iterator
from typing import Any

import numpy as np

from sciswift.formats.base import ArrayNode, GroupNode, Node
from sciswift.formats.nodes import read_all
from sciswift.store import MemoryStore, Store
from sciswift.store.types import ObjectInfo

CONTAINER = "data"


class RemoteLikeStore(MemoryStore):
    """A MemoryStore that says requests are expensive, so RangedFile coalesces as it
    would against real Swift (256 KiB gaps, concurrent GETs)."""

    is_local = False


def upload(store: Store, path: str | os.PathLike[str], name: str | None = None) -> str:
    """Put a local file into the test container; returns its object name."""
    name = name or os.path.basename(path)
    with open(path, "rb") as f:
        store.put_object(CONTAINER, name, f.read())
    return name


def put_bytes(store: Store, name: str, data: bytes) -> ObjectInfo:
    return store.put_object(CONTAINER, name, data)


def site_files(pattern: str) -> list[str]:
    """Files matching ``pattern`` under the installed packages, sorted."""
    roots = site.getsitepackages()
    found: set[str] = set()
    for root in roots:
        found.update(glob.glob(os.path.join(root, pattern), recursive=True))
    return sorted(found)


def walk(group: GroupNode, prefix: str = "") -> Iterator[tuple[str, Node]]:
    """Every member below ``group`` as ``(path, node)``, depth first."""
    for key in group.keys():
        node = group[key]
        path = f"{prefix}/{key}"
        yield path, node
        if isinstance(node, GroupNode):
            yield from walk(node, path)


def assert_same_array(got: Any, want: Any, where: str = "") -> None:
    """Values, shape and dtype equal (NaN equal to NaN; object arrays elementwise)."""
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{where}: shape {got.shape} != {want.shape}"
    if want.dtype.kind == "O" or got.dtype.kind == "O":
        assert got.dtype.kind == want.dtype.kind == "O", f"{where}: dtype {got.dtype} != {want.dtype}"
        for i, (g, w) in enumerate(zip(got.ravel(), want.ravel(), strict=True)):
            if isinstance(w, np.ndarray) or isinstance(g, np.ndarray):
                assert_same_array(g, w, f"{where}[{i}]")
            else:
                assert g == w, f"{where}[{i}]: {g!r} != {w!r}"
        return
    assert got.dtype == want.dtype, f"{where}: dtype {got.dtype} != {want.dtype}"
    if got.dtype.names:
        for name in got.dtype.names:
            assert_same_array(got[name], want[name], f"{where}.{name}")
        return
    nan_ok = got.dtype.kind in "fcmM"
    assert np.array_equal(got, want, equal_nan=nan_ok), f"{where}: values differ"


def assert_same_value(got: Any, want: Any, where: str = "") -> None:
    """Attribute values equal: arrays as arrays, NaN equal to NaN, else ==."""
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        assert_same_array(got, want, where)
    elif isinstance(want, float) and np.isnan(want):
        assert isinstance(got, float | np.floating) and np.isnan(got), f"{where}: {got!r} != nan"
    else:
        assert got == want and type(got) is type(want), f"{where}: {got!r} ({type(got).__name__}) != {want!r} ({type(want).__name__})"


def read(node: Node) -> np.ndarray[Any, Any]:
    assert isinstance(node, ArrayNode), f"{node!r} is not a dataset"
    return read_all(node)
