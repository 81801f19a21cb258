"""Which stored chunks HDF5 reads (nearly) as they are, and the bytes served for them.

A dataset's chunks pass through, with HDF5's own filters declared so HDF5
checks and decodes them itself, when its codecs after ``bytes`` are, in order
(each optional):

==================================================  ============================  ==============================
codec                                               HDF5 filter                   served bytes
==================================================  ============================  ==============================
``numcodecs.shuffle`` (element size = type size)    shuffle (2)                   the same bytes
``numcodecs.fletcher32`` (only before a deflate)    fletcher32 (3)                the same bytes
``gzip`` or ``numcodecs.zlib``                      deflate (1), the codec level  a zlib stream, zero-padded
``crc32c`` or ``numcodecs.fletcher32``              fletcher32 (3)                Fletcher-32 in place of CRC-32C
==================================================  ============================  ==============================

Every served chunk has a size known from the metadata alone, so the view
places chunks without reading them:

- Without a deflate, the size is the raw chunk size (+4 per checksum):
  HDF5's Fletcher-32 trailer and the CRC-32C one are both 4 bytes, so a
  ``crc32c`` chunk keeps its size; the view checks the CRC-32C and serves the
  Fletcher-32 of the same bytes.
- With a deflate, the size is zlib's ``compressBound`` of the raw size: what
  is served is a zlib stream followed by zeros (HDF5's deflate filter stops
  at the end of the stream). ``numcodecs.zlib`` chunks are zlib streams.
  ``gzip`` chunks sciswift writes carry their zlib header and Adler-32 in a
  gzip extra field (``sciswift.engine.deflate``), and become the zlib stream
  by slicing (``len(m) - 24`` bytes); gzip members written by other tools or
  older sciswift versions lack the field, and cost one inflate for the
  Adler-32, never a recompression. Which form a chunk has is seen when it is
  read (its header), so no metadata has to say it. A stream longer than the
  bound (a deflate encoder less tight than zlib's: zlib's own output never
  is) is inflated and deflated again at the codec's level, which always fits.
- A trailing checksum after a deflate covers the padded stream, as HDF5
  computes it over the whole chunk; the unit kept in memory is the stream and
  the 4-byte trailer, padded when read (``Recipe.slice``).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import crc32c as _crc32c
import numcodecs

from sciswift.engine.deflate import gzip_to_zlib
from sciswift.errors import CorruptData

__all__ = ["Recipe", "recipe_for", "zlib_bound", "H5Z_DEFLATE", "H5Z_SHUFFLE", "H5Z_FLETCHER32"]

H5Z_DEFLATE, H5Z_SHUFFLE, H5Z_FLETCHER32 = 1, 2, 3
#: Filter flags as h5py writes them: shuffle and deflate optional, Fletcher-32 mandatory.
_OPTIONAL, _MANDATORY = 1, 0
_U32 = struct.Struct("<I")
_FLETCHER = numcodecs.Fletcher32()


def zlib_bound(n: int) -> int:
    """zlib's ``compressBound``: the largest zlib stream of ``n`` input bytes."""
    return n + (n >> 12) + (n >> 14) + (n >> 25) + 13


Filter = tuple[int, int, list[int]]


@dataclass(frozen=True)
class Recipe:
    """How one dataset's stored chunks become the bytes HDF5 reads.

    ``filters``: the pipeline to declare (``(id, flags, client values)``, write
    order). ``deflate``: ``"gzip"`` (reframed), ``"zlib"`` (as stored) or None.
    ``checksum``: the last codec when it is a checksum, ``"crc32c"`` (swapped
    for Fletcher-32) or ``"fletcher32"`` (kept; recomputed over the padded
    stream after a deflate), else None. ``inner_size``: the bytes entering the
    deflate (or the checksum), ``unit_size``: a served chunk's size."""

    filters: tuple[Filter, ...]
    deflate: str | None
    level: int
    checksum: str | None
    inner_size: int
    unit_size: int

    @property
    def exact(self) -> bool:
        """True if a stored chunk is served at its own size (no deflate)."""
        return self.deflate is None

    @property
    def identical(self) -> bool:
        """True if the served bytes are the stored object's bytes."""
        return self.deflate is None and self.checksum != "crc32c"

    def convert(self, stored: bytes) -> bytes:
        """The unit kept for one stored chunk: the served bytes for exact
        recipes; for a deflate, the zlib stream (plus the 4-byte trailer when a
        checksum follows), which ``slice`` pads to ``unit_size``.

        CorruptData when the stored checksum does not match, the chunk has the
        wrong size, or its deflate data is damaged."""
        if self.identical:
            if len(stored) != self.unit_size:
                raise CorruptData(f"holds {len(stored)} bytes, expected {self.unit_size}")
            return stored
        body = _strip_checksum(stored, self.checksum) if self.checksum else stored
        if self.deflate is None:
            if len(body) != self.inner_size:
                raise CorruptData(f"holds {len(body)} bytes before its checksum, expected {self.inner_size}")
            return body + fletcher32(body)
        stream = gzip_to_zlib(body) if self.deflate == "gzip" else body
        room = self.unit_size - (4 if self.checksum else 0)
        if len(stream) > room:
            stream = _deflate_again(stream, self.level)
        if not self.checksum:
            return stream
        return stream + fletcher32(stream + bytes(room - len(stream)))

    def slice(self, unit: bytes, lo: int, hi: int) -> bytes:
        """Bytes ``[lo, hi)`` of the served chunk whose kept unit is ``unit``."""
        if self.deflate is None or not self.checksum:
            return _padded(unit, lo, hi)
        cut = self.unit_size - 4
        out = _padded(unit[:-4], lo, min(hi, cut)) if lo < cut else b""
        if hi > cut:
            out += unit[-4:][max(0, lo - cut):hi - cut]
        return out


