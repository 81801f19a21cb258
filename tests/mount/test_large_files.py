"""Large files are Swift static large objects: segments in ``<container>_segments``,
readable whole by every Swift client; a partial rewrite uploads only the segments
it touches plus a new manifest, and the replaced segments are removed."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from swiftclient import client as swift_client

from sciswift.store import LocalStore, SwiftStore, segments_container

from .conftest import Mounted, Served

MiB = 1 << 20


@pytest.fixture
def setup(mount: Callable[..., Mounted], served: Served) -> tuple[Mounted, SwiftStore, str]:
    container = f"L{uuid.uuid4().hex[:8]}"
    store = served.store()
    store.create_container(container)
    return mount(f"swift://{container}", "--segment-size", "1M", env=served.env), store, container


def _segments(store: SwiftStore, container: str) -> set[str]:
    try:
        return {o.name for o in store.iter_objects(segments_container(container))}
    except FileNotFoundError:
        return set()


def test_large_file_is_a_static_large_object(setup: tuple[Mounted, SwiftStore, str], served: Served) -> None:
    m, store, container = setup
    data = os.urandom(5 * MiB + 12345)
    (m.path / "big.bin").write_bytes(data)
    segments = store.get_manifest(container, "big.bin")
    assert segments is not None and [s.size for s in segments] == [MiB] * 5 + [12345]
    assert {s.name for s in segments} == _segments(store, container)
    # The swift client (python-swiftclient) reads it as one object.
    conn = swift_client.Connection(authurl=served.server.auth_url, user="test:tester", key="testing")
    headers, body = conn.get_object(container, "big.bin")
    assert body == data and headers["x-static-large-object"].lower() == "true"
    conn.close()
    assert (m.path / "big.bin").read_bytes() == data


def test_partial_rewrite_sends_only_the_written_bytes(setup: tuple[Mounted, SwiftStore, str],
                                                      mount: Callable[..., Mounted], served: Served) -> None:
    """A write into part of a segment sends only what was written: the segment's
    other bytes stay as ranges of its old object (Swift's ranged segments), so
    every Swift client still reads the whole file."""
    m, store, container = setup
    data = bytearray(os.urandom(8 * MiB))
    (m.path / "big.bin").write_bytes(data)
    before = _segments(store, container)
    assert len(before) == 8
    stats = m.stats()
    patch = os.urandom(100_000)
    at = 3 * MiB - 50_000  # straddles the boundary of segments 2 and 3
    with open(m.path / "big.bin", "r+b") as f:
        f.seek(at)
        f.write(patch)
    data[at:at + len(patch)] = patch
    after_stats = m.stats()
    assert after_stats["bytes_uploaded"] - stats["bytes_uploaded"] == 100_000
    assert after_stats["objects_uploaded"] - stats["objects_uploaded"] == 2
    assert after_stats["manifests"] - stats["manifests"] == 1
    segments = store.get_manifest(container, "big.bin")
    assert segments is not None
    assert [(s.size, s.ranged) for s in segments[2:6]] == [
        (MiB - 50_000, True), (50_000, False), (50_000, False), (MiB - 50_000, True)]
    assert sum(s.size for s in segments) == 8 * MiB
    after = _segments(store, container)
    assert len(after) == 10 and before < after  # the old ones still hold the kept ranges
    assert hashlib.md5(store.get_object(container, "big.bin")).digest() == hashlib.md5(data).digest()
    assert (m.path / "big.bin").read_bytes() == bytes(data)

    # Again inside a kept range (a range of a range), then most of a segment
    # (sent whole: its old object, no longer used by any range, is deleted).
    for at, size in ((3 * MiB + 400_000, 1000), (5 * MiB + 100, 900_000)):
        patch = os.urandom(size)
        with open(m.path / "big.bin", "r+b") as f:
            f.seek(at)
            f.write(patch)
        data[at:at + size] = patch
        assert store.get_object(container, "big.bin") == bytes(data)
    segments = store.get_manifest(container, "big.bin")
    assert segments is not None
    starts = dict(zip(itertools.accumulate([0] + [s.size for s in segments]), segments))
    sixth = starts[5 * MiB]
    assert sixth.size == MiB and not sixth.ranged and sixth.name not in before
    assert {s.name for s in segments} == _segments(store, container)  # nothing unused is left
    m.umount()
    again = mount(f"swift://{container}", env=served.env)  # the default segment size: no matter
    assert (again.path / "big.bin").read_bytes() == bytes(data)
    os.unlink(again.path / "big.bin")  # its segments go too, ranged ones included
    assert _segments(store, container) == set()


def test_growing_shrinking_and_deleting_a_large_file(setup: tuple[Mounted, SwiftStore, str]) -> None:
    m, store, container = setup
    data = os.urandom(3 * MiB)
    (m.path / "g.bin").write_bytes(data)
    with open(m.path / "g.bin", "ab") as f:  # appending keeps the full segments
        f.write(b"tail")
    segments = store.get_manifest(container, "g.bin")
    assert segments is not None and [s.size for s in segments] == [MiB, MiB, MiB, 4]
    assert store.get_object(container, "g.bin") == data + b"tail"
    os.truncate(m.path / "g.bin", 1000)  # small again: one object, segments removed
    assert store.get_manifest(container, "g.bin") is None
    assert store.get_object(container, "g.bin") == data[:1000]
    assert _segments(store, container) == set()
    (m.path / "h.bin").write_bytes(data)
    os.rename(m.path / "h.bin", m.path / "moved.bin")  # a large object moves by its manifest
    assert store.get_object(container, "moved.bin") == data
    assert len(_segments(store, container)) == 3
    os.unlink(m.path / "moved.bin")
    assert _segments(store, container) == set()


def test_a_large_file_uploaded_by_swift_is_rewritten_in_place(setup: tuple[Mounted, SwiftStore, str]) -> None:
    m, _, container = setup
    # SwiftStore cuts large bodies into segments itself (like `swift upload -S`).
    other = SwiftStore(m.env["ST_AUTH"], m.env["ST_USER"], m.env["ST_KEY"],
                       large_object_threshold=2 * MiB, segment_size=2 * MiB)
    data = bytearray(os.urandom(7 * MiB))
    other.put_object(container, "up.bin", bytes(data))
    with open(m.path / "up.bin", "r+b") as f:
        f.seek(5 * MiB)
        f.write(b"X" * 10)
    data[5 * MiB:5 * MiB + 10] = b"X" * 10
    segments = other.get_manifest(container, "up.bin")
    assert segments is not None
    assert [(s.size, s.ranged) for s in segments] == [
        (2 * MiB, False), (2 * MiB, False), (MiB, True), (10, False), (MiB - 10, True), (MiB, False)]
    assert other.get_object(container, "up.bin") == bytes(data)


def test_truncating_and_growing_a_file_of_ranged_segments(setup: tuple[Mounted, SwiftStore, str]) -> None:
    """A file whose segments are ranges of older objects: cut inside a range,
    grown again, rewritten across a cut; every step reads back the same through
    the mount and through Swift, and its segment objects are exactly those in use."""
    m, store, container = setup
    data = bytearray(os.urandom(6 * MiB))
    path = m.path / "t.bin"
    path.write_bytes(data)

    def patch(at: int, size: int) -> None:
        new = os.urandom(size)
        with open(path, "r+b") as f:
            f.seek(at)
            f.write(new)
        data[at:at + size] = new

    def check() -> None:
        assert store.get_object(container, "t.bin") == bytes(data)
        assert path.read_bytes() == bytes(data)
        segments = store.get_manifest(container, "t.bin")
        assert segments is not None and {s.name for s in segments} == _segments(store, container)

    patch(2 * MiB + 300_000, 5000)  # segment 2 becomes range, new run, range
    check()
    os.truncate(path, 2 * MiB + 100_000)  # inside the first range
    del data[2 * MiB + 100_000:]
    check()
    with open(path, "ab") as f:  # grown past the old end again
        more = os.urandom(3 * MiB)
        f.write(more)
    data += more
    check()
    patch(2 * MiB - 10, 20)  # across the cut between a whole segment and a range
    check()


def test_ranged_rewrite_on_a_local_store(mount: Callable[..., Mounted], tmp_path: Path) -> None:
    """The same on a local store (``file://``): the manifest the store keeps
    holds the ranges, and a fresh mount reads the file back."""
    root = tmp_path / "store"
    m = mount(str(root / "c"), "--segment-size", "1M")
    data = bytearray(os.urandom(4 * MiB + 10))
    (m.path / "f.bin").write_bytes(data)
    before = m.stats()
    with open(m.path / "f.bin", "r+b") as f:
        f.seek(MiB + 1000)
        f.write(b"Z" * 5000)
    data[MiB + 1000:MiB + 6000] = b"Z" * 5000
    assert m.stats()["bytes_uploaded"] - before["bytes_uploaded"] == 5000
    segments = LocalStore(root).get_manifest("c", "f.bin")
    assert segments is not None and [s.ranged for s in segments] == [False, True, False, True, False, False, False]
    m.umount()
    again = mount(str(root / "c"))
    assert (again.path / "f.bin").read_bytes() == bytes(data)


def _cp(src: Path, dst: Path) -> None:
    """What ``cp`` does: copy_file_range(2) from offset 0 until it returns 0."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while os.copy_file_range(fin.fileno(), fout.fileno(), 1 << 30):
            pass


def test_cp_within_the_mount_is_a_server_side_copy(setup: tuple[Mounted, SwiftStore, str]) -> None:
    """A whole file copied into a new one (``cp``) is copied by the store: no
    byte is uploaded, a large file's copy has segment objects of its own (so
    rewriting or deleting either file leaves the other whole), and the copy
    has its own metadata, not its source's."""
    m, store, container = setup
    data = bytearray(os.urandom(4 * MiB + 777))
    (m.path / "src.bin").write_bytes(data)
    with open(m.path / "src.bin", "r+b") as f:  # a partial rewrite: ranged segments to copy too
        f.seek(MiB + 10)
        f.write(b"R" * 3000)
    data[MiB + 10:MiB + 3010] = b"R" * 3000
    os.setxattr(m.path / "src.bin", "user.origin", b"first")
    (m.path / "small.txt").write_bytes(b"a small file\n")
    before = m.stats()

    _cp(m.path / "src.bin", m.path / "copy.bin")
    subprocess.run(["cp", str(m.path / "small.txt"), str(m.path / "small2.txt")], check=True)
    after = m.stats()
    assert after["server_copies"] - before["server_copies"] == 2
    assert after["bytes_uploaded"] == before["bytes_uploaded"]
    assert store.get_object(container, "copy.bin") == bytes(data)
    assert store.get_object(container, "small2.txt") == b"a small file\n"
    assert "user.origin" not in os.listxattr(m.path / "copy.bin")
    src_segs = {s.name for s in store.get_manifest(container, "src.bin") or []}
    copy_segs = {s.name for s in store.get_manifest(container, "copy.bin") or []}
    assert src_segs and copy_segs and not src_segs & copy_segs

    with open(m.path / "copy.bin", "r+b") as f:
        f.seek(2 * MiB)
        f.write(b"C" * 100)
    assert (m.path / "src.bin").read_bytes() == bytes(data)
    os.unlink(m.path / "src.bin")
    data[2 * MiB:2 * MiB + 100] = b"C" * 100
    assert store.get_object(container, "copy.bin") == bytes(data)
    assert {s.name for s in store.get_manifest(container, "copy.bin") or []} == _segments(store, container)


def test_copies_that_are_not_whole_files_go_through_the_mount(setup: tuple[Mounted, SwiftStore, str]) -> None:
    """Ranges, copies into a file with content and files with writes not
    stored yet are copied by the mount (reads and writes), with the result
    they have on a local file system."""
    m, store, container = setup
    data = os.urandom(3 * MiB)
    (m.path / "a.bin").write_bytes(data)
    (m.path / "b.bin").write_bytes(b"x" * 100)
    before = m.stats()
    with open(m.path / "a.bin", "rb") as fin, open(m.path / "b.bin", "r+b") as fout:
        assert os.copy_file_range(fin.fileno(), fout.fileno(), 5000, MiB, 50) == 5000
        assert os.copy_file_range(fin.fileno(), fout.fileno(), 10, 3 * MiB - 4, 0) == 4  # to the end
        assert os.copy_file_range(fin.fileno(), fout.fileno(), 10, 3 * MiB) == 0
    with open(m.path / "a.bin", "r+b", buffering=0) as fin, open(m.path / "c.bin", "wb") as fout:
        os.pwrite(fin.fileno(), b"unsaved", 0)  # written, not stored yet
        while os.copy_file_range(fin.fileno(), fout.fileno(), 1 << 30):
            pass
    assert m.stats()["server_copies"] == before["server_copies"]
    assert store.get_object(container, "b.bin") == data[-4:] + b"x" * 46 + data[MiB:MiB + 5000]
    assert store.get_object(container, "c.bin") == b"unsaved" + data[7:]


def test_cp_on_a_local_store(mount: Callable[..., Mounted], tmp_path: Path) -> None:
    """The same copy by the store on a local store (``file://``)."""
    root = tmp_path / "store"
    m = mount(str(root / "c"), "--segment-size", "1M")
    data = os.urandom(3 * MiB + 5)
    (m.path / "f.bin").write_bytes(data)
    _cp(m.path / "f.bin", m.path / "g.bin")
    assert m.stats()["server_copies"] == 1
    os.unlink(m.path / "f.bin")
    assert len(LocalStore(root).get_manifest("c", "g.bin") or []) == 4
    m.umount()
    assert (mount(str(root / "c")).path / "g.bin").read_bytes() == data
