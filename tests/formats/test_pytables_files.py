"""HDF5 files PyTables ships as its test data (``tables/tests/*.h5``): real files made
by many versions of PyTables and HDF5, with big-endian and nested compound types,
old flavors, enum and vlen arrays, undefined fill values, H5T_TIME and 128-bit float
types, and third-party filters (lzo, blosc, blosc2, szip).

Each one is uploaded, opened through the registry and compared with h5py reading the
local file, node by node. Where h5py itself cannot go on, sciswift must say why with
a clear error naming the dataset (or, for blosc, read it where h5py cannot: compared
with PyTables, which has blosc built in).
"""

from __future__ import annotations

import os
from typing import Any

import h5py
import numpy as np
import pytest
import tables
from fmt_helpers import CONTAINER, assert_same_array, assert_same_value, read, site_files, upload, walk

from sciswift.errors import NotSupported
from sciswift.formats.base import ArrayNode, GroupNode, LinkNode
from sciswift.formats.hdf5 import H5Z_BLOSC
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore, Store

PYTABLES_FILES = site_files("tables/**/*.h5")


def _by_name(name: str) -> str:
    (path,) = [p for p in PYTABLES_FILES if os.path.basename(p) == name]
    return path


def _h5py_attrs(obj: Any) -> dict[str, Any]:
    """The attributes h5py can read (it raises on a few exotic types, e.g. 128-bit
    integers; the plugin leaves those out, as documented)."""
    out = {}
    for k in obj.attrs:
        try:
            out[k] = obj.attrs[k]
        except (OSError, TypeError, ValueError):
            continue
    return out


def _filters(ds: Any) -> list[tuple[int, str]]:
    dcpl = ds.id.get_create_plist()
    return [(c, n.decode()) for c, _f, _cd, n in (dcpl.get_filter(i) for i in range(dcpl.get_nfilters()))]


