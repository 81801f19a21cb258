"""Building object replies: headers from ObjectInfo, expiry, and the generic
"a body of N bytes, maybe ranged, maybe conditional" reply used by plain
objects and by both kinds of large objects.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

from multidict import CIMultiDict

from sciswift.server.conditional import check_conditions
from sciswift.server.http import HTML_TYPE, Reply, ReplyBody, SwiftRequest, chunks_of, env_flag, error
from sciswift.server.metadata import OBJECT_PERSISTED_HEADERS, meta_headers
from sciswift.server.ranges import (
    content_range,
    multipart_body,
    multipart_length,
    new_boundary,
    parse_ranges,
    resolve_ranges,
)
from sciswift.server.times import http_date, x_timestamp
from sciswift.store.types import ObjectInfo

__all__ = [
    "is_expired",
    "serves_own_bytes",
    "open_expired",
    "ALLOW_OPEN_EXPIRED",
    "object_headers",
    "ranged_reply",
    "reply_chunks",
    "SLO_ETAG",
    "SLO_SIZE",
    "CONTENT_CHECKSUM_PREFIX",
    "content_checksums",
    "is_slo",
    "is_dlo",
]

#: Where a static large object's own ETag and size are kept (as Swift's slo
#: middleware keeps them in object sysmeta).
SLO_ETAG = "x-object-sysmeta-slo-etag"
SLO_SIZE = "x-object-sysmeta-slo-size"
#: Checksums of an object's bytes are kept as system values
#: ``<prefix><algorithm>`` (S3's flexible checksums, Swift s3api's names); a
#: value ending in ``-<n>`` is a multipart upload's composite checksum, of its
#: parts' checksums, which only the object it was made for has.
CONTENT_CHECKSUM_PREFIX = "x-object-sysmeta-s3api-checksum-"


def content_checksums(info: ObjectInfo) -> dict[str, str]:
    """The system values of ``info`` that checksum its whole bytes (not the
    composite ones): what a copy of exactly those bytes may keep."""
    out: dict[str, str] = {}
    for key, value in info.system.items():
        if key.startswith(CONTENT_CHECKSUM_PREFIX) and key[len(CONTENT_CHECKSUM_PREFIX):] not in ("algorithm", "type") \
                and "-" not in value:
            out[key] = value
    return out


def is_slo(info: ObjectInfo) -> bool:
    return info.system.get("x-static-large-object", "").lower() in ("true", "1", "yes", "on", "t", "y")


def is_dlo(info: ObjectInfo) -> bool:
    return bool(info.system.get("x-object-manifest"))


#: Like Swift's ``allow_open_expired``: ``X-Open-Expired: true`` reads (and a
#: POST revives) an object past its X-Delete-At that is still stored.
ALLOW_OPEN_EXPIRED = True


def open_expired(req: SwiftRequest) -> bool:
    return ALLOW_OPEN_EXPIRED and env_flag(req.headers.get("X-Open-Expired"))


def is_expired(info: ObjectInfo, now: float | None = None) -> bool:
    """True once the object's X-Delete-At has passed (it then answers 404)."""
    value = info.system.get("x-delete-at")
    if not value:
        return False
    try:
        return int(value) <= (now if now is not None else time.time())
    except ValueError:
        return False


def serves_own_bytes(info: ObjectInfo) -> bool:
    """Whether a GET of this object answers its own stored bytes: not a large
    object (static or dynamic), not a symlink, not expired."""
    from sciswift.server.middleware.symlink import is_link  # (symlink imports this module)

    return not (is_slo(info) or is_dlo(info) or is_link(info) or is_expired(info))


def _title(name: str) -> str:
    return "-".join(p.capitalize() for p in name.split("-"))


def object_headers(info: ObjectInfo, quote_etag: bool = False) -> CIMultiDict[str]:
    """The headers a GET or HEAD of the object itself answers with (size and
    ETag of the stored body; large-object handling replaces them)."""
    h: CIMultiDict[str] = CIMultiDict()
    h["Content-Type"] = info.content_type
    h["Etag"] = f'"{info.etag}"' if quote_etag else info.etag
    h["Last-Modified"] = http_date(info.timestamp)
    h["X-Timestamp"] = x_timestamp(info.timestamp)
    h["Accept-Ranges"] = "bytes"
    for name in OBJECT_PERSISTED_HEADERS:
        value = info.system.get(name)
        if value:
            h[_title(name)] = value
    for k, v in meta_headers(info.metadata, "object"):
        h[k] = v
    return h


async def reply_chunks(reply: Reply) -> AsyncIterator[bytes]:
    """The body of a reply as chunks (consumes it)."""
    body = reply.body
    reply.body = None
    async for chunk in chunks_of(body):
        yield chunk


async def ranged_reply(
    req: SwiftRequest,
    headers: CIMultiDict[str],
    length: int,
    fetch: Callable[[int, int], AsyncIterator[bytes]],
    *,
    etag: str | None,
    timestamp: float | None,
    whole: Callable[[], Awaitable[ReplyBody]] | None = None,
    single: Callable[[int, int], Awaitable[ReplyBody]] | None = None,
    allow_ranges: bool = True,
) -> Reply:
    """The GET/HEAD reply for a body of ``length`` bytes described by ``headers``.

    Applies conditional headers against ``etag``/``timestamp`` (304/412), then
    the Range header (206, multipart/byteranges, or 416). ``fetch(start, stop)``
    yields bytes of a range; ``whole()`` and ``single(start, stop)``, when
    given, make a body that the app may send with sendfile.
    """
    cond = check_conditions(req.headers, etag, timestamp)
    if cond is not None:
        h = CIMultiDict(headers)
        h.popall("Content-Length", None)
        return Reply(cond, h, None, content_length=0)
    if req.method == "HEAD":
        return Reply(200, headers, None, content_length=length)
    ranges = parse_ranges(req.headers.get("Range")) if allow_ranges else None
    if ranges is not None:
        spans = resolve_ranges(ranges, length)
        if not spans:
            h = CIMultiDict(headers)
            h["Content-Range"] = f"bytes */{length}"
            page = error(416)
            h["Content-Type"] = headers.get("Content-Type", HTML_TYPE)
            return Reply(416, h, page.body)
        if length > 0:
            h = CIMultiDict(headers)
            if len(spans) == 1:
                start, stop = spans[0]
                h["Content-Range"] = content_range(start, stop, length)
                body: ReplyBody = await single(start, stop) if single else fetch(start, stop)
                return Reply(206, h, body, content_length=stop - start)
            boundary = new_boundary()
            ctype = headers.get("Content-Type", "application/octet-stream")
            h["Content-Type"] = f"multipart/byteranges;boundary={boundary}"
            size = multipart_length(spans, boundary, ctype, length)
            return Reply(206, h, multipart_body(spans, boundary, ctype, length, fetch), content_length=size)
    body = await whole() if whole else fetch(0, length)
    return Reply(200, headers, body, content_length=length)
