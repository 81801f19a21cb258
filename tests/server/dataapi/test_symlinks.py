"""Swift symlinks through the data API: a link reads as a GET of its name
reads, its target's bytes, with the caller's access checked on every hop.

Links are made by real clients (the ``swift`` CLI uploading an empty file
with ``X-Symlink-Target``, python-swiftclient), values compared with h5py
reading the local file; dangling links, loops and changed static targets
are errors naming the link and its target. SLOs whose segments are links
read the targets' bytes, as Swift's GET of the SLO does."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import uuid
from pathlib import Path
from typing import Any

import h5py as real_h5py
import numpy as np
import pytest

from ..conftest import RunningServer
from ..test_swift_cli import swift
from .conftest import Api
from .test_segmented import MiB, _message, _upload, _write_h5


def _small_h5(path: Path, seed: int) -> None:
    with real_h5py.File(path, "w") as f:
        f.attrs["title"] = f"small {seed}"
        f["x"] = np.arange(20, dtype="i4") * (seed + 1)
        f.create_dataset("g/y", data=np.linspace(0, 1, 300).reshape(30, 10) + seed, chunks=(10, 10),
                         compression="gzip")


def _link(server: RunningServer, container: str, name: str, target: str, tmp_path: Path,
          etag: str | None = None) -> None:
    """A symlink made as a user makes one: ``swift upload`` of an empty file."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    (empty / name).parent.mkdir(parents=True, exist_ok=True)
    (empty / name).write_bytes(b"")
    args = ["upload", "--header", f"X-Symlink-Target: {target}"]
    if etag:
        args += ["--header", f"X-Symlink-Target-Etag: {etag}"]
    swift(server, *args, container, name, cwd=empty)


@pytest.fixture
def h5_object(disk_server: RunningServer, fresh_container: Any, tmp_path: Path) -> tuple[str, Path]:
    """``container/t.h5`` uploaded with the swift CLI, and the local file."""
    container = fresh_container()
    _small_h5(tmp_path / "t.h5", seed=3)
    swift(disk_server, "upload", container, "t.h5", cwd=tmp_path)
    return container, tmp_path / "t.h5"


def _assert_reads_like(api: Api, file: str, local: Path, **params: Any) -> None:
    with real_h5py.File(local, "r") as f:
        assert api.json("attr", file=file, path="/", **params) == {"title": f.attrs["title"]}
        meta = api.json("meta", file=file, path="/", **params)
        assert {c["name"] for c in meta["children"]} == {"x", "g"}
        np.testing.assert_array_equal(api.npy(file=file, path="/g/y", selection="3:25,::3", **params),
                                      f["g/y"][3:25, ::3])
        assert api.json("data", file=file, path="/x", **params) == f["x"][()].tolist()


def test_dynamic_static_and_chained_links_read_the_target(api: Api, disk_server: RunningServer,
                                                          h5_object: tuple[str, Path], tmp_path: Path) -> None:
    container, local = h5_object
    etag = swift(disk_server, "stat", container, "t.h5").split("ETag:")[1].split()[0]
    _link(disk_server, container, "dyn.h5", f"{container}/t.h5", tmp_path)
    _link(disk_server, container, "static.h5", f"{container}/t.h5", tmp_path, etag=etag)
    conn = disk_server.connection()
    conn.put_object(container, "chain.h5", b"", headers={"X-Symlink-Target": f"{container}/dyn.h5"})
    # the Swift API reads the target through each link
    assert conn.get_object(container, "chain.h5")[1] == local.read_bytes()
    conn.close()
    for name in ("dyn.h5", "static.h5", "chain.h5"):
        _assert_reads_like(api, f"{container}/{name}", local)


def test_link_into_another_container_checks_the_callers_access(
        api: Api, disk_server: RunningServer, fresh_container: Any, h5_object: tuple[str, Path],
        tmp_path: Path) -> None:
    """tester3 may read the link's container, not the target's: 403 naming
    both (a GET of the link refuses too); once it may read both, it reads."""
    private, local = h5_object
    public = fresh_container({"X-Container-Read": "test:tester3"})
    _link(disk_server, public, "l.h5", f"{private}/t.h5", tmp_path)
    _assert_reads_like(api, f"{public}/l.h5", local)  # the owner reads it (and it is kept open)
    _, reader = disk_server.auth("test:tester3", "testing3")
    status = disk_server.raw("GET", f"/v1/AUTH_test/{public}/l.h5", headers={"X-Auth-Token": reader})[0].status
    assert status == 403
    for endpoint, params in (("meta", {"path": "/"}), ("data", {"path": "/x"})):
        resp = api.get(endpoint, token=reader, file=f"{public}/l.h5", **params)
        assert resp.status == 403, (resp.status, resp.data[:300])
        message = _message(resp)
        assert f"{public}/l.h5" in message and f"{private}/t.h5" in message and "Permission denied" in message
        assert b"small" not in resp.data
    conn = disk_server.connection()
    conn.post_container(private, headers={"X-Container-Read": "test:tester3"})
    conn.close()
    _assert_reads_like(api, f"{public}/l.h5", local, token=reader)


