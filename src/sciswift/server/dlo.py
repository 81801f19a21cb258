"""Dynamic large objects (``X-Object-Manifest: container/prefix``).

A GET or HEAD of a manifest answers the concatenation of the objects listed
under ``container/prefix`` (in name order), with ``Content-Length`` their total
and ``Etag`` the quoted MD5 of their concatenated ETags. The listing is made as
the caller, so the segment container's read ACL (with ``.rlistings``) applies.
Single ranges give 206; several ranges give the whole object with 200, as
Swift does. ``?multipart-manifest=get`` reads the manifest object itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from urllib.parse import unquote

from sciswift.server.backend import Backend
from sciswift.server.http import Reply, ReplyBody, SwiftRequest
from sciswift.server.middleware.namespace import home_account
from sciswift.server.objects import object_headers, ranged_reply
from sciswift.server.ranges import parse_ranges
from sciswift.server.segments import Piece, stream_pieces, validated_stream
from sciswift.store.names import CONTAINER_LISTING_LIMIT
from sciswift.store.types import ObjectInfo

__all__ = ["get_or_head", "list_segments", "segment_pieces"]


async def list_segments(be: Backend, req: SwiftRequest, container: str, prefix: str) -> list[dict] | Reply:
    """All objects under ``prefix`` (JSON listing records), or the error reply
    of the listing."""

    assert req.account is not None
    out: list[dict] = []
    marker = ""
    while True:
        query = {"format": "json", "prefix": prefix}
        if marker:
            query["marker"] = marker
        headers = {h: req.headers[h] for h in ("Referer", "X-Open-Expired") if h in req.headers}
        reply = await be.subrequest(req.sub("GET", home_account(req.account), container, headers=headers, query=query))
        if not reply.ok:
            if req.method == "HEAD":
                reply.body = None
            return reply
        page = json.loads(await reply.read() or b"[]")
        out.extend(page)
        if len(page) < CONTAINER_LISTING_LIMIT:
            return out
        marker = page[-1]["name"]


def segment_pieces(container: str, segments: list[dict], start: int, stop: int) -> list[Piece]:
    pieces = []
    offset = 0
    for seg in segments:
        size = int(seg["bytes"])
        seg_start, seg_stop = offset, offset + size
        offset = seg_stop
        if seg_stop <= start or seg_start >= stop or size == 0:
            continue
        first = max(start, seg_start) - seg_start
        last = min(stop, seg_stop) - seg_start - 1
        pieces.append(
            Piece(path=f"/{container}/{seg['name']}", first=first, last=last,
                  whole=(first == 0 and last == size - 1), etag=seg.get("hash"))
        )
    return pieces


async def get_or_head(be: Backend, req: SwiftRequest, info: ObjectInfo) -> Reply:
    """The reply for a GET/HEAD of a DLO manifest."""
    assert req.account is not None
    manifest = unquote(info.system["x-object-manifest"])
    container, _, prefix = manifest.partition("/")
    listed = await list_segments(be, req, container, prefix)
    if isinstance(listed, Reply):
        return listed
    total = sum(int(s["bytes"]) for s in listed)
    etag = hashlib.md5("".join(s["hash"].strip('"') for s in listed).encode("utf-8")).hexdigest()
    headers = object_headers(info)
    headers["Etag"] = f'"{etag}"'
    account = home_account(req.account)  # a kept version's segments are its account's

    async def body(start: int, stop: int) -> ReplyBody:
        return await validated_stream(be, req, account, segment_pieces(container, listed, start, stop), be.config.dlo)

    def fetch(start: int, stop: int) -> AsyncIterator[bytes]:
        return stream_pieces(be, req, account, segment_pieces(container, listed, start, stop), limits=be.config.dlo)

    ranges = parse_ranges(req.headers.get("Range"))
    return await ranged_reply(
        req, headers, total, fetch, etag=etag, timestamp=info.timestamp,
        whole=lambda: body(0, total), single=body, allow_ranges=ranges is not None and len(ranges) == 1,
    )
