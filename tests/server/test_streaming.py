"""Bodies stream through the server: a large upload or download never sits in
the server's memory."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from .conftest import RunningServer

MiB = 1024 * 1024


def peak_rss(pid: int) -> int:
    """The process's peak resident set size in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_large_chunked_upload_and_download_stream(start_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv: RunningServer = start_server(data_dir=tmp_path / "data")
    conn = srv.connection()
    conn.put_container("big")
    before = peak_rss(srv.proc.pid)
    total = 256 * MiB
    block = os.urandom(MiB)
    md5 = hashlib.md5()

    def body() -> Iterator[bytes]:
        for i in range(total // MiB):
            chunk = block[i % 7:] + block[: i % 7]  # not all the same block
            md5.update(chunk)
            yield chunk

    etag = conn.put_object("big", "obj", body())  # a generator and no length: sent chunked
    assert etag == md5.hexdigest()
    _, stream = conn.get_object("big", "obj", resp_chunk_size=MiB)
    got = hashlib.md5()
    n = 0
    for chunk in stream:
        got.update(chunk)
        n += len(chunk)
    assert n == total and got.hexdigest() == etag
    grown = peak_rss(srv.proc.pid) - before
    assert grown < 64 * MiB, f"server memory grew by {grown / MiB:.0f} MiB for a {total // MiB} MiB object"
