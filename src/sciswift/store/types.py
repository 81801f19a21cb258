"""Typed value objects shared by every Store backend, the server and the engine."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formatdate

from sciswift.errors import InvalidInput, RangeNotSatisfiable

__all__ = [
    "ByteRange",
    "PutMode",
    "OVERWRITE",
    "CREATE",
    "IfMatch",
    "ObjectInfo",
    "Subdir",
    "ContainerInfo",
    "AccountInfo",
    "ListingParams",
    "http_date",
    "ReadHints",
]


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A byte range of an object, with the meaning of one HTTP ``Range`` spec.

    Exactly one form is used:

    - ``ByteRange(start, end)``: bytes ``start .. end-1`` (Python slice, end exclusive;
      ``end=None`` means to the end of the object). HTTP ``bytes=start-(end-1)``.
    - ``ByteRange.last(n)``: the final ``n`` bytes. HTTP ``bytes=-n``.

    ``resolve(size)`` clamps to an object of ``size`` bytes as HTTP does: an end past
    the object is cut to the object, a start at or past the end is unsatisfiable.
    """

    start: int = 0
    end: int | None = None
    suffix: int | None = None

    def __post_init__(self) -> None:
        if self.suffix is not None:
            if self.suffix < 0 or self.start != 0 or self.end is not None:
                raise InvalidInput(f"invalid suffix byte range {self!r}")
        elif self.start < 0 or (self.end is not None and self.end < self.start):
            raise InvalidInput(f"invalid byte range {self!r}")

    @classmethod
    def last(cls, n: int) -> ByteRange:
        """The final ``n`` bytes of an object."""
        return cls(suffix=n)

    def resolve(self, size: int) -> tuple[int, int]:
        """``(start, stop)`` within an object of ``size`` bytes, stop exclusive.

        Raises RangeNotSatisfiable when no byte of the object is selected.
        """
        if self.suffix is not None:
            if self.suffix == 0:
                raise RangeNotSatisfiable(f"empty suffix range against {size} bytes")
            return max(0, size - self.suffix), size
        if self.start >= size and not (size == 0 and self.start == 0 and self.end is None):
            raise RangeNotSatisfiable(f"range starts at {self.start}, object has {size} bytes")
        stop = size if self.end is None else min(self.end, size)
        return self.start, stop

    def to_header_spec(self) -> str:
        """The spec as it appears after ``bytes=`` in an HTTP Range header."""
        if self.suffix is not None:
            return f"-{self.suffix}"
        if self.end is None:
            return f"{self.start}-"
        return f"{self.start}-{self.end - 1}"


_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range_header(value: str) -> list[ByteRange] | None:
    """Parse an HTTP ``Range`` header into ByteRanges.

    Returns None when the header is not a syntactically valid byte-range set; HTTP
    (and Swift) then ignore it and answer the whole object.
    """
    unit, sep, specs = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    ranges: list[ByteRange] = []
    for spec in specs.split(","):
        m = _RANGE_SPEC.match(spec)
        if not m:
            return None
        first, last = m.groups()
        if not first and not last:
            return None
        if not first:
            ranges.append(ByteRange.last(int(last)))
        elif not last:
            ranges.append(ByteRange(int(first)))
        else:
            if int(last) < int(first):
                return None
            ranges.append(ByteRange(int(first), int(last) + 1))
    return ranges or None


class PutMode:
    """How a put treats an object that may already exist (see OVERWRITE, CREATE, IfMatch)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class _Overwrite(PutMode):
    def __repr__(self) -> str:
        return "OVERWRITE"


@dataclass(frozen=True, slots=True)
class _Create(PutMode):
    def __repr__(self) -> str:
        return "CREATE"


@dataclass(frozen=True, slots=True)
class IfMatch(PutMode):
    """Replace the object only if its current ETag is ``etag`` (else PreconditionFailed)."""

    etag: str


OVERWRITE: PutMode = _Overwrite()
"""Write whatever is there (the default)."""
CREATE: PutMode = _Create()
"""Write only if no object of that name exists (else AlreadyExists)."""


def http_date(timestamp: float) -> str:
    """RFC 7231 date of a timestamp, rounded up to the second as Swift does."""
    return formatdate(math.ceil(timestamp), usegmt=True)


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What is known about one object without reading its body.

    ``etag`` is the MD5 hex digest of the content (for a large-object manifest, of the
    manifest's own body; the server computes the Swift large-object ETag itself).
    ``metadata`` holds user metadata with keys lower-cased and without the
    ``X-Object-Meta-`` prefix. ``system`` holds the other headers a store persists
    verbatim for the server (lower-case names): ``content-encoding``,
    ``content-disposition``, ``x-delete-at``, ``x-object-manifest``,
    ``x-static-large-object``, ``x-object-sysmeta-*`` and the like.
    ``timestamp`` is seconds since the epoch of the last PUT or POST.
    """

    name: str
    size: int
    etag: str
    timestamp: float
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    system: dict[str, str] = field(default_factory=dict)

    @property
    def last_modified(self) -> str:
        """The HTTP Last-Modified value."""
        return http_date(self.timestamp)