def fletcher32(data: bytes | memoryview) -> bytes:
    """HDF5's Fletcher-32 trailer of ``data`` (numcodecs computes HDF5's checksum)."""
    return bytes(_FLETCHER.encode(data)[-4:])


def _strip_checksum(stored: bytes, checksum: str) -> bytes:
    if checksum == "crc32c":
        if len(stored) < 4:
            raise CorruptData("is too short for its crc32c checksum")
        body = memoryview(stored)[:-4]
        if _crc32c.crc32c(body) != _U32.unpack_from(stored, len(stored) - 4)[0]:
            raise CorruptData("crc32c checksum mismatch")
        return bytes(body)
    try:
        return bytes(_FLETCHER.decode(stored))
    except RuntimeError as exc:  # numcodecs reports a Fletcher-32 mismatch so
        raise CorruptData(f"fletcher32 checksum mismatch: {exc}") from exc


def _deflate_again(stream: bytes, level: int) -> bytes:
    try:
        data = zlib.decompress(stream)
    except zlib.error as exc:
        raise CorruptData(f"deflate data cannot be decompressed: {exc}") from exc
    return zlib.compress(data, level)


def _padded(data: bytes, lo: int, hi: int) -> bytes:
    if hi <= len(data):
        return data[lo:hi]
    return data[lo:hi] + bytes(hi - max(lo, len(data)))


def recipe_for(codecs: Sequence[dict[str, Any]], itemsize: int, raw_size: int) -> Recipe | None:
    """The pass-through recipe for an array's bytes->bytes codecs (those after
    ``bytes``), or None when HDF5 has no filters making the same bytes.

    ``itemsize`` is the HDF5 type's size, ``raw_size`` a chunk's bytes."""
    names = [c.get("name") for c in codecs]
    confs = [c.get("configuration") or {} for c in codecs]
    filters: list[Filter] = []
    i = 0
    size = raw_size
    if i < len(names) and names[i] == "numcodecs.shuffle":
        if int(confs[i].get("elementsize", 4)) != itemsize:
            return None
        filters.append((H5Z_SHUFFLE, _OPTIONAL, [itemsize]))
        i += 1
    if i + 1 < len(names) and names[i] == "numcodecs.fletcher32" and names[i + 1] in ("gzip", "numcodecs.zlib"):
        filters.append((H5Z_FLETCHER32, _MANDATORY, []))
        size += 4
        i += 1
    deflate: str | None = None
    level = 0
    if i < len(names) and names[i] in ("gzip", "numcodecs.zlib"):
        deflate = "gzip" if names[i] == "gzip" else "zlib"
        level = int(confs[i].get("level", 5 if deflate == "gzip" else 1))
        filters.append((H5Z_DEFLATE, _OPTIONAL, [level]))
        i += 1
    checksum: str | None = None
    if i < len(names) and names[i] in ("crc32c", "numcodecs.fletcher32"):
        checksum = "crc32c" if names[i] == "crc32c" else "fletcher32"
        filters.append((H5Z_FLETCHER32, _MANDATORY, []))
        i += 1
    if i != len(names):
        return None
    unit = zlib_bound(size) if deflate else size
    return Recipe(tuple(filters), deflate, level, checksum, size, unit + (4 if checksum else 0))
