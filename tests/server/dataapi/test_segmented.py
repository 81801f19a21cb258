"""Large objects (SLO and DLO manifests) through the data API, uploaded by real
clients: the ``swift`` CLI (``--use-slo``/``--use-dlo --segment-size``) and
boto3's multipart upload. Values are compared with h5py, netCDF4 and astropy
reading the local files; the segment containers' ACLs are enforced as for a
GET of the manifest; damaged segment sets give a 409 naming the file."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import h5py as real_h5py
import numpy as np
import pytest

from ..conftest import RunningServer
from ..s3.conftest import make_client
from ..test_swift_cli import swift
from .conftest import Api

MiB = 1024 * 1024


def _write_h5(path: Path, seed: int = 0) -> None:
    """~2.6 MiB: a small dataset first, a large contiguous one across the
    middle segments, a chunked compressed one and a small one last."""
    rng = np.random.default_rng(seed)
    with real_h5py.File(path, "w") as f:
        f.attrs["title"] = f"segmented {seed}"
        f["head"] = np.arange(100, dtype="i4") + seed
        f["big"] = rng.normal(size=(300, 1000))  # 2.4 MB of f8, contiguous
        f.create_dataset("grp/chunked", data=np.arange(20000, dtype="f4").reshape(200, 100) * (seed + 1),
                         chunks=(50, 100), compression="gzip")
        f["grp/chunked"].attrs["units"] = "K"
        f["tail"] = np.linspace(0, 1, 50) + seed


def _upload(server: RunningServer, container: str, directory: Path, name: str, mode: str) -> None:
    flag = "--use-slo" if mode == "slo" else "--use-dlo"
    swift(server, "upload", flag, "--segment-size", str(MiB), container, name, cwd=directory)


def _segments(server: RunningServer, container: str) -> list[str]:
    return swift(server, "list", f"{container}_segments").split()


@pytest.fixture(scope="module")
def local_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "big.h5"
    _write_h5(path)
    assert path.stat().st_size > 2 * MiB
    return path


@pytest.fixture(scope="module", params=["slo", "dlo"])
def uploaded(request: pytest.FixtureRequest, disk_server: RunningServer, local_h5: Path) -> str:
    """``container`` holding ``big.h5`` uploaded in 1 MiB segments."""
    container = f"lo-{request.param}-{uuid.uuid4().hex[:8]}"
    _upload(disk_server, container, local_h5.parent, local_h5.name, request.param)
    stat = swift(disk_server, "stat", container, local_h5.name)
    assert ("X-Static-Large-Object: True" if request.param == "slo" else "Manifest:") in stat
    assert len(_segments(disk_server, container)) == 3
    return container


def test_tree_attributes_and_values_match_h5py(api: Api, uploaded: str, local_h5: Path) -> None:
    file = f"{uploaded}/big.h5"
    meta = api.json("meta", file=file, path="/")
    assert {c["name"] for c in meta["children"]} == {"head", "big", "grp", "tail"}
    assert api.json("attr", file=file, path="/") == {"title": "segmented 0"}
    assert api.json("attr", file=file, path="/grp/chunked") == {"units": "K"}
    assert sorted(api.json("paths", file=file, path="/")) == ["/", "/big", "/grp", "/grp/chunked", "/head", "/tail"]
    with real_h5py.File(local_h5, "r") as f:
        np.testing.assert_array_equal(api.npy(file=file, path="/big"), f["big"][()])
        # a slice across the 1 MiB and 2 MiB segment boundaries
        np.testing.assert_array_equal(api.npy(file=file, path="/big", selection="100:200, 3:900:7"),
                                      f["big"][100:200, 3:900:7])
        np.testing.assert_array_equal(api.npy(file=file, path="/grp/chunked", selection="40:160"),
                                      f["grp/chunked"][40:160])
        assert api.json("data", file=file, path="/tail") == f["tail"][()].tolist()
        stats = api.json("stats", file=file, path="/head")
        assert (stats["min"], stats["max"]) == (0, 99)
    # what /browse/ lists before it opens the file
    listing = api.json("ls", container=uploaded)
    entry = next(e for e in listing["entries"] if e["name"] == "big.h5")
    assert entry["kind"] == "object" and entry["format"] == "hdf5"


def test_a_new_upload_under_the_same_name_is_read_at_once(api: Api, disk_server: RunningServer,
                                                          fresh_container: Any, tmp_path: Path) -> None:
    """Open files are cached by the large object's ETag: a new version (new
    manifest, new segments) is a new entry, read within the cache's TTL."""
    container = fresh_container()
    _write_h5(tmp_path / "v.h5", seed=1)
    _upload(disk_server, container, tmp_path, "v.h5", "slo")
    assert api.json("data", file=f"{container}/v.h5", path="/head", selection="0:3") == [1, 2, 3]
    _write_h5(tmp_path / "v.h5", seed=7)
    _upload(disk_server, container, tmp_path, "v.h5", "slo")
    assert api.json("data", file=f"{container}/v.h5", path="/head", selection="0:3") == [7, 8, 9]
    assert api.json("attr", file=f"{container}/v.h5", path="/") == {"title": "segmented 7"}


