"""The object record format of LocalStore: the body, its checksums, its metadata.

One object is one record, either a whole file (``objects/HASH``) or a slice of a
pack file (``packs/ID``, records back to back; see ``local.pack``)::

    +-------------------+----------------------+---------------------+-------------------+
    | body (size bytes) | sums (8 x n bytes)   | meta (meta_len)     | footer (16 bytes) |
    +-------------------+----------------------+---------------------+-------------------+

- ``body`` starts at the record's first byte (offset 0 of an object file, ``base``
  in a pack), so a byte range of the object is a byte range of the file shifted by
  ``base`` (the server can ``sendfile`` it directly).
- ``sums`` (version 2): the XXH3-64 digest of each ``block``-byte block of the
  body, 8 bytes little-endian each, ``n = ceil(size / block)`` of them
  (``local.sums``). Absent (``block`` 0) in records copied from a version-1
  record, whose body is then checked against its MD5 ETag instead.
- ``meta`` is compact JSON (ASCII, non-ASCII characters escaped): ``{"name",
  "size", "etag", "timestamp", "content_type", "metadata", "system"}`` with the
  meaning of ``ObjectInfo``, and in version 2 ``"block"`` (bytes per checksummed
  block; omitted when 0) and, in a quarantine stub only, ``"quarantined"``.
- ``footer`` is ``struct "<4sIII"``: the magic ``b"SSWO"``, the format version,
  ``meta_len`` and the CRC-32 of ``meta``.

Versions: 1 (no ``sums``; the body is checked against its MD5 ETag on whole
reads, when the ETag is known) is still read; 2 is written. A record of an
unknown version raises CorruptData without being called damaged (a newer
sciswift wrote it).

A **quarantine stub** (version 2) is the record LocalStore puts in place of an
object found damaged: no body, no sums, the damaged version's metadata (``size``
is the lost body's) and ``"quarantined": {"why", "at", "copy"}`` (what was wrong,
when, and where in the container directory the damaged record was set aside).
Reading one raises ``Quarantined`` (a CorruptData), never NotFound.

The metadata travels with the bytes in one file, so one ``rename`` replaces both
atomically. Metadata comes after the body because the ETag (MD5) is only known
once a streamed body has been written. A record is accepted only if the footer's
magic, version and CRC match, the JSON names the object asked for, and the
record's length is what its metadata adds up to: a truncated or damaged record
raises ``Damaged`` (a CorruptData), never returns garbage. Body bytes are checked
against their block digests by every read (``read_whole``, ``read_whole_into``,
``read_span``, ``FileReader``) and by ``check_span``; a mismatch raises Damaged
before any byte of the damaged block is returned. Every function below reads
the record ``[base, base + length)`` of an open file; ``base`` is 0 and
``length`` the file size for object files.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sciswift.errors import CorruptData, Quarantined
from sciswift.store.base import ObjectReader
from sciswift.store.local.sums import BLOCK, SUM_SIZE, block_sums, first_bad_block, pread_into, sums_size
from sciswift.store.types import ByteRange, ObjectInfo

__all__ = [
    "LAZY_ETAG",
    "Damaged",
    "Record",
    "body_md5",
    "check_span",
    "FOOTER_SIZE",
    "encode_trailer",
    "stub_trailer",
    "read_record",
    "live",
    "quarantined_error",
    "read_info",
    "read_info_ending_at",
    "read_span",
    "read_whole",
    "read_whole_into",
    "read_part_into",
    "read_body",
    "pread_exact",
    "FileReader",
    "WHOLE_READ_LIMIT",
]

_FOOTER = struct.Struct("<4sIII")
FOOTER_SIZE = _FOOTER.size
_MAGIC = b"SSWO"
_VERSION = 2
_READABLE = (1, 2)
# A file up to this size is read with one read() call (body and trailer at once);
# larger files get a positioned read of their tail first.
WHOLE_READ_LIMIT = 256 << 10
# Most trailers (name <= 1 KiB, metadata <= 4 KiB) fit in one tail read of this size.
_TAIL_GUESS = 8192
# os.read/os.pread move at most this much per call on Linux.
_MAX_IO = 0x7FFFF000
# check_span reads this much at a time into one reused buffer, which stays in
# the CPU cache while it is hashed: a cached 16 MiB object is checked in 1.1 ms,
# less than one 16 MiB read into a fresh buffer takes (1.7-2.3 ms). Mapping the
# file would save the copy (0.7 ms) but turns a disk error into SIGBUS.
_CHECK_STEP = 1 << 20


LAZY_ETAG = ""
"""The ETag recorded for a body whose MD5 has not been computed yet (batched puts on
non-durable stores); LocalStore computes it when an ETag is first asked for."""


class Damaged(CorruptData):
    """A record that fails its checks: truncated, its footer or metadata damaged,
    or body bytes that do not match their checksum. LocalStore quarantines the
    object when a read finds one. ``why`` says what is wrong, without the
    object's name."""

    def __init__(self, message: str, subject: str | None = None, why: str | None = None) -> None:
        super().__init__(message, subject)
        self.why = why or message


