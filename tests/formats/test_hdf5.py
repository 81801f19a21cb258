"""Plain HDF5 blobs: compared with h5py reading the same local file, and the direct
chunk path and its cached index."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from fmt_helpers import (
    CONTAINER,
    compare_with_h5py,
    read,
    ref_paths,
    site_files,
    upload,
    walk,
)

from sciswift.errors import CorruptData, PermissionDenied
from sciswift.formats.base import ArrayNode
from sciswift.formats.hdf5 import INDEX_SUFFIX
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore, Store

SHIPPED = site_files("h5py/tests/data_files/*.h5") + site_files("astropy/**/*.hdf5")


def make_rich_file(path: Path) -> None:
    """One file with most of what HDF5 can hold."""
    rng = np.random.default_rng(7)
    with h5py.File(path, "w", libver="earliest") as f:
        f.attrs["title"] = "rich"
        f.attrs["ints"] = np.arange(3, dtype=">i2")
        f.attrs["fixed"] = np.bytes_(b"abc")
        f.attrs["vlen_list"] = np.array(["x", "yy"], dtype=h5py.string_dtype())
        g = f.create_group("g/h")
        g.attrs["pi"] = 3.14
        grid = rng.integers(0, 50, (97, 61)).astype("i4")
        f.create_dataset("gzip", data=grid, chunks=(10, 7), compression="gzip", shuffle=True, fletcher32=True)
        f.create_dataset("gzip_be", data=grid.astype(">f8"), chunks=(32, 32), compression=4)
        f.create_dataset("plain_chunks", data=grid, chunks=(20, 20))
        f.create_dataset("lzf", data=grid, chunks=(16, 16), compression="lzf")
        f.create_dataset("scaleoffset", data=grid, chunks=(16, 16), scaleoffset=0)
        sparse = f.create_dataset("sparse", shape=(100, 100), chunks=(10, 10), dtype="f4", fillvalue=-1.5)
        sparse[15:25, 40:43] = 9.0  # most chunks never written
        f.create_dataset("contiguous", data=rng.random((50, 30)))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        compact = h5py.h5d.create(f.id, b"compact", h5py.h5t.NATIVE_INT32, h5py.h5s.create_simple((10,)), dcpl=dcpl)
        compact.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(10, dtype="i4"))
        f.create_dataset("scalar", data=np.float32(2.5))
        f.create_dataset("empty", data=h5py.Empty("f4"))
        f.create_dataset("zero_len", shape=(0, 4), dtype="i2")
        f.create_dataset("vlen_str", data=["a", "bcd", ""], dtype=h5py.string_dtype())
        f.create_dataset("vlen_int", data=[np.arange(i) for i in range(4)], dtype=h5py.vlen_dtype("i4"))
        f.create_dataset("fixed_str", data=np.array([b"ab", b"cde"], dtype="S3"), chunks=(1,), compression="gzip")
        comp = np.zeros(20, dtype=[("a", "<i4"), ("b", "<f8", (2,)), ("c", "S4")])
        comp["a"] = np.arange(20)
        comp["b"] = rng.random((20, 2))
        comp["c"] = b"q"
        f.create_dataset("compound", data=comp, chunks=(6,), compression="gzip")
        f.create_dataset("enum", data=np.array([0, 1, 1], dtype="u1"),
                         dtype=h5py.enum_dtype({"RED": 0, "GREEN": 1}, basetype="u1"))
        f.create_dataset("bools", data=np.array([True, False, True]), chunks=(2,), compression="gzip")
        f.create_dataset("maxshape", data=np.arange(15.0), chunks=(4,), maxshape=(None,))
        f["soft"] = h5py.SoftLink("/gzip")
        f["dangling"] = h5py.SoftLink("/nowhere")
        f["external"] = h5py.ExternalLink("other.h5", "/x")
        f["g/hard_alias"] = f["plain_chunks"]


@pytest.mark.parametrize("path", SHIPPED, ids=os.path.basename)
def test_shipped_files_match_h5py(store: MemoryStore, path: str) -> None:
    name = upload(store, path, "shipped.h5")
    with open_object(store, CONTAINER, name) as root:
        assert compare_with_h5py(root, path) >= 1


def test_rich_file_matches_h5py(store: MemoryStore, tmp_path: Path) -> None:
    path = tmp_path / "rich.h5"
    make_rich_file(path)
    upload(store, path)
    with open_object(store, CONTAINER, "rich.h5") as root:
        assert compare_with_h5py(root, str(path)) == 19
        paths = {p: n.read_path for p, n in walk(root) if isinstance(n, ArrayNode) and hasattr(n, "read_path")}
    assert paths["/gzip"] == paths["/gzip_be"] == paths["/sparse"] == paths["/compound"] == "chunks"
    assert paths["/contiguous"] == "contiguous"
    assert paths["/lzf"] == paths["/scaleoffset"] == paths["/vlen_str"] == paths["/compact"] == "h5py"


def test_on_local_store(local_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "rich.h5"
    make_rich_file(path)
    upload(local_store, path)
    with open_object(local_store, CONTAINER, "rich.h5") as root:
        assert compare_with_h5py(root, str(path)) == 19


def test_user_block(store: MemoryStore, tmp_path: Path) -> None:
    path = tmp_path / "ub.h5"
    with h5py.File(path, "w", userblock_size=1024) as f:
        f.create_dataset("x", data=np.arange(100), chunks=(10,), compression="gzip")
    upload(store, path, "ub.bin")
    with open_object(store, CONTAINER, "ub.bin") as root:
        assert read(root["x"]).tolist() == list(range(100))
        assert root["x"].read_path == "chunks"


def test_filter_mask_skips_filters(store: MemoryStore) -> None:
    """A chunk stored with a filter skipped (mask bit set) is decoded without it."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        ds = f.create_dataset("m", shape=(8,), chunks=(4,), dtype="i4", compression="gzip")
        ds[:4] = [1, 2, 3, 4]
        raw = np.array([5, 6, 7, 8], dtype="i4").tobytes()
        ds.id.write_direct_chunk((4,), raw, filter_mask=1)  # deflate skipped
    store.put_object(CONTAINER, "m.h5", buf.getvalue())
    with open_object(store, CONTAINER, "m.h5") as root:
        assert root["m"].read_path == "chunks"
        assert read(root["m"]).tolist() == [1, 2, 3, 4, 5, 6, 7, 8]


