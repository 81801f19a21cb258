"""What a file is made of in the store, and how a large file is cut into segments.

A ``Version`` is one stored state of a file: either one object, or a static large
object (SLO) whose pieces are segment objects. Reads address pieces, so the block
cache is keyed by piece (object name and ETag) and an unchanged segment stays
cached when its neighbours are rewritten.

New large files are cut at fixed offsets (``SegmentPlan``): 512 segments of the
base size, then 256 of 8x, then segments of 64x. Fixed cuts let a segment be
uploaded as soon as it is written, before the final size is known, and keep a
manifest under Swift's 1,000 segments up to 272 GiB with 16 MiB segments (Swift's
limit on one segment, 5 GiB, is never reached below 80 MiB base segments).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from sciswift.store.large import SegmentRef

__all__ = ["Piece", "Version", "SegmentPlan", "DEFAULT_SEGMENT_SIZE"]

DEFAULT_SEGMENT_SIZE = 16 << 20
_TIERS = ((512, 1), (256, 8))
_LAST_TIER = 64


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes ``offset .. offset+ref.size`` of a file are the segment ``ref`` (an
    object, or a range of one)."""

    offset: int
    ref: SegmentRef

    @property
    def stop(self) -> int:
        return self.offset + self.ref.size

    def object_span(self, start: int, stop: int) -> tuple[int, int]:
        """Where the file's bytes ``[start, stop)`` that this piece holds lie in
        its object (``ref.start`` on: a ranged segment)."""
        base = self.ref.start - self.offset
        return max(start, self.offset) + base, min(stop, self.stop) + base


@dataclass(frozen=True)
class Version:
    """One stored state of the file ``container/name``.

    ``etag`` is what a Swift client sees (an SLO's ETag for large objects);
    ``pieces`` cover ``[0, size)`` in order; ``large`` says whether the file is
    stored as a static large object (then the pieces are its segments, else the
    one piece is the object itself).
    """

    container: str
    name: str
    etag: str
    size: int
    mtime: float
    pieces: tuple[Piece, ...]
    large: bool = False
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def single(cls, container: str, name: str, etag: str, size: int, mtime: float,
               content_type: str = "application/octet-stream",
               metadata: dict[str, str] | None = None) -> Version:
        pieces = (Piece(0, SegmentRef(container, name, etag, size)),) if size else ()
        return cls(container, name, etag, size, mtime, pieces, False, content_type, dict(metadata or {}))

    @classmethod
    def segmented(cls, container: str, name: str, etag: str, mtime: float, segments: list[SegmentRef],
                  content_type: str = "application/octet-stream",
                  metadata: dict[str, str] | None = None) -> Version:
        pieces = []
        offset = 0
        for ref in segments:
            pieces.append(Piece(offset, ref))
            offset += ref.size
        return cls(container, name, etag, offset, mtime, tuple(pieces), True, content_type, dict(metadata or {}))

    @cached_property
    def _starts(self) -> list[int]:
        return [p.offset for p in self.pieces]

    def pieces_in(self, start: int, stop: int) -> Iterator[Piece]:
        """The pieces overlapping ``[start, stop)``."""
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        while i < len(self.pieces) and self.pieces[i].offset < stop:
            if self.pieces[i].stop > start:
                yield self.pieces[i]
            i += 1


class SegmentPlan:
    """Where segment boundaries fall for a file: the boundaries of the large object
    it replaces (so unchanged segments are kept) up to that object's end, then the
    fixed cuts described in the module docstring."""

    def __init__(self, segment_size: int, cuts: list[int] | None = None, end: int = 0) -> None:
        self.base_size = segment_size
        self._cuts = list(cuts or [])  # segment starts inside the old object, ascending
        self._end = end if self._cuts else 0  # where the old object's segments stop

    @classmethod
    def for_version(cls, version: Version | None, segment_size: int) -> SegmentPlan:
        if version is not None and version.large and version.pieces:
            return cls(segment_size, [p.offset for p in version.pieces], version.size)
        return cls(segment_size)

    def segment_at(self, offset: int) -> tuple[int, int]:
        """``(start, length)`` of the segment holding ``offset``."""
        if offset < self._end and self._cuts:
            i = bisect.bisect_right(self._cuts, offset) - 1
            nxt = self._cuts[i + 1] if i + 1 < len(self._cuts) else self._end
            return self._cuts[i], nxt - self._cuts[i]
        return self._fixed_at(offset - self._end, self._end)

    def _fixed_at(self, rel: int, origin: int) -> tuple[int, int]:
        base = self.base_size
        pos = 0
        for count, mult in _TIERS:
            span = count * mult * base
            if rel < pos + span:
                length = mult * base
                return origin + pos + (rel - pos) // length * length, length
            pos += span
        length = _LAST_TIER * base
        return origin + pos + (rel - pos) // length * length, length

    def segments(self, size: int) -> Iterator[tuple[int, int]]:
        """``(start, length)`` of every segment of a file of ``size`` bytes (the
        last one cut at ``size``)."""
        pos = 0
        while pos < size:
            start, length = self.segment_at(pos)
            stop = min(start + length, size)
            yield pos, stop - pos
            pos = stop