def _compare_dataset(node: ArrayNode, obj: Any, where: str, pytables_file: Any) -> str:
    """Compare one dataset; returns how it was judged (for the per-file tally)."""
    try:
        dtype = obj.dtype
    except (TypeError, ValueError):  # h5py: no NumPy equivalent / insufficient precision
        with pytest.raises(NotSupported, match=rf"{where}: its HDF5 datatype .* no NumPy equivalent"):
            node.dtype  # noqa: B018
        with pytest.raises(NotSupported, match=where):
            node.read(tuple(slice(0, n, 1) for n in node.shape))
        assert node.shape == obj.shape
        return "no-numpy-type"
    assert (node.shape, node.dtype, node.chunks) == (obj.shape, dtype, obj.chunks), where
    if obj.shape is None:
        return "empty"
    try:
        want = obj[()]
    except OSError:  # a filter h5py has no decoder for
        codes = [c for c, _ in _filters(obj) if not h5py.h5z.filter_avail(c)]
        assert codes, f"{where}: h5py failed, but not for a missing filter"
        if codes == [H5Z_BLOSC]:  # read directly; PyTables decodes blosc itself
            assert node.read_path == "chunks"
            want = pytables_file.get_node(obj.name).read()
            got = read(node)
            assert got.dtype == dtype and got.shape == want.shape
            assert np.array_equal(got, want), where
            return "blosc-vs-pytables"
        with pytest.raises(NotSupported, match=rf"{where} is compressed with HDF5 filter {codes[0]} \("):
            read(node)
        return "missing-filter"
    got = read(node)
    promised = np.empty(node.shape, node.dtype)  # a subarray dtype expands, as in numpy and h5py
    assert (got.dtype, got.shape) == (promised.dtype, promised.shape), f"{where}: read {got.dtype}{got.shape}"
    if obj.ndim == 0 and dtype.kind == "O":  # h5py unwraps a scalar vlen value
        assert type(got[()]) is type(want), where
        assert_same_array(np.asarray(got[()]), np.asarray(want), where)
        return "values"
    assert_same_array(got, want, where)
    if obj.ndim and all(obj.shape):
        sel = tuple(slice(n // 4, n - n // 5, 3) for n in obj.shape)
        assert_same_array(node.read(sel), obj[sel], f"{where}{sel}")
    return "values"


def compare_pytables_file(root: GroupNode, path: str, name: str) -> dict[str, int]:
    tally: dict[str, int] = {}
    with h5py.File(path, "r") as f, tables.open_file(path, "r") as pt:
        pairs: list[tuple[str, Any, Any]] = [("/", root, f)]
        for node_path, node in walk(root):
            link = f.get(node_path, getlink=True)
            if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
                assert isinstance(node, LinkNode) and node.target == link.path, node_path
                continue
            obj = f[node_path]
            pairs.append((node_path, node, obj))
            if isinstance(obj, h5py.Group):
                assert isinstance(node, GroupNode) and node.keys() == list(obj.keys()), node_path
                continue
            assert isinstance(node, ArrayNode), node_path
            how = _compare_dataset(node, obj, f"{CONTAINER}/{name}:{node_path}", pt)
            tally[how] = tally.get(how, 0) + 1
        for where, node, obj in pairs:
            want = _h5py_attrs(obj)
            assert list(node.attrs) == list(want), where
            for k, v in want.items():
                assert_same_value(node.attrs[k], v, f"{where} attr {k}")
    return tally


def test_file_count() -> None:
    assert len(PYTABLES_FILES) >= 40, PYTABLES_FILES


@pytest.mark.parametrize("path", PYTABLES_FILES, ids=os.path.basename)
def test_pytables_file_matches_h5py(store: MemoryStore, path: str) -> None:
    name = upload(store, path, "pt.h5")
    with open_object(store, CONTAINER, name) as root:
        tally = compare_pytables_file(root, path, name)
    if os.path.basename(path) not in ("elink.h5", "elink2.h5", "issue_368.h5", "issue_560.h5", "vlstr_attr.h5"):
        assert sum(tally.values()) >= 1, tally  # those five hold links and attributes only


@pytest.mark.parametrize("name", ["blosc_bigendian.h5", "attr-u16.h5", "times-nested-be.h5"])
def test_on_local_store(local_store: Store, name: str) -> None:
    path = _by_name(name)
    upload(local_store, path, name)
    with open_object(local_store, CONTAINER, name) as root:
        assert sum(compare_pytables_file(root, path, name).values()) >= 3


def test_blosc_is_read_directly(store: MemoryStore) -> None:
    """Regression: blosc-compressed datasets (filter 32001) were 'damaged' although
    numcodecs decodes each chunk; big-endian values come out as PyTables reads them."""
    path = _by_name("blosc_bigendian.h5")
    upload(store, path, "b.h5")
    with open_object(store, CONTAINER, "b.h5") as root:
        for key in ("i1", "i2", "i4", "i8"):
            assert root[key].read_path == "chunks"
            assert root[key].dtype.byteorder in "|>"
            assert read(root[key]).tolist() == list(range(10))
            assert root[key].read((slice(3, 9, 2),)).tolist() == [3, 5, 7]


def test_undefined_fill_value_reads(store: MemoryStore) -> None:
    """Regression: a dataset written with no defined fill value (h5py raises on
    ``.fillvalue``) was reported as a damaged file instead of being read."""
    path = _by_name("ex-noattr.h5")
    upload(store, path, "nofill.h5")
    with h5py.File(path) as f, open_object(store, CONTAINER, "nofill.h5") as root:
        with pytest.raises((OSError, RuntimeError), match="fill value is undefined"):
            f["detector/table"].fillvalue  # noqa: B018 - h5py's own behaviour
        node = root["detector"]["table"]
        assert node.fillvalue == np.zeros((), node.dtype)[()]
        assert node.read_path == "chunks"
        assert_same_array(read(node), f["detector/table"][()], "table")


@pytest.mark.parametrize("name, member", [("times-nested-be.h5", "earr32"), ("float.h5", "quadprecision"),
                                          ("time-table-vlarray-1_x.h5", "table")])
def test_type_without_numpy_equivalent_leaves_the_file_readable(store: MemoryStore, name: str, member: str) -> None:
    """Regression: one H5T_TIME (or 128-bit float) dataset made the whole file fail
    at open ('cannot index ... No NumPy equivalent'); h5py opens such files and fails
    on that dataset's dtype only. Now the others read and that one says why."""
    upload(store, _by_name(name), name)
    with open_object(store, CONTAINER, name) as root:
        assert member in root.keys()
        with pytest.raises(NotSupported, match=rf"{name}:/{member}: its HDF5 datatype \(H5T_\w+\) has no NumPy"):
            root[member].dtype  # noqa: B018
        assert root.keys()  # the file opens
        readable = 0
        for key in root.keys():
            node = root[key]
            if not isinstance(node, ArrayNode):
                continue
            try:
                node.dtype  # noqa: B018
            except NotSupported as exc:
                assert f"{name}:/{key}" in str(exc)
                continue
            read(node)
            readable += 1
        assert readable == {"float.h5": 4}.get(name, 0)  # float16/32/64 and longdouble


def test_missing_filter_names_dataset_and_filter(store: MemoryStore) -> None:
    upload(store, _by_name("Tables_lzo1.h5"), "lzo.h5")
    with open_object(store, CONTAINER, "lzo.h5") as root:
        node = root["tuple0"]
        assert node.shape and node.dtype.names  # the header is still there
        with pytest.raises(NotSupported, match=r"data/lzo\.h5:/tuple0 is compressed with HDF5 filter 305 \(lzo\)"):
            read(node)


def test_scalar_vlen_reads_as_a_0d_object_array(store: MemoryStore, tmp_path: Any) -> None:
    """Regression: a scalar vlen dataset read through h5py came back as an ``S<n>``
    array (vlen text) or as the sequence itself, shape (3,) for a () dataset (vlen
    ints), not the 0-d object array its dtype promises."""
    import sciswift.h5py as sh5
    from sciswift.store.url import parse_location

    path = tmp_path / "scalars.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("vlen_int", shape=(), dtype=h5py.vlen_dtype("i4"))[()] = np.arange(3, dtype="i4")
        f.create_dataset("vlen_str", data="h\u00e9llo", dtype=h5py.string_dtype())
    upload(store, path)
    upload(store, _by_name("scalar.h5"))
    with open_object(store, CONTAINER, "scalars.h5") as root, open_object(store, CONTAINER, "scalar.h5") as pt:
        ints, text, old = read(root["vlen_int"]), read(root["vlen_str"]), read(pt["variable length string"])
    assert ints.shape == text.shape == old.shape == () and ints.dtype == text.dtype == old.dtype == object
    assert ints[()].tolist() == [0, 1, 2] and text[()] == "h\u00e9llo".encode() and old[()] == b"Some string"
    # Through the h5py API, as h5py gives them: bytes and an int32 array.
    loc = parse_location("memory://scalar-vlen/scalars.h5")
    loc.store.create_container(loc.container)
    loc.store.put_object(loc.container, loc.prefix, path.read_bytes())
    with sh5.File("memory://scalar-vlen/scalars.h5") as f, h5py.File(path) as g:
        for key in ("vlen_int", "vlen_str"):
            got, want = f[key][()], g[key][()]
            assert type(got) is type(want), key
            assert_same_array(np.asarray(got), np.asarray(want), key)


@pytest.mark.parametrize("name, member", [("times-nested-be.h5", "earr32"), ("float.h5", "quadprecision")])
def test_type_without_numpy_equivalent_through_the_h5py_api(name: str, member: str) -> None:
    """As h5py: the dataset opens and visititems reaches it; its dtype raises."""
    import sciswift.h5py as sh5
    from sciswift.store.url import parse_location

    loc = parse_location(f"memory://no-numpy-type/{name}")
    loc.store.create_container(loc.container)
    with open(_by_name(name), "rb") as src:
        loc.store.put_object(loc.container, loc.prefix, src.read())
    with sh5.File(f"memory://no-numpy-type/{name}") as f, h5py.File(_by_name(name)) as g:
        ds = f[member]
        assert ds.shape == g[member].shape
        seen: list[str] = []
        f.visititems(lambda n, _obj: seen.append(n))
        assert member in seen
        with pytest.raises(NotSupported, match=member):
            ds.dtype  # noqa: B018
        with pytest.raises(NotSupported, match=member):
            ds[()]
