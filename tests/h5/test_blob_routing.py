"""Files that are not in the native layout open read-only through the format
plugins: node trees (MemoryGroup/MemoryArray) behind File/Group/Dataset, objects
stored under exactly the given name, and real HDF5 files on local disk."""

from __future__ import annotations

import io
from pathlib import Path

import h5py as real_h5py
import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.formats.base import LinkNode, MemoryArray, MemoryGroup
from sciswift.h5.files import File, FileHandle
from sciswift.h5.nodetree import NodeFile
from sciswift.store.memory import MemoryStore


def _tree_file() -> File:
    root = MemoryGroup(
        {
            "table": MemoryArray(np.arange(24, dtype="<i4").reshape(6, 4), attrs={"unit": "m"}, chunks=(3, 4)),
            "grp": MemoryGroup({"rec": MemoryArray(np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "i4"), ("b", "f8")]))},
                               attrs={"title": "nested"}),
            "alias": LinkNode("/grp/rec"),
        },
        attrs={"origin": np.int64(7)},
    )
    return File(FileHandle(NodeFile(root), ("test-tree", id(root)), "tree", "tree"))


def test_node_tree_behind_the_h5py_api() -> None:
    f = _tree_file()
    assert f.mode == "r"
    assert list(f) == ["table", "grp", "alias"]
    assert f.attrs["origin"] == 7 and dict(f["grp"].attrs) == {"title": "nested"}
    d = f["table"]
    assert isinstance(d, h5py.Dataset) and d.shape == (6, 4) and d.chunks == (3, 4)
    np.testing.assert_array_equal(d[1:5:2, [0, 3]], np.arange(24).reshape(6, 4)[1:5:2][:, [0, 3]])
    np.testing.assert_array_equal(d[d[()] > 20], [21, 22, 23])
    assert d.attrs["unit"] == "m"
    assert f["alias"]["b"].tolist() == [2.0, 4.0]
    assert f["grp/rec"][1]["a"] == 3
    assert isinstance(f.get("alias", getlink=True), h5py.SoftLink)
    seen: list[str] = []
    f.visit(seen.append)
    assert seen == ["grp", "grp/rec", "table"]
    with pytest.raises(ValueError):
        f.create_group("new")
    with pytest.raises(OSError):
        d[0, 0] = 1
    with pytest.raises(OSError):
        d.attrs["x"] = 1
    f.close()
    assert not f


def test_object_named_exactly_opens_through_its_plugin() -> None:
    buf = io.BytesIO()
    data = np.arange(12.0).reshape(3, 4)
    np.save(buf, data)
    store = MemoryStore.named("")
    store.create_container("blobs")
    store.put_object("blobs", "sky/arr.npy", buf.getvalue())
    with h5py.File("memory://blobs/sky/arr.npy", "r") as f:
        assert list(f) == ["data"]
        np.testing.assert_array_equal(f["data"][1:, ::2], data[1:, ::2])
    with pytest.raises(OSError, match="read-only"):
        h5py.File("memory://blobs/sky/arr.npy", "r+")


def _write_real(path: str) -> None:
    with real_h5py.File(path, "w") as f:
        g = f.create_group("vpic")
        g.attrs["timestep"] = 42
        g.create_dataset("x", data=np.linspace(0, 1, 1000, dtype="f4"), chunks=(100,), compression="gzip")
        f.create_dataset("s", data=np.array([b"a", b"bc"]))


def test_real_hdf5_file_on_disk(tmp_path: Path) -> None:
    path = str(tmp_path / "real.h5")
    _write_real(path)
    with h5py.File(path, "r") as f, real_h5py.File(path, "r") as ref:
        assert sorted(f) == sorted(ref)
        np.testing.assert_array_equal(f["vpic/x"][100:250], ref["vpic/x"][100:250])
        assert f["vpic"].attrs["timestep"] == 42
        assert f["vpic/x"].dtype == ref["vpic/x"].dtype
    with pytest.raises(OSError):
        h5py.File(path, "a")
    with h5py.File(path, "w") as f:  # 'w' replaces it, as h5py truncates
        f["new"] = 1
    with h5py.File(path, "r") as f:
        assert list(f) == ["new"]


def test_real_hdf5_uploaded_as_one_object(tmp_path: Path) -> None:
    path = str(tmp_path / "run1.h5")
    _write_real(path)
    store = MemoryStore.named("")
    store.create_container("wind")
    store.put_object("wind", "uploaded/run1.h5", Path(path).read_bytes())
    with h5py.File("memory://wind/uploaded/run1.h5", "r") as f:
        assert f["vpic"].attrs["timestep"] == 42
        assert abs(float(f["vpic/x"][1000 - 1]) - 1.0) < 1e-6
        assert f["s"][1] == b"bc"


def test_url_and_path_forms(tmp_path: Path) -> None:
    data = np.arange(10, dtype="f4")
    for name in (f"file://{tmp_path}/a.h5", str(tmp_path / "b.h5"), "memory://forms/c.h5"):
        with h5py.File(name, "w") as f:
            f.create_dataset("v/x", data=data, chunks=True, compression="gzip")
            f["v"].attrs["timestep"] = 42
        with h5py.File(name, "r") as f:
            assert f.filename == name
            assert f["v/x"][2:5].tolist() == [2.0, 3.0, 4.0]
            assert dict(f["v"].attrs) == {"timestep": 42}
    assert (tmp_path / "b.h5").is_dir()  # a local file is a LocalStore container


def test_sciswift_file_is_the_same_class() -> None:
    import sciswift

    assert sciswift.File is h5py.File

