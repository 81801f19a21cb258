"""NumPy .npy/.npz: compared with np.load reading the same local file."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fmt_helpers import CONTAINER, assert_same_array, read, site_files, upload, walk

from sciswift.errors import CorruptData, NotSupported
from sciswift.formats.base import ArrayNode
from sciswift.formats.ranged import TransferStats
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore, Store

NPY_FILES = site_files("**/*.npy")
NPZ_FILES = site_files("**/*.npz")


def _loads_without_pickle(path: str) -> bool:
    try:
        with np.load(path, allow_pickle=False) as z:
            [z[k] for k in z.files]
    except TypeError:  # an .npy file is not a context manager
        np.load(path, allow_pickle=False)
    except ValueError:
        return False
    return True


def check_selections(node: ArrayNode, want: np.ndarray[Any, Any], where: str) -> None:
    assert_same_array(read(node), want, where)
    if want.ndim and all(want.shape):
        for sel in (tuple(slice(n // 2, n, 1) for n in want.shape),
                    tuple(slice(n // 3, n, 2) for n in want.shape),
                    (slice(0, 1, 1),) + tuple(slice(0, n, 1) for n in want.shape[1:])):
            assert_same_array(node.read(sel), want[sel], f"{where}{sel}")


@pytest.mark.parametrize("path", NPY_FILES, ids=lambda p: p.split("site-packages/")[-1])
def test_shipped_npy_matches_numpy(store: MemoryStore, path: str) -> None:
    name = upload(store, path, "shipped.npy")
    if not _loads_without_pickle(path):
        with pytest.raises(NotSupported, match="pickle"):
            open_object(store, CONTAINER, name)
        return
    with open_object(store, CONTAINER, name) as root:
        check_selections(root["data"], np.load(path, allow_pickle=False), name)


@pytest.mark.parametrize("path", NPZ_FILES, ids=lambda p: p.split("site-packages/")[-1])
def test_shipped_npz_matches_numpy(store: MemoryStore, path: str) -> None:
    name = upload(store, path, "shipped.npz")
    if not _loads_without_pickle(path):
        with pytest.raises(NotSupported, match="pickle"), open_object(store, CONTAINER, name) as root:
            list(walk(root))  # members are opened on first access
        return
    with np.load(path, allow_pickle=False) as z, open_object(store, CONTAINER, name) as root:
        members = {p.lstrip("/"): n for p, n in walk(root) if isinstance(n, ArrayNode)}
        assert set(members) == set(z.files)
        for key in z.files:
            check_selections(members[key], z[key], f"{name}:{key}")


ARRAYS = {
    "c2d": np.arange(300 * 70, dtype="<f8").reshape(300, 70),
    "fortran": np.asfortranarray(np.arange(40 * 30 * 5, dtype="<i4").reshape(40, 30, 5)),
    "big_endian": np.arange(1000, dtype=">u2"),
    "scalar": np.array(3.5),
    "empty": np.zeros((0, 3), dtype="i8"),
    "structured": np.array([(1, 2.0, b"ab"), (3, 4.0, b"cd")], dtype=[("a", "i4"), ("b", "f8"), ("c", "S2")]),
    "complex": (np.arange(12) * (1 + 2j)).reshape(3, 4),
    "bools": np.arange(10) % 3 == 0,
    "datetimes": np.arange("2020-01-01", "2020-01-11", dtype="datetime64[D]"),
    "unicode": np.array(["αβ", "γ"]),
}


@pytest.mark.parametrize("key", list(ARRAYS))
@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_generated_npy(store: MemoryStore, key: str, version: tuple[int, int]) -> None:
    arr = ARRAYS[key]
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=version)
    store.put_object(CONTAINER, "g.npy", buf.getvalue())
    with open_object(store, CONTAINER, "g.npy") as root:
        check_selections(root["data"], np.load(io.BytesIO(buf.getvalue())), key)


@pytest.mark.parametrize("compressed", [False, True])
def test_generated_npz(store: MemoryStore, local_store: Store, tmp_path: Path, compressed: bool) -> None:
    path = tmp_path / "g.npz"
    (np.savez_compressed if compressed else np.savez)(path, **ARRAYS)
    for s in (store, local_store):
        upload(s, path)
        with np.load(path) as z, open_object(s, CONTAINER, "g.npz") as root:
            assert root.keys() == list(z.files)
            for k in z.files:
                check_selections(root[k], z[k], k)


def test_npz_members_in_folders(store: MemoryStore) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, arr in (("top.npy", np.arange(3)), ("a/b/deep.npy", np.ones(2))):
            with zf.open(name, "w") as member:
                np.lib.format.write_array(member, arr)
        zf.writestr("README.txt", "not an array")
    store.put_object(CONTAINER, "tree.npz", buf.getvalue())
    with open_object(store, CONTAINER, "tree.npz") as root:
        assert root.keys() == ["top", "a"]
        assert read(root["a"]["b"]["deep"]).tolist() == [1.0, 1.0]


def test_npy_row_slice_fetches_rows(store: MemoryStore) -> None:
    arr = np.arange(4096 * 512, dtype="f8").reshape(4096, 512)  # 16 MiB
    buf = io.BytesIO()
    np.save(buf, arr)
    store.put_object(CONTAINER, "rows.npy", buf.getvalue())
    stats = TransferStats()
    with open_object(store, CONTAINER, "rows.npy", stats=stats) as root:
        stats.reset()
        assert_same_array(root["data"].read((slice(1000, 1010, 1), slice(0, 512, 1))), arr[1000:1010])
        assert (stats.requests, stats.bytes_fetched) == (1, 10 * 512 * 8)
        stats.reset()
        assert_same_array(root["data"].read((slice(1000, 4096, 1000), slice(7, 9, 1))), arr[1000::1000, 7:9])
        assert stats.bytes_fetched == 4 * 2 * 8


@pytest.mark.parametrize("cut", [5, 60, -10])
def test_truncated_npy_is_corrupt(store: MemoryStore, cut: int) -> None:
    buf = io.BytesIO()
    np.save(buf, np.arange(1000))
    store.put_object(CONTAINER, "cut.npy", buf.getvalue()[:cut])
    with pytest.raises(CorruptData, match=r"data/cut\.npy.*NumPy"):
        open_object(store, CONTAINER, "cut.npy")


def test_truncated_npz_is_corrupt(store: MemoryStore) -> None:
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(1000))
    store.put_object(CONTAINER, "cut.npz", buf.getvalue()[:-30])
    with pytest.raises(CorruptData, match=r"data/cut\.npz.*NumPy"):
        open_object(store, CONTAINER, "cut.npz")


def test_object_npy_is_refused(store: MemoryStore) -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    store.put_object(CONTAINER, "obj.npy", buf.getvalue())
    with pytest.raises(NotSupported, match="never unpickles"):
        open_object(store, CONTAINER, "obj.npy")
    assert os.path.basename(NPY_FILES[0]).endswith(".npy")


def test_unicode_members_import_and_export_as_utf8_strings(tmp_path: Path) -> None:
    """scipy's csc_py3.npz holds its sparse format as a 0-d '<U3' array, which HDF5
    cannot hold as such: import and export write it as a vlen UTF-8 string
    (h5py's way to hold text) with the same text; before, both failed with
    h5py's "No conversion path for dtype('<U3')"."""
    import h5py

    import sciswift.h5py as sh5
    from sciswift.convert import export_file, import_file

    found = site_files("scipy/sparse/tests/data/csc_py3.npz")
    if not found:
        pytest.skip("scipy's sparse test data is not installed")
    (path,) = found
    want = np.load(path)
    assert want["format"].dtype.kind == "U"
    import_file(path, str(tmp_path / "native"))
    export_file(path, str(tmp_path / "out.h5"))
    with h5py.File(tmp_path / "out.h5") as f, sh5.File(str(tmp_path / "native")) as g:
        for h in (f, g):
            assert h5py.check_string_dtype(h["format"].dtype).encoding == "utf-8"
            assert h["format"].asstr()[()] == str(want["format"])
            for key in ("data", "indices", "indptr", "shape"):
                assert np.array_equal(h[key][()], want[key]), key