def _chunked_file(n: int = 64) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("d", data=np.arange(n * n, dtype="f8").reshape(n, n), chunks=(8, 8),
                         compression="gzip", fletcher32=True)
    return buf.getvalue()


def test_index_is_cached_and_reused(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from sciswift.formats import hdf5

    store.put_object(CONTAINER, "c.h5", _chunked_file())
    with open_object(store, CONTAINER, "c.h5") as root:
        read(root["d"])
    assert store.has_object(CONTAINER, "c.h5" + INDEX_SUFFIX)
    etag = store.head_object(CONTAINER, "c.h5").etag
    assert store.head_object(CONTAINER, "c.h5" + INDEX_SUFFIX).metadata["sciswift-index-etag"] == etag

    def no_walk(f: Any) -> Any:
        raise AssertionError("the chunk index was rebuilt although a valid one is stored")

    monkeypatch.setattr(hdf5, "build_index", no_walk)
    monkeypatch.setattr(hdf5, "chunk_table", no_walk)
    with open_object(store, CONTAINER, "c.h5") as root:
        assert root["d"].read_path == "chunks"
        block = root["d"].read((slice(8, 16, 1), slice(0, 8, 1)))
    assert block[0, 0] == 8 * 64


def test_stale_or_garbage_index_is_rebuilt(store: MemoryStore) -> None:
    store.put_object(CONTAINER, "c.h5", _chunked_file())
    open_object(store, CONTAINER, "c.h5").close()
    old_index = store.get_object(CONTAINER, "c.h5" + INDEX_SUFFIX)
    # The blob is rewritten with other data: the old index must not be used.
    store.put_object(CONTAINER, "c.h5", _chunked_file(48))
    with open_object(store, CONTAINER, "c.h5") as root:
        assert read(root["d"]).shape == (48, 48)
        assert read(root["d"])[47, 47] == 48 * 48 - 1
    assert store.get_object(CONTAINER, "c.h5" + INDEX_SUFFIX) != old_index
    # A damaged sidecar (right etag, wrong bytes) is ignored too.
    etag = store.head_object(CONTAINER, "c.h5").etag
    store.put_object(CONTAINER, "c.h5" + INDEX_SUFFIX, b"not an index", metadata={"sciswift-index-etag": etag})
    with open_object(store, CONTAINER, "c.h5") as root:
        assert read(root["d"])[1, 2] == 1 * 48 + 2


def test_read_only_store_keeps_the_index_in_memory(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.put_object(CONTAINER, "c.h5", _chunked_file())

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionDenied("read-only", "data")

    monkeypatch.setattr(store, "put_object", refuse)
    with open_object(store, CONTAINER, "c.h5") as root:
        assert root["d"].read_path == "chunks"
        assert read(root["d"])[3, 3] == 3 * 64 + 3
    assert not store.has_object(CONTAINER, "c.h5" + INDEX_SUFFIX)


def test_damaged_chunk_is_corrupt(store: MemoryStore) -> None:
    data = bytearray(_chunked_file())
    with h5py.File(io.BytesIO(bytes(data)), "r") as f:
        info = f["d"].id.get_chunk_info(5)
    data[info.byte_offset + 3] ^= 0xFF
    store.put_object(CONTAINER, "bad.h5", bytes(data))
    with open_object(store, CONTAINER, "bad.h5") as root:
        root["d"].read((slice(0, 8, 1), slice(0, 8, 1)))  # an intact chunk reads fine
        with pytest.raises(CorruptData, match="bad.h5"):
            read(root["d"])


@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_is_corrupt(store: MemoryStore, keep: float) -> None:
    data = _chunked_file()
    store.put_object(CONTAINER, "cut.h5", data[: int(len(data) * keep)])
    with pytest.raises(CorruptData, match=r"data/cut\.h5.*HDF5"):
        with open_object(store, CONTAINER, "cut.h5") as root:
            read(root["d"])


# MATLAB v7.3 files are HDF5 after a 512-byte user block; their cell arrays are
# datasets of object references (PyTables ships three, scipy one).
MATLAB_FILES = site_files("tables/tests/*.mat") + site_files("scipy/io/matlab/tests/data/testhdf5_*.mat")


@pytest.mark.skipif(not MATLAB_FILES, reason="neither PyTables nor scipy's MATLAB test files are installed")
@pytest.mark.parametrize("path", MATLAB_FILES, ids=os.path.basename)
def test_matlab_files_match_h5py(store: MemoryStore, path: str) -> None:
    name = upload(store, path)
    with open_object(store, CONTAINER, name) as root:
        assert compare_with_h5py(root, path) >= 1


@pytest.fixture
def shared() -> MemoryStore:
    """The process-wide MemoryStore that ``memory://`` URLs open."""
    store = MemoryStore.named("")
    store.create_container(CONTAINER)  # as Swift's PUT: nothing happens if it exists
    return store


@pytest.mark.skipif(not site_files("tables/tests/test_ref_array2.mat"), reason="PyTables' test files are not installed")
@pytest.mark.parametrize("sample", ["test_ref_array1.mat", "test_ref_array2.mat"])
def test_references_dereference_through_h5py_api(shared: MemoryStore, sample: str) -> None:
    """A reference read from a blob names its target: ``f[ref]`` is the object h5py
    reaches from the same reference of the local file (h5py's own reference
    objects hold file addresses that sciswift's File cannot follow)."""
    import sciswift.h5py as sh5

    (path,) = site_files(f"tables/tests/{sample}")
    name = upload(shared, path, f"refs-{sample}")
    followed = 0
    with sh5.File(f"memory://{CONTAINER}/{name}") as f, h5py.File(path) as g:
        def check(obj_name: str, obj: Any) -> None:
            nonlocal followed
            if not isinstance(obj, sh5.Dataset) or sh5.check_dtype(ref=obj.dtype) is None:
                return
            assert sh5.check_dtype(ref=obj.dtype) is sh5.Reference
            got, want = obj[()], g[obj_name][()]
            assert got.shape == want.shape
            for r, w in zip(got.ravel(), want.ravel(), strict=True):
                assert f[r].name == g[w].name
                assert ref_paths(f[r][()]) == ref_paths(g[w][()], g)  # a cell of cells: references too
                followed += 1
            assert [f[r].name for r in obj[1:, :1].ravel()] == [g[w].name for w in g[obj_name][1:, :1].ravel()]
        f.visititems(check)
    assert followed >= 3


def test_every_kind_of_reference(shared: MemoryStore, tmp_path: Path) -> None:
    """Object and region references in datasets, attributes, compound fields and
    vlen sequences read as sciswift references; a region reference selects what
    h5py selects with the same reference of the local file."""
    import sciswift.h5py as sh5

    path = tmp_path / "refs.h5"
    with h5py.File(path, "w") as g:
        data = g.create_dataset("data", data=np.arange(60.0).reshape(6, 10))
        grp = g.create_group("grp")
        regions = [data.regionref[1:3, 2:5], data.regionref[4, ::3], data.regionref[()], h5py.RegionReference()]
        points = data.id.get_space()
        points.select_elements(np.array([[0, 0], [5, 9], [2, 7]]))
        regions.append(h5py.h5r.create(g.id, b"data", h5py.h5r.DATASET_REGION, points))
        blocks = data.id.get_space()  # two blocks: an irregular hyperslab
        blocks.select_hyperslab((0, 0), (1, 2))
        blocks.select_hyperslab((3, 5), (2, 1), op=h5py.h5s.SELECT_OR)
        regions.append(h5py.h5r.create(g.id, b"data", h5py.h5r.DATASET_REGION, blocks))
        g.create_dataset("regions", data=np.array(regions, dtype=object), dtype=h5py.regionref_dtype)
        g.create_dataset("objects", data=[grp.ref, data.ref, h5py.Reference()], dtype=h5py.ref_dtype)
        rec = np.zeros(2, dtype=[("where", h5py.ref_dtype), ("n", "<i4")])
        rec["where"] = [grp.ref, data.ref]
        rec["n"] = [1, 2]
        g.create_dataset("records", data=rec)
        seqs = g.create_dataset("seqs", (2,), dtype=h5py.vlen_dtype(h5py.ref_dtype))
        seqs[0] = np.array([grp.ref, data.ref], dtype=h5py.ref_dtype)
        seqs[1] = np.array([data.ref], dtype=h5py.ref_dtype)
        grp.attrs["to_data"] = data.ref
        grp.attrs["regions"] = np.array(regions[:2], dtype=h5py.regionref_dtype)
    shared.put_object(CONTAINER, "refs.h5", path.read_bytes())
    with open_object(shared, CONTAINER, "refs.h5") as root:
        assert compare_with_h5py(root, str(path)) == 5
    with sh5.File(f"memory://{CONTAINER}/refs.h5") as f, h5py.File(path) as g:
        assert sh5.check_dtype(ref=f["regions"].dtype) is sh5.RegionReference
        for i, (got, want) in enumerate(zip(f["regions"][()], g["regions"][()], strict=True)):
            assert bool(got) == bool(want)
            if want:
                assert f[got].name == "/data"
                assert f["data"][got].tolist() == g["data"][want].tolist(), i
        # points: in the order they are stored, as HDF5 reads them (not C order)
        assert f["data"][f["regions"][4]].tolist() == [0.0, 59.0, 27.0]
        assert [f[r].name if r else None for r in f["objects"][()]] == ["/grp", "/data", None]
        assert [f[r].name for r in f["records"]["where"]] == ["/grp", "/data"]
        assert [[f[r].name for r in seq] for seq in f["seqs"][()]] == [["/grp", "/data"], ["/data"]]
        assert f[f["grp"].attrs["to_data"]].name == "/data"
        assert np.array_equal(f["data"][f["grp"].attrs["regions"][0]], g["data"][1:3, 2:5])
