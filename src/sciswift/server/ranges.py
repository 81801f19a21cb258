"""HTTP byte ranges as Swift answers them: single ranges, multipart/byteranges.

``Range`` headers are parsed with :func:`sciswift.store.types.parse_range_header`
after removing all spaces (as swob does, so ``bytes = 0 - 999`` works). A
syntactically invalid header is ignored: the whole object is sent with 200.
Then, for an object of ``length`` bytes, Swift's rules apply: ranges starting
at or past the end are dropped, suffix ranges longer than the object cover it,
``bytes=-0`` selects nothing; no range left means 416 with
``Content-Range: bytes */length``; more than 50 ranges, more than two
overlapping pairs, or eight or more ranges out of order also mean 416.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable

from sciswift.store.types import parse_range_header

__all__ = [
    "parse_ranges",
    "resolve_ranges",
    "content_range",
    "multipart_length",
    "multipart_body",
    "new_boundary",
    "MAX_RANGES",
]

MAX_RANGES = 50
MAX_RANGE_OVERLAPS = 2
MAX_NONASCENDING_RANGES = 8

Span = tuple["int | None", "int | None"]  # (first byte, last byte) as written, inclusive


def parse_ranges(header: str | None) -> list[tuple[int | None, int | None]] | None:
    """The ranges of a Range header as ``(first, last)`` pairs (``(None, n)`` is
    the suffix ``-n``, ``(n, None)`` is ``n-``), or None if the header is absent
    or invalid and must be ignored."""
    if not header:
        return None
    parsed = parse_range_header(header.replace(" ", ""))
    if parsed is None:
        return None
    out: list[tuple[int | None, int | None]] = []
    for r in parsed:
        if r.suffix is not None:
            out.append((None, r.suffix))
        else:
            out.append((r.start, None if r.end is None else r.end - 1))
    return out


def resolve_ranges(ranges: list[tuple[int | None, int | None]], length: int) -> list[tuple[int, int]]:
    """The satisfiable ranges as ``(start, stop)`` (stop exclusive) within
    ``length`` bytes; an empty list means 416."""
    out: list[tuple[int, int]] = []
    for first, last in ranges:
        if first is None:
            assert last is not None
            if last == 0:
                continue
            out.append((max(0, length - last), length))
        elif last is None:
            if first < length:
                out.append((first, length))
        elif first < length:
            out.append((first, min(last + 1, length)))
    if len(out) > MAX_RANGES:
        return []
    overlaps = 0
    for i, (s1, e1) in enumerate(out):
        for s2, e2 in out[i + 1 :]:
            if s1 < s2 < e1 or s1 < e2 < e1 or s2 < s1 < e2 or s2 < e1 < e2:
                overlaps += 1
                if overlaps > MAX_RANGE_OVERLAPS:
                    return []
    if len(out) >= MAX_NONASCENDING_RANGES and any(a > b for a, b in zip(out, out[1:])):
        return []
    return out


def content_range(start: int, stop: int, length: int) -> str:
    """``bytes start-(stop-1)/length``."""
    return f"bytes {start}-{stop - 1}/{length}"


def new_boundary() -> str:
    return secrets.token_hex(16)


def _part_header(boundary: str, content_type: str, start: int, stop: int, length: int) -> bytes:
    return (
        f"--{boundary}\r\nContent-Type: {content_type}\r\n"
        f"Content-Range: {content_range(start, stop, length)}\r\n\r\n"
    ).encode("utf-8", "surrogateescape")


def multipart_length(ranges: list[tuple[int, int]], boundary: str, content_type: str, length: int) -> int:
    """The exact size of the multipart/byteranges body for ``ranges``."""
    total = 0
    for start, stop in ranges:
        total += len(_part_header(boundary, content_type, start, stop, length)) + (stop - start) + 2
    return total + len(boundary) + 4


async def multipart_body(
    ranges: list[tuple[int, int]],
    boundary: str,
    content_type: str,
    length: int,
    fetch: Callable[[int, int], AsyncIterator[bytes]],
) -> AsyncIterator[bytes]:
    """The multipart/byteranges body: for each range its part headers, then the
    bytes ``fetch(start, stop)`` yields, framed as swob frames them."""
    for start, stop in ranges:
        yield _part_header(boundary, content_type, start, stop, length)
        async for chunk in fetch(start, stop):
            yield chunk
        yield b"\r\n"
    yield f"--{boundary}--".encode("ascii")