def test_netcdf_classic_and_fits_uploaded_as_slo(api: Api, disk_server: RunningServer, fresh_container: Any,
                                                 tmp_path: Path) -> None:
    import netCDF4
    from astropy.io import fits

    container = fresh_container()
    temp = np.random.default_rng(3).normal(size=(40, 90, 100)).astype("f4")  # 1.44 MB
    with netCDF4.Dataset(tmp_path / "t.nc", "w", format="NETCDF3_CLASSIC") as nc:
        nc.title = "temperature"
        for dim, n in zip(("time", "lat", "lon"), temp.shape, strict=True):
            nc.createDimension(dim, n)
        nc.createVariable("temp", "f4", ("time", "lat", "lon"))[:] = temp
    image = np.arange(700 * 800, dtype=">i4").reshape(700, 800)  # 2.24 MB
    fits.PrimaryHDU(image).writeto(tmp_path / "sky.fits")
    for name in ("t.nc", "sky.fits"):
        _upload(disk_server, container, tmp_path, name, "slo")
    with netCDF4.Dataset(tmp_path / "t.nc") as nc:
        expected = nc["temp"][30:40, ::9, 50]
    np.testing.assert_array_equal(api.npy(file=f"{container}/t.nc", path="/temp", selection="30:40, ::9, 50"),
                                  expected)
    assert api.json("attr", file=f"{container}/t.nc", path="/")["title"] == "temperature"
    with fits.open(tmp_path / "sky.fits") as hdus:
        expected = hdus[0].data[400:700:3, 10:20]
    np.testing.assert_array_equal(api.npy(file=f"{container}/sky.fits", path="/PRIMARY/data",
                                          selection="400:700:3, 10:20"), expected)