def test_dangling_loop_and_changed_static_target_are_clear_errors(
        api: Api, disk_server: RunningServer, h5_object: tuple[str, Path], tmp_path: Path) -> None:
    container, local = h5_object
    _link(disk_server, container, "dangling.h5", f"{container}/nowhere.h5", tmp_path)
    resp = api.get("meta", file=f"{container}/dangling.h5", path="/")
    assert resp.status == 404, (resp.status, resp.data[:300])
    assert f"{container}/dangling.h5" in _message(resp) and f"{container}/nowhere.h5" in _message(resp)
    assert "dangling" in _message(resp)
    conn = disk_server.connection()
    try:
        conn.put_object(container, "a.h5", b"", headers={"X-Symlink-Target": f"{container}/b.h5"})
        conn.put_object(container, "b.h5", b"", headers={"X-Symlink-Target": f"{container}/a.h5"})
        resp = api.get("meta", file=f"{container}/a.h5", path="/")
        assert resp.status == 409 and "Too many levels of symbolic links" in _message(resp), resp.data[:300]
        assert f"{container}/a.h5" in _message(resp)
        # a static link whose target was replaced: Swift's 409, not the new bytes
        etag = conn.head_object(container, "t.h5")["etag"]
        conn.put_object(container, "pinned.h5", b"", headers={"X-Symlink-Target": f"{container}/t.h5",
                                                              "X-Symlink-Target-Etag": etag})
        _assert_reads_like(api, f"{container}/pinned.h5", local)
        _small_h5(tmp_path / "other.h5", seed=9)
        conn.put_object(container, "t.h5", (tmp_path / "other.h5").read_bytes())
        resp = api.get("attr", file=f"{container}/pinned.h5", path="/")
        assert resp.status == 409, (resp.status, resp.data[:300])
        assert f"{container}/pinned.h5" in _message(resp) and f"{container}/t.h5" in _message(resp)
        # the dynamic link reads the new target at once (a new ETag, a new open file)
        _link(disk_server, container, "dyn.h5", f"{container}/t.h5", tmp_path)
        _assert_reads_like(api, f"{container}/dyn.h5", tmp_path / "other.h5")
    finally:
        conn.close()


def test_link_to_a_native_file_and_to_a_fits_object(api: Api, disk_server: RunningServer, bucket: str,
                                                    sample: dict[str, Any], tmp_path: Path) -> None:
    """A native file is a prefix, no object: the link's name opens the native
    file its target names. A FITS object reads through its plugin."""
    _link(disk_server, bucket, "links/run.h5", f"{bucket}/run1.h5", tmp_path)
    _link(disk_server, bucket, "links/sky.fits", f"{bucket}/sky/m13.fits", tmp_path)
    np.testing.assert_array_equal(api.npy(file=f"{bucket}/links/run.h5", path="/g/grid"), sample["grid"])
    assert api.json("attr", file=f"{bucket}/links/run.h5", path="/") == {"title": "run one"}
    assert api.json("attr", file=f"{bucket}/links/sky.fits", path="/PRIMARY", attr_keys=["OBJECT"]) == {
        "OBJECT": "M13"}
    np.testing.assert_array_equal(api.npy(file=f"{bucket}/links/sky.fits", path="/PRIMARY/data"), sample["image"])


def test_link_to_an_slo(api: Api, disk_server: RunningServer, fresh_container: Any, tmp_path: Path) -> None:
    container = fresh_container()
    _write_h5(tmp_path / "big.h5", seed=2)
    _upload(disk_server, container, tmp_path, "big.h5", "slo")
    _link(disk_server, container, "big-link.h5", f"{container}/big.h5", tmp_path)
    file = f"{container}/big-link.h5"
    with real_h5py.File(tmp_path / "big.h5", "r") as f:
        np.testing.assert_array_equal(api.npy(file=file, path="/big", selection="::7"), f["big"][::7])
        np.testing.assert_array_equal(api.npy(file=file, path="/grp/chunked"), f["grp/chunked"][()])
        assert api.json("attr", file=file, path="/") == {"title": "segmented 2"}