@dataclass(frozen=True, slots=True)
class Subdir:
    """A pseudo-directory in a listing made with a delimiter (Swift's ``subdir``)."""

    name: str


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """A container: totals, metadata (lower-case, without ``X-Container-Meta-``) and
    system values the server persists (``x-container-read``, ``x-container-write``,
    ``x-container-sysmeta-*``, ``x-versions-location`` ...)."""

    name: str
    object_count: int = 0
    bytes_used: int = 0
    timestamp: float = 0.0
    metadata: dict[str, str] = field(default_factory=dict)
    system: dict[str, str] = field(default_factory=dict)

    @property
    def last_modified(self) -> str:
        return http_date(self.timestamp)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """An account (one Store): totals over all containers and account metadata."""

    container_count: int = 0
    object_count: int = 0
    bytes_used: int = 0
    timestamp: float = 0.0
    metadata: dict[str, str] = field(default_factory=dict)
    system: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ListingParams:
    """The paging and filtering parameters of a Swift listing.

    Semantics follow Swift: names are compared as UTF-8 bytes; ``marker`` and
    ``end_marker`` are exclusive bounds (in the listing's direction, ``reverse``
    swapping their roles as Swift does); ``prefix`` filters; ``delimiter`` rolls up
    names that have it after the prefix into one ``Subdir`` (its name ending with the
    delimiter); ``limit`` caps the number of entries (objects plus subdirs).
    ``metadata``: the caller wants each object's user metadata in its entry, where
    the store can give it (``Store.listing_metadata``); entries may carry it anyway.
    """

    prefix: str = ""
    delimiter: str = ""
    marker: str = ""
    end_marker: str = ""
    limit: int | None = None
    reverse: bool = False
    metadata: bool = False


class ReadHints:
    """Where a caller's reads found objects, kept by the caller between reads of
    one container, so that a store that can (``Store.read_parts_into``) reads a
    name straight from the version a hint names instead of looking it up again.

    Contract: a hint names one stored version. A read served from it returns that
    version (its bytes checked, as every read's) even if a newer one has been
    stored since; the caller ``forget``s a name it writes or deletes, and
    ``forget_prefix``/``clear`` when it wants to see what others wrote. A hint
    whose version is gone is dropped by the store, which then looks the name up.
    Values belong to the store; callers only forget them. Safe across threads.
    """

    def __init__(self) -> None:
        self._where: dict[str, object] = {}
        self._learned: set[str] = set()
        self._lock = threading.Lock()

    def get(self, name: str) -> object | None:
        return self._where.get(name)

    def put(self, name: str, where: object) -> None:
        self._where[name] = where

    def learned(self, prefix: str) -> bool:
        """Whether the store has already noted where the names under ``prefix`` were."""
        return prefix in self._learned

    def note_learned(self, prefix: str) -> None:
        self._learned.add(prefix)

    def forget(self, name: str) -> None:
        self._where.pop(name, None)

    def forget_many(self, names: Iterable[str]) -> None:
        for name in names:
            self._where.pop(name, None)

    def forget_prefix(self, prefix: str) -> None:
        """Forget every name under ``prefix``, and that it was learned."""
        with self._lock:
            for name in [n for n in list(self._where) if n.startswith(prefix)]:
                self._where.pop(name, None)
            self._learned = {p for p in self._learned if not (p.startswith(prefix) or prefix.startswith(p))}

    def clear(self) -> None:
        with self._lock:
            self._where.clear()
            self._learned = set()

    def __len__(self) -> int:
        return len(self._where)
