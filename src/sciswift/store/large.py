"""Static large objects (SLO), backend-neutral: Swift's own format for objects made
of segments, so every Swift client (``swift download``, rclone, python-swiftclient)
reads them as one object.

A manifest lists segment objects (usually in ``<container>_segments``) in order.
``Store.put_manifest`` stores one atomically; ``Store.get_manifest`` reads the
segment list back. On a Swift endpoint these are ``?multipart-manifest=put|get``;
on a store without a server in front (LocalStore, MemoryStore) the manifest is
stored exactly as ``sciswift serve`` stores it (the JSON of Swift's on-disk manifest
format with ``X-Static-Large-Object: True`` and the SLO's ETag and size as system
values), so serving that store later presents the same large object.

What a backend reports for a manifest differs: a Swift endpoint assembles it (HEAD
gives the whole size and the SLO ETag), a local store holds the manifest itself.
``content_size`` and ``content_etag`` give the large object's size and ETag from
either; code that must read a large object the same way on every backend reads its
segments (``get_manifest``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sciswift.errors import CorruptData, InvalidInput
from sciswift.store.names import MAX_CONTAINER_NAME_LENGTH, utf8_len
from sciswift.store.types import ObjectInfo

__all__ = [
    "SegmentRef",
    "SLO_FLAG",
    "SLO_ETAG",
    "SLO_SIZE",
    "is_large_object",
    "content_size",
    "content_etag",
    "slo_etag",
    "segments_container",
    "stored_manifest",
    "parse_stored_manifest",
]

SLO_FLAG = "x-static-large-object"
# The system keys sciswift serve keeps the SLO's ETag and size under (the same
# names as Swift's slo middleware; tests check the server agrees).
SLO_ETAG = "x-object-sysmeta-slo-etag"
SLO_SIZE = "x-object-sysmeta-slo-size"

_TRUE = ("true", "1", "yes", "on", "t", "y")


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """One segment of a large object: the whole object ``container/name`` whose
    content has MD5 ``etag`` and ``size`` bytes."""

    container: str
    name: str
    etag: str
    size: int

    @property
    def path(self) -> str:
        """``/container/name``, as manifests write it."""
        return f"/{self.container}/{self.name}"


def is_large_object(info: ObjectInfo) -> bool:
    """True if ``info`` describes a static large object's manifest."""
    return info.system.get(SLO_FLAG, "").lower() in _TRUE


def content_size(info: ObjectInfo) -> int:
    """The size of the content ``info`` stands for: a large object's whole size
    whether the backend reports the manifest or the assembled object."""
    value = info.system.get(SLO_SIZE)
    if value is not None:
        try:
            return int(value)
        except ValueError:
            pass
    return info.size


def content_etag(info: ObjectInfo) -> str:
    """The ETag a Swift client sees for ``info`` (a large object's SLO ETag)."""
    return info.system.get(SLO_ETAG) or info.etag


def slo_etag(segments: Sequence[SegmentRef]) -> str:
    """Swift's ETag of a large object made of whole ``segments``: the MD5 of the
    segments' ETags concatenated."""
    return hashlib.md5("".join(s.etag for s in segments).encode("ascii")).hexdigest()


def segments_container(container: str) -> str:
    """Where segments of ``container``'s large objects go by convention
    (``swift upload`` and rclone use the same name)."""
    name = f"{container}_segments"
    if utf8_len(name) > MAX_CONTAINER_NAME_LENGTH:
        raise InvalidInput(
            f"container name {container!r} is too long to have a '_segments' container "
            "for large-object segments", container,
        )
    return name


def stored_manifest(segments: Sequence[SegmentRef], timestamps: Sequence[float] | None = None) -> bytes:
    """The manifest body as Swift (and sciswift serve) store it."""
    entries = []
    for i, s in enumerate(segments):
        when = datetime.fromtimestamp(timestamps[i] if timestamps else 0.0, UTC)
        entries.append({
            "name": s.path,
            "bytes": s.size,
            "hash": s.etag,
            "content_type": "application/octet-stream",
            "last_modified": when.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        })
    return json.dumps(entries).encode("utf-8")


def parse_stored_manifest(body: bytes, subject: str) -> list[SegmentRef]:
    """The segments of a stored manifest (Swift's ``multipart-manifest=get``
    format). Ranged and inline-data segments are refused with CorruptData naming
    ``subject``: the callers of this module write and rewrite whole segments only."""
    try:
        entries = json.loads(body)
        out = []
        for e in entries:
            if "data" in e or e.get("range") or e.get("sub_slo"):
                raise CorruptData(
                    f"{subject}: large object has a ranged, inline or nested segment, "
                    "which this client does not handle", subject,
                )
            container, _, name = str(e["name"]).lstrip("/").partition("/")
            out.append(SegmentRef(container, name, str(e["hash"]), int(e["bytes"])))
        return out
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptData(f"{subject}: unreadable large-object manifest ({exc})", subject) from None
