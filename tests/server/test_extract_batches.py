"""Bulk upload stores small files in batches (one ``put_many`` per batch) while
every file still gets the answer its own PUT would."""

from __future__ import annotations

import hashlib
import io
import json
import mimetypes
import tarfile
import uuid
from pathlib import Path

import crc32c
import pytest

from sciswift.server.extract import CRC32C_PAX, ETAG_PAX

from .conftest import RunningServer


def _tar(files: list[tuple[str, bytes]], pax: dict[str, dict[str, str]] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = (pax or {}).get(name, {})
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _extract(server: RunningServer, path: str, archive: bytes, **headers: str) -> dict[str, object]:
    _, token = server.auth()
    resp, body = server.raw("PUT", f"{path}?extract-archive=tar", archive,
                            headers={"X-Auth-Token": token, "Accept": "application/json", **headers})
    assert resp.status == 200
    return json.loads(body)  # type: ignore[no-any-return]


def test_small_files_go_to_the_store_in_batches(disk_server: RunningServer) -> None:
    c = f"bx-{uuid.uuid4().hex[:8]}"
    files = [(f"run/g{i}/zarr.json", b'{"i": %d}' % i) for i in range(150)]
    files += [(f"run/g{i}/c/0", bytes([i]) * 500) for i in range(150)]
    files += [("run/big.bin", b"B" * (2 << 20)), ("run/notes.txt", b"typed")]
    result = _extract(disk_server, f"/v1/AUTH_test/{c}", _tar(files, {"run/notes.txt": {
        "SCHILY.xattr.user.mime_type": "text/x-notes"}}))
    assert result["Number Files Created"] == len(files) and result["Errors"] == []
    conn = disk_server.connection()
    for name, data in files[::37] + files[-2:]:
        headers, body = conn.get_object(c, name)
        assert body == data
        want = "text/x-notes" if name.endswith("notes.txt") else mimetypes.guess_type(name)[0] or "application/octet-stream"
        assert headers["content-type"] == want
    headers = conn.head_container(c)
    assert int(headers["x-container-object-count"]) == len(files)
    assert int(headers["x-container-bytes-used"]) == sum(len(d) for _, d in files)
    # The batches are LocalStore pack files (one creation for many objects).
    assert disk_server.data_dir is not None
    packs = list(Path(disk_server.data_dir, "AUTH_test", c, "packs").iterdir())
    assert 1 <= len(packs) < 10


def test_each_file_keeps_its_own_answer(disk_server: RunningServer) -> None:
    c = f"bq-{uuid.uuid4().hex[:8]}"
    conn = disk_server.connection()
    conn.put_container(c, headers={"X-Container-Meta-Quota-Count": "10"})
    result = _extract(disk_server, f"/v1/AUTH_test/{c}", _tar([(f"f{i:02d}", b"x") for i in range(20)]))
    assert result["Number Files Created"] == 10
    assert sorted(e[1] for e in result["Errors"]) == ["413 Request Entity Too Large"] * 10  # type: ignore[union-attr]

    c2 = f"bn-{uuid.uuid4().hex[:8]}"
    conn.put_container(c2)
    files = [("first", b"1"), ("dup", b"old"), ("n" * 1100, b"too long"), ("dup", b"new"), ("last", b"2")]
    result = _extract(disk_server, f"/v1/AUTH_test/{c2}", _tar(files))
    assert result["Number Files Created"] == 4
    assert [e[1] for e in result["Errors"]] == ["400 Bad Request"]  # type: ignore[union-attr]
    assert conn.get_object(c2, "dup")[1] == b"new"  # the later copy in the archive wins
    assert sorted(o["name"] for o in conn.get_container(c2)[1]) == ["dup", "first", "last"]


def test_request_metadata_is_kept_on_every_file(disk_server: RunningServer) -> None:
    c = f"bm-{uuid.uuid4().hex[:8]}"
    result = _extract(disk_server, f"/v1/AUTH_test/{c}", _tar([(f"o{i}", b"v") for i in range(30)]),
                      **{"X-Object-Meta-Run": "42", "X-Delete-After": "3600"})
    assert result["Number Files Created"] == 30
    headers = disk_server.connection().head_object(c, "o29")
    assert headers["x-object-meta-run"] == "42" and "x-delete-at" in headers


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_each_file_is_checked_against_its_etag_record(disk_server: RunningServer) -> None:
    c = f"be-{uuid.uuid4().hex[:8]}"
    files = [(f"chunk/{i}", bytes([i]) * (256 << 10)) for i in range(40)]
    records = {name: {ETAG_PAX: _md5(data)} for name, data in files}
    records["chunk/7"] = {ETAG_PAX: _md5(b"something else")}  # in the first batch
    records["chunk/33"] = {ETAG_PAX: _md5(b"another")}  # in a later one
    result = _extract(disk_server, f"/v1/AUTH_test/{c}", _tar(files, records))
    assert result["Number Files Created"] == 38
    assert sorted(result["Errors"]) == [[f"{c}/chunk/33", "422 Unprocessable Entity"],  # type: ignore[arg-type]
                                        [f"{c}/chunk/7", "422 Unprocessable Entity"]]
    conn = disk_server.connection()
    names = sorted(o["name"] for o in conn.get_container(c, full_listing=True)[1])
    assert names == sorted(n for n, _ in files if n not in ("chunk/7", "chunk/33"))
    for name, data in files[::9]:
        headers, body = conn.get_object(c, name)
        assert body == data and headers["etag"] == _md5(data)


def _crc(data: bytes) -> str:
    return f"{crc32c.crc32c(data):08x}"


@pytest.mark.parametrize("bad", ["chunk/0", "chunk/7", "chunk/33", "big", "empty"],
                         ids=["first-file-streamed", "first-batch", "later-batch", "large-streamed", "empty"])
def test_each_file_is_checked_against_its_crc32c_record(disk_server: RunningServer, bad: str) -> None:
    c = f"bc-{uuid.uuid4().hex[:8]}"
    files = [(f"chunk/{i}", bytes([i]) * (256 << 10)) for i in range(40)]
    files += [("big", b"L" * (3 << 20) + b"tail"), ("empty", b"")]
    records = {name: {CRC32C_PAX: _crc(data)} for name, data in files}
    records[bad] = {CRC32C_PAX: _crc(b"something else")}
    result = _extract(disk_server, f"/v1/AUTH_test/{c}", _tar(files, records))
    assert result["Errors"] == [[f"{c}/{bad}", "422 Unprocessable Entity"]], result
    assert result["Number Files Created"] == len(files) - 1
    conn = disk_server.connection()
    names = sorted(o["name"] for o in conn.get_container(c, full_listing=True)[1])
    assert names == sorted(n for n, _ in files if n != bad)  # nothing of the bad file is stored
    for name, data in files[1::9] + files[-2:]:
        if name != bad:
            headers, body = conn.get_object(c, name)
            assert body == data and headers["etag"] == _md5(data)


@pytest.mark.parametrize("record", ["12345", "zzzzzzzz", "123456789", "+1234567", "0x123456", "1234_567"])
def test_a_malformed_crc32c_record_is_refused(disk_server: RunningServer, record: str) -> None:
    c = f"bc-{uuid.uuid4().hex[:8]}"
    files = [("a", b"x"), ("b", b"y"), ("c", b"z")]
    result = _extract(disk_server, f"/v1/AUTH_test/{c}", _tar(files, {"b": {CRC32C_PAX: record}}))
    assert result["Errors"] == [[f"{c}/b", "400 Bad Request"]] and result["Number Files Created"] == 2


def test_a_cut_archive_keeps_whole_files_only(disk_server: RunningServer) -> None:
    c = f"bc-{uuid.uuid4().hex[:8]}"
    files = [(f"o{i:03d}", bytes([i]) * (300 << 10)) for i in range(60)]  # 18 MiB: more than two batches
    archive = _tar(files)
    result = _extract(disk_server, f"/v1/AUTH_test/{c}", archive[: len(archive) * 3 // 4])
    assert result["Response Status"] == "400 Bad Request"
    assert str(result["Response Body"]).startswith("Invalid Tar File")
    conn = disk_server.connection()
    stored = conn.get_container(c, full_listing=True)[1]
    assert 0 < len(stored) < 45 and result["Number Files Created"] == len(stored)
    by_name = dict(files)
    for entry in stored:  # every file there is whole
        assert conn.get_object(c, entry["name"])[1] == by_name[entry["name"]]


def test_compressed_archives_are_batched_too(disk_server: RunningServer) -> None:
    c = f"bz-{uuid.uuid4().hex[:8]}"
    files = [(f"g/{i}", b"%d" % i * 1000) for i in range(50)]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    _, token = disk_server.auth()
    resp, body = disk_server.raw("PUT", f"/v1/AUTH_test/{c}?extract-archive=tar.gz", buf.getvalue(),
                                 headers={"X-Auth-Token": token, "Accept": "application/json"})
    assert resp.status == 200 and json.loads(body)["Number Files Created"] == 50
    assert disk_server.connection().get_object(c, "g/49")[1] == files[49][1]


def _stored_one_by_one(server: RunningServer, container: str) -> list[Path]:
    """The object files of ``container`` outside pack files (LocalStore): what
    was stored the ordinary way, not in a batch."""
    assert server.data_dir is not None
    return [p for p in Path(server.data_dir, "AUTH_test", container, "objects").rglob("*") if p.is_file()]


def test_even_the_first_file_is_batched(disk_server: RunningServer) -> None:
    """The caller's right to write is checked as the object PUT checks it, not by
    storing the first file the ordinary way (one sync of its own per archive)."""
    c = f"bx-{uuid.uuid4().hex[:8]}"
    files = [(f"{c}/f{i}", bytes([i]) * 300) for i in range(20)]
    result = _extract(disk_server, "/v1/AUTH_test", _tar(files))  # the container made on the way
    assert result["Number Files Created"] == 20 and result["Errors"] == []
    assert _stored_one_by_one(disk_server, c) == []
    assert disk_server.connection().get_object(c, "f0")[1] == bytes([0]) * 300


def test_batches_write_only_where_the_caller_may(disk_server: RunningServer) -> None:
    """test:tester3 (no admin) may not write into the account's containers until
    a write ACL names it: each file is then 403, and nothing is stored."""
    c = f"bx-{uuid.uuid4().hex[:8]}"
    owner = disk_server.connection()
    owner.put_container(c)
    files = [(f"f{i}", b"x" * 100) for i in range(10)]
    _, token = disk_server.auth("test:tester3", "testing3")
    resp, body = disk_server.raw("PUT", f"/v1/AUTH_test/{c}?extract-archive=tar", _tar(files),
                                 headers={"X-Auth-Token": token, "Accept": "application/json"})
    result = json.loads(body)
    assert resp.status == 200 and result["Number Files Created"] == 0
    # (the container's HEAD is refused too, and reported, as before batches)
    file_errors = [e for e in result["Errors"] if e[0].startswith(f"{c}/")]
    assert len(file_errors) == 10 and all("403" in e[1] for e in result["Errors"])
    assert owner.get_container(c)[1] == []
    owner.post_container(c, {"X-Container-Write": "test:tester3"})
    resp, body = disk_server.raw("PUT", f"/v1/AUTH_test/{c}?extract-archive=tar", _tar(files),
                                 headers={"X-Auth-Token": token, "Accept": "application/json"})
    assert json.loads(body)["Number Files Created"] == 10
    assert sorted(o["name"] for o in owner.get_container(c)[1]) == sorted(n for n, _ in files)
    assert _stored_one_by_one(disk_server, c) == []
