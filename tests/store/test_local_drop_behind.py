"""LocalStore's durable writer drops a large body's pages from the page cache
once they are on disk (``local.writer.DROP_BEHIND``); smaller bodies keep them.
So does a batch's object too large for a pack, and a pack of at least
``PACK_DROP_BEHIND`` bytes once newer packs have been written after it
(``local.recent``). Residency is asked of the kernel
(``mincore`` of a shared mapping)."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import mmap
import os
import sys
from pathlib import Path

import pytest

from sciswift.store import LocalStore
from sciswift.store.local.container import PACK_DROP_BEHIND
from sciswift.store.local.pack import PACK_MAX_OBJECT
from sciswift.store.local.recent import RecentFiles, recent_packs
from sciswift.store.local.writer import DROP_BEHIND

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="page cache advice is Linux's")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]


def resident_share(path: Path, length: int) -> float:
    """The share of the first ``length`` bytes of ``path`` in the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = _libc.mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        try:
            pages = -(-length // mmap.PAGESIZE)
            vec = ctypes.create_string_buffer(pages)
            assert _libc.mincore(addr, length, vec) == 0, os.strerror(ctypes.get_errno())
            return sum(b & 1 for b in vec.raw) / pages
        finally:
            _libc.munmap(addr, length)
    finally:
        os.close(fd)


def _write(store: LocalStore, name: str, body: bytes, piece: int) -> None:
    writer = store.open_writer("c", name)
    for i in range(0, len(body), piece):
        writer.write(body[i : i + piece])
    writer.commit()


def _file_of(root: Path, size: int) -> Path:
    """The one stored file holding a body of ``size`` bytes (its record follows)."""
    [found] = [p for p in root.rglob("*") if p.is_file() and size <= p.stat().st_size < size + (1 << 20)]
    return found


@pytest.mark.parametrize("piece", [1 << 20, 3 << 20])
def test_a_large_durable_body_leaves_the_page_cache(tmp_path: Path, piece: int) -> None:
    store = LocalStore(tmp_path / "acct", durable=True)
    store.create_container("c")
    body = os.urandom(DROP_BEHIND + (5 << 20) + 12345)
    _write(store, "big", body, piece)
    assert resident_share(_file_of(tmp_path, len(body)), len(body) // mmap.PAGESIZE * mmap.PAGESIZE) < 0.1
    assert store.get_object("c", "big") == body  # read back from disk, checked whole
    assert store.head_object("c", "big").etag == hashlib.md5(body).hexdigest()


def test_smaller_or_not_durable_bodies_stay_cached(tmp_path: Path) -> None:
    small = os.urandom(DROP_BEHIND - (1 << 20))
    store = LocalStore(tmp_path / "durable", durable=True)
    store.create_container("c")
    _write(store, "small", small, 1 << 20)
    assert resident_share(_file_of(tmp_path / "durable", len(small)), len(small) // mmap.PAGESIZE * mmap.PAGESIZE) > 0.9
    large = os.urandom(DROP_BEHIND + (1 << 20))
    lazy = LocalStore(tmp_path / "lazy", durable=False)
    lazy.create_container("c")
    _write(lazy, "large", large, 1 << 20)
    assert resident_share(_file_of(tmp_path / "lazy", len(large)), len(large) // mmap.PAGESIZE * mmap.PAGESIZE) > 0.9


def _packs(root: Path) -> list[Path]:
    return [p for p in root.rglob("packs/*") if p.is_file()]


def test_a_large_durable_batch_leaves_the_page_cache_once_newer_ones_are_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's object too large for a pack leaves at once; a large pack stays
    while it is among the last ``keep_bytes`` of packs the process wrote, and
    leaves once that much more has been written after it."""
    monkeypatch.setattr(recent_packs, "keep_bytes", 5 * PACK_DROP_BEHIND)  # packs here: 2 MiB each
    store = LocalStore(tmp_path / "acct", durable=True)
    store.create_container("c")
    chunks = {f"chunk/{i}": os.urandom(256 << 10) for i in range(2 * PACK_DROP_BEHIND // (256 << 10))}
    big = os.urandom(PACK_MAX_OBJECT + 4096)  # a file of its own
    store.put_many("c", {**chunks, "big": big})
    [pack] = _packs(tmp_path)
    size = pack.stat().st_size // mmap.PAGESIZE * mmap.PAGESIZE
    assert pack.stat().st_size >= PACK_DROP_BEHIND
    assert resident_share(_file_of(tmp_path, len(big)), len(big) // mmap.PAGESIZE * mmap.PAGESIZE) < 0.1
    assert resident_share(pack, size) > 0.9  # the newest: read back from the cache
    assert store.get_many("c", list(chunks)) == chunks
    later = {f"later/{i}": os.urandom(256 << 10) for i in range(2 * PACK_DROP_BEHIND // (256 << 10))}
    store.put_many("c", later)
    assert resident_share(pack, size) > 0.9  # 4 MiB of packs: still among the last 5 MiB
    store.put_many("c", {f"last/{i}": os.urandom(256 << 10) for i in range(2 * PACK_DROP_BEHIND // (256 << 10))})
    assert resident_share(pack, size) < 0.1  # pushed out
    assert store.get_many("c", list(chunks)) == chunks  # read back from disk, checked
    assert store.get_object("c", "big") == big


def test_recent_files_keep_the_newest_bytes(tmp_path: Path) -> None:
    files = []
    for i in range(4):
        f = tmp_path / f"f{i}"
        with open(f, "wb") as out:
            out.write(os.urandom(1 << 20))
            out.flush()
            os.fsync(out.fileno())
        files.append(f)
    recent = RecentFiles(keep_bytes=2 << 20)
    for f in files[:2]:
        recent.add(str(f), 1 << 20)
    assert len(recent) == 2 and all(resident_share(f, 1 << 20) > 0.9 for f in files[:2])
    files[0].unlink()  # a file gone before its turn is skipped
    recent.add(str(files[2]), 1 << 20)
    recent.add(str(files[3]), 1 << 20)
    assert len(recent) == 2
    assert resident_share(files[1], 1 << 20) < 0.1
    assert all(resident_share(f, 1 << 20) > 0.9 for f in files[2:])


def test_small_or_not_durable_batches_stay_cached(tmp_path: Path) -> None:
    small = {f"meta/{i}": os.urandom(10_000) for i in range(4)}
    store = LocalStore(tmp_path / "durable", durable=True)
    store.create_container("c")
    store.put_many("c", small)
    [pack] = _packs(tmp_path / "durable")
    assert resident_share(pack, pack.stat().st_size // mmap.PAGESIZE * mmap.PAGESIZE) > 0.9
    lazy = LocalStore(tmp_path / "lazy", durable=False)
    lazy.create_container("c")
    lazy.put_many("c", {f"chunk/{i}": os.urandom(256 << 10) for i in range(8)})
    [pack] = _packs(tmp_path / "lazy")
    assert resident_share(pack, pack.stat().st_size // mmap.PAGESIZE * mmap.PAGESIZE) > 0.9
