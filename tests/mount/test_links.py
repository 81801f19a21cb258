"""Symbolic links through a real mount: a link is a Swift symlink (the store's
``put_link``), shown with its target's path relative to the link; the kernel
follows it. Checked from the store's side, and with ``tar`` and ``rsync`` copying
trees that hold links. Run on ``sciswift serve`` and on a local store."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from sciswift.store import SwiftStore
from sciswift.store.links import LinkTarget, link_target

from .conftest import Mounted, Served, Target


def test_a_link_made_in_the_mount_is_a_swift_symlink(target: Target) -> None:
    os.makedirs(target / "runs/r1")
    (target / "runs/r1/out.bin").write_bytes(b"result")
    os.symlink("r1/out.bin", target / "runs/latest")
    os.symlink("runs/r1", target / "runs/../current")  # to a directory, at the top
    assert os.readlink(target / "runs/latest") == "r1/out.bin"
    assert stat.S_ISLNK(os.lstat(target / "runs/latest").st_mode)
    assert os.lstat(target / "runs/latest").st_size == len("r1/out.bin")
    assert (target / "runs/latest").read_bytes() == b"result"
    assert os.listdir(target / "current") == ["out.bin"]
    info = target.store.head_link(target.container, "runs/latest")
    assert link_target(info) == LinkTarget(target.container, "runs/r1/out.bin")
    assert link_target(target.store.head_link(target.container, "current")) == LinkTarget(target.container,
                                                                                           "runs/r1")
    if isinstance(target.store, SwiftStore):  # the server follows it, for every Swift client
        assert target.store.get_object(target.container, "runs/latest") == b"result"
    # an absolute path below the mount point is a path in the mount
    os.symlink(str(target / "runs/r1/out.bin"), target / "abs")
    assert os.readlink(target / "abs") == "runs/r1/out.bin"
    with pytest.raises(FileExistsError):
        os.symlink("r1/out.bin", target / "runs/latest")


def test_links_made_by_other_clients_show_as_links(target: Target) -> None:
    s, c = target.store, target.container
    s.put_object(c, "data/a.txt", b"alpha")
    s.put_link(c, "data/to-a", c, "data/a.txt")
    s.put_link(c, "elsewhere/to-a", c, "data/a.txt")
    s.put_link(c, "data/dangling", c, "data/never-written")
    assert sorted(os.listdir(target / "data")) == ["a.txt", "dangling", "to-a"]
    assert os.readlink(target / "data/to-a") == "a.txt"
    assert os.readlink(target / "elsewhere/to-a") == "../data/a.txt"
    assert (target / "elsewhere/to-a").read_bytes() == b"alpha"
    # a dangling link is there (lstat) and leads nowhere (stat), as on a disk
    assert os.readlink(target / "data/dangling") == "never-written"
    with pytest.raises(FileNotFoundError):
        os.stat(target / "data/dangling")
    # found by a lookup of its own too, with no listing of its directory first
    s.put_link(c, "fresh/l", c, "data/a.txt")
    assert os.readlink(target / "fresh/l") == "../data/a.txt"


def test_targets_out_of_the_mount_are_refused(target: Target) -> None:
    (target / "f").write_bytes(b"x")
    for text in ("/etc/passwd", "../../outside", "..", "/"):
        with pytest.raises(OSError) as exc:
            os.symlink(text, target / "bad")
        assert exc.value.errno == errno.EPERM, text
    assert not target.store.has_object(target.container, "bad")
    assert os.listdir(target.m.path) == ["f"]


def test_unlink_and_rename_act_on_the_link_only(target: Target) -> None:
    os.mkdir(target / "d")
    (target / "d/f").write_bytes(b"kept")
    os.symlink("f", target / "d/l")
    os.unlink(target / "d/l")
    assert not target.store.has_object(target.container, "d/l")
    assert target.store.get_object(target.container, "d/f") == b"kept"

    # renaming a directory keeps its links' texts, so they still lead inside it
    os.symlink("f", target / "d/l")
    os.symlink("../d/f", target / "d/up")
    os.rename(target / "d", target / "e")
    assert os.readlink(target / "e/l") == "f" and (target / "e/l").read_bytes() == b"kept"
    assert link_target(target.store.head_link(target.container, "e/l")) == LinkTarget(target.container, "e/f")
    # ... and one that names the old directory now leads nowhere, as on a disk
    assert os.readlink(target / "e/up") == "../d/f" and not (target / "e/up").exists()
    # a link renamed on its own keeps its text too (POSIX): now dangling
    os.rename(target / "e/l", target / "l2")
    assert os.readlink(target / "l2") == "f"
    assert not (target / "l2").exists()
    assert sorted(o.name for o in target.store.iter_objects(target.container)) == ["e/", "e/f", "e/up", "l2"]


def test_unlinking_a_link_to_a_large_file_keeps_the_file(served: Served, mount: Callable[..., Mounted]) -> None:
    """A link to a static large object is deleted alone (a DELETE with
    multipart-manifest=delete would read the manifest through the link and
    delete the target's segments)."""
    store = served.store()
    container = f"c{uuid.uuid4().hex[:8]}"
    store.create_container(container)
    m = mount(f"swift://{container}", "--segment-size", "1M", env=served.env)
    payload = os.urandom(3 << 20)
    (m.path / "big.bin").write_bytes(payload)
    assert store.get_manifest(container, "big.bin") is not None  # stored in segments
    os.symlink("big.bin", m.path / "to-big")
    os.unlink(m.path / "to-big")
    assert store.get_object(container, "big.bin") == payload
    assert (m.path / "big.bin").read_bytes() == payload


def test_tar_and_rsync_copy_trees_with_links(target: Target, tmp_path: Path) -> None:
    src = tmp_path / "tree"
    (src / "d1/d2").mkdir(parents=True)
    (src / "d1/f1").write_bytes(b"1" * 1000)
    (src / "d1/d2/h.txt").write_text("hello")
    os.symlink("f1", src / "d1/link")
    os.symlink("d2", src / "d1/dirlink")
    os.symlink("../d1/d2/h.txt", src / "d1/up")  # not the shortest text: kept as it is
    archive = tmp_path / "tree.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(src, arcname=".")
    (target / "x").mkdir()
    subprocess.run(["tar", "xf", str(archive), "-C", str(target / "x")], check=True)
    if shutil.which("rsync"):
        subprocess.run(["rsync", "-a", f"{src}/", str(target / "r")], check=True)
        again = subprocess.run(["rsync", "-ai", f"{src}/", str(target / "r")], check=True, capture_output=True,
                               text=True)
        assert not [line for line in again.stdout.splitlines() if line.startswith(("c", ">", "cL"))], again.stdout
        copies = ["x", "r"]
    else:
        copies = ["x"]
    for copy in copies:
        top = target / copy
        for p in src.rglob("*"):
            rel = p.relative_to(src)
            if p.is_symlink():
                assert os.readlink(top / rel) == os.readlink(p), rel
            elif p.is_file():
                assert (top / rel).read_bytes() == p.read_bytes(), rel
        assert (top / "d1/link").read_bytes() == b"1" * 1000
        assert os.listdir(top / "d1/dirlink") == ["h.txt"]
        assert (top / "d1/up").read_text() == "hello"


def test_a_link_out_of_the_mount_shows_what_it_leads_to(served: Served, mount: Callable[..., Mounted]) -> None:
    store = served.store()
    here, there = f"c{uuid.uuid4().hex[:8]}", f"c{uuid.uuid4().hex[:8]}"
    store.create_container(here)
    store.create_container(there)
    store.put_object(there, "obj", b"from another container")
    store.put_link(here, "to-there", there, "obj")
    m = mount(f"swift://{here}", env=served.env)
    assert not os.path.islink(m.path / "to-there")
    assert os.stat(m.path / "to-there").st_size == len(b"from another container")
    assert (m.path / "to-there").read_bytes() == b"from another container"
    # in a mount of the whole account both containers are in it: a link
    whole = mount("swift://", env=served.env)
    assert os.readlink(whole.path / here / "to-there") == f"../{there}/obj"
    os.symlink(f"../{here}/to-there", whole.path / there / "back")
    assert link_target(store.head_link(there, "back")) == LinkTarget(here, "to-there")
    assert (whole.path / there / "back").read_bytes() == b"from another container"
