"""Batches of small objects as tar archives, for endpoints that store an
uploaded archive's files together (``sciswift serve``: ``/info`` announces
``sciswift.batched_extract``; see ``sciswift.server.extract``).

Real Swift's bulk middleware stores an archive's files one after the other,
which is slower than the same PUTs sent concurrently, so SwiftStore batches
only where the endpoint says it pays.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping

__all__ = ["BATCH_MAX_OBJECT", "plan_batches", "tar_of", "tar_safe"]

#: Objects up to this size go in batches (above it the transfer, not the
#: request, is most of the cost, and plain PUTs run more at once) ...
BATCH_MAX_OBJECT = 64 << 10
#: ... of at most this many bytes or objects (the server's own batch limits).
BATCH_BYTES = 8 << 20
BATCH_COUNT = 1000


def tar_safe(name: str) -> bool:
    """Whether ``name`` survives as a tar member path unchanged: extraction
    strips a leading ``/`` or ``./``, and a trailing ``/`` would make a directory."""
    return not (name.startswith(("/", "./")) or name.endswith("/"))


def plan_batches(items: Mapping[str, bytes]) -> tuple[list[list[str]], list[str]]:
    """Split ``items`` into batches of names (for archives) and the names to send
    one by one (large or not tar-safe)."""
    batches: list[list[str]] = []
    alone: list[str] = []
    current: list[str] = []
    size = 0
    for name, data in items.items():
        if len(data) > BATCH_MAX_OBJECT or not tar_safe(name):
            alone.append(name)
            continue
        if current and (size + len(data) > BATCH_BYTES or len(current) >= BATCH_COUNT):
            batches.append(current)
            current, size = [], 0
        current.append(name)
        size += len(data)
    if current:
        batches.append(current)
    return batches, alone


def tar_of(names: list[str], items: Mapping[str, bytes], content_types: Mapping[str, str]) -> bytes:
    """An uncompressed POSIX (pax) archive of ``names``, each file carrying its
    content type as the ``user.mime_type`` extended attribute (the bulk
    middleware's convention)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        for name in names:
            data = items[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.pax_headers = {"SCHILY.xattr.user.mime_type": content_types.get(name, "application/octet-stream")}
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
