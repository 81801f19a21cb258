"""Bad input and faults: the store unreachable (EIO and a log line, the mount stays
up and recovers, unmount refuses while data is pending), the mount process killed
during a write or an upload (the old object stays whole), a full cache directory
(a clean error), names the store refuses (the matching errno)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sciswift.store import SwiftStore, segments_container

from .conftest import Mounted, Served, sciswift_cmd, start_served

MiB = 1 << 20


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Served]:
    """A server this test may stop and restart."""
    s = start_served(tmp_path / "own")
    yield s
    s.stop()


def _container(store: SwiftStore) -> str:
    name = f"F{uuid.uuid4().hex[:8]}"
    store.create_container(name)
    return name


@pytest.mark.slow  # each failed request is retried for ~3 s before EIO
def test_store_unreachable_then_back(mount: Callable[..., Mounted], own_server: Served) -> None:
    store = own_server.store()
    container = _container(store)
    store.put_object(container, "stored.bin", b"s" * 1000)
    m = mount(f"swift://{container}", env=own_server.env)
    (m.path / "early.txt").write_bytes(b"before the outage")

    f = open(m.path / "late.txt", "wb")
    f.write(b"written during the outage")
    own_server.stop()
    with pytest.raises(OSError) as exc:
        f.close()  # the store cannot take it: EIO, and the data stays pending
    assert exc.value.errno == errno.EIO
    with pytest.raises(OSError) as exc:
        (m.path / "stored.bin").read_bytes()
    assert exc.value.errno == errno.EIO
    assert "EIO close /late.txt" in m.log and "cannot reach Swift" in m.log
    assert any("EIO" in line and "/stored.bin" in line for line in m.log.splitlines())

    # Unmounting now would lose data: refused, naming the file.
    refused = m.umount()
    assert refused.returncode == 1
    assert "/late.txt" in refused.stderr and "not unmounting" in refused.stderr
    assert os.path.ismount(m.path)

    own_server.restart()
    assert (m.path / "stored.bin").read_bytes() == b"s" * 1000  # the mount recovered
    done = m.umount()
    assert done.returncode == 0, done.stderr
    assert store.get_object(container, "late.txt") == b"written during the outage"
    assert store.get_object(container, "early.txt") == b"before the outage"


def test_killed_during_a_write_leaves_the_old_object(mount: Callable[..., Mounted], served: Served) -> None:
    store = served.store()
    container = _container(store)
    store.put_object(container, "keep.bin", b"old content")
    m = mount(f"swift://{container}", env=served.env)
    f = open(m.path / "keep.bin", "r+b")
    f.write(b"new content that never gets closed")
    f.flush()
    os.kill(m.pid, signal.SIGKILL)
    time.sleep(0.2)
    with pytest.raises(OSError):
        f.close()
    assert store.get_object(container, "keep.bin") == b"old content"
    result = m.umount()  # cleans the stale mount point
    assert result.returncode == 0 and "gone" in result.stdout
    assert not os.path.ismount(m.path)


def test_killed_during_an_upload_leaves_old_or_new(mount: Callable[..., Mounted], served: Served) -> None:
    store = served.store()
    container = _container(store)
    old = os.urandom(3 * MiB)
    store.put_object(container, "big.bin", old)
    m = mount(f"swift://{container}", "--segment-size", "1M", env=served.env)
    new = os.urandom(40 * MiB)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with open(m.path / "big.bin", "wb") as f:
                f.write(new)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=write)
    t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # kill once segments are on their way
        try:
            if len(list(store.iter_objects(segments_container(container)))) >= 3:
                break
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    os.kill(m.pid, signal.SIGKILL)
    t.join(30)
    stored = store.get_object(container, "big.bin")
    assert stored in (old, new)
    m.umount()


@pytest.fixture
def tiny_cache(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB file system for the cache directory (unmounted after the mount,
    which is torn down first because this fixture is set up before it)."""
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(tiny)], check=True)
    yield tiny / "cache"
    subprocess.run(["umount", "-l", str(tiny)], check=False)


