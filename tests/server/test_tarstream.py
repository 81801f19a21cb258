"""TarStream reads what tarfile writes (ustar, pax, GNU long names; plain, gzip,
bzip2), from a body arriving in pieces of any size, and says what is wrong
with a broken archive."""

from __future__ import annotations

import asyncio
import bz2
import gzip
import io
import random
import tarfile

import pytest

from sciswift.server.tarstream import ArchiveError, TarStream


class _Pieces:
    """A request body that arrives in the given pieces."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._pieces: list[bytes] = []
        at = 0
        for size in sizes:
            if at >= len(data):
                break
            self._pieces.append(data[at:at + size])
            at += size
        if at < len(data):
            self._pieces.append(data[at:])
        self._pieces.reverse()

    async def read_any(self) -> bytes:
        return self._pieces.pop() if self._pieces else b""


def _archive(files: list[tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT, mode: str = "w",
             pax: dict[str, dict[str, str]] | None = None, dirs: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=fmt) as tar:  # type: ignore[call-overload]
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if pax and name in pax:
                info.pax_headers = pax[name]
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _walk(data: bytes, compression: str = "", sizes: list[int] | None = None,
          chunked: bool = False) -> list[tuple[str, bytes, bool, dict[str, str]]]:
    async def run() -> list[tuple[str, bytes, bool, dict[str, str]]]:
        tar = TarStream(_Pieces(data, sizes or [len(data)]), compression)
        out = []
        while (m := await tar.next()) is not None:
            if not m.regular:
                body = b""
            elif chunked:
                body = b"".join([piece async for piece in tar.chunks(limit=777)])
            else:
                body = b"".join(await tar.read())
            assert len(body) == m.size
            out.append((m.path, body, m.regular, m.pax))
        return out

    return asyncio.run(run())


FILES = [("c/a.txt", b"alpha"), ("c/empty", b""), ("c/sub/b.bin", bytes(range(256)) * 40),
         ("c/" + "long/" * 40 + "name.dat", b"L" * 1000), ("c/é-ü.json", b'{"x": 1}')]


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_reads_each_format_in_pieces_of_any_size(fmt: int) -> None:
    files = FILES if fmt != tarfile.USTAR_FORMAT else [f for f in FILES if len(f[0]) < 100]
    data = _archive(files, fmt)
    rng = random.Random(fmt)
    for sizes in ([len(data)], [1] * 3000 + [len(data)], [rng.randint(1, 1500) for _ in range(400)]):
        got = _walk(data, sizes=sizes, chunked=len(sizes) > 1)
        assert [(p, b) for p, b, _, _ in got] == files


def test_pax_records_global_headers_and_directories() -> None:
    data = _archive([("c/x", b"1"), ("c/y", b"22")], pax={"c/x": {"SCHILY.xattr.user.mime_type": "text/x-x",
                                                                  "SCISWIFT.etag": "abc"}}, dirs=("c/d",))
    got = _walk(data)
    assert got[0][0].rstrip("/") == "c/d" and got[0][2] is False  # a directory: not a file
    assert got[1][3]["SCHILY.xattr.user.mime_type"] == "text/x-x" and got[1][3]["SCISWIFT.etag"] == "abc"
    assert "SCISWIFT.etag" not in got[2][3] and got[2][1] == b"22"
    # A global header applies to every member after it.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "run 7"}) as tar:
        for name in ("c/p", "c/q"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"z"))
    assert [m[3].get("comment") for m in _walk(buf.getvalue())] == ["run 7", "run 7"]


def test_unread_bodies_are_skipped() -> None:
    data = _archive(FILES)

    async def names() -> list[str]:
        tar = TarStream(_Pieces(data, [100] * 1000))
        out = []
        while (m := await tar.next()) is not None:
            out.append(m.path)
            if m.path == "c/sub/b.bin":
                async for _ in tar.chunks(limit=64):
                    break  # a partly read body is skipped too
        return out

    assert asyncio.run(names()) == [p for p, _ in FILES]


@pytest.mark.parametrize("kind", ["gz", "bz2"])
def test_compressed_archives(kind: str) -> None:
    big = random.Random(1).randbytes(3 << 20)  # more than one decompression step
    files = FILES + [("c/big", big)]
    data = _archive(files, mode=f"w:{kind}")
    assert [(p, b) for p, b, _, _ in _walk(data, kind, sizes=[4096] * 5000)] == files


def test_concatenated_gzip_members_and_trailing_zeros() -> None:
    plain = _archive([("c/a", b"A" * 5000), ("c/b", b"B")])
    half = len(plain) // 1024 * 512
    data = gzip.compress(plain[:half]) + gzip.compress(plain[half:]) + b"\0" * 1024
    assert [(p, b) for p, b, _, _ in _walk(data, "gz", sizes=[333] * 100)] == [("c/a", b"A" * 5000), ("c/b", b"B")]


def test_broken_archives_say_what_is_wrong() -> None:
    good = _archive([("c/a", random.Random(2).randbytes(3000)), ("c/b", b"y")])
    with pytest.raises(ArchiveError, match="empty file"):
        _walk(b"")
    with pytest.raises(ArchiveError, match="checksum"):
        _walk(b"not a tar file" * 100)
    with pytest.raises(ArchiveError, match="unexpected end of data"):
        _walk(good[:512 * 4])  # cut inside the first body (pax header + header + 2 blocks)
    with pytest.raises(ArchiveError, match="decompress"):
        _walk(b"\x1f\x8b garbage" * 100, "gz")
    with pytest.raises(ArchiveError, match="cut short"):
        _walk(gzip.compress(good)[:1000], "gz")
    with pytest.raises(ArchiveError):
        _walk(bz2.compress(good)[:1000], "bz2")
    corrupt = bytearray(good)
    corrupt[3600] ^= 0xFF  # inside the second file's header (after 512 + 3072 bytes of the first)
    with pytest.raises(ArchiveError, match="checksum"):
        _walk(bytes(corrupt))
