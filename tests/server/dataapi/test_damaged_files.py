"""Damaged files through the data API and the Swift API of a real server: a
native file whose ``zarr.json`` is damaged (not JSON, or JSON that is not a
document of the layout), a native file with a damaged chunk, a truncated blob,
and an HDF5 blob whose names are not UTF-8. Every answer is a clear 4xx naming
the file, never a 500; the Swift API serves the damaged object's bytes as they
are (it does not read them), as Swift does."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import h5py as real_h5py
import numpy as np
import pytest

import sciswift.h5py as h5py

from ..conftest import RunningServer
from .conftest import Api


def _native(bucket: str, name: str) -> None:
    with h5py.File(f"swift://{bucket}/{name}", "w") as f:
        f.attrs["title"] = "damaged later"
        f.create_dataset("g/d", data=np.arange(100, dtype="i4").reshape(10, 10), chunks=(5, 5), fletcher32=True)


def _put(server: RunningServer, bucket: str, name: str, data: bytes) -> None:
    conn = server.connection()
    conn.put_object(bucket, name, data)
    conn.close()


def _message(resp: Any) -> str:
    return str(json.loads(resp.data)["message"])


@pytest.mark.parametrize("damage", [
    b'{"zarr_format": 3, "node_type": "gro',  # cut short: not JSON
    b"\xff\xfe not text at all",
    json.dumps({"zarr_format": 3, "node_type": "group", "attributes": [1, 2]}).encode(),  # JSON, not the layout
    json.dumps({"zarr_format": 3, "node_type": "group", "consolidated_metadata": {
        "kind": "inline", "metadata": {"g": {"node_type": "group"}, "g/d": "an array?"}}}).encode(),
])
def test_damaged_root_metadata_is_422_naming_the_file(api: Api, bucket: str, disk_server: RunningServer,
                                                      damage: bytes) -> None:
    name = f"root-{uuid.uuid4().hex[:8]}.h5"
    _native(bucket, name)
    _put(disk_server, bucket, f"{name}/zarr.json", damage)
    for endpoint in ("meta", "attr", "paths"):
        resp = api.get(endpoint, file=f"{bucket}/{name}")
        assert resp.status == 422, (endpoint, resp.status, resp.data[:300])
        message = _message(resp)
        assert f"{bucket}/{name}" in message and "zarr.json" in message, message
    # The Swift API serves the object as stored: it does not read zarr.json.
    conn = disk_server.connection()
    _, body = conn.get_object(bucket, f"{name}/zarr.json")
    conn.close()
    assert body == damage


def test_damaged_array_metadata_is_422_and_the_rest_reads(api: Api, bucket: str, disk_server: RunningServer) -> None:
    name = f"node-{uuid.uuid4().hex[:8]}.h5"
    _native(bucket, name)
    conn = disk_server.connection()
    _, raw = conn.get_object(bucket, f"{name}/zarr.json")
    doc = json.loads(raw)
    doc["consolidated_metadata"]["metadata"]["g/d"]["chunk_grid"]["configuration"]["chunk_shape"] = "five"
    conn.put_object(bucket, f"{name}/zarr.json", json.dumps(doc).encode())
    conn.close()
    assert api.json("attr", file=f"{bucket}/{name}") == {"title": "damaged later"}
    resp = api.get("data", file=f"{bucket}/{name}", path="/g/d")
    assert resp.status == 422, resp.data[:300]
    assert "chunk_shape" in _message(resp) and "/g/d" in _message(resp)


def test_damaged_chunk_is_422_naming_dataset_and_chunk(api: Api, bucket: str, disk_server: RunningServer) -> None:
    name = f"chunk-{uuid.uuid4().hex[:8]}.h5"
    _native(bucket, name)
    conn = disk_server.connection()
    _, raw = conn.get_object(bucket, f"{name}/g/d/c/1/1")
    conn.put_object(bucket, f"{name}/g/d/c/1/1", bytes([raw[0] ^ 0xFF]) + raw[1:])
    conn.close()
    assert api.json("data", file=f"{bucket}/{name}", path="/g/d", selection="0:5,0:5") == \
        np.arange(100).reshape(10, 10)[:5, :5].tolist()
    resp = api.get("data", file=f"{bucket}/{name}", path="/g/d", selection="5:10,5:10")
    assert resp.status == 422, resp.data[:300]
    assert "g/d/c/1/1" in _message(resp)


def test_truncated_blob_is_422(api: Api, bucket: str, disk_server: RunningServer) -> None:
    buf = io.BytesIO()
    with real_h5py.File(buf, "w") as f:
        f.create_dataset("d", data=np.arange(1000.0))
    _put(disk_server, bucket, "cut.h5", buf.getvalue()[:900])
    resp = api.get("meta", file=f"{bucket}/cut.h5")
    assert resp.status == 422 and f"{bucket}/cut.h5" in _message(resp), resp.data[:300]


def test_names_that_are_not_utf8_are_listed_and_read(api: Api, bucket: str, disk_server: RunningServer) -> None:
    """h5py lists such names as bytes; JSON carries them as escapes, not as
    invalid UTF-8, and the file reads as any other."""
    buf = io.BytesIO()
    with real_h5py.File(buf, "w") as f:
        f.attrs[b"caf\xe9"] = 1
        f.create_group(b"gr\xfcn").attrs["ok"] = 2
    _put(disk_server, bucket, "latin1.h5", buf.getvalue())
    meta = api.json("meta", file=f"{bucket}/latin1.h5")
    assert [c["name"] for c in meta["children"]] == ["gr\udcfcn"]
    assert [a["name"] for a in meta["attributes"]] == ["caf\udce9"]
    assert api.json("attr", file=f"{bucket}/latin1.h5") == {"caf\udce9": 1}
