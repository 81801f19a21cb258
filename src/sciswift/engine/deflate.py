"""Deflate streams in their two framings: the Zarr ``gzip`` codec and HDF5's deflate.

HDF5's deflate filter stores a *zlib* stream (2-byte header, raw deflate data,
Adler-32 of the uncompressed bytes); the Zarr v3 ``gzip`` codec stores a *gzip*
member (10-byte header, the same raw deflate data, CRC-32 and length of the
uncompressed bytes). The deflate data in the middle is the same, so a chunk moves
between the two without recompressing, if the other framing's checksum is known:

- ``GzipCodec`` (our ``gzip`` codec) writes standard gzip members that also carry
  the zlib header and the Adler-32 in a gzip extra field (RFC 1952 ``FEXTRA``,
  subfield ``Sz``, 6 bytes). Every gzip reader skips extra fields, so zarr-python,
  TensorStore and zarrs read them as plain gzip; and ``gzip_to_zlib`` turns them
  into the exact HDF5 chunk bytes by slicing: no decompression at all.
- ``zlib_to_gzip`` (import of an HDF5 deflate chunk) needs the CRC-32 of the
  uncompressed data: it inflates once (which also checks the Adler-32) and never
  recompresses. Inflating is most of an import's CPU, so it takes the fastest
  inflater there is: libdeflate (the ``deflate`` package) when the chunk's size
  is known, as it is for every HDF5 chunk (libdeflate inflates whole buffers of
  a known size only), else ISA-L (the ``isal`` package). Measured on this
  project's 2-core VM on the 1 MiB float32 chunks of ``bench.convert`` (~0.5 MB
  compressed each): libdeflate 1.36 ms per chunk, ISA-L 2.45 ms, the standard
  library's zlib 4.07 ms; deflate at level 4 is ~30 ms: rewrapping is 10-20x
  cheaper than recompressing.
- ``gzip_to_zlib`` on a gzip member without our field (written by another Zarr
  tool) inflates once for the Adler-32 (libdeflate, sized by the member's
  ISIZE), likewise without recompressing.

Layout of a member ``GzipCodec`` writes (offsets in bytes)::

    0   1f 8b 08 04 00000000 00 ff   gzip header, FLG = FEXTRA, MTIME 0, OS unknown
    10  0a 00                        XLEN = 10
    12  'S' 'z' 06 00                subfield id and length
    16  CMF FLG                      the zlib header of the stream
    18  ADLER32 (big-endian)         the zlib trailer of the stream
    22  raw deflate data
    -8  CRC32 ISIZE (little-endian)  gzip trailer

so the HDF5 deflate bytes are ``m[16:18] + m[22:-8] + m[18:22]`` (``len(m) - 24``
bytes), computable from the member's size alone.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import deflate as _libdeflate

from sciswift.errors import CorruptData

_inflate: Any
try:  # ISA-L inflates ~1.7x faster than zlib (module docstring); same API and checks
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - isal is a dependency, but optional here
    _inflate = zlib
#: What the libraries raise on damaged data.
_ERRORS: tuple[type[BaseException], ...] = (zlib.error, getattr(_inflate, "error", zlib.error),
                                            _libdeflate.DeflateError)
_ADLER = struct.Struct(">I")
#: Deflate's largest expansion (258 bytes from 2 bits, RFC 1951).
_MAX_RATIO = 1032

__all__ = ["GzipCodec", "gzip_member", "zlib_to_gzip", "gzip_to_zlib", "HEADER_SIZE"]

_SUBFIELD = b"Sz"
#: Size of the gzip header ``GzipCodec`` writes (before the deflate data).
HEADER_SIZE = 22
_HEAD = struct.Struct("<BBBBIBB")
_TRAILER = struct.Struct("<II")
_FEXTRA, _FNAME, _FCOMMENT, _FHCRC = 4, 8, 16, 2


def gzip_member(body: bytes | memoryview, zlib_header: bytes, adler: bytes, crc: int, size: int) -> bytes:
    """A gzip member around raw deflate ``body``, carrying the zlib framing."""
    head = _HEAD.pack(0x1F, 0x8B, 8, _FEXTRA, 0, 0, 0xFF) + b"\x0a\x00" + _SUBFIELD + b"\x06\x00"
    return b"".join((head, zlib_header, adler, body, _TRAILER.pack(crc & 0xFFFFFFFF, size & 0xFFFFFFFF)))


class GzipCodec:
    """The Zarr v3 ``gzip`` codec (bytes -> bytes), writing members that carry
    their zlib framing (module docstring)."""

    def __init__(self, level: int = 5) -> None:
        self.level = int(level)

    def encode(self, buf: Any) -> bytes:
        data = memoryview(buf).cast("B")
        stream = zlib.compress(data, self.level)
        return gzip_member(memoryview(stream)[2:-4], stream[:2], stream[-4:], zlib.crc32(data), data.nbytes)

    def decode(self, buf: Any) -> bytes | bytearray:
        return _gunzip(memoryview(buf).cast("B"))


def _gunzip(view: memoryview) -> bytes | bytearray:
    """The data of a gzip member (CRC-32 and size checked); CorruptData if it is damaged.

    libdeflate needs the size it inflates to: a member's last 4 bytes give it
    (ISIZE). Twice as fast as zlib on bench.convert's 1 MiB chunks (1.38 against
    2.98 ms). A damaged member, or one that is not alone, is left to zlib, which
    says what is wrong. (The size is bounded by deflate's 1032:1, so a damaged
    ISIZE cannot ask for much more room than real data could fill.)"""
    size = int.from_bytes(view[-4:], "little") if len(view) >= 18 else 0
    if 0 < size <= _MAX_RATIO * len(view):
        try:
            data = _libdeflate.gzip_decompress(view, size)
        except _libdeflate.DeflateError:
            data = bytearray()
        if len(data) == size:
            return data  # a bytearray: an array over it is writable, as numcodecs' are
    try:
        return zlib.decompress(view, 31)  # 16 + 15: gzip framing, CRC-32 checked
    except zlib.error as exc:
        raise CorruptData(f"gzip data cannot be decompressed: {exc}") from exc


def zlib_to_gzip(stream: bytes | memoryview, size: int | None = None) -> bytes:
    """An HDF5 deflate chunk (a zlib stream) as a ``gzip`` codec chunk.

    Inflates once to check the Adler-32 and compute the CRC-32. ``size``, when
    given, is what the stream must inflate to (an HDF5 chunk's bytes). CorruptData
    if the stream is not one complete zlib stream (of ``size`` bytes)."""
    view = memoryview(stream).cast("B")
    if len(view) < 6 or view[0] & 0x0F != 8 or view[1] & 0x20 or (view[0] << 8 | view[1]) % 31:
        raise CorruptData("deflate chunk is not a zlib stream")
    if size is not None:
        try:  # libdeflate checks the Adler-32 where the deflate data ends ...
            data = _libdeflate.zlib_decompress(view, size)
        except _ERRORS as exc:
            raise CorruptData(f"deflate chunk cannot be decompressed to its {size} bytes") from exc
        if len(data) != size:
            raise CorruptData(f"deflate chunk holds {len(data)} bytes, not the chunk's {size}")
        # ... and ignores what follows: the stream must end with that Adler-32.
        if view[-4:] != _ADLER.pack(_libdeflate.adler32(data)):
            raise CorruptData("deflate chunk is truncated or has trailing bytes")
        crc = _libdeflate.crc32(data)
    else:
        inflater = _inflate.decompressobj(15)
        try:
            data = inflater.decompress(view)
        except _ERRORS as exc:
            raise CorruptData(f"deflate chunk cannot be decompressed: {exc}") from exc
        if not inflater.eof or inflater.unused_data:
            raise CorruptData("deflate chunk is truncated or has trailing bytes")
        crc = _inflate.crc32(data)
    return gzip_member(view[2:-4], bytes(view[:2]), bytes(view[-4:]), crc, len(data))


def _gzip_header_size(view: memoryview) -> tuple[int, bytes | None]:
    """The size of a gzip member's header and our zlib framing field (or None)."""
    if len(view) < 18 or view[0] != 0x1F or view[1] != 0x8B or view[2] != 8:
        raise CorruptData("chunk is not a gzip member")
    flags = view[3]
    pos = 10
    framing: bytes | None = None
    if flags & _FEXTRA:
        xlen = view[pos] | view[pos + 1] << 8
        end = pos + 2 + xlen
        sub = pos + 2
        while sub + 4 <= end:
            length = view[sub + 2] | view[sub + 3] << 8
            if bytes(view[sub:sub + 2]) == _SUBFIELD and length == 6:
                framing = bytes(view[sub + 4:sub + 10])
            sub += 4 + length
        pos = end
    for flag in (_FNAME, _FCOMMENT):
        if flags & flag:
            pos = bytes(view[pos:]).index(b"\x00", 0) + pos + 1
    if flags & _FHCRC:
        pos += 2
    return pos, framing


def gzip_to_zlib(member: bytes | memoryview) -> bytes:
    """A ``gzip`` codec chunk as an HDF5 deflate chunk (a zlib stream).

    Slices when the member carries our framing field, else inflates once for the
    Adler-32 (never recompresses). CorruptData if it is not one gzip member."""
    view = memoryview(member)
    try:
        start, framing = _gzip_header_size(view)
    except (IndexError, ValueError) as exc:
        raise CorruptData("gzip header is truncated") from exc
    body = view[start:-8]
    if framing is not None:
        return b"".join((framing[:2], body, framing[2:]))
    data = _gunzip(view.cast("B"))
    # 0x78 0x5e: deflate, 32 KiB window, "default" level flag (the level is only a hint).
    return b"".join((b"\x78\x5e", body, _ADLER.pack(_libdeflate.adler32(data))))
