"""Small reads of uncompressed chunks on a local store read only the part of each
chunk they need (LocalStore.read_parts_into, checked against the block digests),
remember where chunks are per open file (ReadHints), and never return stale data:
not after a write through any handle of the file in this process, not after a
write by another process once the reader reopens (or refreshes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.engine import ChunkCache
from sciswift.engine.array import REREAD_MIN_CHUNKS
from sciswift.errors import CorruptData
from sciswift.store.local import LocalStore
from sciswift.testing.damage import flip_byte


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each LocalStore read path was called."""
    counts = {"parts": 0, "whole": 0}
    real_parts, real_whole = LocalStore.read_parts_into, LocalStore.read_many_into

    def parts(self: LocalStore, *args: Any, **kwargs: Any) -> list[int]:
        counts["parts"] += 1
        return real_parts(self, *args, **kwargs)

    def whole(self: LocalStore, *args: Any, **kwargs: Any) -> list[str]:
        counts["whole"] += 1
        return real_whole(self, *args, **kwargs)

    monkeypatch.setattr(LocalStore, "read_parts_into", parts)
    monkeypatch.setattr(LocalStore, "read_many_into", whole)
    return counts


@pytest.mark.parametrize("dtype, shape, chunks", [  # chunks of 128 KiB and more (smaller ones are read whole)
    ("<f4", (600, 300), (256, 128)),  # edge chunks on both axes
    (">i8", (300, 270), (128, 128)),  # stored big-endian, read native
    ("u1", (300_000,), (131_072,)),
    ("<f8", (40, 70, 80), (16, 32, 32)),
    ([("a", "<i4"), ("b", "<f8")], (300, 250), (128, 96)),
])
def test_windows_across_chunk_edges_match_numpy(tmp_path: Path, calls: dict[str, int], dtype: Any,
                                                shape: tuple[int, ...], chunks: tuple[int, ...]) -> None:
    dt = np.dtype(dtype)
    size = int(np.prod(shape))
    data = np.zeros(size, dtype=dt)
    for name in dt.names or [None]:
        (data if name is None else data[name])[...] = np.arange(size) % 251 + 1  # type: ignore[index]
    data = data.reshape(shape)
    first = tuple(slice(0, c) for c in chunks)
    data[first] = np.zeros((), dt)  # a chunk of the fill value: not stored, read as fill
    path = str(tmp_path / "w.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=data, chunks=chunks)
    rng = np.random.default_rng(3)
    with h5py.File(path, "r") as f:
        d = f["d"]
        for _ in range(80):
            lo = [int(rng.integers(0, n)) for n in shape]
            hi = [int(min(n, a + rng.integers(1, 2 * c + 2))) for a, n, c in zip(lo, shape, chunks)]
            sel = tuple(slice(a, b) for a, b in zip(lo, hi))
            got = d[sel]
            assert got.dtype == dt and np.array_equal(got, data[sel])
        # steps, an integer index, the stored-nothing chunk, the far corner
        step = tuple(slice(1, None, 3) for _ in shape)
        assert np.array_equal(d[step], data[step])
        assert np.array_equal(d[(len(data) - 1,)], data[len(data) - 1])
        assert np.array_equal(d[first], data[first])
        corner = tuple(slice(n - 5, n) for n in shape)
        assert np.array_equal(d[corner], data[corner])
    assert calls["parts"] > 0


def test_a_chunk_read_again_and_again_is_read_whole_once(tmp_path: Path, calls: dict[str, int]) -> None:
    data = np.arange(512 * 256, dtype="<f4").reshape(512, 256)
    path = str(tmp_path / "e.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=data, chunks=(256, 128))
    with h5py.File(path, "r") as f:
        d = f["d"]
        values = [d[i, j] for i in range(10) for j in range(10)]  # one chunk, element by element
    assert values == [data[i, j] for i in range(10) for j in range(10)]
    # Two parts, then the chunk whole (cached): no more reads for the other 97.
    assert calls == {"parts": 2, "whole": 1}


def test_writes_through_any_handle_are_seen(tmp_path: Path, calls: dict[str, int]) -> None:
    data = np.arange(600 * 300, dtype="<f4").reshape(600, 300)
    path = str(tmp_path / "h.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=data, chunks=(256, 128))
    reader = h5py.File(path, "r+")
    d = reader["d"]
    for _ in range(3):  # parts read, where chunks are learned, then the chunk cached
        assert np.array_equal(d[10:20, 60:70], data[10:20, 60:70])
    writer = h5py.File(path, "r+")  # a second handle of the same file in this process
    # A whole chunk written (so not kept in the cache) after a part of it was
    # read: the next part is read from its new version, not from the pack record
    # where it was found before (still alive: its pack holds four more chunks).
    assert np.array_equal(d[300:310, 10:20], data[300:310, 10:20])
    writer["d"][256:512, 0:128] = -4.0
    writer.flush()  # out of the file's write-back buffer
    data[256:512, 0:128] = -4.0
    assert np.array_equal(d[300:310, 10:20], data[300:310, 10:20])
    writer["d"][10:20, 60:70] = -1.0
    data[10:20, 60:70] = -1.0
    assert np.array_equal(d[5:25, 55:75], data[5:25, 55:75])
    writer["d"][520:, 150:] = -2.0  # a chunk read only in part so far
    data[520:, 150:] = -2.0
    assert np.array_equal(d[510:530, 140:160], data[510:530, 140:160])
    d[0:5, 0:5] = -3.0  # through the reader's own handle
    data[0:5, 0:5] = -3.0
    assert np.array_equal(d[0:10, 0:10], data[0:10, 0:10])
    writer.close()
    reader.close()
    assert calls["parts"] > 0


def test_partial_writes_after_parts_were_read(tmp_path: Path, calls: dict[str, int]) -> None:
    data = np.arange(2560 * 512, dtype="<f4").reshape(2560, 512)  # 20 chunks of 256 KiB
    path = str(tmp_path / "m.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=data, chunks=(256, 256))
    reader = h5py.File(path, "r+")
    d = reader["d"]
    corners = [(y, x) for y in range(0, 2560, 256) for x in (0, 256)]
    for y, x in corners:  # where every chunk is becomes known, each read in part
        assert np.array_equal(d[y + 10:y + 20, x + 10:x + 20], data[y + 10:y + 20, x + 10:x + 20])
    writer = h5py.File(path, "r+")
    # Nine chunks rewritten in part: each read, changed and put as an object of
    # its own (the first one's old record stays in a pack still mostly alive).
    for y, x in [corners[0], *corners[10:18]]:
        writer["d"][y + 15, x + 15] = -1.0
        data[y + 15, x + 15] = -1.0
    for y, x in corners:
        assert np.array_equal(d[y + 10:y + 20, x + 10:x + 20], data[y + 10:y + 20, x + 10:x + 20])
    writer.close()
    reader.close()
    assert calls["parts"] > 0


WRITER = """
import sys
import sciswift.h5py as h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["d"][100:140, 100:140] = -5.0
"""


def test_a_write_by_another_process_is_seen_after_reopen_and_refresh(tmp_path: Path, calls: dict[str, int]) -> None:
    data = np.arange(600 * 300, dtype="<f4").reshape(600, 300)
    other = np.arange(10, dtype="<f4")
    path = str(tmp_path / "p.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=data, chunks=(256, 128))
        f.create_dataset("keep", data=other)  # written in the same pack: it stays alive
    f = h5py.File(path, "r")
    assert np.array_equal(f["d"][100:140, 100:140], data[100:140, 100:140])
    subprocess.run([sys.executable, "-c", WRITER, path], check=True)
    data[100:140, 100:140] = -5.0
    f["d"].refresh()  # a reader following a writer (HDF5's SWMR refresh)
    assert np.array_equal(f["d"][90:150, 90:150], data[90:150, 90:150])
    f.close()
    with h5py.File(path, "r") as g:
        assert np.array_equal(g["d"][90:150, 90:150], data[90:150, 90:150])
        assert np.array_equal(g["keep"][...], other)
    assert calls["parts"] > 0


def test_a_damaged_chunk_is_never_served(tmp_path: Path) -> None:
    data = np.arange(512 * 512, dtype="<f4").reshape(512, 512)
    path = tmp_path / "r.h5"
    with h5py.File(str(path), "w") as f:
        f.create_dataset("d", data=data, chunks=(256, 256))
    with h5py.File(str(path), "r") as f:
        d = f["d"]
        assert np.array_equal(d[0:10, 0:10], data[0:10, 0:10])  # chunk 0/0 located and its trailer kept
        # Row 100 of chunk 0/0 is in its second 64 KiB block (64 rows of 1 KiB each).
        flip_byte(path.parent, path.name, "d/c/0/0", 100 * 1024 + 8)
        assert np.array_equal(d[0:10, 0:10], data[0:10, 0:10])  # the first block is intact
        with pytest.raises(CorruptData, match=r"dataset /d: chunk d/c/0/0 .*65536-131071 do not match"):
            d[95:105, 0:10]
        with pytest.raises(CorruptData, match="d/c/0/0"):  # quarantined from now on
            d[0:10, 0:10]
        assert np.array_equal(d[0:10, 260:270], data[0:10, 260:270])


def test_cheap_chunks_take_a_small_part_of_the_cache() -> None:
    cache = ChunkCache(max_bytes=64 << 20, reread_bytes=1 << 20)
    chunk = 256 << 10
    for i in range(20):
        cache.put(f"r{i}", np.zeros(chunk, np.uint8), reread=True)
        cache.put(f"m{i}", np.zeros(chunk, np.uint8))
    kept = [k for k in (f"r{i}" for i in range(20)) if cache.get(k) is not None]
    assert kept == [f"r{i}" for i in range(16, 20)]  # the last 1 MiB of them
    assert all(cache.get(f"m{i}") is not None for i in range(20))  # the main part is untouched
    big = 4 << 20  # bigger than the segment: the last few are still kept
    for i in range(4):
        cache.put(f"b{i}", np.zeros(big, np.uint8), reread=True)
    assert [i for i in range(4) if cache.get(f"b{i}") is not None] == list(range(4 - REREAD_MIN_CHUNKS, 4))
    cache.discard_prefix("b")
    assert cache.get("b3") is None
    assert cache.keeps(2, big, reread=True) and not cache.keeps(3, big, reread=True)
    assert not cache.keeps(1, 2 * big, reread=True)  # a read of a chunk that big is not kept
    assert cache.keeps(4, chunk, reread=True) and not cache.keeps(5, chunk, reread=True)
