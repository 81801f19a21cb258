"""Batches of small objects as tar archives, for endpoints that store an
uploaded archive's files together (``sciswift serve``: ``/info`` announces
``sciswift.batched_extract``; see ``sciswift.server.extract``).

Real Swift's bulk middleware stores an archive's files one after the other,
which is slower than the same PUTs sent concurrently, so SwiftStore batches
only where the endpoint says it pays.
"""

from __future__ import annotations

import math
import tarfile
from collections.abc import Mapping

#: The pax record of a file's MD5 (``sciswift.server.extract.ETAG_PAX``) ...
ETAG_PAX = "SCISWIFT.etag"
#: ... and of its CRC-32C (``sciswift.server.extract.CRC32C_PAX``).
CRC32C_PAX = "SCISWIFT.crc32c"

__all__ = ["BATCH_MAX_OBJECT", "ETAG_PAX", "CRC32C_PAX", "plan_batches", "tar_pieces", "tar_safe"]

#: Objects up to this size go in batches (the server batches files of up to
#: 1 MiB). To a durable ``sciswift serve`` (server and client CPU, from /proc):
#: 256 objects of 256 KiB 0.4-1.2 s and 0.22-0.32 s as PUTs, 0.21-0.32 s and
#: 0.12-0.18 s as 8 archives; 240 of 512 KB 0.8-1.2 s and 0.36-0.42 s against
#: 0.40-0.49 s and 0.25-0.28 s. 64 of 1 MiB lost in archives while each file
#: carried an MD5 and the server kept packs in its page cache; since each
#: carries a CRC-32C and large packs leave the cache: wall 0.37-0.43 s as PUTs
#: (0.18 s of client and 0.37 s of server CPU), 0.20-0.27 s as archives (0.04 s
#: and 0.26 s); over a 10 ms link (``bench.net`` bulk_write) 1052 ms / 77
#: requests -> 988 ms / 21 ...
BATCH_MAX_OBJECT = 1 << 20
#: ... of at most this many bytes or objects (the server's own batch limits).
BATCH_BYTES = 8 << 20
BATCH_COUNT = 1000


def tar_safe(name: str) -> bool:
    """Whether ``name`` survives as a tar member path unchanged: extraction
    strips a leading ``/`` or ``./``, and a trailing ``/`` would make a directory."""
    return not (name.startswith(("/", "./")) or name.endswith("/"))


def plan_batches(items: Mapping[str, bytes]) -> tuple[list[list[str]], list[str]]:
    """Split ``items`` into batches of names (for archives) and the names to send
    one by one (large or not tar-safe). The batches are about even in bytes
    (17 objects of 512 KB make two of ~4.4 MB, not one of 8 MiB and one of a
    single object, which would cost a request for one object)."""
    batchable: list[str] = []
    alone: list[str] = []
    total = 0
    for name, data in items.items():
        if len(data) > BATCH_MAX_OBJECT or not tar_safe(name):
            alone.append(name)
        else:
            batchable.append(name)
            total += len(data)
    if not batchable:
        return [], alone
    count = max(math.ceil(total / BATCH_BYTES), math.ceil(len(batchable) / BATCH_COUNT))
    target = total / count
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for name in batchable:
        n = len(items[name])
        if current and (size + n > BATCH_BYTES or len(current) >= BATCH_COUNT or size >= target):
            batches.append(current)
            current, size = [], 0
        current.append(name)
        size += n
    batches.append(current)
    return batches, alone


def tar_pieces(names: list[str], items: Mapping[str, bytes], content_types: Mapping[str, str],
               etags: Mapping[str, str] | None = None,
               crcs: Mapping[str, int] | None = None) -> tuple[list[bytes | memoryview], int]:
    """An uncompressed POSIX (pax) archive of ``names`` as the pieces to send (the
    bodies themselves, not copies) and its length. Each file carries its content
    type as the ``user.mime_type`` extended attribute (the bulk middleware's
    convention) and, from ``etags``, its MD5 as a ``SCISWIFT.etag`` record (the
    server checks it as a PUT's ``ETag``; Swift ignores it), from ``crcs`` its
    CRC-32C as a ``SCISWIFT.crc32c`` record (likewise). Written through
    tarfile into one buffer, an archive of 8 MiB cost two more copies of it
    (~5 ms of client CPU per MiB sent on this project's VM, with page faults)."""
    pieces: list[bytes | memoryview] = []
    length = 0
    for name in names:
        data = items[name]
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        pax = {"SCHILY.xattr.user.mime_type": content_types.get(name, "application/octet-stream")}
        if etags and name in etags:
            pax[ETAG_PAX] = etags[name]
        if crcs and name in crcs:
            pax[CRC32C_PAX] = f"{crcs[name]:08x}"
        info.pax_headers = pax
        header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        pad = -len(data) % tarfile.BLOCKSIZE
        pieces += [header, data, _ZEROS[:pad]] if pad else [header, data]
        length += len(header) + len(data) + pad
    pieces.append(_ZEROS[: 2 * tarfile.BLOCKSIZE])  # the end-of-archive blocks
    return pieces, length + 2 * tarfile.BLOCKSIZE


_ZEROS = bytes(2 * tarfile.BLOCKSIZE)
