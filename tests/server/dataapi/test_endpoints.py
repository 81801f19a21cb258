"""The data API reads the file it authorized and nothing that file names.

A user writes files into its own account that point elsewhere: external links
and virtual datasets naming another account's private objects (as LocalStore
paths or ``file://`` URLs), and an HDF5 object whose dataset keeps its values
in a file on the server's disk (HDF5 external storage). Read through the data
API of a real ``sciswift serve``, none of them may yield those bytes: the
server would read them with its own rights, past every ACL.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path

import h5py as real_h5py
import pytest

import sciswift.h5py as h5py

from ..conftest import RunningServer
from .conftest import Api

SECRET = b"a,b\n101,202\n303,404\n"
MINE = "AUTH_test2"


@pytest.fixture(scope="module")
def victim(disk_server: RunningServer) -> str:
    """A private container of test:tester holding a CSV object only it may read;
    returns the object's LocalStore path on the server's disk."""
    assert disk_server.data_dir is not None
    container = f"private-{uuid.uuid4().hex[:8]}"
    conn = disk_server.connection()
    conn.put_container(container)
    conn.put_object(container, "secret.csv", SECRET)
    conn.close()
    return str(Path(disk_server.data_dir).resolve() / "AUTH_test" / container / "secret.csv")


@pytest.fixture(scope="module")
def attacker(disk_server: RunningServer) -> tuple[Api, str]:
    """test2:tester2's data API client and a container of its own."""
    api = Api(disk_server)
    api.storage_url, api.token = disk_server.auth("test2:tester2", "testing2")
    container = f"mine-{uuid.uuid4().hex[:8]}"
    conn = disk_server.connection("test2:tester2", "testing2")
    conn.put_container(container)
    conn.close()
    return api, container


def _as_attacker(disk_server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``swift://`` URLs in this process speak as test2:tester2 (no cached token)."""
    for k, v in disk_server.env("test2:tester2", "testing2").items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SCISWIFT_TOKEN_CACHE", "0")


def test_setup_the_victim_is_private(disk_server: RunningServer, victim: str,
                                     attacker: tuple[Api, str]) -> None:
    api, _ = attacker
    container = Path(victim).parent.name
    resp = api.get("data", account="AUTH_test", file=f"{container}/secret.csv", path="/a")
    assert resp.status == 403


def test_external_links_to_other_accounts_are_not_followed(
        disk_server: RunningServer, victim: str, attacker: tuple[Api, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    api, container = attacker
    _as_attacker(disk_server, monkeypatch)
    with h5py.File(f"swift://{container}/links.h5", "w") as f:
        f["abs"] = h5py.ExternalLink(victim, "/")
        f["url"] = h5py.ExternalLink("file://" + victim, "/")
    file = f"{container}/links.h5"
    for name in ("abs", "url"):
        meta = api.json("meta", account=MINE, file=file, path=f"/{name}")
        # shown as the link it is, as h5grove shows one it cannot resolve
        assert meta["kind"] == "external_link", meta
        resp = api.get("data", account=MINE, file=file, path=f"/{name}/a")
        assert resp.status == 404, resp.data[:300]
        assert b"101" not in resp.data
    children = api.json("meta", account=MINE, file=file, path="/")["children"]
    assert {c["kind"] for c in children} == {"external_link"}
    assert api.json("paths", account=MINE, file=file, path="/") == ["/", "/abs", "/url"]


def test_virtual_dataset_sources_in_other_accounts_are_not_read(
        disk_server: RunningServer, victim: str, attacker: tuple[Api, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    api, container = attacker
    _as_attacker(disk_server, monkeypatch)
    with h5py.File(f"swift://{container}/virtual.h5", "w") as f:
        layout = h5py.VirtualLayout(shape=(2,), dtype="i8")
        layout[:] = h5py.VirtualSource(victim, "a", shape=(2,))
        f.create_virtual_dataset("stolen", layout, fillvalue=-1)
    got = api.json("data", account=MINE, file=f"{container}/virtual.h5", path="/stolen")
    assert got == [-1, -1]


def test_hdf5_external_storage_on_the_server_disk_is_not_read(
        disk_server: RunningServer, users_file: Path, attacker: tuple[Api, str]) -> None:
    api, container = attacker
    size = users_file.stat().st_size
    buf = io.BytesIO()
    with real_h5py.File(buf, "w") as f:
        f.create_dataset("leak", shape=(size,), dtype="u1", external=[(str(users_file), 0, size)])
        f["fine"] = [1, 2, 3]
    conn = disk_server.connection("test2:tester2", "testing2")
    conn.put_object(container, "external.h5", buf.getvalue())
    conn.close()
    file = f"{container}/external.h5"
    for endpoint in ("data", "stats"):
        resp = api.get(endpoint, account=MINE, file=file, path="/leak", format="bin")
        assert resp.status == 415, resp.data[:300]
        assert b"testing" not in resp.data and b"user_" not in resp.data
        assert b"other files" in resp.data
    assert api.json("data", account=MINE, file=file, path="/fine") == [1, 2, 3]  # the rest of the file reads


def test_reading_writes_nothing_into_the_container(disk_server: RunningServer, api: Api,
                                                     fresh_container: Callable[..., str]) -> None:
    """An anonymous reader of a public container: the chunk index the HDF5
    plugin builds is not stored beside the blob (the server holds the owner's
    rights, the reader none), so the owner's object of that name survives."""
    container = fresh_container({"X-Container-Read": ".r:*,.rlistings"})
    buf = io.BytesIO()
    with real_h5py.File(buf, "w") as f:
        f.create_dataset("d", data=list(range(100)), chunks=(10,), compression="gzip")
    conn = disk_server.connection()
    conn.put_object(container, "run.h5", buf.getvalue())
    conn.put_object(container, "run.h5.sciswift-index", b"the owner's own notes")
    assert api.json("data", token=None, file=f"{container}/run.h5", path="/d", selection="0:5") == [0, 1, 2, 3, 4]
    _, body = conn.get_object(container, "run.h5.sciswift-index")
    assert body == b"the owner's own notes"
    conn.put_object(container, "run2.h5", buf.getvalue())
    assert api.json("data", token=None, file=f"{container}/run2.h5", path="/d", selection="5") == 5
    assert sorted(o["name"] for o in conn.get_container(container)[1]) == [
        "run.h5", "run.h5.sciswift-index", "run2.h5"]
    conn.close()