def test_cache_directory_full(tiny_cache: Path, mount: Callable[..., Mounted], served: Served) -> None:
    store = served.store()
    container = _container(store)
    store.put_object(container, "keep.bin", b"old")
    data = os.urandom(6 * MiB)
    store.put_object(container, "read.bin", data)
    m = mount(f"swift://{container}", "--cache", str(tiny_cache), env=served.env)
    f = open(m.path / "keep.bin", "wb")
    with pytest.raises(OSError) as exc:
        for _ in range(6):
            f.write(os.urandom(MiB))
            f.flush()
    assert exc.value.errno == errno.ENOSPC
    with pytest.raises(OSError) as exc:
        f.close()  # the close does not store what the failed writes left
    assert exc.value.errno == errno.EIO
    assert store.get_object(container, "keep.bin") == b"old"  # nothing half-written
    assert "ENOSPC write /keep.bin" in m.log
    assert (m.path / "read.bin").read_bytes() == data  # reads go on, from memory
    deadline = time.monotonic() + 10  # blocks reach the disk once reads pause
    while "cannot store a block" not in m.log and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "cannot store a block" in m.log
    assert (m.path / "keep.bin").read_bytes() == b"old"
    assert m.umount().returncode == 0


def test_names_the_store_refuses(mount: Callable[..., Mounted], served: Served) -> None:
    store = served.store()
    container = _container(store)
    m = mount(f"swift://{container}", env=served.env)
    deep = m.path
    for c in "abcde":
        deep = deep / (c * 200)
        os.mkdir(deep)  # 5 x 200 bytes: the directory markers still fit in 1,024
    with pytest.raises(OSError) as exc:
        (deep / ("f" * 30)).write_bytes(b"x")  # 1,035 bytes: longer than Swift allows
    assert exc.value.errno == errno.ENAMETOOLONG
    with pytest.raises(OSError) as exc:
        os.open(os.fsencode(m.path) + b"/bad\xff\xfe.bin", os.O_CREAT | os.O_WRONLY)
    assert exc.value.errno == errno.EINVAL  # not UTF-8: Swift names are UTF-8
    (m.path / "ok.txt").write_bytes(b"fine")  # and the mount carries on
    with pytest.raises(OSError) as exc:  # a header value cannot hold a newline
        os.setxattr(m.path / "ok.txt", "user.x", b"a\nb")
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:  # Swift's limit on a metadata value
        os.setxattr(m.path / "ok.txt", "user.x", b"v" * 300)
    assert exc.value.errno == errno.E2BIG
    assert store.get_object(container, "ok.txt") == b"fine"
    assert subprocess.run(sciswift_cmd("umount", str(m.path)), env=m.env, capture_output=True).returncode == 0


def test_sigterm_stores_pending_data_and_unmounts(mount: Callable[..., Mounted], served: Served) -> None:
    store = served.store()
    container = _container(store)
    m = mount(f"swift://{container}", env=served.env)
    f = open(m.path / "open.bin", "wb")
    f.write(b"written, never closed")
    f.flush()
    os.kill(m.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{m.pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.ismount(m.path)
    assert store.get_object(container, "open.bin") == b"written, never closed"
    assert "stopping: storing 1 file(s) with pending data" in m.log
    try:
        f.close()
    except OSError:
        pass


def test_a_busy_mount_is_refused_after_a_short_wait_and_keeps_working(mount: Callable[..., Mounted],
                                                                      tmp_path: Path) -> None:
    # A process whose working directory is in the mount keeps it busy: umount
    # tries again for a moment (a file just closed may still be held by the
    # kernel), then refuses, and the mount goes on working.
    m = mount(str(tmp_path / "store" / "c"))
    (m.path / "d").mkdir()
    (m.path / "d" / "f").write_bytes(b"kept")
    sitter = subprocess.Popen(["sleep", "60"], cwd=m.path / "d")
    try:
        started = time.monotonic()
        refused = m.umount()
        assert refused.returncode != 0 and "cannot unmount" in refused.stderr, refused.stderr
        assert time.monotonic() - started >= 1.5  # tried again before refusing
        assert (m.path / "d" / "f").read_bytes() == b"kept"
    finally:
        sitter.kill()
        sitter.wait()
    assert m.umount().returncode == 0
