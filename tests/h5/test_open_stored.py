"""``sciswift.h5.open_stored``: a file of a store someone else owns (the
server's), read-only, leaving the store open."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.formats.ranged import TransferStats
from sciswift.h5 import open_stored
from sciswift.store.local import LocalStore


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "acct", mark_root=True)
    s.create_container("c")
    return s


def test_native_prefix_blob_and_container(store: LocalStore, tmp_path: Path) -> None:
    with h5py.File(f"file://{tmp_path}/acct/c/run.h5", "w") as f:
        f["x"] = np.arange(6)
    buf = io.BytesIO()
    np.save(buf, np.eye(3))
    store.put_object("c", "m.npy", buf.getvalue())
    with open_stored(store, "c", "run.h5") as f:
        assert f["x"][2:4].tolist() == [2, 3]
    with open_stored(store, "c", "m.npy", "blob") as f:
        assert f[list(f.keys())[0]][1, 1] == 1.0
    with pytest.raises(FileNotFoundError):
        open_stored(store, "c", "nothing.h5")
    with pytest.raises(FileNotFoundError):
        open_stored(store, "c", "run.h5", "blob")
    assert store.head_object("c", "m.npy").size > 0  # the lent store is still open
    store.create_container("whole")
    with h5py.File(f"file://{tmp_path}/acct/whole", "w") as f:
        f["y"] = [1.5]
    with open_stored(store, "whole", "") as f:
        assert f["y"][0] == 1.5


def test_tree_of_a_64mib_fits_reads_little(store: LocalStore) -> None:
    """The FITS bar on the server side: opening a 64 MiB image and describing
    its whole tree (the header cards as attributes) reads well under 1 MiB."""
    from astropy.io import fits

    from sciswift.server.dataapi.describe import entity_metadata

    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(np.ones((4096, 4096), ">f4"))]).writeto(buf)
    assert len(buf.getvalue()) >= 64 << 20
    store.put_object("c", "big.fits", buf.getvalue())
    stats = TransferStats()
    with open_stored(store, "c", "big.fits", stats=stats) as f:
        root = entity_metadata(f, "/")
        primary = entity_metadata(f, "/PRIMARY")
    assert [c["name"] for c in root["children"]] == ["PRIMARY"]
    assert "NAXIS1" in [a["name"] for a in primary["attributes"]]
    print(f"64 MiB FITS tree: {stats.requests} store reads, {stats.bytes_fetched} bytes")
    assert stats.bytes_fetched < 1 << 20