def test_s3_multipart_upload(api: Api, disk_server: RunningServer, tmp_path: Path) -> None:
    """boto3's multipart upload is stored as an SLO (parts of at least 5 MiB)."""
    s3 = make_client(disk_server)
    bucket = f"mp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    path = tmp_path / "mp.h5"
    values = np.random.default_rng(5).normal(size=(5600, 128))  # 5.7 MB
    with real_h5py.File(path, "w") as f:
        f["x"] = values
    data = path.read_bytes()
    upload = s3.create_multipart_upload(Bucket=bucket, Key="runs/mp.h5")
    parts = []
    for number, start in enumerate(range(0, len(data), 5 * MiB), 1):
        part = s3.upload_part(Bucket=bucket, Key="runs/mp.h5", UploadId=upload["UploadId"], PartNumber=number,
                              Body=data[start:start + 5 * MiB])
        parts.append({"ETag": part["ETag"], "PartNumber": number})
    assert len(parts) == 2
    s3.complete_multipart_upload(Bucket=bucket, Key="runs/mp.h5", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": parts})
    np.testing.assert_array_equal(api.npy(file=f"{bucket}/runs/mp.h5", path="/x", selection="5000:5600, ::5"),
                                  values[5000:5600, ::5])


def _message(resp: Any) -> str:
    return str(json.loads(resp.data)["message"])


@pytest.mark.parametrize("mode", ["slo", "dlo"])
def test_segments_in_a_container_the_reader_cannot_read_are_refused(
        api: Api, disk_server: RunningServer, fresh_container: Any, tmp_path: Path, mode: str) -> None:
    """tester3 may read the manifest's container, not the segments': 403 and no
    data, as a GET of the manifest refuses it (Swift reads segments as the
    caller). Reading both containers works."""
    container = fresh_container({"X-Container-Read": "test:tester3"})
    _write_h5(tmp_path / "big.h5")
    _upload(disk_server, container, tmp_path, "big.h5", mode)
    _, reader = disk_server.auth("test:tester3", "testing3")
    # the owner reads it first: the file is open and its layout kept, which
    # must not let the next caller skip the segments' check
    assert api.json("data", file=f"{container}/big.h5", path="/head", selection="0:3") == [0, 1, 2]
    status, _ = disk_server.raw("GET", f"/v1/AUTH_test/{container}/big.h5", headers={"X-Auth-Token": reader})[:2]
    assert status.status in (403, 409)  # the Swift API does not give the bytes either
    for endpoint, params in (("meta", {"path": "/"}), ("data", {"path": "/head"}), ("attr", {"path": "/"})):
        resp = api.get(endpoint, token=reader, file=f"{container}/big.h5", **params)
        assert resp.status == 403, (resp.status, resp.data[:300])
        assert f"{container}_segments" in _message(resp) and "Permission denied" in _message(resp)
        assert b"segmented" not in resp.data
    # once tester3 may read both, the same file reads (a fresh pair: no ACL cache to wait for)
    both = fresh_container({"X-Container-Read": "test:tester3"})
    conn = disk_server.connection()
    conn.put_container(f"{both}_segments", headers={"X-Container-Read": "test:tester3"})
    conn.close()
    _upload(disk_server, both, tmp_path, "big.h5", mode)
    assert api.json("data", token=reader, file=f"{both}/big.h5", path="/head", selection="0:3") == [0, 1, 2]


def test_public_manifest_does_not_leak_private_segments(api: Api, disk_server: RunningServer,
                                                       fresh_container: Any, tmp_path: Path) -> None:
    container = fresh_container({"X-Container-Read": ".r:*,.rlistings"})
    _write_h5(tmp_path / "big.h5")
    _upload(disk_server, container, tmp_path, "big.h5", "slo")
    resp = api.get("data", token=None, file=f"{container}/big.h5", path="/head")
    assert resp.status == 401 and f"{container}_segments" in _message(resp)
    assert api.get("meta", token=None, file=f"{container}/big.h5", path="/").status == 401


def test_temp_url_of_the_manifest_reads_its_segments(api: Api, disk_server: RunningServer,
                                                    fresh_container: Any, tmp_path: Path) -> None:
    """As in Swift, a temp URL for a large object reads its segments in the
    same account with no token."""
    info = json.loads(disk_server.raw("GET", "/info")[1])
    if "tempurl" not in info:
        pytest.skip("this server does not implement temp URLs (no 'tempurl' in /info)")
    container = fresh_container()
    _write_h5(tmp_path / "big.h5")
    _upload(disk_server, container, tmp_path, "big.h5", "slo")
    conn = disk_server.connection()
    conn.post_account(headers={"X-Account-Meta-Temp-URL-Key": "sekrit"})
    conn.close()
    path = f"/v1/AUTH_test/{container}/big.h5"
    expires = int(time.time() + 600)
    sig = hmac.new(b"sekrit", f"GET\n{expires}\n{path}".encode(), hashlib.sha256).hexdigest()
    got = api.json("data", token=None, file=f"{container}/big.h5", path="/tail", selection="0:2",
                   temp_url_sig=sig, temp_url_expires=str(expires))
    assert got == [0.0, 1 / 49]
    bad = api.get("data", token=None, file=f"{container}/big.h5", path="/tail", temp_url_sig="0" * 64,
                  temp_url_expires=str(expires))
    assert bad.status == 401


def test_dlo_without_segments_is_a_clear_error(api: Api, disk_server: RunningServer, fresh_container: Any,
                                               tmp_path: Path) -> None:
    container = fresh_container()
    _write_h5(tmp_path / "big.h5")
    _upload(disk_server, container, tmp_path, "big.h5", "dlo")
    conn = disk_server.connection()
    for segment in _segments(disk_server, container):
        conn.delete_object(f"{container}_segments", segment)
    resp = api.get("meta", file=f"{container}/big.h5", path="/")
    assert resp.status == 409
    message = _message(resp)
    assert f"{container}/big.h5" in message and "no segment is listed" in message
    conn.delete_container(f"{container}_segments")
    conn.close()
    resp = api.get("data", file=f"{container}/big.h5", path="/head")
    assert resp.status == 409
    message = _message(resp)
    assert f"{container}/big.h5" in message and f"segment container '{container}_segments' does not exist" in message


def test_missing_or_changed_slo_segment_is_a_clear_error(api: Api, disk_server: RunningServer,
                                                         fresh_container: Any, tmp_path: Path) -> None:
    container = fresh_container()
    _write_h5(tmp_path / "big.h5")
    _upload(disk_server, container, tmp_path, "big.h5", "slo")
    segments = _segments(disk_server, container)
    conn = disk_server.connection()
    try:
        # changed: same size, other bytes
        body = conn.get_object(f"{container}_segments", segments[1])[1]
        conn.put_object(f"{container}_segments", segments[1], bytes(reversed(body)))
        resp = api.get("data", file=f"{container}/big.h5", path="/big")
        assert resp.status == 409 and "changed" in _message(resp) and segments[1] in _message(resp)
        # missing
        conn.delete_object(f"{container}_segments", segments[1])
        resp = api.get("meta", file=f"{container}/big.h5", path="/")
        assert resp.status == 409
        assert f"{container}/big.h5" in _message(resp) and segments[1] in _message(resp)
        assert "missing" in _message(resp)
    finally:
        conn.close()


def test_only_the_segments_a_read_needs_are_read(api: Api, disk_server: RunningServer, fresh_container: Any,
                                                 tmp_path: Path) -> None:
    """Once the file is open, losing its middle segment breaks only the reads
    that need its bytes: the others never read it, and the broken one is a 409
    naming the segment, not wrong values."""
    container = fresh_container()
    _write_h5(tmp_path / "big.h5")
    _upload(disk_server, container, tmp_path, "big.h5", "slo")
    file = f"{container}/big.h5"
    with real_h5py.File(tmp_path / "big.h5", "r") as f:
        big, tail = f["big"][()], f["tail"][()]
        middle_rows = slice(1 + (MiB - f["big"].id.get_offset()) // 8000, (2 * MiB - f["big"].id.get_offset()) // 8000)
    assert middle_rows.stop > middle_rows.start  # rows wholly inside segment 2 (bytes 1-2 MiB)
    assert api.json("meta", file=file, path="/")["kind"] == "group"  # opened (and kept open)
    segments = _segments(disk_server, container)
    conn = disk_server.connection()
    conn.delete_object(f"{container}_segments", segments[1])
    conn.close()
    np.testing.assert_array_equal(api.npy(file=file, path="/big", selection="0:10"), big[0:10])
    np.testing.assert_array_equal(api.npy(file=file, path="/tail"), tail)
    resp = api.get("data", file=file, path="/big", format="npy",
                   selection=f"{middle_rows.start}:{middle_rows.stop}")
    assert resp.status == 409 and segments[1] in _message(resp) and "missing" in _message(resp)


def test_nested_ranged_and_inline_segments(api: Api, disk_server: RunningServer, fresh_container: Any,
                                           tmp_path: Path, local_h5: Path) -> None:
    """An SLO of a nested SLO, a ranged segment and an inline data segment,
    made through the Swift API, reads as the bytes it assembles."""
    import base64

    data = local_h5.read_bytes()
    container, segs = fresh_container(), fresh_container()
    cut1, cut2, cut3 = 600_000, 1_300_000, len(data) - 200
    conn = disk_server.connection()
    try:
        conn.put_object(segs, "a0", data[:cut1 // 2])
        conn.put_object(segs, "a1", data[cut1 // 2:cut1])
        conn.put_object(segs, "inner", json.dumps([{"path": f"/{segs}/a0"}, {"path": f"/{segs}/a1"}]),
                        query_string="multipart-manifest=put")
        conn.put_object(segs, "padded", b"x" * 1000 + data[cut1:cut2] + b"y" * 10)
        conn.put_object(segs, "b", data[cut2:cut3])
        manifest = [
            {"path": f"/{segs}/inner"},
            {"path": f"/{segs}/padded", "range": f"1000-{1000 + cut2 - cut1 - 1}"},
            {"path": f"/{segs}/b"},
            {"data": base64.b64encode(data[cut3:]).decode()},
        ]
        conn.put_object(container, "nested.h5", json.dumps(manifest), query_string="multipart-manifest=put")
        assert conn.get_object(container, "nested.h5")[1] == data  # the Swift API assembles the same bytes
    finally:
        conn.close()
    file = f"{container}/nested.h5"
    with real_h5py.File(local_h5, "r") as f:
        np.testing.assert_array_equal(api.npy(file=file, path="/big", selection="::3"), f["big"][::3])
        np.testing.assert_array_equal(api.npy(file=file, path="/grp/chunked"), f["grp/chunked"][()])
        assert api.json("data", file=file, path="/tail") == f["tail"][()].tolist()


def test_manifest_put_by_a_store_as_the_mount_writes_it(api: Api, disk_server: RunningServer,
                                                       fresh_container: Any, local_h5: Path) -> None:
    """``sciswift mount`` stores a large file with ``Store.put_manifest``: whole
    and ranged segments (a rewrite keeps unchanged bytes as ranges) in
    ``<container>_segments``."""
    from sciswift.store import SegmentRef, SwiftStore, segments_container

    data = local_h5.read_bytes()
    container = fresh_container()
    segs = segments_container(container)
    with SwiftStore(disk_server.auth_url, "test:tester", "testing", retries=0) as store:
        store.create_container(segs)
        first = store.put_object(segs, "f/0", data[:MiB])
        padded = store.put_object(segs, "f/1", b"\0" * 4096 + data[MiB:])
        store.put_manifest(container, "f.h5", [
            SegmentRef(segs, first.name, first.etag, MiB),
            SegmentRef(segs, padded.name, padded.etag, len(data) - MiB, 4096, padded.size),
        ])
    with real_h5py.File(local_h5, "r") as f:
        np.testing.assert_array_equal(api.npy(file=f"{container}/f.h5", path="/big", selection="50:250, ::4"),
                                      f["big"][50:250, ::4])
        assert api.json("data", file=f"{container}/f.h5", path="/tail") == f["tail"][()].tolist()