class Record(NamedTuple):
    """One decoded record: ``info``, and where its parts are in the file. (A
    named tuple: one is made per read, and it is made faster than a dataclass.)"""

    info: ObjectInfo
    version: int
    #: offset of the body in the file
    base: int
    #: bytes of body stored (``info.size``; 0 in a quarantine stub)
    body_len: int
    #: bytes per checksummed block; 0 when the record has no block sums
    block: int = 0
    #: the quarantine note of a stub (None for an object's own record)
    note: Mapping[str, Any] | None = None
    #: the whole record, when reading its metadata read all of it (small
    #: objects): readers then need no other read
    whole: bytes | None = None

    @property
    def sums_at(self) -> int:
        """File offset of the block digests."""
        return self.base + self.body_len

    @property
    def md5_checkable(self) -> bool:
        """No block sums, but a known MD5 ETag (whole reads are checked against it)."""
        return not self.block and self.info.etag != LAZY_ETAG


def body_md5(fd: int, size: int, base: int = 0, rec: Record | None = None, subject: str = "") -> str:
    """MD5 hex digest of the ``size`` bytes at ``base`` of the open file ``fd``;
    with ``rec`` (the record they are the body of), each block is also checked
    against its digest on the way (Damaged on a mismatch: an ETag is never
    computed from damaged bytes)."""
    h = hashlib.md5()
    step = 8 << 20
    buf = memoryview(bytearray(min(step, max(size, 1))))
    pos = 0
    while pos < size:
        n = min(step, size - pos)
        got = pread_into(fd, buf[:n], base + pos)
        if got != n:
            raise damaged(subject, "body is shorter on disk than its metadata says")
        if rec is not None and rec.block:
            _check_blocks(fd, rec, pos, buf[:n], subject)
        h.update(buf[:n])
        pos += n
    return h.hexdigest()


def _meta_json(info: ObjectInfo, extra: Mapping[str, Any]) -> bytes:
    return json.dumps(
        {
            "name": info.name,
            "size": info.size,
            "etag": info.etag,
            "timestamp": info.timestamp,
            "content_type": info.content_type,
            "metadata": info.metadata,
            "system": info.system,
            **extra,
        },
        separators=(",", ":"),
    ).encode("ascii")


def _with_footer(meta: bytes) -> bytes:
    return meta + _FOOTER.pack(_MAGIC, _VERSION, len(meta), zlib.crc32(meta))


def encode_trailer(
    info: ObjectInfo, body: bytes | bytearray | memoryview | None = None, *, sums: bytes | None = None,
    block: int = BLOCK,
) -> bytes:
    """The bytes that follow the body of ``info`` in its record: the block digests
    (of ``body``, or ``sums`` already computed in blocks of ``block``), the
    metadata and the footer. ``block=0`` (with no sums) writes a record without
    digests (a copy of a version-1 record, checked by its MD5 ETag)."""
    if sums is None:
        sums = block_sums(body, block) if block and body is not None else b""
    if len(sums) != sums_size(info.size, block):
        raise ValueError(f"{len(sums)} bytes of block sums for a body of {info.size} bytes")
    return sums + _with_footer(_meta_json(info, {"block": block} if block else {}))


