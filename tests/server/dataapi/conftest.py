"""Fixtures for the data API and browser tests: a LocalStore-backed server
(``disk_server`` from tests/server/conftest.py), files written into it through
the Swift API, and helpers to call ``/api/v1/AUTH_test/...``."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
import urllib3

import sciswift.h5py as h5py

from ..conftest import RunningServer

ACCOUNT = "AUTH_test"


class Api:
    """Requests to one server's data API as test:tester (or anonymously)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.storage_url, self.token = server.auth()
        self.http = urllib3.PoolManager()

    def get(self, endpoint: str, token: str | None | bool = True, account: str = ACCOUNT,
            headers: dict[str, str] | None = None, **params: Any) -> urllib3.BaseHTTPResponse:
        h = dict(headers or {})
        if token is True:
            h["X-Auth-Token"] = self.token
        elif isinstance(token, str):
            h["X-Auth-Token"] = token
        query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        return self.http.request("GET", f"{self.server.url}/api/v1/{account}/{endpoint}/?{query}", headers=h,
                                 retries=False, timeout=60)

    def json(self, endpoint: str, status: int = 200, **params: Any) -> Any:
        resp = self.get(endpoint, **params)
        assert resp.status == status, (resp.status, resp.data[:300])
        return json.loads(resp.data)

    def npy(self, **params: Any) -> np.ndarray[Any, Any]:
        resp = self.get("data", format="npy", **params)
        assert resp.status == 200, resp.data[:300]
        return np.load(io.BytesIO(resp.data))


@pytest.fixture(scope="module")
def api(disk_server: RunningServer) -> Api:
    return Api(disk_server)


@pytest.fixture(scope="module")
def swift_env(disk_server: RunningServer) -> Iterator[None]:
    """ST_AUTH/ST_USER/ST_KEY for sciswift.h5py's swift:// URLs."""
    mp = pytest.MonkeyPatch()
    for k, v in disk_server.env().items():
        mp.setenv(k, v)
    yield
    mp.undo()


@pytest.fixture(scope="module")
def bucket(disk_server: RunningServer, swift_env: None) -> str:
    """A fresh container of test:tester."""
    name = f"api-{uuid.uuid4().hex[:10]}"
    conn = disk_server.connection()
    conn.put_container(name)
    conn.close()
    return name


def fits_bytes(*hdus: Any) -> bytes:
    from astropy.io import fits

    buf = io.BytesIO()
    fits.HDUList(list(hdus)).writeto(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def sample(disk_server: RunningServer, bucket: str) -> dict[str, Any]:
    """A native file and a FITS object in ``bucket``, and the arrays they hold."""
    from astropy.io import fits

    grid = np.arange(40 * 50, dtype="f4").reshape(40, 50) * 0.5 - 100
    cube = np.random.default_rng(1).normal(size=(3, 20, 30)).astype("f8")
    line = np.sin(np.arange(1000) / 30.0).astype("f4")
    table = np.array([(1, 2.5, b"ab"), (2, -1.0, b"cd")], dtype=[("a", "<i4"), ("b", "<f8"), ("c", "S2")])
    with h5py.File(f"swift://{bucket}/run1.h5", "w") as f:
        d = f.create_dataset("g/grid", data=grid, chunks=(10, 50), compression="gzip", shuffle=True)
        d.attrs["units"] = "m/s"
        d.attrs["scale"] = np.float64(0.5)
        f.attrs["title"] = "run one"
        f.create_dataset("g/cube", data=cube, chunks=(1, 20, 30))
        f.create_dataset("line", data=line)
        f.create_dataset("table", data=table)
        f["g/alias"] = h5py.SoftLink("/g/grid")
        f["g/broken"] = h5py.SoftLink("/nowhere")
    image = (np.arange(60 * 80, dtype=">i2").reshape(60, 80) % 97).astype(">i2")
    stars = fits.BinTableHDU.from_columns([
        fits.Column(name="mag", format="E", array=np.array([1.5, 2.5, 3.5], dtype="f4")),
        fits.Column(name="id", format="J", array=np.array([7, 8, 9], dtype="i4")),
    ], name="STARS")
    primary = fits.PrimaryHDU(image)
    primary.header["OBJECT"] = "M13"
    conn = disk_server.connection()
    conn.put_object(bucket, "sky/m13.fits", fits_bytes(primary, stars))
    conn.close()
    return {"grid": grid, "cube": cube, "line": line, "table": table, "image": image.astype("<i2")}


@pytest.fixture
def fresh_container(disk_server: RunningServer) -> Callable[..., str]:
    def make(headers: dict[str, str] | None = None) -> str:
        name = f"api-{uuid.uuid4().hex[:10]}"
        conn = disk_server.connection()
        conn.put_container(name, headers=headers or {})
        conn.close()
        return name

    return make
