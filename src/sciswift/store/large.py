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
    "check_ranges",
    "is_true_flag",
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
    """One segment of a large object: ``size`` bytes of the object
    ``container/name`` (whose content has MD5 ``etag``), from byte ``start`` on.

    ``object_size`` is the whole object's size where the segment is a range of
    it (Swift's ranged segments: a file rewritten in part keeps the unchanged
    bytes of a segment as ranges of it); None when the segment is the whole
    object (``start`` 0, ``size`` its size)."""

    container: str
    name: str
    etag: str
    size: int
    start: int = 0
    object_size: int | None = None

    @property
    def path(self) -> str:
        """``/container/name``, as manifests write it."""
        return f"/{self.container}/{self.name}"

    @property
    def whole_size(self) -> int:
        """The size of the segment object itself."""
        return self.size if self.object_size is None else self.object_size

    @property
    def ranged(self) -> bool:
        """Whether the segment is part of its object only."""
        return self.start != 0 or self.whole_size != self.size

    @property
    def range(self) -> str:
        """``first-last`` (inclusive), as manifests write a range."""
        return f"{self.start}-{self.start + self.size - 1}"

    def part(self, start: int, size: int) -> SegmentRef:
        """Bytes ``start .. start+size`` of this segment, as a segment."""
        if start < 0 or size < 1 or start + size > self.size:
            raise ValueError(f"{start}+{size} is outside a segment of {self.size} bytes")
        return SegmentRef(self.container, self.name, self.etag, size, self.start + start, self.whole_size)


def is_true_flag(value: str | None) -> bool:
    """Whether a header or system value such as ``X-Static-Large-Object`` is
    set, as Swift reads its truth values."""
    return (value or "").strip().lower() in _TRUE


def is_large_object(info: ObjectInfo) -> bool:
    """True if ``info`` describes a static large object's manifest."""
    return is_true_flag(info.system.get(SLO_FLAG))


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
    """Swift's ETag of a large object made of ``segments``: the MD5 of the
    segments' ETags concatenated (``etag:first-last;`` for a ranged one)."""
    return hashlib.md5("".join(f"{s.etag}:{s.range};" if s.ranged else s.etag
                               for s in segments).encode("ascii")).hexdigest()


def check_ranges(segments: Sequence[SegmentRef], subject: str) -> None:
    """InvalidInput naming ``subject`` if a segment's range is not inside its
    object (Swift would cut such a range short rather than refuse it)."""
    for i, seg in enumerate(segments):
        if seg.start < 0 or seg.size < 0 or seg.start + seg.size > seg.whole_size:
            raise InvalidInput(f"segment {i} of {subject} ({seg.path}): range {seg.range} is outside "
                               f"its {seg.whole_size} bytes", subject)


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
        entry: dict[str, object] = {
            "name": s.path,
            "bytes": s.whole_size,
            "hash": s.etag,
            "content_type": "application/octet-stream",
            "last_modified": when.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        }
        if s.ranged:
            entry["range"] = s.range
        entries.append(entry)
    return json.dumps(entries).encode("utf-8")


def parse_stored_manifest(body: bytes, subject: str) -> list[SegmentRef]:
    """The segments of a stored manifest (Swift's ``multipart-manifest=get``
    format), ranged ones included. Inline-data and nested segments are refused
    with CorruptData naming ``subject``: the callers of this module never write
    them."""
    try:
        entries = json.loads(body)
        out = []
        for e in entries:
            if "data" in e or e.get("sub_slo"):
                raise CorruptData(
                    f"{subject}: large object has an inline or nested segment, "
                    "which this client does not handle", subject,
                )
            container, _, name = str(e["name"]).lstrip("/").partition("/")
            whole = int(e["bytes"])
            ref = SegmentRef(container, name, str(e["hash"]), whole)
            if e.get("range"):
                first, _, last = str(e["range"]).partition("-")
                ref = ref.part(int(first), int(last) + 1 - int(first))  # ValueError outside the object
            out.append(ref)
        return out
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptData(f"{subject}: unreadable large-object manifest ({exc})", subject) from None