def stub_trailer(info: ObjectInfo, why: str, copy: str) -> bytes:
    """The whole record (it has no body) of a quarantine stub for the damaged
    version ``info``; ``copy`` is where the damaged record was set aside
    (relative to the container directory)."""
    note = {"why": why, "at": time.time(), "copy": copy}
    return _with_footer(_meta_json(info, {"quarantined": note}))


def damaged(subject: str, why: str) -> Damaged:
    return Damaged(f"object {subject} is corrupt on disk: {why}", subject, why)


def quarantined_error(rec: Record, subject: str) -> Quarantined:
    """The error a read of the quarantine stub ``rec`` raises."""
    note = rec.note or {}
    at = note.get("at")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at)) if isinstance(at, (int, float)) else "earlier"
    return Quarantined(
        f"object {subject} is quarantined: it was found damaged on disk ({note.get('why', 'unknown damage')}) "
        f"at {when} and set aside as {note.get('copy', '?')} in its container's directory; its data is "
        "lost here: restore it (put it again) or delete it",
        subject,
    )


def _decode_meta(meta: bytes, name: str | None, length: int, subject: str, version: int, base: int,
                 whole: bytes | None = None, doc: Any = None) -> Record:
    """The record whose metadata is ``meta`` (``doc``: its JSON, already parsed)."""
    try:
        d: dict[str, Any] = json.loads(meta) if doc is None else doc
        info = ObjectInfo(
            name=d["name"],
            size=int(d["size"]),
            etag=d["etag"],
            timestamp=float(d["timestamp"]),
            content_type=d["content_type"],
            metadata=dict(d["metadata"]),
            system=dict(d["system"]),
        )
        block = int(d.get("block", 0)) if version >= 2 else 0
        note = d.get("quarantined") if version >= 2 else None
        if note is not None and not isinstance(note, dict):
            raise TypeError("quarantine note is not an object")
    except (ValueError, KeyError, TypeError) as e:
        raise damaged(subject, f"unreadable metadata ({e})") from None
    if name is not None and info.name != name:
        raise damaged(subject, f"file holds object {info.name!r}")
    body_len = 0 if note is not None else info.size
    if block < 0 or info.size < 0:
        raise damaged(subject, "negative size or block size in its metadata")
    expected = body_len + sums_size(body_len, block) + len(meta) + FOOTER_SIZE
    if expected != length:
        have = length - len(meta) - FOOTER_SIZE - sums_size(body_len, block)
        raise damaged(subject, f"body is {have} bytes, metadata says {body_len}")
    return Record(info, version, base, body_len, block, note, whole if whole is not None and len(whole) == length else None)


def _meta_len(tail: bytes | bytearray | memoryview, file_size: int, subject: str) -> tuple[int, int, int]:
    if file_size < FOOTER_SIZE or len(tail) < FOOTER_SIZE:
        raise damaged(subject, f"file is only {file_size} bytes")
    magic, version, meta_len, crc = _FOOTER.unpack(tail[-FOOTER_SIZE:])
    if magic != _MAGIC:
        raise damaged(subject, "no object footer (truncated or not a sciswift object file)")
    if version not in _READABLE:
        raise CorruptData(
            f"object {subject} is stored in record format version {version}, which this sciswift cannot read "
            "(written by a newer version?)",
            subject,
        )
    if meta_len > file_size - FOOTER_SIZE:
        raise damaged(subject, "metadata length exceeds the file")
    return meta_len, crc, version


def _check_crc(meta: bytes | bytearray | memoryview, crc: int, subject: str) -> None:
    if zlib.crc32(meta) != crc:
        raise damaged(subject, "metadata checksum mismatch")


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


