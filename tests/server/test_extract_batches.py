"""Bulk upload stores small files in batches (one ``put_many`` per batch) while
every file still gets the answer its own PUT would."""

from __future__ import annotations

import io
import json
import mimetypes
import tarfile
import uuid
from pathlib import Path

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
