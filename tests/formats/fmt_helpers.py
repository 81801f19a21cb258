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

from sciswift.formats.base import ArrayNode, GroupNode, LinkNode, Node
from sciswift.formats.hdf5 import SCALE_ATTRS
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


def h5py_scales(obj: Any) -> tuple[str | None, list[tuple[str, int]], list[list[str]], list[str | None]]:
    """What real h5py (HDF5's dimension-scale API) says of a local dataset: its scale
    name (None if no scale), the (dataset, axis) pairs it is attached to, the scales
    on each axis and the labels: the facts ``ArrayNode.dimension_scales`` holds."""
    import h5py

    scale = h5py.h5ds.get_scale_name(obj.id).decode() if h5py.h5ds.is_scale(obj.id) else None
    refs = [(obj.file[r].name, int(a)) for r, a in obj.attrs.get("REFERENCE_LIST", [])]
    dims = [[s.name for s in obj.dims[i].values()] for i in range(obj.ndim)] if obj.shape else []
    labels = [d.label or None for d in obj.dims] if obj.shape else []
    return scale, refs, dims, labels


def ref_paths(value: Any, h5file: Any = None) -> Any:
    """``value`` as nested lists with every reference replaced by the path of its
    target (None for a null one): h5py's (dereferenced in ``h5file``) and
    sciswift's compare as what they name (region selections: test them apart)."""
    import h5py

    from sciswift.h5.refs import Reference

    if isinstance(value, h5py.Reference):  # and RegionReference
        return h5file[value].name if value else None
    if isinstance(value, Reference):
        return value.path
    if isinstance(value, np.void) and value.dtype.names:
        return tuple(ref_paths(value[n], h5file) for n in value.dtype.names)
    if isinstance(value, np.ndarray):
        if value.ndim == 0 and (value.dtype.names or value.dtype.kind == "O"):
            return ref_paths(value[()], h5file)  # as h5py gives a scalar
        if value.dtype.names or value.dtype.kind == "O":
            return [ref_paths(v, h5file) for v in value.ravel()]
        return value.tolist()
    return value


def _holds_refs(dtype: np.dtype[Any]) -> bool:
    return bool(_ref_classes(dtype))


def _ref_classes(dt: np.dtype[Any]) -> list[Any]:
    """The reference classes a dtype is marked with, in fields, subarrays and
    vlen sequences too."""
    meta = dt.metadata or {}
    if dt.kind == "O" and "ref" in meta:
        return [meta["ref"]]
    if dt.names:
        return [c for n in dt.names for c in _ref_classes(dt.fields[n][0])]  # type: ignore[index]
    if dt.subdtype is not None:
        return _ref_classes(dt.subdtype[0])
    base = meta.get("vlen") if dt.kind == "O" else None
    return _ref_classes(base) if isinstance(base, np.dtype) else []


def compare_with_h5py(root: GroupNode, path: str) -> int:
    """Compare every node and attribute with real h5py on the local file ``path``
    (dimension-scale attributes as the facts they hold); returns the number of
    datasets checked."""
    import h5py

    count = 0
    with h5py.File(path, "r") as f:
        for_attrs = [("/", root, f)]
        for node_path, node in walk(root):
            link = f.get(node_path, getlink=True)
            if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
                assert isinstance(node, LinkNode) and node.target == link.path
                assert node.filename == getattr(link, "filename", None)
                continue
            obj = f[node_path]
            for_attrs.append((node_path, node, obj))
            if isinstance(obj, h5py.Group):
                assert isinstance(node, GroupNode) and node.keys() == list(obj.keys())
                continue
            assert isinstance(node, ArrayNode)
            count += 1
            scales = node.dimension_scales
            if scales is None:
                assert not SCALE_ATTRS & set(obj.attrs), node_path
            else:
                scale, refs, dims, labels = h5py_scales(obj)
                assert scales.scale == scale and sorted(scales.refs) == sorted(refs), node_path
                assert [list(d) for d in scales.dims] == (dims if any(dims) else []), node_path
                assert list(scales.labels) == (labels if any(labels) else []), node_path
            if obj.shape is None:
                assert node.shape == () and node.dtype == obj.dtype
                continue
            if _holds_refs(obj.dtype):
                # h5py's references hold file addresses, the node's the target's
                # path (formats.hdf5.present_refs): compared as what they name.
                assert (node.shape, node.chunks) == (obj.shape, obj.chunks), node_path
                assert all(c.__module__.startswith("sciswift.") for c in _ref_classes(node.dtype)), node_path
                assert ref_paths(read(node), f) == ref_paths(obj[()], f), node_path
                continue
            assert (node.shape, node.dtype, node.chunks) == (obj.shape, obj.dtype, obj.chunks), node_path
            assert node.compression == obj.compression
            assert_same_array(read(node), obj[()], node_path)
            if obj.ndim and all(obj.shape):
                sel = tuple(slice(n // 4, n - n // 5, 3) for n in obj.shape)
                assert_same_array(node.read(sel), obj[sel], f"{node_path}{sel}")
        for where, node, obj in for_attrs:
            assert list(node.attrs) == list(obj.attrs), where
            for k in obj.attrs:
                if k in SCALE_ATTRS and isinstance(node, ArrayNode) and node.dimension_scales is not None:
                    continue  # references: compared as the facts above
                want_attr = obj.attrs[k]
                if isinstance(want_attr, h5py.Reference) or (
                        isinstance(getattr(want_attr, "dtype", None), np.dtype) and _holds_refs(want_attr.dtype)):
                    assert ref_paths(node.attrs[k], f) == ref_paths(want_attr, f), f"{where} attr {k}"
                    continue
                assert_same_value(node.attrs[k], want_attr, f"{where} attr {k}")
    return count


def nc_dimensions(node: Node, name: str) -> tuple[str, ...]:
    """A netCDF-4 variable's dimension names from its node's dimension scales, as
    netCDF-C names them: the last scale attached to each axis, or the variable
    ``name`` itself for a coordinate variable."""
    assert isinstance(node, ArrayNode)
    scales = node.dimension_scales
    if scales is not None and any(scales.dims):
        return tuple(d[-1].rsplit("/", 1)[-1] for d in scales.dims)
    return (name,) if scales is not None and scales.scale is not None else ()
