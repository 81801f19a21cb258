"""Races between FUSE requests, replayed in order on a Session (no kernel
needed): the kernel sends a descriptor's RELEASE after close(2) has returned,
so it can arrive while the program's next open of the file is under way."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sciswift.mount.config import MountConfig
from sciswift.mount.session import Session
from sciswift.store import MemoryStore


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    store = MemoryStore()
    store.create_container("c")
    s = Session(store, "c", "", MountConfig(url="memory://c", mountpoint=tmp_path / "m",
                                            cache_dir=tmp_path / "cache"))
    yield s
    s.shutdown()


def _written(s: Session, path: str, data: bytes) -> int:
    fh = s.create(path)
    s.write(fh, data, 0)
    s.flush(fh)  # close(2): stored when it returns
    return fh


@pytest.mark.parametrize("flags", [os.O_RDWR | os.O_TRUNC, os.O_WRONLY | os.O_TRUNC])
def test_a_late_release_does_not_undo_the_next_truncating_open(session: Session, flags: int,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """HDF5 rewriting a file (H5Fcreate with H5F_ACC_TRUNC) right after closing
    it saw the old size, so it read the old superblock and failed."""
    s = session
    old = _written(s, "/f.h5", b"old content " * 1000)
    revalidate = s._revalidate

    def release_meanwhile(state: object) -> None:
        s.release(old)  # the previous descriptor's RELEASE, arriving now
        revalidate(state)  # type: ignore[arg-type]

    monkeypatch.setattr(s, "_revalidate", release_meanwhile)
    fh, keep = s.open("/f.h5", flags)
    assert not keep  # truncated: the kernel's pages of the old content must go
    assert s.stat("/f.h5")["st_size"] == 0
    assert s.read(fh, 0, 100) == b""
    s.write(fh, b"new", 0)
    s.flush(fh)
    s.release(fh)
    assert s.store.get_object("c", "f.h5") == b"new"


def test_a_late_release_does_not_drop_a_state_being_opened_to_read(session: Session,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    s = session
    old = _written(s, "/r.bin", b"x" * 5000)
    revalidate = s._revalidate

    def release_meanwhile(state: object) -> None:
        s.release(old)
        revalidate(state)  # type: ignore[arg-type]

    monkeypatch.setattr(s, "_revalidate", release_meanwhile)
    fh, _ = s.open("/r.bin", os.O_RDONLY)
    assert s.handle(fh).state is s.states["/r.bin"]  # the open's state is the live one
    assert s.read(fh, 0, 10_000) == b"x" * 5000
    s.release(fh)
    assert "/r.bin" not in s.states  # and the last release lets it go


def test_a_failed_open_gives_its_claim_back(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    s = session
    fh = _written(s, "/g.bin", b"data")

    def unreachable(state: object) -> None:
        raise OSError("store unreachable")

    monkeypatch.setattr(s, "_revalidate", unreachable)
    with pytest.raises(OSError):
        s.open("/g.bin", os.O_RDONLY)
    s.release(fh)
    assert "/g.bin" not in s.states  # no open left counted: dropped when idle
