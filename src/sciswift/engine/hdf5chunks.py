"""Chunk bytes between HDF5's filter pipeline and an array's Zarr codecs.

A copy between an HDF5 file and the native layout can move each chunk's stored
bytes as they are, or nearly, instead of decoding and re-encoding it, when the
two pipelines do the same thing in the same order. ``translator`` says whether
they do and returns a ``ChunkTranslator`` that converts one chunk's bytes either
way:

==============================  ===============================  ===========================
HDF5 filter (write order)       Zarr codec after ``bytes``       conversion
==============================  ===============================  ===========================
shuffle                         ``numcodecs.shuffle``            none (same bytes)
deflate (a zlib stream)         ``gzip`` (a gzip member)         reframing (``deflate``)
fletcher32 (always last)        ``crc32c``                       checksum swap (both checked)
fletcher32                      ``numcodecs.fletcher32``         none (files of sciswift < 0.2)
==============================  ===============================  ===========================

The array-to-bytes codec must be ``bytes`` in the HDF5 type's byte order, and no
array-to-array codec (scale-offset ...) may be present. Everything else (lzf,
blosc, szip, the portable codec style's blosc) is not translated: the copier
decodes and re-encodes those chunks.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import crc32c as _crc32c

from sciswift.engine.deflate import gzip_to_zlib, zlib_to_gzip
from sciswift.errors import CorruptData

__all__ = ["ChunkTranslator", "translator", "H5Z_DEFLATE", "H5Z_SHUFFLE", "H5Z_FLETCHER32"]

H5Z_DEFLATE, H5Z_SHUFFLE, H5Z_FLETCHER32 = 1, 2, 3
_U32 = struct.Struct("<I")


def _fletcher32(data: bytes | memoryview) -> bytes:
    import numcodecs

    return bytes(numcodecs.Fletcher32().encode(data))


def _strip_fletcher32(data: bytes | memoryview) -> memoryview:
    import numcodecs

    try:
        return memoryview(numcodecs.Fletcher32().decode(data))
    except RuntimeError as exc:  # numcodecs reports a mismatch so
        raise CorruptData(f"fletcher32 checksum mismatch: {exc}") from exc


def _strip_crc32c(data: bytes | memoryview) -> memoryview:
    view = memoryview(data)
    if len(view) < 4:
        raise CorruptData("chunk too short for its crc32c checksum")
    body = view[:-4]
    if _crc32c.crc32c(body) != _U32.unpack_from(view, len(view) - 4)[0]:
        raise CorruptData("crc32c checksum mismatch")
    return body


@dataclass(frozen=True)
class ChunkTranslator:
    """Converts one chunk's bytes between the two pipelines.

    ``deflate``: the HDF5 side deflates and the Zarr side gzips; ``checksum``:
    ``"crc32c"`` (swap), ``"fletcher32"`` (same bytes) or None; ``chunk_bytes``:
    the size of a chunk's data, if known (a deflate stream must inflate to it;
    knowing it also lets the import inflate with libdeflate, ``engine.deflate``).
    """

    deflate: bool
    checksum: str | None
    chunk_bytes: int | None = None

    @property
    def identical(self) -> bool:
        """True if the bytes are the same on both sides."""
        return not self.deflate and self.checksum != "crc32c"

    def to_zarr(self, raw: bytes | memoryview, filter_mask: int = 0) -> bytes | memoryview | None:
        """The Zarr chunk for HDF5 chunk bytes ``raw``; None when ``filter_mask``
        says HDF5 skipped a filter for this chunk (decode it instead).

        CorruptData when a checksum does not match or the stream is damaged."""
        if filter_mask:
            return None
        if self.identical:
            return raw
        body: bytes | memoryview = _strip_fletcher32(raw) if self.checksum else raw
        if self.deflate:
            body = zlib_to_gzip(body, self.chunk_bytes)
        if self.checksum == "crc32c":
            return b"".join((body, _U32.pack(_crc32c.crc32c(body))))
        return _fletcher32(body) if self.checksum else body

    def to_hdf5(self, stored: bytes | memoryview) -> bytes | memoryview:
        """The HDF5 chunk bytes (filter mask 0) for a stored Zarr chunk.

        CorruptData when a checksum does not match or the stream is damaged."""
        if self.identical:
            return stored
        body: bytes | memoryview = stored
        if self.checksum == "crc32c":
            body = _strip_crc32c(body)
        elif self.checksum:
            body = _strip_fletcher32(body)
        if self.deflate:
            body = gzip_to_zlib(body)
        return _fletcher32(body) if self.checksum else body


def translator(hdf5_filters: Sequence[tuple[int, Sequence[int]]], codecs: Sequence[dict[str, Any]],
               itemsize: int, big_endian: bool = False, chunks: Sequence[int] | None = None) -> ChunkTranslator | None:
    """A translator between an HDF5 pipeline ``[(filter id, cd_values)]`` (in
    write order) and a Zarr codec list, or None when no byte-level one exists.

    ``itemsize`` and ``big_endian`` describe the HDF5 datatype (fixed-size data),
    ``chunks`` the chunk shape (``ChunkTranslator.chunk_bytes``)."""
    if not codecs or codecs[0].get("name") != "bytes":
        return None
    endian = (codecs[0].get("configuration") or {}).get("endian", "little")
    if itemsize > 1 and (endian == "big") != big_endian:
        return None
    zarr = [c.get("name") for c in codecs[1:]]
    h5 = [int(f[0]) for f in hdf5_filters]
    checksum: str | None = None
    if h5 and h5[-1] == H5Z_FLETCHER32:
        if not zarr or zarr[-1] not in ("crc32c", "numcodecs.fletcher32"):
            return None
        checksum = "crc32c" if zarr[-1] == "crc32c" else "fletcher32"
        h5, zarr = h5[:-1], zarr[:-1]
    elif zarr and zarr[-1] in ("crc32c", "numcodecs.fletcher32"):
        return None
    deflate = False
    if h5 and h5[-1] == H5Z_DEFLATE:
        if not zarr or zarr[-1] != "gzip":
            return None
        deflate = True
        h5, zarr = h5[:-1], zarr[:-1]
    # What is left must be the same byte shuffle on both sides (or nothing).
    if len(h5) != len(zarr):
        return None
    for (code, cd), name, conf in zip(hdf5_filters[:len(h5)], zarr, codecs[1:1 + len(zarr)]):
        if code != H5Z_SHUFFLE or name != "numcodecs.shuffle":
            return None
        size = int(cd[0]) if cd else itemsize
        if int((conf.get("configuration") or {}).get("elementsize", itemsize)) != size or size != itemsize:
            return None
    chunk_bytes = None if chunks is None else math.prod(chunks) * itemsize
    return ChunkTranslator(deflate=deflate, checksum=checksum, chunk_bytes=chunk_bytes)
