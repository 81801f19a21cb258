"""Native files for every Zarr v3 reader: TensorStore (``zarr3`` driver, ``http``
kvstore, straight from ``sciswift serve`` through a public-read container),
zarrs (zarr-python's Rust codec pipeline) and zarr-python; and the other way
round, arrays TensorStore writes open in sciswift."""

from __future__ import annotations

import json
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest

import sciswift
import sciswift.h5py as sh5

ts = pytest.importorskip("tensorstore")
swiftclient = pytest.importorskip("swiftclient.client")

DATA = np.round(np.cumsum(np.random.default_rng(9).normal(size=(40, 30)), axis=0), 3).astype("f4")
#: h5py filter settings whose default codecs are all Zarr v3 core (or zstd, which
#: every reader here implements).
CORE = {
    "plain": {},
    "gzip": {"compression": "gzip", "compression_opts": 6},
    "gzip_fletcher32": {"compression": "gzip", "fletcher32": True},
    "zstd": {"compression": "zstd"},
    "blosc": {"compression": "blosc"},
}


def _write(url: str, portable: bool = False) -> None:
    from sciswift.engine.codecs import codec_style

    with codec_style(portable), sh5.File(url, "w") as f:
        for name, kw in CORE.items():
            f.create_dataset(name, data=DATA, chunks=(16, 16), **kw)
        f.create_dataset("shuffle_gzip", data=DATA, chunks=(16, 16), compression="gzip", shuffle=True)
        f.create_dataset("lzf", data=DATA, chunks=(16, 16), compression="lzf")
        grp = f.create_group("grp")
        grp.create_dataset("ints", data=np.arange(1000, dtype="<i8").reshape(10, 100), chunks=(5, 30),
                           compression="gzip")


@pytest.fixture
def public_file(sciswift_server, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A native file in a container anyone may read: (its swift:// URL, its HTTP base URL)."""
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    container = f"pub-{uuid.uuid4().hex[:8]}"
    conn = swiftclient.Connection(sciswift_server.auth_url, sciswift_server.user, sciswift_server.key)
    conn.put_container(container, headers={"X-Container-Read": ".r:*"})
    storage_url, _ = conn.get_auth()
    return f"swift://{container}/run.h5", f"{storage_url}/{container}/run.h5/"


def _ts_read(base_url: str, path: str) -> np.ndarray:
    spec = {"driver": "zarr3", "kvstore": {"driver": "http", "base_url": base_url, "path": f"{path}/"}}
    return ts.open(spec, read=True).result().read().result()


def test_tensorstore_reads_native_files_over_http(public_file: tuple[str, str]) -> None:
    url, base = public_file
    _write(url)
    for name in CORE:
        np.testing.assert_array_equal(_ts_read(base, name), DATA, err_msg=name)
    np.testing.assert_array_equal(_ts_read(base, "grp/ints"), np.arange(1000).reshape(10, 100))
    # numcodecs.shuffle (h5py's shuffle before gzip) is zarr-python's own codec:
    # TensorStore stops there, as docs/layout.md says ...
    with pytest.raises(ValueError, match="numcodecs.shuffle"):
        _ts_read(base, "shuffle_gzip")


def test_portable_codecs_are_read_by_tensorstore(public_file: tuple[str, str]) -> None:
    url, base = public_file
    _write(url, portable=True)  # ... and the portable style writes blosc instead
    for name in ("shuffle_gzip", "lzf", *CORE):
        np.testing.assert_array_equal(_ts_read(base, name), DATA, err_msg=name)
    with sh5.File(url) as f:
        assert f["shuffle_gzip"].shuffle and f["shuffle_gzip"].compression == "gzip"
        assert f["lzf"].compression == "lzf"


@pytest.mark.parametrize("pipeline", ["zarr-python", "zarrs"])
def test_zarr_python_and_zarrs_read_every_codec(tmp_path: Path, pipeline: str) -> None:
    zarr = pytest.importorskip("zarr")
    if pipeline == "zarrs":
        pytest.importorskip("zarrs")
    url = f"memory://zr-{uuid.uuid4().hex[:8]}/run.h5"
    _write(url)
    path = "zarrs.ZarrsCodecPipeline" if pipeline == "zarrs" else "zarr.core.codec_pipeline.BatchedCodecPipeline"
    with zarr.config.set({"codec_pipeline.path": path}), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.open_group(store=sciswift.zarr_store(url), mode="r")
        for name in (*CORE, "shuffle_gzip", "lzf"):
            np.testing.assert_array_equal(g[name][...], DATA, err_msg=name)
        np.testing.assert_array_equal(g["grp/ints"][2:4, 10:20], np.arange(1000).reshape(10, 100)[2:4, 10:20])


@pytest.mark.parametrize("codecs", [
    [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "gzip", "configuration": {"level": 5}}],
    [{"name": "bytes", "configuration": {"endian": "big"}}, {"name": "zstd", "configuration": {"level": 3}},
     {"name": "crc32c"}],
    [{"name": "transpose", "configuration": {"order": [1, 0]}}, {"name": "bytes"},
     {"name": "blosc", "configuration": {"cname": "zstd", "clevel": 5, "shuffle": "shuffle", "typesize": 4}}],
    [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [8, 10], "codecs": [{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 1}}],
        "index_codecs": [{"name": "bytes"}, {"name": "crc32c"}], "index_location": "end"}}],
], ids=["gzip", "zstd-crc32c-big", "transpose-blosc", "sharding"])
def test_sciswift_reads_what_tensorstore_writes(tmp_path: Path, codecs: list) -> None:
    root = tmp_path / "from-tensorstore.zarr"
    root.mkdir()
    (root / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))
    chunk = [16, 30] if codecs[0]["name"] == "sharding_indexed" else [16, 16]
    spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(root / "field") + "/"},
            "metadata": {"shape": [40, 30], "data_type": "float32", "codecs": codecs,
                         "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunk}}},
            "create": True}
    arr = ts.open(spec).result()
    arr.write(DATA).result()
    with sh5.File(str(root), "r") as f:
        np.testing.assert_array_equal(f["field"][...], DATA)
        np.testing.assert_array_equal(f["field"][5:25, 3:9], DATA[5:25, 3:9])
