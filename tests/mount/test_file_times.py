"""File modification times through the mount: a time set on a file (``touch -d``,
``cp -p``, ``rsync -a``) is kept as ``X-Object-Meta-Mtime``, the Swift tools'
convention, so ``swift download`` restores it and a second ``rsync -a`` copies
nothing; objects uploaded with ``swift upload`` show their files' times, whether
found by name or in a listing (``ls -l``); a write makes the time the write's;
``--server-times`` shows the store's times and keeps none."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from sciswift.mount.mtime import format_mtime, parse_mtime
from sciswift.store import LocalStore, Store

from .conftest import Mounted, Served

T0 = 1_577_880_000_123_456_789  # 2020-01-01 12:00:00.123456789 UTC, to the ns
SWIFT = str(Path(sys.executable).with_name("swift"))


@pytest.fixture(params=["served", "local"])
def where(request: pytest.FixtureRequest, mount: Callable[..., Mounted],
          tmp_path: Path) -> tuple[Mounted, Store, str]:
    container = f"t{uuid.uuid4().hex[:8]}"
    if request.param == "served":
        served: Served = request.getfixturevalue("served")
        store: Store = served.store()
        store.create_container(container)
        return mount(f"swift://{container}", env=served.env), store, container
    root = tmp_path / "store"
    return mount(str(root / container)), LocalStore(root), container


def test_a_time_set_is_kept_and_seen_after_a_remount(where: tuple[Mounted, Store, str],
                                                     mount: Callable[..., Mounted]) -> None:
    m, store, container = where
    (m.path / "d").mkdir()
    (m.path / "d" / "f.bin").write_bytes(b"x" * 1000)
    os.utime(m.path / "d" / "f.bin", ns=(T0, T0))
    assert os.stat(m.path / "d" / "f.bin").st_mtime_ns == T0
    assert store.head_object(container, "d/f.bin").metadata["mtime"] == "1577880000.123456789"
    # touch -a sends UTIME_OMIT for the modification time: unchanged.
    subprocess.run(["touch", "-a", str(m.path / "d" / "f.bin")], check=True)
    assert os.stat(m.path / "d" / "f.bin").st_mtime_ns == T0
    time.sleep(1.1)  # past what the mount remembers: found by name (HEAD) again
    assert os.stat(m.path / "d" / "f.bin").st_mtime_ns == T0
    time.sleep(1.1)  # and through a fresh listing (no metadata in it)
    assert os.listdir(m.path / "d") == ["f.bin"]
    assert os.stat(m.path / "d" / "f.bin").st_mtime_ns == T0
    assert m.umount().returncode == 0
    again = mount(m.url, env=m.env, name="again")
    assert os.stat(again.path / "d" / "f.bin").st_mtime_ns == T0


def test_a_write_takes_the_time_of_the_write(where: tuple[Mounted, Store, str]) -> None:
    m, store, container = where
    path = m.path / "w.txt"
    path.write_text("one\n")
    os.utime(path, ns=(T0, T0))
    before = time.time_ns()
    with open(path, "a") as f:
        f.write("two\n")
    assert os.stat(path).st_mtime_ns >= before - 2_000_000_000  # the store's clock may lag a little
    assert "mtime" not in store.head_object(container, "w.txt").metadata
    os.utime(path, ns=(T0, T0))  # set again: kept with the new content
    assert os.stat(path).st_mtime_ns == T0 and path.read_text() == "one\ntwo\n"


def test_a_rename_keeps_the_time(where: tuple[Mounted, Store, str], mount: Callable[..., Mounted]) -> None:
    """A rename changes no file's time (make and rsync compare them), also where
    the time shown is the object's own and the move stores a new one (a copy)."""
    m, store, container = where
    (m.path / "d").mkdir()
    written, touched = m.path / "d" / "written.txt", m.path / "touched.txt"
    written.write_text("one\n")
    touched.write_text("two\n")
    os.utime(touched, ns=(T0, T0))
    time.sleep(1.1)  # past what the mount remembers of the write: the stored object's time
    before = os.stat(written).st_mtime_ns  # (and a copy stored now has another)
    os.rename(written, m.path / "moved.txt")
    os.rename(touched, m.path / "d" / "touched-moved.txt")
    assert os.stat(m.path / "moved.txt").st_mtime_ns == before
    assert os.stat(m.path / "d" / "touched-moved.txt").st_mtime_ns == T0
    assert m.umount().returncode == 0
    again = mount(m.url, env=m.env, name="again")
    assert os.stat(again.path / "moved.txt").st_mtime_ns == before
    assert os.stat(again.path / "d" / "touched-moved.txt").st_mtime_ns == T0
    assert parse_mtime(store.head_object(container, "moved.txt").metadata) == before


