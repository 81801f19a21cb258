"""DirectoryStore: plain directory trees (Zarr stores other tools wrote) read in place."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sciswift.errors import InvalidInput, NotFound, NotSupported
from sciswift.store.directory import DirectoryStore, looks_like_zarr_dir
from sciswift.store.types import ByteRange, ListingParams, ObjectInfo, Subdir


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    base = tmp_path / "root" / "data.zarr"
    (base / "a" / "c" / "0").mkdir(parents=True)
    (base / "zarr.json").write_bytes(b'{"zarr_format": 3, "node_type": "group"}')
    (base / "a" / "zarr.json").write_bytes(b"{}")
    (base / "a" / "c" / "0" / "0").write_bytes(bytes(range(100)))
    (base / "b.txt").write_bytes(b"hello")
    (tmp_path / "secret").write_bytes(b"outside")
    os.symlink(tmp_path / "secret", base / "link")
    return base


def test_reads_files_by_relative_path(tree: Path) -> None:
    s = DirectoryStore(tree.parent)
    assert s.get_object("data.zarr", "b.txt") == b"hello"
    assert s.get_object("data.zarr", "a/c/0/0", ByteRange(10, 20)) == bytes(range(10, 20))
    info = s.head_object("data.zarr", "a/c/0/0")
    assert info.size == 100 and info.etag == hashlib.md5(bytes(range(100))).hexdigest()
    with s.open_object("data.zarr", "a/c/0/0", ByteRange.last(3)) as r:
        assert r.readall() == bytes([97, 98, 99])
    with pytest.raises(NotFound):
        s.get_object("data.zarr", "nope")
    with pytest.raises(NotFound):
        s.get_object("other", "b.txt")


def test_listing_like_swift(tree: Path) -> None:
    s = DirectoryStore(tree.parent)
    names = [e.name for e in s.list_objects("data.zarr")]
    assert names == ["a/c/0/0", "a/zarr.json", "b.txt", "zarr.json"]
    top = s.list_objects("data.zarr", ListingParams(delimiter="/"))
    assert [(type(e).__name__, e.name) for e in top] == [
        ("Subdir", "a/"), ("ObjectInfo", "b.txt"), ("ObjectInfo", "zarr.json")
    ]
    assert [e.name for e in s.list_objects("data.zarr", ListingParams(prefix="a/c/"))] == ["a/c/0/0"]
    assert list(s.iter_names("data.zarr", "a/")) == ["a/c/0/0", "a/zarr.json"]
    assert all(isinstance(e, (ObjectInfo, Subdir)) for e in top)


def test_never_leaves_the_directory(tree: Path) -> None:
    s = DirectoryStore(tree.parent)
    for bad in ["../secret", "a/../../secret", "/etc/passwd", "a//zarr.json", "./b.txt"]:
        with pytest.raises(InvalidInput):
            s.get_object("data.zarr", bad)
    with pytest.raises(InvalidInput):
        s.get_object("data.zarr", "link")  # a symbolic link pointing outside


def test_is_read_only(tree: Path) -> None:
    s = DirectoryStore(tree.parent)
    with pytest.raises(NotSupported):
        s.put_object("data.zarr", "new", b"x")
    with pytest.raises(NotSupported):
        s.delete_object("data.zarr", "b.txt")
    with pytest.raises(NotSupported):
        s.post_object("data.zarr", "b.txt", metadata={})
    with pytest.raises(NotSupported):
        s.delete_container("data.zarr")
    assert (tree / "b.txt").read_bytes() == b"hello"


def test_zarr_dir_detection(tree: Path, tmp_path: Path) -> None:
    assert looks_like_zarr_dir(tree)
    assert not looks_like_zarr_dir(tmp_path)
