"""The transfer bar: opening a 64 MiB object and reading a small part of it fetches
under 2 MiB, counted by the RangedFile's request and byte counters.

Each case runs against a store that says requests are cheap (MemoryStore: small
coalescing gaps) and one that says they are expensive (remote-like: 256 KiB gaps,
as against real Swift), since the two coalesce differently.
"""

from __future__ import annotations

import io
from typing import Any

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from fmt_helpers import CONTAINER, RemoteLikeStore

from sciswift.formats.ranged import TransferStats
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore

MiB = 1 << 20
BAR = 2 * MiB


@pytest.fixture(scope="module")
def big_files() -> dict[str, Any]:
    """64 MiB of each format (float32 image, float64 columns, float32 chunks),
    made once for the module; data is arange so any misplaced byte shows."""
    img = np.arange(4096 * 4096, dtype=np.float32).reshape(4096, 4096)
    fits_buf = io.BytesIO()
    fits.PrimaryHDU(img).writeto(fits_buf)

    cols = {f"c{i:02d}": np.arange(131072, dtype=np.float64) + i * 1e6 for i in range(64)}
    pq_buf = io.BytesIO()
    pq.write_table(pa.table(cols), pq_buf, compression="none", use_dictionary=False, row_group_size=32768)

    h5_buf = io.BytesIO()
    with h5py.File(h5_buf, "w") as f:
        f.create_dataset("grid", data=img, chunks=(256, 256))
    return {"img": img, "cols": cols, "fits": fits_buf.getvalue(), "parquet": pq_buf.getvalue(),
            "h5": h5_buf.getvalue()}


@pytest.fixture(params=["local", "remote"])
def any_store(request: pytest.FixtureRequest) -> MemoryStore:
    s = MemoryStore() if request.param == "local" else RemoteLikeStore()
    s.create_container(CONTAINER)
    return s


def _open(store: MemoryStore, name: str, data: bytes) -> tuple[Any, TransferStats]:
    assert len(data) >= 64 * MiB
    store.put_object(CONTAINER, name, data)
    stats = TransferStats()
    return open_object(store, CONTAINER, name, stats=stats), stats


def test_fits_window(big_files: dict[str, Any], any_store: MemoryStore) -> None:
    root, stats = _open(any_store, "big.fits", big_files["fits"])
    block = root["PRIMARY"]["data"].read((slice(2000, 2100, 1), slice(1000, 1100, 1)))
    np.testing.assert_array_equal(block, big_files["img"][2000:2100, 1000:1100])
    print(f"FITS 100x100 window of 64 MiB: {stats}")
    assert stats.bytes_fetched < BAR
    assert stats.requests <= 103  # HEAD, head block, rows (coalesced when remote)
    root.close()


def test_parquet_one_column(big_files: dict[str, Any], any_store: MemoryStore) -> None:
    root, stats = _open(any_store, "big.parquet", big_files["parquet"])
    node = root["c17"]
    col = node.read((slice(0, node.shape[0], 1),))
    np.testing.assert_array_equal(col, big_files["cols"]["c17"])
    print(f"Parquet one column (1 MiB) of 64 MiB: {stats}")
    assert stats.bytes_fetched < BAR
    assert stats.requests <= 8
    root.close()


def test_h5_one_chunk(big_files: dict[str, Any], any_store: MemoryStore) -> None:
    root, stats = _open(any_store, "big.h5", big_files["h5"])
    node = root["grid"]
    block = node.read((slice(512, 768, 1), slice(1024, 1280, 1)))
    np.testing.assert_array_equal(block, big_files["img"][512:768, 1024:1280])
    assert node.read_path == "chunks"
    print(f"HDF5 one 256 KiB chunk of 64 MiB (index built): {stats}")
    assert stats.bytes_fetched < BAR
    root.close()
    # Second open: the cached chunk index replaces the B-tree walk.
    stats2 = TransferStats()
    with open_object(any_store, CONTAINER, "big.h5", stats=stats2) as again:
        again["grid"].read((slice(512, 768, 1), slice(1024, 1280, 1)))
    print(f"HDF5 one chunk, index cached: {stats2}")
    assert stats2.bytes_fetched < BAR and stats2.requests <= stats.requests