def test_slo_of_symlinked_segments_reads_their_targets(api: Api, disk_server: RunningServer,
                                                       fresh_container: Any, tmp_path: Path) -> None:
    """An SLO whose segments are links (dynamic and static) to the pieces of
    a file: the Swift API assembles the targets' bytes, so does the data API.
    A link re-pointed at other bytes fails as Swift's GET fails (409)."""
    local = tmp_path / "big.h5"
    _write_h5(local, seed=4)
    data = local.read_bytes()
    container, pieces, links = fresh_container(), fresh_container(), fresh_container()
    cuts = [0, MiB, 2 * MiB, len(data)]
    conn = disk_server.connection()
    try:
        manifest = []
        for i, (lo, hi) in enumerate(zip(cuts, cuts[1:], strict=False)):
            etag = conn.put_object(pieces, f"p{i}", data[lo:hi])
            headers = {"X-Symlink-Target": f"{pieces}/p{i}"}
            if i == 1:
                headers["X-Symlink-Target-Etag"] = etag
            conn.put_object(links, f"l{i}", b"", headers=headers)
            manifest.append({"path": f"/{links}/l{i}"})
        conn.put_object(container, "linked.h5", json.dumps(manifest), query_string="multipart-manifest=put")
        assert conn.get_object(container, "linked.h5")[1] == data
        file = f"{container}/linked.h5"
        with real_h5py.File(local, "r") as f:
            np.testing.assert_array_equal(api.npy(file=file, path="/big"), f["big"][()])
            np.testing.assert_array_equal(api.npy(file=file, path="/grp/chunked", selection="10:190"),
                                          f["grp/chunked"][10:190])
        # l2 moved to a copy of the same bytes, the old target gone: Swift reads
        # the copy; the layout built through the old target is built again
        conn.put_object(pieces, "copy2", data[cuts[2]:])
        conn.put_object(links, "l2", b"", headers={"X-Symlink-Target": f"{pieces}/copy2"})
        conn.delete_object(pieces, "p2")
        assert conn.get_object(container, "linked.h5")[1] == data
        with real_h5py.File(local, "r") as f:  # bytes of l2, from the file kept open
            np.testing.assert_array_equal(api.npy(file=file, path="/big", selection="280:"), f["big"][280:])
            assert api.json("data", file=file, path="/tail") == f["tail"][()].tolist()
        # l2 now points at other bytes: Swift's GET of the SLO fails, and so do we
        conn.put_object(pieces, "other", bytes(reversed(data[cuts[2]:])))
        conn.put_object(links, "l2", b"", headers={"X-Symlink-Target": f"{pieces}/other"})
        with pytest.raises(http.client.IncompleteRead):  # Swift's GET stops at the changed segment
            disk_server.raw("GET", f"/v1/AUTH_test/{container}/linked.h5", headers={"X-Auth-Token": api.token})
        resp = api.get("data", file=file, path="/tail")
        assert resp.status == 409, (resp.status, resp.data[:300])
        assert "l2" in _message(resp) and file in _message(resp)
    finally:
        conn.close()


def test_symlinked_segments_in_a_container_the_reader_cannot_read(
        api: Api, disk_server: RunningServer, fresh_container: Any, tmp_path: Path) -> None:
    """tester3 may read the manifest's and the links' containers, not the
    targets': 403, even after the owner opened the file."""
    local = tmp_path / "big.h5"
    _write_h5(local, seed=5)
    data = local.read_bytes()
    container = fresh_container({"X-Container-Read": "test:tester3"})
    links = fresh_container({"X-Container-Read": "test:tester3"})
    pieces = fresh_container()
    conn = disk_server.connection()
    try:
        conn.put_object(pieces, "p0", data[:MiB])
        conn.put_object(links, "l0", b"", headers={"X-Symlink-Target": f"{pieces}/p0"})
        conn.put_object(links, "rest", data[MiB:])
        manifest = [{"path": f"/{links}/rest"}, {"path": f"/{links}/l0"}]
        conn.put_object(container, "mixed", json.dumps(manifest), query_string="multipart-manifest=put")
        # the file is the two halves swapped: read as the owner, bytes as assembled
        assert conn.get_object(container, "mixed")[1] == data[MiB:] + data[:MiB]
        manifest = [{"path": f"/{links}/l0"}, {"path": f"/{links}/rest"}]
        conn.put_object(container, "big.h5", json.dumps(manifest), query_string="multipart-manifest=put")
    finally:
        conn.close()
    file = f"{container}/big.h5"
    assert api.json("attr", file=file, path="/") == {"title": "segmented 5"}
    _, reader = disk_server.auth("test:tester3", "testing3")
    resp = api.get("data", token=reader, file=file, path="/head")
    assert resp.status == 403, (resp.status, resp.data[:300])
    assert pieces in _message(resp) and "Permission denied" in _message(resp)