def test_cp_p_and_a_second_rsync_copy_nothing(where: tuple[Mounted, Store, str], tmp_path: Path) -> None:
    m, _, _ = where
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    for i in range(5):
        (src / "a" / f"f{i}.dat").write_bytes(os.urandom(1000 * (i + 1)))
    (src / "a" / "b" / "deep.txt").write_text("deep")
    for k, p in enumerate(sorted(src.rglob("*"))):
        if p.is_file():
            os.utime(p, ns=(T0 + k, T0 + k * 1_000_000_007))
    subprocess.run(["cp", "-p", str(src / "a" / "f0.dat"), str(m.path / "copied.dat")], check=True)
    assert os.stat(m.path / "copied.dat").st_mtime_ns == os.stat(src / "a" / "f0.dat").st_mtime_ns
    first = subprocess.run(["rsync", "-a", "--stats", f"{src}/", f"{m.path}/tree/"],
                           capture_output=True, text=True, check=True)
    assert "Number of regular files transferred: 6" in first.stdout, first.stdout
    for p in src.rglob("*"):
        if p.is_file():
            twin = m.path / "tree" / p.relative_to(src)
            assert twin.read_bytes() == p.read_bytes()
            assert os.stat(twin).st_mtime_ns == os.stat(p).st_mtime_ns, p
    time.sleep(1.1)  # compared from the store, not from what the mount remembers
    second = subprocess.run(["rsync", "-a", "--stats", "-i", f"{src}/", f"{m.path}/tree/"],
                            capture_output=True, text=True, check=True)
    assert "Number of regular files transferred: 0" in second.stdout, second.stdout
    assert not [line for line in second.stdout.splitlines() if line.startswith(">f")], second.stdout


def test_swift_upload_and_download_agree_with_the_mount(served: Served, mount: Callable[..., Mounted],
                                                        tmp_path: Path) -> None:
    container = f"t{uuid.uuid4().hex[:8]}"
    store = served.store()
    store.create_container(container)
    work = tmp_path / "up"
    (work / "run").mkdir(parents=True)
    for i in range(40):  # more than the mount completes in one round of HEADs
        f = work / "run" / f"f{i:02d}.txt"
        f.write_text(str(i))
        os.utime(f, ns=(T0, T0 + i * 1_000_000_000))
    env = {**os.environ, **served.env}
    subprocess.run([SWIFT, "upload", container, "run"], cwd=work, env=env, check=True, capture_output=True)
    m = mount(f"swift://{container}", env=served.env)
    # ls -l: names from one listing, each file's time from its metadata (swift upload
    # writes it with microseconds: "%f"). The HEADs below come after the stats.
    names = sorted(os.listdir(m.path / "run"))
    shown = [os.stat(m.path / "run" / name).st_mtime_ns for name in names]
    assert len(names) == 40
    for i, name in enumerate(names):
        kept = parse_mtime(store.head_object(container, f"run/{name}").metadata)
        assert kept is not None and abs(kept - (T0 + i * 1_000_000_000)) <= 1000
        assert shown[i] == kept
    # A time set through the mount is what swift download gives the file.
    os.utime(m.path / "run" / "f07.txt", ns=(T0, T0))
    down = tmp_path / "down"
    down.mkdir()
    subprocess.run([SWIFT, "download", container, "run/f07.txt"], cwd=down, env=env, check=True,
                   capture_output=True)
    assert os.stat(down / "run" / "f07.txt").st_mtime == pytest.approx(T0 / 1e9, abs=1e-5)
    assert (down / "run" / "f07.txt").read_text() == "7"


def test_server_times_keeps_none(served: Served, mount: Callable[..., Mounted]) -> None:
    container = f"t{uuid.uuid4().hex[:8]}"
    store = served.store()
    store.create_container(container)
    store.put_object(container, "old.txt", b"old", metadata={"mtime": format_mtime(T0)})
    m = mount(f"swift://{container}", "--server-times", env=served.env)
    stored = store.head_object(container, "old.txt").timestamp
    assert os.stat(m.path / "old.txt").st_mtime == pytest.approx(stored, abs=1.0)
    (m.path / "new.txt").write_text("new")
    os.utime(m.path / "new.txt", ns=(T0, T0))  # accepted, not kept
    assert "mtime" not in store.head_object(container, "new.txt").metadata
    assert os.stat(m.path / "new.txt").st_mtime_ns != T0
    with pytest.raises(FileNotFoundError):
        os.utime(m.path / "nothing.txt", ns=(T0, T0))


def test_directories_keep_the_store_times(where: tuple[Mounted, Store, str]) -> None:
    m, _, _ = where
    (m.path / "dir").mkdir()
    os.utime(m.path / "dir", ns=(T0, T0))  # accepted (tar and cp -p set them), not kept
    assert os.stat(m.path / "dir").st_mtime_ns != T0


def test_directories_without_a_stored_time_show_the_mount_s(where: tuple[Mounted, Store, str]) -> None:
    """The top of the mount and a prefix with no marker object (what ``swift
    upload`` of a tree makes) have no time in the store: they show when the mount
    started, not the epoch."""
    m, store, container = where
    store.put_object(container, "tree/leaf.txt", b"x")
    after = time.time() + 1.0
    for path in (m.path, m.path / "tree"):
        shown = os.stat(path).st_mtime
        assert time.time() - 600 < shown < after, (path, shown)


def test_listing_then_opening_makes_one_head_per_file(where: tuple[Mounted, Store, str]) -> None:
    """The HEAD that gives a listed file its time also revalidates the open that
    follows it (a program reading every file of a directory): one HEAD per file."""
    m, store, container = where
    for i in range(20):
        store.put_object(container, f"set/f{i:02d}.txt", str(i).encode(), metadata={"mtime": format_mtime(T0 + i)})
    before = m.stats()["store_calls"].get("head_object", 0)
    for name in sorted(os.listdir(m.path / "set")):
        st = os.stat(m.path / "set" / name)
        assert st.st_mtime_ns == T0 + int(name[1:3])
        assert (m.path / "set" / name).read_text() == str(int(name[1:3]))
    heads = m.stats()["store_calls"].get("head_object", 0) - before
    # 20 here (41 with a HEAD of its own for each open); a kept HEAD serves an
    # open for 0.25 s only, which a loaded machine can exceed for a few files.
    assert 20 <= heads <= 30, heads
