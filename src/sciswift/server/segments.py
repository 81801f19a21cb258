"""Reading large-object segments through sub-requests.

A segment is read with a GET sub-request made as the caller (same identity,
same Referer), so container ACLs on segment containers apply exactly as for a
direct read. A body is described as a list of :class:`Piece`: inline bytes
(SLO data segments) or a byte range of an object. The first object piece is
opened before the reply starts, so a missing or forbidden first segment turns
into 409 Conflict (Swift's answer) instead of a truncated 200.

Reading is bounded as Swift bounds it (:class:`SegmentLimits`): small segments
past the first few are fetched at a limited rate, a GET ends after a maximum
time, and SLOs nest a bounded number of manifests deep, so a manifest of
manifests of tiny segments cannot keep a worker busy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sciswift.server.backend import Backend
from sciswift.server.conditional import normalize_etag
from sciswift.server.config import SegmentLimits
from sciswift.server.http import TEXT_TYPE, Reply, SwiftError, SwiftRequest
from sciswift.server.objects import reply_chunks

log = logging.getLogger("sciswift.server")

__all__ = [
    "Piece", "split_segment_path", "open_piece", "stream_pieces", "validated_stream", "SLO_LEVEL", "slo_level",
]

#: How many SLO manifests deep a segment read is (the client's manifest is
#: level 1); carried on sub-requests, symlink hops included, so nesting is
#: bounded as Swift bounds it (``max_slo_recursion_depth``).
SLO_LEVEL = "X-Sciswift-Slo-Level"


def slo_level(req: SwiftRequest) -> int:
    """The manifest level ``req`` reads at (1 for a client's own request)."""
    try:
        return max(1, int(req.headers.get(SLO_LEVEL, "1")))
    except ValueError:
        return 1


@dataclass(frozen=True)
class Piece:
    """Bytes ``first``..``last`` (inclusive) of the object at ``path``
    (``/container/object``), or inline ``data``. ``etag``, when known, is
    checked against the segment when the whole of it is read."""

    path: str | None = None
    first: int = 0
    last: int = -1
    whole: bool = False
    etag: str | None = None
    data: bytes | None = None
    #: Read the object's own bytes (``multipart-manifest=get``), not what a
    #: large object it may be assembles.
    raw: bool = True

    @property
    def length(self) -> int:
        return len(self.data) if self.data is not None else self.last - self.first + 1


def split_segment_path(path: str) -> tuple[str, str]:
    """``("container", "object")`` of ``/container/object``."""
    container, sep, obj = path.lstrip("/").partition("/")
    if not container or not sep or not obj:
        raise SwiftError(409, f"invalid segment path {path!r}")
    return container, obj


async def open_piece(be: Backend, req: SwiftRequest, account: str, piece: Piece) -> Reply:
    """GET the bytes of an object piece (as the caller)."""

    container, obj = split_segment_path(piece.path or "")
    headers = {}
    if not piece.whole:
        headers["Range"] = f"bytes={piece.first}-{piece.last}"
    for h in ("Referer", "X-Open-Expired"):
        if h in req.headers:
            headers[h] = req.headers[h]
    if not piece.raw:
        headers[SLO_LEVEL] = str(slo_level(req) + 1)
    query = {"multipart-manifest": "get"} if piece.raw else None
    return await be.subrequest(req.sub("GET", account, container, obj, headers=headers, query=query))


def _check(piece: Piece, reply: Reply) -> None:
    # Swift answers a bad first segment with its plain Conflict page
    if not reply.ok:
        if reply.status == 409 and isinstance(reply.body, bytes) and reply.body:
            # a nested manifest's own conflict (too deep, a bad segment): its words
            raise SwiftError(409, reply.body, content_type=reply.headers.get("Content-Type", TEXT_TYPE))
        log.info("segment %s answered %d", piece.path, reply.status)
        raise SwiftError(409)
    if piece.whole and piece.etag and normalize_etag(reply.headers.get("Etag")) != normalize_etag(piece.etag):
        log.info("segment %s changed (etag mismatch)", piece.path)
        raise SwiftError(409)


class _Pacer:
    """Swift's segment rate limit and maximum GET time for one stream."""

    def __init__(self, limits: SegmentLimits) -> None:
        self.limits = limits
        loop = asyncio.get_running_loop()
        self.started = self.next_at = loop.time()
        self.count = 0

    async def before(self, piece: Piece) -> None:
        limits = self.limits
        now = asyncio.get_running_loop().time()
        if now - self.started > limits.max_get_time:
            raise ConnectionError(f"large object GET stopped after max_get_time={limits.max_get_time:.0f} s")
        self.count += 1
        rate = limits.rate_limit_segments_per_sec
        if rate > 0 and self.count > limits.rate_limit_after_segment and piece.length < limits.rate_limit_under_size:
            if now < self.next_at:
                await asyncio.sleep(self.next_at - now)
                now = self.next_at
            self.next_at = now + 1.0 / rate


async def stream_pieces(
    be: Backend,
    req: SwiftRequest,
    account: str,
    pieces: list[Piece],
    first_reply: Reply | None = None,
    limits: SegmentLimits | None = None,
) -> AsyncIterator[bytes]:
    """The bytes of ``pieces`` in order, paced by ``limits``. Raises
    ConnectionError when a segment fails or is shorter than expected (the
    client sees a cut connection, as with Swift)."""
    pending = first_reply
    pacer = _Pacer(limits or SegmentLimits())
    try:
        for piece in pieces:
            if piece.data is not None:
                if piece.data:
                    yield piece.data
                continue
            await pacer.before(piece)
            reply = pending if pending is not None else await open_piece(be, req, account, piece)
            pending = None
            try:
                _check(piece, reply)
            except SwiftError as exc:
                await reply.drain()
                raise ConnectionError(str(exc.reply.body)) from None
            got = 0
            async for chunk in reply_chunks(reply):
                got += len(chunk)
                yield chunk
            if got != piece.length:
                raise ConnectionError(f"segment {piece.path} gave {got} bytes, expected {piece.length}")
    finally:
        if pending is not None:
            await pending.drain()


async def validated_stream(
    be: Backend, req: SwiftRequest, account: str, pieces: list[Piece], limits: SegmentLimits | None = None
) -> AsyncIterator[bytes]:
    """Like :func:`stream_pieces`, but opens the first object piece now and
    raises SwiftError(409) if it cannot be read."""
    first = next((p for p in pieces if p.data is None), None)
    first_reply = None
    if first is not None and first is pieces[0]:
        first_reply = await open_piece(be, req, account, first)
        try:
            _check(first, first_reply)
        except SwiftError:
            await first_reply.drain()
            raise
    return stream_pieces(be, req, account, pieces, first_reply, limits)
