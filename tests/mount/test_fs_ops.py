"""File-system operations through a real mount, checked from the store's side:
objects are files, '/' makes directories, mkdir/rmdir/rename/unlink/truncate,
statfs, user.* extended attributes as X-Object-Meta-*, containers as top-level
directories of an account, read-only mounts. Run on ``sciswift serve`` (SwiftStore
in the mount) and on a local store."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from sciswift.errors import NotFound
from sciswift.store import LocalStore

from .conftest import Mounted, Served, Target


def test_objects_are_files_and_slashes_make_directories(target: Target) -> None:
    target.store.put_object(target.container, "run1/fields/e.bin", b"E" * 100)
    target.store.put_object(target.container, "run1/readme.txt", b"hello")
    target.store.put_object(target.container, "top.txt", b"top")
    assert sorted(os.listdir(target.m.path)) == ["run1", "top.txt"]
    assert sorted(os.listdir(target / "run1")) == ["fields", "readme.txt"]
    assert (target / "run1/fields/e.bin").read_bytes() == b"E" * 100
    assert (target / "run1").is_dir() and (target / "top.txt").is_file()
    assert os.stat(target / "run1/fields/e.bin").st_size == 100
    with pytest.raises(FileNotFoundError):
        os.stat(target / "nothing")


def test_write_stores_the_object_when_close_returns(target: Target) -> None:
    data = os.urandom(300_000)
    with open(target / "new.bin", "wb") as f:
        f.write(data[:100_000])
        f.flush()
        with pytest.raises(NotFound):  # nothing reaches the store before the close
            target.store.head_object(target.container, "new.bin")
        f.write(data[100_000:])
    info = target.store.head_object(target.container, "new.bin")
    assert info.size == len(data) and info.etag == hashlib.md5(data).hexdigest()
    assert target.store.get_object(target.container, "new.bin") == data
    assert (target / "new.bin").read_bytes() == data


def test_empty_file_and_overwrite(target: Target) -> None:
    (target / "empty").touch()
    assert target.store.get_object(target.container, "empty") == b""
    (target / "f.txt").write_bytes(b"first version")
    (target / "f.txt").write_bytes(b"second")
    assert target.store.get_object(target.container, "f.txt") == b"second"
    with open(target / "f.txt", "r+b") as f:  # rewrite in place, no truncation
        f.seek(2)
        f.write(b"XY")
    assert target.store.get_object(target.container, "f.txt") == b"seXYnd"
    with open(target / "f.txt", "ab") as f:
        f.write(b"!")
    assert target.store.get_object(target.container, "f.txt") == b"seXYnd!"


def test_mkdir_rmdir(target: Target) -> None:
    os.mkdir(target / "d")
    info = target.store.head_object(target.container, "d/")
    assert info.size == 0 and info.content_type == "application/directory"
    assert (target / "d").is_dir() and os.listdir(target / "d") == []
    with pytest.raises(FileExistsError):
        os.mkdir(target / "d")
    (target / "d/x").write_bytes(b"x")
    with pytest.raises(OSError) as exc:
        os.rmdir(target / "d")
    assert exc.value.errno == errno.ENOTEMPTY
    os.unlink(target / "d/x")
    os.rmdir(target / "d")
    assert not target.store.has_object(target.container, "d/")
    assert not (target / "d").exists()


def test_unlink(target: Target) -> None:
    (target / "gone.txt").write_bytes(b"bye")
    os.unlink(target / "gone.txt")
    assert not target.store.has_object(target.container, "gone.txt")
    with pytest.raises(FileNotFoundError):
        os.unlink(target / "gone.txt")


def test_rename_file_and_directory(target: Target) -> None:
    (target / "a.txt").write_bytes(b"payload")
    os.setxattr(target / "a.txt", "user.origin", b"test")
    os.rename(target / "a.txt", target / "b.txt")
    assert not target.store.has_object(target.container, "a.txt")
    moved = target.store.head_object(target.container, "b.txt")
    assert target.store.get_object(target.container, "b.txt") == b"payload"
    # The xattr moves with it; so does the file's time, kept as its own (``mtime``)
    # where the copy is stored with a later one (test_file_times).
    assert moved.metadata.keys() <= {"origin", "mtime"} and moved.metadata["origin"] == "test"
    (target / "c.txt").write_bytes(b"old")
    os.rename(target / "b.txt", target / "c.txt")  # replaces, as POSIX rename does
    assert target.store.get_object(target.container, "c.txt") == b"payload"

    os.makedirs(target / "src/sub")
    (target / "src/sub/f1").write_bytes(b"1")
    (target / "src/f2").write_bytes(b"2")
    os.rename(target / "src", target / "dst")
    names = sorted(o.name for o in target.store.iter_objects(target.container))
    assert names == ["c.txt", "dst/", "dst/f2", "dst/sub/", "dst/sub/f1"]
    assert (target / "dst/sub/f1").read_bytes() == b"1"
    assert not (target / "src").exists()


def test_truncate(target: Target) -> None:
    (target / "t.bin").write_bytes(b"0123456789")
    os.truncate(target / "t.bin", 4)
    assert target.store.get_object(target.container, "t.bin") == b"0123"
    os.truncate(target / "t.bin", 8)
    assert target.store.get_object(target.container, "t.bin") == b"0123\0\0\0\0"
    with open(target / "t.bin", "r+b") as f:
        f.truncate(2)
        f.seek(5)
        f.write(b"Z")
    assert target.store.get_object(target.container, "t.bin") == b"01\0\0\0Z"


def test_xattrs_are_object_metadata(target: Target) -> None:
    (target / "m.h5").write_bytes(b"data")
    os.setxattr(target / "m.h5", "user.Experiment", b"wind tunnel 3")
    assert target.store.head_object(target.container, "m.h5").metadata == {"experiment": "wind tunnel 3"}
    target.store.post_object(target.container, "m.h5", metadata={"experiment": "wind tunnel 3", "run": "7"})
    assert sorted(os.listxattr(target / "m.h5")) == ["user.experiment", "user.run"]
    assert os.getxattr(target / "m.h5", "user.run") == b"7"
    os.removexattr(target / "m.h5", "user.run")
    assert target.store.head_object(target.container, "m.h5").metadata == {"experiment": "wind tunnel 3"}
    with pytest.raises(OSError) as exc:
        os.getxattr(target / "m.h5", "user.run")
    assert exc.value.errno == errno.ENODATA
    with pytest.raises(OSError) as exc:
        os.setxattr(target / "m.h5", "user.bin", b"\xff\xfe")
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        os.setxattr(target / "m.h5", "user.experiment", b"x", os.XATTR_CREATE)
    assert exc.value.errno == errno.EEXIST
    # Metadata set while a file is being written is stored with it at close.
    with open(target / "n.h5", "wb") as f:
        f.write(b"n")
        os.setxattr(target / "n.h5", "user.stage", b"raw")
    assert target.store.head_object(target.container, "n.h5").metadata == {"stage": "raw"}
    assert (target / "m.h5").read_bytes() == b"data"


def test_security_attributes_are_answered_without_the_file_system(target: Target) -> None:
    """The kernel's ``security.*`` lookups (one before every write) are
    answered "none" by the binding at once, counted apart; user attributes
    are untouched."""
    (target / "s.h5").write_bytes(b"data")
    os.setxattr(target / "s.h5", "user.kept", b"yes")
    before = target.m.stats()["fuse_ops"].get("security_lookups", 0)
    for name in ("security.capability", "security.selinux"):
        with pytest.raises(OSError) as exc:
            os.getxattr(target / "s.h5", name)
        assert exc.value.errno == errno.ENODATA
    assert target.m.stats()["fuse_ops"]["security_lookups"] >= before + 2
    assert os.getxattr(target / "s.h5", "user.kept") == b"yes"


def test_statfs(target: Target) -> None:
    (target / "used").write_bytes(b"u" * 1000)
    st = os.statvfs(target.m.path)
    # The container's bytes in use count (rounded up to a block); the rest is free.
    assert st.f_bsize > 0 and st.f_blocks - st.f_bfree == 1 and st.f_bavail == st.f_bfree
    assert st.f_namemax == 255


def test_read_only_mount(mount: Callable[..., Mounted], served: Served) -> None:
    store = served.store()
    container = f"ro{uuid.uuid4().hex[:8]}"
    store.create_container(container)
    store.put_object(container, "keep.txt", b"keep")
    m = mount(f"swift://{container}", "--read-only", env=served.env)
    assert (m.path / "keep.txt").read_bytes() == b"keep"
    for action in (lambda: (m.path / "new").write_bytes(b"x"), lambda: os.unlink(m.path / "keep.txt"),
                   lambda: os.mkdir(m.path / "d"), lambda: open(m.path / "keep.txt", "r+b")):
        with pytest.raises(OSError) as exc:
            action()
        assert exc.value.errno == errno.EROFS
    assert store.get_object(container, "keep.txt") == b"keep"


def test_account_mount_shows_containers(mount: Callable[..., Mounted], served: Served) -> None:
    store = served.store()
    name = f"acct{uuid.uuid4().hex[:8]}"
    store.create_container(name)
    store.put_object(name, "obj", b"in a container")
    m = mount("swift://", env=served.env)
    assert name in os.listdir(m.path)
    assert (m.path / name / "obj").read_bytes() == b"in a container"
    made = f"made{uuid.uuid4().hex[:8]}"
    os.mkdir(m.path / made)
    assert store.head_container(made).object_count == 0
    (m.path / made / "f").write_bytes(b"f")
    assert store.get_object(made, "f") == b"f"
    os.unlink(m.path / made / "f")
    os.rmdir(m.path / made)
    with pytest.raises(NotFound):
        store.head_container(made)


def _write_small_pieces(path: str, seed: int) -> bytes:
    """Write a file of 400 pieces of 1,900 bytes, as HDF5 writes metadata."""
    data = hashlib.sha256(str(seed).encode()).digest() * (400 * 1900 // 32 + 1)
    data = data[:400 * 1900]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for i in range(400):
            os.pwrite(fd, data[i * 1900:(i + 1) * 1900], i * 1900)
    finally:
        os.close(fd)
    return data


@pytest.mark.parametrize("threads", [1, 3])
def test_requests_are_served_by_at_most_threads_threads(
    mount: Callable[..., Mounted], tmp_path: Path, threads: int
) -> None:
    """``--threads N``: however many processes write at once, N threads serve
    them (libfuse 3.12+), and every file arrives whole."""
    from concurrent.futures import ProcessPoolExecutor

    from sciswift.mount.fs import BOUNDED_THREADS

    if not BOUNDED_THREADS:
        pytest.skip("libfuse older than 3.12 cannot bound its threads")
    root = tmp_path / "store"
    m = mount(str(root / "c"), "--threads", str(threads))
    paths = [str(m.path / f"f{i}.bin") for i in range(6)]
    with ProcessPoolExecutor(6) as pool:
        written = list(pool.map(_write_small_pieces, paths, range(6)))
    assert 1 <= m.stats()["fuse_threads"] <= threads
    store = LocalStore(root)
    for i, data in enumerate(written):
        assert store.get_object("c", f"f{i}.bin") == data


def test_threads_must_be_at_least_one(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sciswift.cli.mount import mount as mount_command

    (tmp_path / "m").mkdir()
    result = CliRunner().invoke(mount_command, [str(tmp_path / "s"), str(tmp_path / "m"), "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output


def test_an_unlinked_open_file_is_read_until_its_last_close(target: Target) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    target.store.put_object(target.container, "d/gone.bin", data)
    target.store.put_object(target.container, "d/kept.bin", b"other")
    fd = os.open(target / "d" / "gone.bin", os.O_RDONLY)
    try:
        assert os.pread(fd, 10, 0) == data[:10]
        os.unlink(target / "d" / "gone.bin")
        assert not (target / "d" / "gone.bin").exists()
        assert os.listdir(target / "d") == ["kept.bin"]
        # The open descriptor reads the whole file, also what was never read before.
        assert os.pread(fd, len(data), 0) == data
        target.store.head_object(target.container, "d/gone.bin")  # still stored while open
    finally:
        os.close(fd)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the kernel sends the release after close returns
        try:
            target.store.head_object(target.container, "d/gone.bin")
        except NotFound:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the unlinked file's object was not deleted at its last close")
    assert not (target / "d" / "gone.bin").exists()


def test_a_name_written_again_after_an_unlink_survives_the_old_descriptor(target: Target) -> None:
    target.store.put_object(target.container, "again.txt", b"old")
    fd = os.open(target / "again.txt", os.O_RDONLY)
    try:
        os.unlink(target / "again.txt")
        (target / "again.txt").write_bytes(b"new")  # a new file of that name, stored
        assert os.pread(fd, 3, 0) == b"old"
    finally:
        os.close(fd)
    time.sleep(0.5)  # past the release of the old descriptor
    assert target.store.get_object(target.container, "again.txt") == b"new"
    assert (target / "again.txt").read_bytes() == b"new"


def test_an_unlinked_open_file_is_still_a_file_until_its_last_close(target: Target) -> None:
    """fstat, write and ftruncate go on working after unlink (the kernel asks for
    the file's attributes before every write: it keeps a name libfuse hides
    in the mount only), as ``tempfile.TemporaryFile`` needs; nothing of it is
    listed or stored, before or after its last close."""
    fd = os.open(target / "tmp.bin", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.write(fd, b"abcdef")
        os.fsync(fd)
        os.unlink(target / "tmp.bin")
        assert os.listdir(target.m.path) == []
        assert os.fstat(fd).st_size == 6
        os.write(fd, b"ghi")
        assert os.fstat(fd).st_size == 9
        os.ftruncate(fd, 4)
        os.fchmod(fd, 0o600)
        os.utime(fd, (1, 1))
        assert os.pread(fd, 100, 0) == b"abcd"
        os.fsync(fd)
        assert os.listdir(target.m.path) == []
    finally:
        os.close(fd)
    with tempfile.TemporaryFile(dir=target.m.path) as t:
        t.write(b"x" * 300_000)
        t.seek(0)
        assert t.read() == b"x" * 300_000
        assert os.listdir(target.m.path) == []
    time.sleep(0.5)  # past the releases
    assert os.listdir(target.m.path) == []
    assert list(target.store.iter_names(target.container)) == []


def test_a_rename_onto_an_open_file_replaces_it(target: Target) -> None:
    """The name shows the renamed file at once; a descriptor still open on the
    replaced one reads what it has or ESTALE (its bytes are gone from the store),
    never the new file's bytes as its own; its close deletes nothing."""
    (target / "new.txt").write_bytes(b"fresh")
    (target / "old.txt").write_bytes(b"stale")
    with open(target / "old.txt", "rb") as held:
        os.rename(target / "new.txt", target / "old.txt")
        assert (target / "old.txt").read_bytes() == b"fresh"
        try:
            assert held.read() == b"stale"
        except OSError as exc:
            assert exc.errno == errno.ESTALE
    time.sleep(0.5)
    assert sorted(os.listdir(target.m.path)) == ["old.txt"]
    assert target.store.get_object(target.container, "old.txt") == b"fresh"
    assert (target / "old.txt").read_bytes() == b"fresh"


