"""The issue's example over swift:// URLs: against ``sciswift serve`` and against a
real OpenStack Swift all-in-one (python-swiftclient's ST_* environment)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

import sciswift.h5py as h5py


def _example(url: str) -> None:
    x = np.random.default_rng(0).random(300_000).astype("f4")
    with h5py.File(url, "w") as f:
        d = f.create_dataset("vpic/x", shape=x.shape, dtype="f4", chunks=True, compression="gzip")
        d[:] = x
        f["vpic"].attrs["timestep"] = 42
        f.create_dataset("vpic/names", data=["e-", "p+"], dtype=h5py.string_dtype())
    with h5py.File(url, "r") as f:
        assert f["vpic/x"][1000:2000].mean() == pytest.approx(x[1000:2000].mean())
        assert dict(f["vpic"].attrs) == {"timestep": 42}
        assert f["vpic/names"].asstr()[:].tolist() == ["e-", "p+"]
        assert f["vpic/x"].compression == "gzip"
    with h5py.File(url, "a") as f:
        f["vpic/x"][:10] = 0
        del f["vpic/names"]
    with h5py.File(url, "r") as f:
        assert list(f["vpic"]) == ["x"] and not f["vpic/x"][:10].any()
    with pytest.raises(FileNotFoundError):
        h5py.File(url + "-missing", "r")


def _env(monkeypatch: pytest.MonkeyPatch, auth_url: str, user: str, key: str) -> None:
    monkeypatch.setenv("ST_AUTH", auth_url)
    monkeypatch.setenv("ST_USER", user)
    monkeypatch.setenv("ST_KEY", key)
    for name in ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_STORAGE_URL", "OS_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_example_over_sciswift_serve(sciswift_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, sciswift_server.auth_url, sciswift_server.user, sciswift_server.key)
    _example(f"swift://h5-{uuid.uuid4().hex[:8]}/run1.h5")


@pytest.mark.saio
def test_example_over_real_swift(saio: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    user = saio.users[0]
    _env(monkeypatch, saio.auth_url, user.name, user.key)
    _example(f"swift://h5-{uuid.uuid4().hex[:8]}/run1.h5")
    _example(f"swift://h5-whole-{uuid.uuid4().hex[:8]}")


def test_uncompressed_chunks_read_over_sciswift_serve(sciswift_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Uncompressed chunks come through batched GETs straight into one scratch
    chunk per reader: the values, the fill value of chunks never written, and
    the edges of a shape that is not a multiple of the chunks."""
    _env(monkeypatch, sciswift_server.auth_url, sciswift_server.user, sciswift_server.key)
    url = f"swift://h5-{uuid.uuid4().hex[:8]}/grid.h5"
    x = np.arange(300 * 520, dtype=">i4").reshape(300, 520)
    with h5py.File(url, "w") as f:
        d = f.create_dataset("x", shape=x.shape, dtype=">i4", chunks=(32, 64), fillvalue=-7)
        d[:128] = x[:128]  # rows 128 on: never written
        d[200:, :100] = x[200:, :100]
    want = np.full(x.shape, -7, dtype=">i4")
    want[:128] = x[:128]
    want[200:, :100] = x[200:, :100]
    with h5py.File(url, "r") as f:
        assert np.array_equal(f["x"][...], want)
        assert np.array_equal(f["x"][10:290, 33:517], want[10:290, 33:517])
        assert f["x"][...].dtype == np.dtype(">i4")
