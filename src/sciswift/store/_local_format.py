"""The object record format of LocalStore: the body followed by its metadata.

One object is one record, either a whole file (``objects/HASH``) or a slice of a
pack file (``packs/ID``, records back to back; see ``_local_pack``)::

    +----------------------+----------------------+------------------------------+
    | body (size bytes)    | meta (meta_len bytes)| footer (16 bytes)            |
    +----------------------+----------------------+------------------------------+

- ``body`` starts at the record's first byte (offset 0 of an object file, ``base``
  in a pack), so a byte range of the object is a byte range of the file shifted by
  ``base`` (the server can ``sendfile`` it directly).
- ``meta`` is compact JSON (ASCII, non-ASCII characters escaped): ``{"name", "size", "etag", "timestamp",
  "content_type", "metadata", "system"}`` with the meaning of ``ObjectInfo``.
- ``footer`` is ``struct "<4sIII"``: the magic ``b"SSWO"``, the format version (1),
  ``meta_len`` and the CRC-32 of ``meta``.

The metadata travels with the bytes in one file, so one ``rename`` replaces both
atomically. Metadata comes after the body because the ETag (MD5) is only known
once a streamed body has been written. A record is accepted only if the footer's
magic, version and CRC match, the JSON names the object asked for, and the body
length equals ``size``: a truncated or damaged record raises CorruptData, never
returns garbage. Every function below reads the record ``[base, base + length)``
of an open file; ``base`` is 0 and ``length`` the file size for object files.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from typing import Any

from sciswift.errors import CorruptData
from sciswift.store.base import ObjectReader
from sciswift.store.types import ObjectInfo

__all__ = [
    "LAZY_ETAG",
    "body_md5",
    "FOOTER_SIZE",
    "encode_trailer",
    "read_info",
    "read_info_ending_at",
    "read_whole",
    "read_whole_into",
    "pread_exact",
    "FileReader",
    "WHOLE_READ_LIMIT",
]

_FOOTER = struct.Struct("<4sIII")
FOOTER_SIZE = _FOOTER.size
_MAGIC = b"SSWO"
_VERSION = 1
# A file up to this size is read with one read() call (body and trailer at once);
# larger files get a positioned read of their tail first.
WHOLE_READ_LIMIT = 256 << 10
# Most trailers (name <= 1 KiB, metadata <= 4 KiB) fit in one tail read of this size.
_TAIL_GUESS = 8192
# os.read/os.pread move at most this much per call on Linux.
_MAX_IO = 0x7FFFF000


LAZY_ETAG = ""
"""The ETag recorded for a body whose MD5 has not been computed yet (batched puts on
non-durable stores); LocalStore computes it when an ETag is first asked for."""


def body_md5(fd: int, size: int, base: int = 0) -> str:
    """MD5 hex digest of the ``size`` bytes at ``base`` of the open file ``fd``."""
    h = hashlib.md5()
    pos = 0
    while pos < size:
        block = os.pread(fd, min(8 << 20, size - pos), base + pos)
        if not block:
            break
        h.update(block)
        pos += len(block)
    return h.hexdigest()


def encode_trailer(info: ObjectInfo) -> bytes:
    """The bytes that follow the body of ``info`` in its object file."""
    meta = json.dumps(
        {
            "name": info.name,
            "size": info.size,
            "etag": info.etag,
            "timestamp": info.timestamp,
            "content_type": info.content_type,
            "metadata": info.metadata,
            "system": info.system,
        },
        separators=(",", ":"),
    ).encode("ascii")
    return meta + _FOOTER.pack(_MAGIC, _VERSION, len(meta), zlib.crc32(meta))


def _corrupt(subject: str, why: str) -> CorruptData:
    return CorruptData(f"object {subject} is corrupt on disk: {why}", subject)


def _decode_meta(meta: bytes, name: str | None, file_size: int, subject: str) -> ObjectInfo:
    try:
        d: dict[str, Any] = json.loads(meta)
        info = ObjectInfo(
            name=d["name"],
            size=int(d["size"]),
            etag=d["etag"],
            timestamp=float(d["timestamp"]),
            content_type=d["content_type"],
            metadata=dict(d["metadata"]),
            system=dict(d["system"]),
        )
    except (ValueError, KeyError, TypeError) as e:
        raise _corrupt(subject, f"unreadable metadata ({e})") from None
    if name is not None and info.name != name:
        raise _corrupt(subject, f"file holds object {info.name!r}")
    if info.size != file_size - len(meta) - FOOTER_SIZE:
        raise _corrupt(subject, f"body is {file_size - len(meta) - FOOTER_SIZE} bytes, metadata says {info.size}")
    return info


def _meta_len(tail: bytes | bytearray | memoryview, file_size: int, subject: str) -> tuple[int, int]:
    if file_size < FOOTER_SIZE or len(tail) < FOOTER_SIZE:
        raise _corrupt(subject, f"file is only {file_size} bytes")
    magic, version, meta_len, crc = _FOOTER.unpack(tail[-FOOTER_SIZE:])
    if magic != _MAGIC:
        raise _corrupt(subject, "no object footer (truncated or not a sciswift object file)")
    if version != _VERSION:
        raise _corrupt(subject, f"unknown object file version {version}")
    if meta_len > file_size - FOOTER_SIZE:
        raise _corrupt(subject, "metadata length exceeds the file")
    return meta_len, crc


def _check_crc(meta: bytes, crc: int, subject: str) -> None:
    if zlib.crc32(meta) != crc:
        raise _corrupt(subject, "metadata checksum mismatch")


def pread_exact(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset`` (fewer only at end of file)."""
    if size <= _MAX_IO:
        return os.pread(fd, size, offset)
    parts = []
    while size > 0:
        block = os.pread(fd, min(size, _MAX_IO), offset)
        if not block:
            break
        parts.append(block)
        size -= len(block)
        offset += len(block)
    return b"".join(parts)