def test_a_name_written_again_with_the_same_bytes_survives_the_old_descriptor(target: Target) -> None:
    (target / "same.txt").write_bytes(b"equal")
    fd = os.open(target / "same.txt", os.O_RDONLY)
    try:
        os.unlink(target / "same.txt")
        (target / "same.txt").write_bytes(b"equal")  # the same ETag as the unlinked one
    finally:
        os.close(fd)
    time.sleep(0.5)  # past the release of the old descriptor
    assert target.store.get_object(target.container, "same.txt") == b"equal"


def test_a_copy_from_a_file_deleted_elsewhere_fails_and_leaves_its_target_empty(target: Target) -> None:
    """What an open descriptor has not read yet of an object another client
    deleted is an error (ENOENT: the object is gone), never data; a copy from
    it fails the same way, the store's copy and the mount's alike, and its
    target stays empty."""
    data = os.urandom(3 << 20)
    target.store.put_object(target.container, "d.bin", data)
    fd = os.open(target / "d.bin", os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        target.store.delete_object(target.container, "d.bin")
        with pytest.raises(FileNotFoundError):
            os.pread(fd, 10, len(data) - 10)
        out = os.open(target / "copy.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            with pytest.raises(FileNotFoundError):
                os.copy_file_range(fd, out, 1 << 30, 0, 0)
        finally:
            os.close(out)
    finally:
        os.close(fd)
    assert (target / "copy.bin").read_bytes() == b""


def test_a_file_replaced_elsewhere_while_open_is_never_read_as_the_old_one(target: Target) -> None:
    """Blocks fetched after another client replaced the object are not the open
    version's: the read is ESTALE, and they are not cached under the old
    version (a later open of a file with the old ETag read them as its own)."""
    old = os.urandom(4 << 20)
    new = os.urandom(4 << 20)
    target.store.put_object(target.container, "f.bin", old)
    fd = os.open(target / "f.bin", os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no kernel read-ahead: the last block stays unread
        assert os.pread(fd, 10, 0) == old[:10]
        target.store.put_object(target.container, "f.bin", new)
        with pytest.raises(OSError) as exc:
            os.pread(fd, 10, len(old) - 10)
        assert exc.value.errno == errno.ESTALE
    finally:
        os.close(fd)
    assert (target / "f.bin").read_bytes() == new  # the next open sees the new file
    target.store.put_object(target.container, "f.bin", old)  # the old ETag again
    assert (target / "f.bin").read_bytes() == old


def test_names_longer_than_255_bytes(target: Target) -> None:
    with pytest.raises(OSError) as exc:
        (target / ("n" * 256)).write_bytes(b"x")
    assert exc.value.errno == errno.ENAMETOOLONG
    with pytest.raises(OSError) as exc:
        os.mkdir(target / ("é" * 128))  # 256 bytes in UTF-8
    assert exc.value.errno == errno.ENAMETOOLONG
    (target / ("n" * 255)).write_bytes(b"x")
    with pytest.raises(OSError) as exc:
        os.rename(target / ("n" * 255), target / ("m" * 300))
    assert exc.value.errno == errno.ENAMETOOLONG
    # A longer name made by another client is shown and read.
    target.store.put_object(target.container, "l" * 300, b"long")
    assert (target / ("l" * 300)).read_bytes() == b"long"


def test_modes_are_kept_as_object_metadata(target: Target) -> None:
    """chmod keeps the permission bits as X-Object-Meta-Mode (rclone's octal
    st_mode); a file created with other bits than 0644 keeps them from the
    start; set-id bits are never kept; a script made executable runs."""
    script = target / "run.sh"
    script.write_bytes(b"#!/bin/sh\necho ran from the mount\n")
    assert os.stat(script).st_mode & 0o7777 == 0o644
    assert "mode" not in target.store.head_object(target.container, "run.sh").metadata
    os.chmod(script, 0o755)
    assert os.stat(script).st_mode & 0o7777 == 0o755
    assert target.store.head_object(target.container, "run.sh").metadata == {"mode": "0100755"}
    out = subprocess.run([str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout == "ran from the mount\n"
    os.chmod(script, 0o4750)  # set-uid asked for: only the permission bits are kept
    assert os.stat(script).st_mode & 0o7777 == 0o750
    assert target.store.head_object(target.container, "run.sh").metadata == {"mode": "0100750"}
    assert script.read_bytes().startswith(b"#!/bin/sh")

    fd = os.open(target / "private", os.O_CREAT | os.O_WRONLY, 0o600)  # as mkstemp makes files
    os.write(fd, b"secret")
    os.close(fd)
    info = target.store.head_object(target.container, "private")
    assert info.metadata == {"mode": "0100600"} and info.size == 6
    assert os.stat(target / "private").st_mode & 0o7777 == 0o600

    # What other clients store shows; what is not octal shows the default.
    target.store.put_object(target.container, "by-rclone", b"x", metadata={"mode": "0100640"})
    target.store.put_object(target.container, "odd", b"x", metadata={"mode": "rwxr-x---"})
    assert os.stat(target / "by-rclone").st_mode & 0o7777 == 0o640
    assert os.stat(target / "odd").st_mode & 0o7777 == 0o644
    # A rename (server-side copy) keeps the mode; directories accept chmod and keep 0755.
    os.rename(script, target / "moved.sh")
    assert os.stat(target / "moved.sh").st_mode & 0o7777 == 0o750
    os.mkdir(target / "d")
    os.chmod(target / "d", 0o700)
    assert os.stat(target / "d").st_mode & 0o7777 == 0o755


def test_fallocate_extends_with_zeros_and_reserves_nothing(target: Target) -> None:
    path = target / "pre.bin"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.write(fd, b"head")
        os.posix_fallocate(fd, 0, 1 << 20)  # mode 0: the file grows, what is there stays
        assert os.fstat(fd).st_size == 1 << 20
        os.posix_fallocate(fd, 0, 10)  # within the file: nothing changes
        assert os.fstat(fd).st_size == 1 << 20
    finally:
        os.close(fd)
    data = target.store.get_object(target.container, "pre.bin")
    assert data[:4] == b"head" and data[4:] == bytes((1 << 20) - 4)
    keep = subprocess.run(["fallocate", "-n", "-l", str(4 << 20), str(path)], capture_output=True, text=True)
    assert keep.returncode == 0, keep.stderr  # FALLOC_FL_KEEP_SIZE: accepted, no space to reserve
    assert os.stat(path).st_size == 1 << 20
    punch = subprocess.run(["fallocate", "-p", "-o", "0", "-l", "4", str(path)], capture_output=True, text=True)
    assert punch.returncode != 0 and "unsupported" in punch.stderr  # EOPNOTSUPP
    assert target.store.get_object(target.container, "pre.bin")[:4] == b"head"


def test_mount_points_and_urls_with_spaces_commas_and_non_ascii(mount: Callable[..., Mounted], served: Served,
                                                                 tmp_path: Path) -> None:
    """A mount point named with a space and a non-ASCII letter is seen mounted
    (``/proc/self/mountinfo`` escapes the space and leaves UTF-8 as it is: the
    mount was never seen, and ``sciswift mount`` gave up after 60 s), and a URL
    with a comma or a backslash (libfuse's option separator and escape, in the
    file system's name) mounts, is used and unmounts."""
    store = served.store()
    container = f"a,b c{uuid.uuid4().hex[:6]}"
    store.create_container(container)
    store.put_object(container, "x.txt", b"hello")
    started = time.monotonic()
    m = mount(f"swift://{container}", env=served.env, name="mnt dir ü")
    assert time.monotonic() - started < 30
    assert (m.path / "x.txt").read_bytes() == b"hello"
    (m.path / "é y.txt").write_bytes(b"written")
    assert store.get_object(container, "é y.txt") == b"written"
    result = m.umount()
    assert result.returncode == 0, result.stderr
    assert not os.path.ismount(m.path)

    local = mount(str(tmp_path / "st,ore" / "c\\1"), name="plain")
    (local.path / "f").write_bytes(b"local")
    assert LocalStore(tmp_path / "st,ore").get_object("c\\1", "f") == b"local"
    with open("/proc/self/mountinfo", "rb") as f:
        assert any(b"st,ore" in line and b"fuse.sciswift" in line for line in f)


_INTERLEAVED_WRITER = """
import os, sys
path, rank, ranks, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fd = os.open(path, os.O_WRONLY)
for i in range(count):
    os.pwrite(fd, (i * ranks + rank).to_bytes(4, "little"), (i * ranks + rank) * 4)
os.close(fd)
"""


def test_small_interleaved_writes_from_two_processes_are_the_bytes_of_a_local_file(
        target: Target, tmp_path: Path) -> None:
    """MPI-IO's interleaved columns: two processes write 4-byte pieces at
    stride 8 into one file at once (every write its own request, taken by
    the binding's write fast path). Read back before the last close (from
    staging, in one piece) and stored at the close, the file holds what the
    same writes make of a local file; every write was counted."""
    count = 20_000
    before = target.m.stats()["fuse_ops"].get("write", 0)
    for path in (target / "cols.bin", tmp_path / "cols.bin"):
        path.write_bytes(b"")
        keep = os.open(path, os.O_RDONLY)  # the last close comes after the check below
        try:
            writers = [subprocess.Popen([sys.executable, "-c", _INTERLEAVED_WRITER, str(path), str(rank), "2",
                                         str(count)]) for rank in (0, 1)]
            assert [w.wait(timeout=300) for w in writers] == [0, 0]
            assert os.pread(keep, 8 * count + 1, 0) == b"".join(i.to_bytes(4, "little")
                                                                for i in range(2 * count))
        finally:
            os.close(keep)
    local = (tmp_path / "cols.bin").read_bytes()
    assert (target / "cols.bin").read_bytes() == local
    assert target.store.get_object(target.container, "cols.bin") == local
    assert target.m.stats()["fuse_ops"]["write"] >= before + 2 * count


def test_a_file_emptied_elsewhere_while_open_reads_zeros_where_it_was_not_written(target: Target) -> None:
    """A file this mount wrote, stored and still holds open, emptied by another
    client: once reopened (the empty version adopted), bytes written past a
    gap leave the gap reading as zeros, never as the bytes written before
    (reads past the stored version come from the staging file in one piece)."""
    keep = os.open(target / "e.bin", os.O_RDWR | os.O_CREAT)
    try:
        os.write(keep, b"\xff" * 8192)
        os.fsync(keep)  # stored; the staging file keeps those bytes while open
        target.store.put_object(target.container, "e.bin", b"")
        fd = os.open(target / "e.bin", os.O_RDWR)
        try:
            assert os.fstat(fd).st_size == 0
            os.pwrite(fd, b"x", 5000)
            assert os.pread(fd, 6000, 0) == bytes(5000) + b"x"
        finally:
            os.close(fd)
    finally:
        os.close(keep)
    assert target.store.get_object(target.container, "e.bin") == bytes(5000) + b"x"