def _tail_meta(fd: int, end: int, limit: int, subject: str) -> tuple[bytes, int, bytes]:
    """The checked metadata, the format version and the bytes read (the tail) of
    the record ending at ``end`` of ``fd``, which starts no earlier than
    ``limit`` bytes before ``end``."""
    want = min(limit, _TAIL_GUESS)
    tail = os.pread(fd, want, end - want)
    if len(tail) != want:
        raise damaged(subject, f"record ends past the end of its file ({len(tail)} of {want} tail bytes)")
    meta_len, crc, version = _meta_len(tail, limit, subject)
    need = meta_len + FOOTER_SIZE
    if need > len(tail):
        tail = os.pread(fd, need, end - need)
        if len(tail) != need:
            raise damaged(subject, "record ends past the end of its file")
    meta = bytes(tail[len(tail) - need : len(tail) - FOOTER_SIZE])
    _check_crc(meta, crc, subject)
    return meta, version, tail


def read_record(fd: int, length: int, name: str | None, subject: str, base: int = 0) -> Record:
    """The record of ``length`` bytes at ``base`` of ``fd`` (its metadata read and
    checked; the body is not read). ``name`` is the object the caller expects
    (None: any, as when scanning files). A quarantine stub is returned as such."""
    meta, version, tail = _tail_meta(fd, base + length, length, subject)
    return _decode_meta(meta, name, length, subject, version, base, tail)


def live(rec: Record, subject: str) -> Record:
    """``rec``, unless it is a quarantine stub (then Quarantined)."""
    if rec.note is not None:
        raise quarantined_error(rec, subject)
    return rec


def read_info(fd: int, length: int, name: str | None, subject: str, base: int = 0) -> ObjectInfo:
    """The ObjectInfo stored in the record of ``length`` bytes at ``base`` of ``fd``
    (a quarantine stub's too: recovery treats a stub as an ordinary version)."""
    return read_record(fd, length, name, subject, base).info


def read_info_ending_at(fd: int, end: int, subject: str) -> tuple[int, ObjectInfo]:
    """``(base, info)`` of the record that ends at offset ``end`` of ``fd`` (walking a
    pack file backwards, where records are back to back)."""
    meta, version, _tail = _tail_meta(fd, end, end, subject)
    try:
        d = json.loads(meta)
        size = int(d["size"])
        block = int(d.get("block", 0)) if version >= 2 else 0
        body_len = 0 if version >= 2 and d.get("quarantined") is not None else size
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise damaged(subject, f"unreadable metadata ({e})") from None
    length = body_len + sums_size(body_len, block) + len(meta) + FOOTER_SIZE
    if not 0 <= size or length > end:
        raise damaged(subject, f"record of {length} bytes does not fit before offset {end}")
    return end - length, _decode_meta(meta, None, length, subject, version, end - length).info


def _verify_whole(rec: Record, body: bytes | bytearray | memoryview, sums: bytes | bytearray | memoryview,
                  subject: str) -> None:
    """Damaged unless ``body`` (the whole body of ``rec``) matches ``sums`` (its
    digests) or, for a record without digests, its MD5 ETag."""
    if rec.block:
        bad = first_bad_block(body, sums, rec.block)
        if bad is not None:
            raise _bad_block(rec, bad, subject)
    elif rec.md5_checkable and hashlib.md5(body).hexdigest() != rec.info.etag:
        raise damaged(subject, "body does not match its ETag (MD5)")


def _bad_block(rec: Record, index: int, subject: str) -> Damaged:
    return _bad_block_at(rec.block, rec.body_len, index, subject)


def _bad_block_at(block: int, body_len: int, index: int, subject: str) -> Damaged:
    start = index * block
    stop = min(start + block, body_len)
    return damaged(subject, f"body bytes {start}-{stop - 1} do not match their checksum")


