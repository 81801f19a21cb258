"""A full disk under ``sciswift serve``: every write is answered 507 Insufficient
Storage with a message naming what was refused, nothing half-written stays behind,
everything stored before survives (read back byte for byte), and writes work
again once space is freed.

The disk is a small tmpfs the test mounts itself (root, as the rest of the suite)
and always unmounts; a filler file takes the space, leaving an exact number of
pages free, so that each write fails at each of its steps in turn (object file,
journal, SQLite's WAL and shared memory, a new container's index).
"""

from __future__ import annotations

import http.client
import io
import json
import os
import tarfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from sciswift.errors import InsufficientStorage
from sciswift.store import SwiftStore
from support.small_disk import SmallDisk

from .conftest import RunningServer


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """Requested before ``start_server``, so its server stops before the unmount."""
    with SmallDisk(tmp_path / "disk", "8m") as disk:
        yield disk


class Client:
    """Raw requests with one token (chunked bodies too, which swiftclient hides)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.token = server.auth()[1]

    def __call__(self, method: str, path: str, body: bytes | Iterable[bytes] | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            chunked = body is not None and not isinstance(body, bytes)
            conn.request(method, "/v1/AUTH_test" + path, body=body,  # type: ignore[arg-type]
                         headers={"X-Auth-Token": self.token, **(headers or {})}, encode_chunked=chunked)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


def tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def extract(client: Client, path: str, files: dict[str, bytes]) -> dict[str, object]:
    status, _, body = client("PUT", f"{path}?extract-archive=tar", tarball(files), {"Accept": "application/json"})
    assert status == 200
    return json.loads(body)  # type: ignore[no-any-return]


def stored_before(client: Client) -> dict[str, bytes]:
    """Objects of every kind, written while there is room: small and streamed
    PUTs, a chunked PUT, and a bulk upload (small files go into a pack)."""
    assert client("PUT", "/keep")[0] == 201
    kept = {
        "small": os.urandom(10_000),
        "streamed": os.urandom(600_000),  # above the server's whole-body limit: streamed
        "chunked": os.urandom(300_000),
    }
    assert client("PUT", "/keep/small", kept["small"])[0] == 201
    assert client("PUT", "/keep/streamed", kept["streamed"])[0] == 201
    assert client("PUT", "/keep/chunked", iter([kept["chunked"][:150_000], kept["chunked"][150_000:]]))[0] == 201
    archive = {f"keep/packed/{i}": os.urandom(2_000 + i) for i in range(12)}
    assert extract(client, "", archive)["Number Files Created"] == 12
    kept.update({name.removeprefix("keep/"): data for name, data in archive.items()})
    assert client("POST", "/keep/small", headers={"X-Object-Meta-Color": "blue"})[0] == 202
    return kept


def check_intact(client: Client, kept: dict[str, bytes], *, only: bool = True) -> None:
    """Every kept object reads back whole and is listed with its size (and,
    with ``only``, nothing else is listed)."""
    for name, data in kept.items():
        status, _, body = client("GET", f"/keep/{name}")
        assert (status, body == data) == (200, True), name
    status, headers, _ = client("HEAD", "/keep/small")
    assert headers.get("x-object-meta-color") == "blue"
    status, _, listing = client("GET", "/keep?format=json")
    listed = {o["name"]: o["bytes"] for o in json.loads(listing)}
    if only:
        assert sorted(listed) == sorted(kept)
    assert {name: listed.get(name) for name in kept} == {name: len(data) for name, data in kept.items()}


def refused(reply: tuple[int, dict[str, str], bytes], path: str) -> None:
    status, _, body = reply
    assert status == 507, (status, body[:200])
    text = body.decode()
    assert f"/v1/AUTH_test{path}" in text and "no space left" in text and "nothing was written" in text, text


def test_a_full_disk_refuses_every_write_with_507_and_keeps_what_was_stored(
    small_disk: SmallDisk, start_server: Callable[..., RunningServer]
) -> None:
    server = start_server(data_dir=small_disk.path / "data")
    client = Client(server)
    kept = stored_before(client)
    small_disk.fill(0)

    refused(client("PUT", "/keep/new", b"x" * 1000), "/keep/new")
    refused(client("PUT", "/keep/big", os.urandom(1 << 20)), "/keep/big")
    refused(client("PUT", "/keep/chunks", iter([os.urandom(100_000)] * 4)), "/keep/chunks")
    refused(client("PUT", "/keep/small", b"an overwrite"), "/keep/small")
    refused(client("PUT", "/keep/copy", b"", {"X-Copy-From": "keep/streamed"}), "/keep/copy")
    refused(client("PUT", "/another"), "/another")
    refused(client("POST", "/keep/small", headers={"X-Object-Meta-Color": "red"}), "/keep/small")
    refused(client("POST", "/keep", headers={"X-Container-Meta-Color": "red"}), "/keep")
    refused(client("POST", "", headers={"X-Account-Meta-Color": "red"}), "")
    result = extract(client, "/keep", {f"bulk/{i}": b"b" * 500 for i in range(5)})
    assert result["Number Files Created"] == 0
    assert result["Errors"] == [[f"keep/bulk/{i}", "507 Insufficient Storage"] for i in range(5)]
    result = extract(client, "", {"newbulk/f": b"b" * 500})
    assert ["/v1/AUTH_test/newbulk", "507 Insufficient Storage"] in result["Errors"]  # type: ignore[operator]

    assert small_disk.leftovers() == []
    check_intact(client, kept)  # reads go on while the disk is full
    assert client("GET", "/keep/new")[0] == 404 and client("HEAD", "/another")[0] == 404
    assert "x-container-meta-color" not in client("HEAD", "/keep")[1]
    assert "x-account-meta-color" not in client("HEAD", "")[1]
    assert "507 PUT /v1/AUTH_test/keep/new" in server.log_once("507 PUT /v1/AUTH_test/keep/new")  # the operator's log says why

    # Python clients get the same answer as an exception naming the object.
    store = SwiftStore(server.auth_url, "test:tester", "testing", retries=0)
    with pytest.raises(InsufficientStorage) as exc:
        store.put_object("keep", "from-python", b"data")
    assert exc.value.status == 507 and "keep/from-python" in str(exc.value)
    assert isinstance(exc.value, OSError)

    small_disk.free()  # and once there is room again, everything works
    assert client("PUT", "/keep/new", b"x" * 1000)[0] == 201
    assert client("PUT", "/keep/chunks", iter([b"c" * 100_000] * 4))[0] == 201
    assert client("PUT", "/another")[0] == 201
    assert client("POST", "/keep/small", headers={"X-Object-Meta-Color": "red"})[0] == 202
    assert extract(client, "/keep", {"bulk/0": b"b" * 500})["Number Files Created"] == 1
    assert client("GET", "/keep/chunks")[2] == b"c" * 400_000
    kept_now = {k: v for k, v in kept.items() if k != "small"}
    for name, data in kept_now.items():
        assert client("GET", f"/keep/{name}")[2] == data


def sweep_ops(client: Client, pages: int, new_body: bytes) -> dict[str, Callable[[], int]]:
    """The writes tried with ``pages`` pages free, each returning its status."""
    return {
        "container PUT": lambda: client("PUT", f"/c{pages}")[0],
        "object PUT": lambda: client("PUT", f"/keep/o{pages}", os.urandom(20_000))[0],
        "overwrite": lambda: client("PUT", "/keep/plain", new_body)[0],
        "empty PUT": lambda: client("PUT", f"/keep/z{pages}", b"")[0],
        "object POST": lambda: client("POST", "/keep/packed/3", headers={"X-Object-Meta-N": str(pages)})[0],
        "plain POST": lambda: client("POST", "/keep/plain", headers={"X-Object-Meta-N": str(pages)})[0],
        "container POST": lambda: client("POST", "/keep", headers={"X-Container-Meta-N": str(pages)})[0],
        "bulk upload": lambda: 507 if extract(
            client, f"/b{pages}", {f"f{i}": b"x" * 3000 for i in range(4)})["Errors"] else 201,
        "delete": lambda: client("DELETE", f"/keep/o{pages - 1}")[0] if pages else 204,
    }


def test_every_amount_of_free_space_gives_success_or_507(
    small_disk: SmallDisk, start_server: Callable[..., RunningServer]
) -> None:
    """From 0 to 24 free pages, each write runs out of room at another step (the
    object file, the journal, SQLite's WAL or shared memory, a new container's
    index, which SQLite reports as "disk I/O error"): never a 500, and a write
    answered 507 changed nothing (an object file renamed into place before the
    index commit failed is put back)."""
    server = start_server(data_dir=small_disk.path / "data")
    client = Client(server)
    kept = stored_before(client)
    meta = {"packed": "", "plain": ""}  # the X-Object-Meta-N each object should have
    assert client("PUT", "/keep/plain", b"plain")[0] == 201
    body = b"plain"
    outcomes: dict[str, set[int]] = {}
    for pages in range(25):
        new_body = os.urandom(5_000)
        ops = sweep_ops(client, pages, new_body)
        for name, op in ops.items():
            small_disk.fill(pages)
            status = op()
            outcomes.setdefault(name, set()).add(status)
            assert status in (201, 202, 204, 404, 507), (name, pages, status)
            assert small_disk.leftovers() == [], (name, pages)
            ok = status < 300
            if name == "container PUT":
                assert client("HEAD", f"/c{pages}")[0] == (204 if ok else 404)
            elif name == "object PUT":
                assert client("GET", f"/keep/o{pages}")[0] == (200 if ok else 404)
            elif name == "overwrite":
                body = new_body if ok else body
                meta["plain"] = "" if ok else meta["plain"]
            elif name == "object POST" and ok:
                meta["packed"] = str(pages)
            elif name == "plain POST" and ok:
                meta["plain"] = str(pages)
        small_disk.free()
        assert client("GET", "/keep/plain")[2] == body, pages
        for obj, value in meta.items():
            got = client("HEAD", f"/keep/{'packed/3' if obj == 'packed' else obj}")[1].get("x-object-meta-n", "")
            assert got == value, (pages, obj)
        listed = {o["name"]: o for o in json.loads(client("GET", "/keep?format=json")[2])}
        for obj in listed:  # the index agrees with the objects, refused writes and all
            status, headers, data = client("GET", f"/keep/{obj}")
            assert status == 200 and listed[obj]["bytes"] == len(data), obj
            assert listed[obj]["hash"] == headers["etag"], obj
    check_intact(client, kept, only=False)
    assert "Traceback" not in server.log_text()
    for name, statuses in outcomes.items():  # the sweep did reach both sides of "full"
        if name != "delete":
            assert 507 in statuses and statuses & {201, 202, 204}, (name, statuses)