def test_versioned_container_reads_the_current_version(api: Api, disk_server: RunningServer,
                                                       fresh_container: Any, tmp_path: Path) -> None:
    """Object versioning keeps the current version behind a link into the
    account's hidden store: the data API reads that version, and names the
    object as asked (no link the caller made)."""
    info = json.loads(disk_server.raw("GET", "/info")[1])
    if "object_versioning" not in info:
        pytest.skip("this server does not implement object versioning")
    container = fresh_container({"X-Versions-Enabled": "true"})
    conn = disk_server.connection()
    try:
        for seed in (1, 2):
            _small_h5(tmp_path / f"v{seed}.h5", seed=seed)
            conn.put_object(container, "v.h5", (tmp_path / f"v{seed}.h5").read_bytes())
    finally:
        conn.close()
    _assert_reads_like(api, f"{container}/v.h5", tmp_path / "v2.h5")
    resp = api.get("data", file=f"{container}/v.h5", path="/nothing")
    assert resp.status == 404 and "symlink" not in _message(resp)


def test_temp_url_of_a_link_reads_its_target(api: Api, disk_server: RunningServer,
                                             h5_object: tuple[str, Path], tmp_path: Path) -> None:
    """A temp URL signed for the link's path reads the target in the same
    account, as a GET with that temp URL does in Swift."""
    info = json.loads(disk_server.raw("GET", "/info")[1])
    if "tempurl" not in info:
        pytest.skip("this server does not implement temp URLs (no 'tempurl' in /info)")
    container, local = h5_object
    _link(disk_server, container, "shared.h5", f"{container}/t.h5", tmp_path)
    conn = disk_server.connection()
    conn.post_account(headers={"X-Account-Meta-Temp-URL-Key": "sekrit"})
    conn.close()
    expires = int(time.time() + 600)
    path = f"/v1/AUTH_test/{container}/shared.h5"
    sig = hmac.new(b"sekrit", f"GET\n{expires}\n{path}".encode(), hashlib.sha256).hexdigest()
    status, body = disk_server.raw("GET", f"{path}?temp_url_sig={sig}&temp_url_expires={expires}")
    assert status.status == 200 and body == local.read_bytes()
    _assert_reads_like(api, f"{container}/shared.h5", local, token=None, temp_url_sig=sig,
                       temp_url_expires=str(expires))
    other = api.get("meta", token=None, file=f"{container}/t.h5", path="/", temp_url_sig=sig,
                    temp_url_expires=str(expires))
    assert other.status == 401  # signed for the link's name only


def test_link_into_another_account(api: Api, disk_server: RunningServer, fresh_container: Any,
                                   tmp_path: Path) -> None:
    """``X-Symlink-Target-Account``: the target is read in its own account,
    where its container's ACL decides for the caller."""
    _small_h5(tmp_path / "t.h5", seed=6)
    theirs = f"api-{uuid.uuid4().hex[:10]}"
    other = disk_server.connection("test2:tester2", "testing2")
    other.put_container(theirs)
    other.put_object(theirs, "t.h5", (tmp_path / "t.h5").read_bytes())
    account = other.url.rsplit("/", 1)[1]
    mine = fresh_container()
    conn = disk_server.connection()
    conn.put_object(mine, "l.h5", b"", headers={"X-Symlink-Target": f"{theirs}/t.h5",
                                                "X-Symlink-Target-Account": account})
    conn.close()
    resp = api.get("meta", file=f"{mine}/l.h5", path="/")
    assert resp.status == 403 and f"{account}/{theirs}/t.h5" in _message(resp), resp.data[:300]
    other.post_container(theirs, headers={"X-Container-Read": "test:tester"})
    other.close()
    _assert_reads_like(api, f"{mine}/l.h5", tmp_path / "t.h5")