def _tail_meta(fd: int, end: int, limit: int, subject: str) -> bytes:
    """The checked metadata of the record ending at ``end`` of ``fd``, which starts
    no earlier than ``limit`` bytes before ``end``."""
    want = min(limit, _TAIL_GUESS)
    tail = os.pread(fd, want, end - want)
    if len(tail) != want:
        raise _corrupt(subject, f"record ends past the end of its file ({len(tail)} of {want} tail bytes)")
    meta_len, crc = _meta_len(tail, limit, subject)
    need = meta_len + FOOTER_SIZE
    if need > len(tail):
        tail = os.pread(fd, need, end - need)
    meta = bytes(tail[len(tail) - need : len(tail) - FOOTER_SIZE])
    _check_crc(meta, crc, subject)
    return meta


def read_info(fd: int, length: int, name: str | None, subject: str, base: int = 0) -> ObjectInfo:
    """The ObjectInfo stored in the record of ``length`` bytes at ``base`` of ``fd``.

    ``name`` is the object the caller expects (None: any, as when scanning files).
    """
    meta = _tail_meta(fd, base + length, length, subject)
    return _decode_meta(meta, name, length, subject)


def read_info_ending_at(fd: int, end: int, subject: str) -> tuple[int, ObjectInfo]:
    """``(base, info)`` of the record that ends at offset ``end`` of ``fd`` (walking a
    pack file backwards, where records are back to back)."""
    meta = _tail_meta(fd, end, end, subject)
    try:
        size = int(json.loads(meta)["size"])
    except (ValueError, KeyError, TypeError) as e:
        raise _corrupt(subject, f"unreadable metadata ({e})") from None
    length = size + len(meta) + FOOTER_SIZE
    if not 0 <= size <= end - len(meta) - FOOTER_SIZE:
        raise _corrupt(subject, f"record of {length} bytes does not fit before offset {end}")
    return end - length, _decode_meta(meta, None, length, subject)


def read_whole(fd: int, length: int, name: str, subject: str, base: int = 0) -> tuple[ObjectInfo, bytes]:
    """Info and body of the record of ``length`` bytes at ``base`` of ``fd`` (for
    records up to WHOLE_READ_LIMIT: one read call)."""
    buf = os.pread(fd, length, base)
    if len(buf) != length:
        raise _corrupt(subject, "file changed size while being read")
    meta_len, crc = _meta_len(buf, length, subject)
    body_end = length - FOOTER_SIZE - meta_len
    meta = buf[body_end : length - FOOTER_SIZE]
    _check_crc(meta, crc, subject)
    info = _decode_meta(meta, name, length, subject)
    return info, buf[:body_end]


def read_whole_into(
    fd: int, length: int, name: str, subject: str, base: int, buf: memoryview
) -> ObjectInfo | None:
    """Read the body of the record of ``length`` bytes at ``base`` of ``fd`` into
    ``buf`` if it is exactly ``len(buf)`` bytes long, with one ``preadv`` for body
    and trailer; its info, or None when the body has another size (then ``buf``
    holds garbage and the caller reads the object another way)."""
    tail_len = length - len(buf)
    if tail_len <= FOOTER_SIZE:
        return None
    tail = bytearray(tail_len)
    if os.preadv(fd, [buf, tail], base) != length:
        raise _corrupt(subject, "file changed size while being read")
    meta_len, crc = _meta_len(tail, length, subject)
    if meta_len != tail_len - FOOTER_SIZE:
        return None
    meta = bytes(tail[:meta_len])
    _check_crc(meta, crc, subject)
    return _decode_meta(meta, name, length, subject)


class FileReader(ObjectReader):
    """Reads one range of an object from its open file descriptor.

    The reader owns the descriptor: an overwrite or delete of the object meanwhile
    replaces the directory entry (or, for a packed object, the index row and then
    the pack's directory entry), not the file this reader holds, so it keeps seeing
    the version it opened. ``fileno_offset()`` offers the descriptor for sendfile,
    with the offset of ``start`` in the file (the record's ``base`` added).
    """

    def __init__(self, fd: int, info: ObjectInfo, start: int, stop: int, base: int = 0) -> None:
        super().__init__()
        self._fd = fd
        self._base = base
        self.info = info
        self.start = start
        self.stop = stop
        self._pos = start

    def fileno_offset(self) -> tuple[int, int] | None:
        return (self._fd, self._base + self.start) if not self.closed else None

    def read(self, size: int | None = -1) -> bytes:
        left = self.stop - self._pos
        if size is None or size < 0 or size > left:
            size = left
        if size <= 0:
            return b""
        block = pread_exact(self._fd, size, self._base + self._pos)
        self._pos += len(block)
        return block

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        n = min(len(view), self.stop - self._pos, _MAX_IO)
        if n <= 0:
            return 0
        got = os.preadv(self._fd, [view[:n]], self._base + self._pos)
        self._pos += got
        return got

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self._fd)
            finally:
                super().close()
