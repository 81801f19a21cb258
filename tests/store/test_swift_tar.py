"""The archives SwiftStore.put_many sends are ordinary pax tar archives (what
Swift's bulk middleware reads with tarfile), made of the bodies themselves, and
batches are about even."""

from __future__ import annotations

import io
import tarfile

from sciswift.store.swift.tar import BATCH_BYTES, ETAG_PAX, plan_batches, tar_pieces


def test_tarfile_reads_the_pieces_back() -> None:
    items = {"a/b": b"x" * 1000, "é/ü.json": b"{}", "empty": b"", "n" * 300: b"long name"}
    pieces, length = tar_pieces(list(items), items, {"a/b": "text/x-b"}, {"a/b": "0" * 32})
    assert any(p is items["a/b"] for p in pieces)  # the body itself, not a copy
    archive = b"".join(pieces)
    assert len(archive) == length and length % 512 == 0
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r|") as tar:
        got = {}
        for info in tar:
            member = tar.extractfile(info)
            assert member is not None
            got[info.name] = (member.read(), info.pax_headers)
    assert {n: d for n, (d, _) in got.items()} == items
    assert got["a/b"][1]["SCHILY.xattr.user.mime_type"] == "text/x-b" and got["a/b"][1][ETAG_PAX] == "0" * 32
    assert got["empty"][1]["SCHILY.xattr.user.mime_type"] == "application/octet-stream"


def test_batches_are_even_and_within_limits() -> None:
    batches, alone = plan_batches({f"o{i}": b"x" * 512_000 for i in range(17)})
    assert [len(b) for b in batches] == [9, 8] and alone == []
    batches, alone = plan_batches({f"o{i}": b"x" * (256 << 10) for i in range(256)})
    assert [len(b) for b in batches] == [32] * 8
    assert all(sum(256 << 10 for _ in b) <= BATCH_BYTES for b in batches)
    batches, alone = plan_batches({"big": b"x" * (2 << 20), "/abs": b"1", "dir/": b"2", "ok": b"3"})
    assert batches == [["ok"]] and sorted(alone) == ["/abs", "big", "dir/"]