def _check_blocks(fd: int, rec: Record, at: int, data: bytes | bytearray | memoryview, subject: str) -> None:
    """Damaged unless ``data`` (body bytes from ``at``, a block boundary; whole
    blocks, or up to the end of the body) matches its stored digests."""
    first = at // rec.block
    count = -(-len(data) // rec.block)
    sums = os.pread(fd, count * SUM_SIZE, rec.sums_at + first * SUM_SIZE)
    bad = first_bad_block(data, sums, rec.block)
    if bad is not None:
        raise _bad_block(rec, first + bad, subject)


def read_whole(fd: int, length: int, name: str, subject: str, base: int = 0) -> tuple[Record, bytes]:
    """Record and checked body of the record of ``length`` bytes at ``base`` of
    ``fd`` (for records up to WHOLE_READ_LIMIT: one read call). Quarantined for a
    stub."""
    buf = os.pread(fd, length, base)
    if len(buf) != length:
        raise damaged(subject, "file changed size while being read")
    meta_len, crc, version = _meta_len(buf, length, subject)
    meta = memoryview(buf)[length - FOOTER_SIZE - meta_len : length - FOOTER_SIZE]
    _check_crc(meta, crc, subject)
    rec = live(_decode_meta(bytes(meta), name, length, subject, version, base), subject)
    view = memoryview(buf)
    _verify_whole(rec, view[: rec.body_len], view[rec.body_len : rec.body_len + sums_size(rec.body_len, rec.block)],
                  subject)
    return rec, buf[: rec.body_len]


def read_whole_into(
    fd: int, length: int, name: str, subject: str, base: int, buf: memoryview
) -> Record | None:
    """Read the body of the record of ``length`` bytes at ``base`` of ``fd`` into
    ``buf`` if it is exactly ``len(buf)`` bytes long, with one ``preadv`` for body
    and trailer, and check it; its record, or None when the body has another size
    (then ``buf`` holds garbage and the caller reads the object another way)."""
    tail_len = length - len(buf)
    if tail_len <= FOOTER_SIZE:
        return None
    tail = bytearray(tail_len)
    if os.preadv(fd, [buf, tail], base) != length:
        raise damaged(subject, "file changed size while being read")
    got = _sized_trailer(tail, length, name, subject, base)
    if got is None:
        return None
    rec, sums_len = got
    _verify_whole(rec, buf, memoryview(tail)[:sums_len], subject)
    return rec


def _sized_trailer(tail: bytes | bytearray, length: int, name: str, subject: str,
                   base: int) -> tuple[Record, int] | None:
    """The live record of ``length`` bytes at ``base`` whose trailer (the record
    after its body) is ``tail``, and the length of its block sums, or None when
    the body is not the size ``length - len(tail)`` (the caller's guess)."""
    tail_len = len(tail)
    meta_len, crc, version = _meta_len(tail, length, subject)
    if meta_len > tail_len - FOOTER_SIZE:
        return None
    meta = bytes(tail[tail_len - FOOTER_SIZE - meta_len : tail_len - FOOTER_SIZE])
    _check_crc(meta, crc, subject)
    d: Any = None
    try:
        d = json.loads(meta)
        sums_len = sums_size(int(d["size"]), int(d.get("block", 0)) if version >= 2 else 0)
    except (ValueError, KeyError, TypeError, AttributeError):
        sums_len = -1  # _decode_meta says what is wrong
        d = None
    if sums_len >= 0 and meta_len + sums_len != tail_len - FOOTER_SIZE:
        return None
    return live(_decode_meta(meta, name, length, subject, version, base, doc=d), subject), sums_len


_BLOCK_KEY = b',"block":'


def _trailer_block(trailer: bytes, length: int, name: str, size: int, subject: str, base: int) -> int | None:
    """The block size of the live record of ``length`` bytes at ``base`` whose
    trailer is ``trailer``, if its body is ``size`` bytes and has digests; None
    (or 0) otherwise. Damaged, Quarantined as ``_sized_trailer``.

    Most records are checked without parsing their metadata: ``_meta_json``
    writes ``name`` first, ``size`` second and ``block`` last (a quarantine
    stub ends with its note instead), so once the CRC matches, a document that
    starts with this name and size and ends with a block size says all a read
    of the body needs (JSON and the ObjectInfo cost ~8 us a record, a quarter of
    reading 64 KiB). Anything else takes ``_sized_trailer``."""
    tail_len = len(trailer)
    meta_len, crc, version = _meta_len(trailer, length, subject)
    if meta_len > tail_len - FOOTER_SIZE:
        return None
    meta = trailer[tail_len - FOOTER_SIZE - meta_len : tail_len - FOOTER_SIZE]
    if version == _VERSION and meta.startswith(b'{"name":%s,"size":%d,' % (json.dumps(name).encode("ascii"), size)):
        cut = meta.rfind(_BLOCK_KEY)
        digits = meta[cut + len(_BLOCK_KEY) : -1]
        if cut > 0 and meta.endswith(b"}") and digits.isdigit() and digits[:1] != b"0":
            block = int(digits)
            if meta_len + sums_size(size, block) == tail_len - FOOTER_SIZE:
                _check_crc(meta, crc, subject)
                return block
    got = _sized_trailer(trailer, length, name, subject, base)
    return None if got is None else got[0].block


def read_part_into(
    fd: int, length: int, name: str, subject: str, base: int, size: int, start: int, stop: int,
    scratch: memoryview, known: tuple[bytes, int] | None = None,
) -> tuple[memoryview, bytes, int] | None:
    """Body bytes ``start .. stop-1`` of the record of ``length`` bytes at ``base``
    of ``fd``, if its body is ``size`` bytes (the caller's guess) and has block
    digests: the blocks holding them are read into ``scratch`` and checked
    against their digests. Returns ``(view, trailer, block)``: the bytes (a part
    of ``scratch``, valid until it is reused), the record's trailer (what follows
    the body: digests, metadata, footer) and its block size. None, with nothing
    read but the trailer, when the body has another size or no digests, or
    ``scratch`` is too small for the blocks (then the caller reads the object
    another way). Damaged if anything fails its checks; Quarantined for a
    quarantine stub.

    ``known``: ``(trailer, block)`` of this record as an earlier call returned
    them (its footer, metadata and name already checked), for a record that
    cannot have changed since (a pack record): then only the blocks are read,
    and checked against the digests in that trailer."""
    tail_len = length - size
    if tail_len <= FOOTER_SIZE or not 0 <= start < stop <= size:
        return None
    if known is not None and len(known[0]) == tail_len:
        trailer, block = known
    else:
        trailer = os.pread(fd, tail_len, base + size)
        if len(trailer) != tail_len:
            raise damaged(subject, "file changed size while being read")
        found = _trailer_block(trailer, length, name, size, subject, base)
        if not found:
            return None
        block = found
    first = start // block
    end = min(-(-stop // block) * block, size)
    span = end - first * block
    if span > len(scratch):
        return None
    view = scratch[:span]
    if os.preadv(fd, [view], base + first * block) != span and pread_into(fd, view, base + first * block) != span:
        raise damaged(subject, "body is shorter on disk than its metadata says")
    bad = first_bad_block(view, trailer[first * SUM_SIZE : -(-end // block) * SUM_SIZE], block)
    if bad is not None:
        raise _bad_block_at(block, size, first + bad, subject)
    return view[start - first * block : stop - first * block], trailer, block


def read_span(fd: int, rec: Record, start: int, stop: int, subject: str) -> bytes:
    """Body bytes ``start .. stop-1`` of ``rec``, checked: the whole blocks around
    them are read and compared with their digests (a record without digests is
    checked against its MD5 ETag when the span is the whole body, and not at
    all otherwise)."""
    rec = live(rec, subject)
    if not rec.block:
        data = pread_exact(fd, stop - start, rec.base + start)
        if len(data) != stop - start:
            raise damaged(subject, "body is shorter on disk than its metadata says")
        if start == 0 and stop == rec.body_len and rec.md5_checkable:
            _verify_whole(rec, data, b"", subject)
        return data
    first = start - start % rec.block
    last = min(-(-stop // rec.block) * rec.block, rec.body_len)
    data = pread_exact(fd, last - first, rec.base + first)
    if len(data) != last - first:
        raise damaged(subject, "body is shorter on disk than its metadata says")
    _check_blocks(fd, rec, first, data, subject)
    if first == start and last == stop:
        return data
    return data[start - first : stop - first]


def check_span(fd: int, rec: Record, start: int, stop: int, subject: str) -> None:
    """Damaged unless body bytes ``start .. stop-1`` of ``rec`` match their block
    digests (the blocks around them are read, a MiB at a time). A record without
    digests is checked against its MD5 ETag when the span is its whole body and
    its ETag is known; otherwise nothing can be checked and nothing is read."""
    rec = live(rec, subject)
    if stop <= start:
        return
    if not rec.block:
        if start == 0 and stop == rec.body_len and rec.md5_checkable:
            if body_md5(fd, rec.body_len, rec.base, subject=subject) != rec.info.etag:
                raise damaged(subject, "body does not match its ETag (MD5)")
        return
    pos = start - start % rec.block
    last = min(-(-stop // rec.block) * rec.block, rec.body_len)
    step = max(_CHECK_STEP - _CHECK_STEP % rec.block, rec.block)
    buf = memoryview(bytearray(min(step, last - pos)))
    while pos < last:
        n = min(len(buf), last - pos)
        if pread_into(fd, buf[:n], rec.base + pos) != n:
            raise damaged(subject, "body is shorter on disk than its metadata says")
        _check_blocks(fd, rec, pos, buf[:n], subject)
        pos += n


class FileReader(ObjectReader):
    """Reads one range of an object from its open file descriptor, checking what
    it returns (see the module docstring).

    The reader owns the descriptor: an overwrite or delete of the object meanwhile
    replaces the directory entry (or, for a packed object, the index row and then
    the pack's directory entry), not the file this reader holds, so it keeps seeing
    the version it opened. ``fileno_offset()`` offers the descriptor for sendfile,
    with the offset of ``start`` in the file (the record's ``base`` added); a
    caller that sends bytes that way checks them with ``check`` first.

    Body bytes are returned only once checked: with block digests, the blocks
    holding them are read whole and compared first; without (a version-1
    record), a read of the whole body is hashed on the way and the read that
    would return its last bytes raises instead if the MD5 is not the ETag. On a
    mismatch ``on_damage(error)`` is called (LocalStore quarantines the object
    there) and what it returns is raised.
    """

    def __init__(
        self,
        fd: int,
        rec: Record,
        start: int,
        stop: int,
        subject: str,
        on_damage: Callable[[Damaged], BaseException] | None = None,
    ) -> None:
        super().__init__()
        self._fd = fd
        self._rec = live(rec, subject)
        self._base = rec.base
        self._subject = subject
        self._on_damage = on_damage
        self.info = rec.info
        self.start = start
        self.stop = stop
        self._pos = start
        # Checked bytes read ahead (the rest of the last block read), from _pos on.
        self._ahead: memoryview = memoryview(b"")
        # A small record read whole with its metadata: checked once, then served
        # from memory (no other system call).
        self._mem: memoryview | None = memoryview(rec.whole) if rec.whole is not None else None
        self._mem_checked = False
        whole = start == 0 and stop == rec.body_len
        self._md5 = hashlib.md5() if not rec.block and whole and rec.md5_checkable else None
        # check() of a version-1 record: spans hashed in order from byte 0.
        self._check_md5 = hashlib.md5() if not rec.block and start == 0 and rec.md5_checkable else None
        self._checked_to = 0

    def fileno_offset(self) -> tuple[int, int] | None:
        return (self._fd, self._base + self.start) if not self.closed else None

    def _fail(self, e: Damaged) -> BaseException:
        return self._on_damage(e) if self._on_damage is not None else e

    def check(self, start: int, end: int) -> None:
        """See ``ObjectReader.check``: the blocks around ``start .. end-1`` are read
        (a MiB at a time) and compared with their digests. A version-1 record
        (no block digests) is hashed as spans arrive in order from the body's
        first byte, and the span that ends the body is compared with the MD5
        ETag; other spans of it cannot be checked."""
        super().check(start, end)
        try:
            if self._mem is not None:
                self._checked_mem()
            elif self._rec.block or start == 0 and end == self._rec.body_len:
                check_span(self._fd, self._rec, start, end, self._subject)
            elif self._check_md5 is not None and start == self._checked_to:
                self._md5_span(start, end)
        except Damaged as e:
            raise self._fail(e) from None

    def _md5_span(self, start: int, end: int) -> None:
        assert self._check_md5 is not None
        pos = start
        while pos < end:
            block = pread_exact(self._fd, min(_CHECK_STEP, end - pos), self._base + pos)
            if not block:
                raise damaged(self._subject, "body is shorter on disk than its metadata says")
            self._check_md5.update(block)
            pos += len(block)
        self._checked_to = end
        if end == self._rec.body_len and self._check_md5.hexdigest() != self.info.etag:
            raise damaged(self._subject, "body does not match its ETag (MD5)")

    def _checked_mem(self) -> memoryview:
        mem = self._mem
        assert mem is not None
        if not self._mem_checked:
            n = self._rec.body_len
            _verify_whole(self._rec, mem[:n], mem[n : n + sums_size(n, self._rec.block)], self._subject)
            self._mem_checked = True
        return mem

    def read(self, size: int | None = -1) -> bytes:
        left = self.stop - self._pos
        if size is None or size < 0 or size > left:
            size = left
        if size <= 0:
            return b""
        try:
            if self._mem is not None:
                data = bytes(self._checked_mem()[self._pos : self._pos + size])
            elif self._rec.block:
                data = self._read_checked(size)
            else:
                data = self._read_plain(size)
        except Damaged as e:
            raise self._fail(e) from None
        self._pos += len(data)
        return data

    def _read_plain(self, size: int) -> bytes:
        data = pread_exact(self._fd, size, self._base + self._pos)
        if len(data) != size:
            raise damaged(self._subject, "body is shorter on disk than its metadata says")
        if self._md5 is not None:
            self._md5.update(data)
            if self._pos + size == self.stop and self._md5.hexdigest() != self.info.etag:
                raise damaged(self._subject, "body does not match its ETag (MD5)")
        return data

    def _read_checked(self, size: int) -> bytes:
        pos, end = self._pos, self._pos + size
        head = b""
        if self._ahead:
            take = min(size, len(self._ahead))
            head, self._ahead = bytes(self._ahead[:take]), self._ahead[take:]
            pos += take
            if pos == end:
                return head
        block = self._rec.block
        first = pos - pos % block
        last = min(-(-end // block) * block, self._rec.body_len)
        data = pread_exact(self._fd, last - first, self._base + first)
        if len(data) != last - first:
            raise damaged(self._subject, "body is shorter on disk than its metadata says")
        _check_blocks(self._fd, self._rec, first, data, self._subject)
        view = memoryview(data)
        self._ahead = view[end - first :]
        if first == pos and last == end and not head:
            return data
        return head + bytes(view[pos - first : end - first])

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        data = self.read(min(len(view), _MAX_IO))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self._fd)
            finally:
                super().close()


def read_body(fd: int, length: int, base: int, name: str, subject: str,
              byte_range: ByteRange | None = None) -> bytes:
    """The checked body (or ``byte_range`` of it) of the object record
    ``[base, base + length)`` of ``fd`` (Damaged if it fails its checks,
    Quarantined for a quarantine stub)."""
    if byte_range is None and length <= WHOLE_READ_LIMIT:
        return read_whole(fd, length, name, subject, base)[1]
    rec = live(read_record(fd, length, name, subject, base), subject)
    start, stop = (byte_range or ByteRange()).resolve(rec.info.size)
    return read_span(fd, rec, start, stop, subject)
