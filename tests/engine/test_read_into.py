"""Bulk reads of uncompressed chunks on a local store go through one scratch
chunk (LocalStore.read_many_into) and give what the ordinary path gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.store.local import LocalStore


@pytest.mark.parametrize("dtype, shape, chunks", [
    ("<f4", (1600, 1500), (100, 128)), (">i4", (1600, 1500), (100, 128)),
    ("u1", (3100, 3000), (256, 256)), ("c16", (800, 700), (64, 64)),
])  # above 8 MiB (smaller reads go through the chunk cache); edge chunks on both axes
def test_scratch_reads_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtype: str, shape: tuple[int, int], chunks: tuple[int, int]
) -> None:
    calls: list[int] = []
    real = LocalStore.read_many_into

    def spy(self: LocalStore, *args: Any, **kwargs: Any) -> list[str]:
        calls.append(len(args[1]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LocalStore, "read_many_into", spy)
    data = (np.arange(shape[0] * shape[1]) % 251).reshape(shape).astype(dtype)
    data[:300, :300] = 0  # chunks of the fill value are not stored: read as fill
    path = str(tmp_path / "f.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=data, chunks=chunks)
    with h5py.File(path, "r") as f:
        got = f["d"][...]
        strided = f["d"][5:1500:2, 7:]
    assert got.dtype == np.dtype(dtype) and np.array_equal(got, data)
    assert np.array_equal(strided, data[5:1500:2, 7:])
    assert calls and max(calls) > 1


def test_unflushed_writes_are_read_from_the_buffer(tmp_path: Path) -> None:
    path = str(tmp_path / "g.h5")
    with h5py.File(path, "w") as f:
        d = f.create_dataset("d", shape=(1200, 1200), dtype="f8", chunks=(100, 100))
        d[...] = 1.0
        d[:100, :100] = 2.0  # one chunk: it waits in the file's write-back buffer
        got = d[...]  # 11 MiB: the scratch path, which must not miss that chunk
    want = np.ones((1200, 1200))
    want[:100, :100] = 2.0
    assert np.array_equal(got, want)


def test_filled_writes_pad_edges_and_skip_fill_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = LocalStore.put_many_filled

    def spy(self: LocalStore, container: str, names: Any, size: int, fill: Any) -> None:
        calls.append(len(names))
        real(self, container, names, size, fill)

    monkeypatch.setattr(LocalStore, "put_many_filled", spy)
    data = np.arange(300 * 260, dtype=">f8").reshape(300, 260)
    data[:64, :64] = 7.0  # the fill value: that chunk is not stored
    path = str(tmp_path / "w.h5")
    with h5py.File(path, "w") as f:
        d = f.create_dataset("d", shape=data.shape, dtype=">f8", chunks=(64, 64), fillvalue=7.0)
        d[...] = data
    assert sum(calls) == 5 * 5 - 1
    with h5py.File(path, "r") as f:
        assert f["d"].dtype == np.dtype(">f8")
        assert np.array_equal(f["d"][...], data)


@pytest.mark.parametrize("dtype", ["<f4", ">i8", "u1"])
def test_small_reads_fill_the_cache_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtype: str) -> None:
    """Small reads (random windows) of uncompressed chunks: each chunk is read by
    the store into the array the cache keeps; values, dtypes, fill-value
    chunks and edge chunks as the ordinary path gives them."""
    calls: list[int] = []
    real = LocalStore.read_many_into

    def spy(self: LocalStore, *args: Any, **kwargs: Any) -> list[str]:
        calls.append(len(args[1]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LocalStore, "read_many_into", spy)
    data = (np.arange(300 * 270) % 1000).reshape(300, 270).astype(dtype)
    data[:64, :64] = 0  # a chunk of the fill value: not stored, read as fill
    path = str(tmp_path / "s.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=data, chunks=(64, 64))
    rng = np.random.default_rng(5)
    with h5py.File(path, "r") as f:
        d = f["d"]
        for y, x in rng.integers(0, 260, size=(60, 2)):
            window = d[y:y + 40, x:x + 40]
            assert window.dtype == np.dtype(dtype)
            assert np.array_equal(window, data[y:y + 40, x:x + 40])
            window[...] = 1  # the caller's copy, not the cached chunk
        assert np.array_equal(d[:64, :64], data[:64, :64])
        assert np.array_equal(d[290:, 260:], data[290:, 260:])  # an edge chunk
        assert np.array_equal(d[...], data)
    assert calls and set(calls) == {1}
