"""Large objects (SLO and DLO manifests) opened by the data API as one file.

A file uploaded in segments (``swift upload --segment-size``, an S3 multipart
upload, a large file written through ``sciswift mount``) is stored as a
manifest. The data API reads it as a format plugin reads any blob, by ranged
reads, through a :class:`Layout`: the manifest resolved into the ordered byte
ranges (:class:`~sciswift.server.segments.Piece`) of its segments, which the
server's own SLO and DLO code computes (``slo.segment_pieces``,
``dlo.segment_pieces``). A read of bytes ``start .. stop-1`` reads only the
segments that overlap them, each with one ranged store read.

Who may read it is decided as for ``GET /v1/...`` of the manifest, where Swift
reads the segments as the caller: the manifest is read (``multipart-manifest=
get``, nested SLOs too) and the DLO's segments listed by sub-requests made as the
caller, and on every request one segment of each container the layout reads
(and each nested manifest) is checked with a ``HEAD`` as the caller. A reader
of the manifest's container who may not read a segment container gets 403 (401
when anonymous) and no byte of it. Swift has no per-object ACLs, so one object
per container decides for all of its segments.

Integrity: when a layout is built, every SLO segment's existence, ETag and size
are checked against the manifest (``slo.segment_heads``); every later read
checks the segment's ETag again, so a segment replaced or deleted after that
fails the read with :class:`~sciswift.errors.Conflict` (409) naming the file
and the segment, never returning other bytes. A DLO is what its listing says
(its ETag is the MD5 of the listed ETags, so a changed segment is a new
version); one with no segment listed is refused with 409.

Layouts are kept per worker (``Layouts``), keyed by the large object's ETag
and the manifest's identity, so a viewer's burst of requests resolves the
manifest once; the access check runs on every request all the same.
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sciswift.errors import Conflict, NotFound
from sciswift.server import dlo, slo
from sciswift.server.backend import Backend
from sciswift.server.conditional import normalize_etag
from sciswift.server.dataapi.errors import ApiError
from sciswift.server.http import Reply, SwiftRequest, gather_limited
from sciswift.server.segments import Piece, split_segment_path
from sciswift.store.base import Store
from sciswift.store.types import ByteRange, ObjectInfo

__all__ = ["Layout", "Layouts", "is_large", "check_access", "listing_refused"]

#: Sub-requests in flight at once for the per-container access checks.
CHECK_CONCURRENCY = 8
#: How many layouts a worker keeps.
CAPACITY = 64
#: ``segment_pieces`` takes a stop offset: past the end of any object.
_END = 1 << 62


def is_large(headers: dict[str, str]) -> bool:
    """Whether a HEAD's (lower-cased) headers are those of an SLO or a DLO."""
    return "x-static-large-object" in headers or "x-object-manifest" in headers


@dataclass(frozen=True)
class Layout:
    """A large object's bytes as segment pieces, in order.

    ``etag`` is the large object's ETag (what a GET answers); ``version`` also
    names the manifest (two manifests over segments of equal content share an
    ETag), and is what caches key on. ``probes`` are the ``/container/object``
    paths checked as the caller on every request: one segment per container,
    and every nested manifest."""

    display: str
    kind: str
    etag: str
    version: str
    size: int
    pieces: tuple[Piece, ...]
    starts: tuple[int, ...]
    probes: tuple[str, ...]
    timestamp: float = 0.0
    content_type: str = "application/octet-stream"

    def info(self, name: str) -> ObjectInfo:
        """The ObjectInfo a format plugin sees: the assembled object's size and ETag."""
        return ObjectInfo(name=name, size=self.size, etag=self.etag, timestamp=self.timestamp,
                          content_type=self.content_type)

    def read(self, store: Store, start: int, stop: int) -> bytes:
        """Bytes ``start .. stop-1`` (clamped to the object), read from the
        segments that hold them in ``store`` (the manifest's account).
        Conflict when a segment is gone, changed or short (thread-safe)."""
        stop = min(stop, self.size)
        out: list[bytes] = []
        pos = start
        i = max(0, bisect.bisect_right(self.starts, pos) - 1)
        while pos < stop and i < len(self.pieces):
            piece, base = self.pieces[i], self.starts[i]
            lo, hi = pos - base, min(stop, base + piece.length) - base
            out.append(piece.data[lo:hi] if piece.data is not None else self._read_piece(store, piece, lo, hi))
            pos = base + hi
            i += 1
        return b"".join(out)

    def _read_piece(self, store: Store, piece: Piece, lo: int, hi: int) -> bytes:
        path = piece.path or ""
        container, obj = split_segment_path(path)
        try:
            with store.open_object(container, obj, ByteRange(piece.first + lo, piece.first + hi)) as reader:
                if piece.etag and normalize_etag(reader.info.etag) != normalize_etag(piece.etag):
                    raise Conflict(
                        f"{self.display}: segment {path} of this {self.kind} changed since its manifest "
                        f"was written (ETag {reader.info.etag}, the manifest has {normalize_etag(piece.etag)}): "
                        "upload the file again", self.display)
                data = reader.readall()
        except NotFound:
            raise Conflict(f"{self.display}: segment {path} of this {self.kind} is missing (deleted?): "
                           "upload the file again", self.display) from None
        if len(data) != hi - lo:
            raise Conflict(f"{self.display}: segment {path} of this {self.kind} is shorter than its "
                           f"manifest says (got {len(data)} of {hi - lo} bytes at {piece.first + lo})",
                           self.display)
        return data


def _forward(caller: SwiftRequest) -> dict[str, str]:
    return {h: caller.headers[h] for h in ("Referer",) if h in caller.headers}


def _refused(status: int, display: str, path: str) -> ApiError:
    """What a refused segment or nested manifest read becomes."""
    container = path.lstrip("/").partition("/")[0]
    if status == 401:
        return ApiError(401, f"Unauthorized: {display!r} is a large object whose segments in container "
                             f"{container!r} are not public: log in (X-Auth-Token) to read it")
    if status == 403:
        return ApiError(403, f"Cannot read file {display!r}: Permission denied on its segments in "
                             f"container {container!r}")
    if status == 404:
        return ApiError(409, f"Cannot read file {display!r}: its segment {path} is missing (deleted?)")
    return ApiError(409, f"Cannot read file {display!r}: its segment {path} answered {status}")


def listing_refused(status: int, display: str, manifest: str) -> ApiError:
    """What a DLO whose segment listing (``X-Object-Manifest: manifest``,
    made as the caller) answered ``status`` becomes."""
    manifest = unquote(manifest)
    if status == 404:
        return ApiError(409, f"Cannot read file {display!r}: it is a dynamic large object (X-Object-Manifest: "
                             f"{manifest}) and its segment container {manifest.partition('/')[0]!r} does not exist")
    return _refused(status, display, "/" + manifest)


async def _head(be: Backend, caller: SwiftRequest, account: str, path: str) -> Reply:
    """HEAD of an object as the caller, not assembling a large object."""
    container, obj = split_segment_path(path)
    sub = caller.sub("HEAD", account, container, obj, headers=_forward(caller),
                     query={"multipart-manifest": "get"})
    reply = await be.subrequest(sub)
    await reply.drain()
    return reply


async def check_access(be: Backend, caller: SwiftRequest, account: str, layout: Layout) -> None:
    """Raise ApiError unless the caller may read every container ``layout``
    reads (one HEAD as the caller per probe)."""
    replies = await gather_limited((_head(be, caller, account, p) for p in layout.probes), CHECK_CONCURRENCY)
    for path, reply in zip(layout.probes, replies, strict=True):
        if not reply.ok:
            raise _refused(reply.status, layout.display, path)


async def _manifest(be: Backend, caller: SwiftRequest, account: str, path: str, display: str) -> list[dict[str, Any]]:
    """The stored segment list of the SLO manifest at ``path``, read as the caller."""
    container, obj = split_segment_path(path)
    sub = caller.sub("GET", account, container, obj, headers=_forward(caller), query={"multipart-manifest": "get"})
    reply = await be.subrequest(sub)
    body = await reply.read()
    if not reply.ok:
        raise _refused(reply.status, display, path)
    try:
        entries = json.loads(body)
        if not isinstance(entries, list):
            raise ValueError("not a list")
        return entries
    except ValueError:
        raise ApiError(409, f"Cannot read file {display!r}: its SLO manifest {path} is not a valid manifest") from None


def _probes(pieces: Sequence[Piece], manifests: Sequence[str]) -> tuple[str, ...]:
    first: dict[str, str] = {}
    for p in pieces:
        if p.path is not None:
            first.setdefault(split_segment_path(p.path)[0], p.path)
    return tuple(dict.fromkeys([*first.values(), *manifests]))


async def _slo_pieces(be: Backend, caller: SwiftRequest, account: str, entries: list[dict[str, Any]],
                      start: int, stop: int, level: int, display: str, manifests: list[str]) -> list[Piece]:
    """The leaf pieces of bytes ``start .. stop-1`` of an SLO, nested SLOs
    resolved (at most ``max_nesting_depth`` deep, as the GET path allows)."""
    out: list[Piece] = []
    try:
        pieces = slo.segment_pieces(entries, start, stop)
    except (KeyError, ValueError, TypeError):
        raise ApiError(409, f"Cannot read file {display!r}: its SLO manifest is not a valid manifest") from None
    for piece in pieces:
        if piece.raw or piece.path is None:
            out.append(piece)
            continue
        if level >= be.config.slo.max_nesting_depth:
            raise ApiError(409, f"Cannot read file {display!r}: its SLO manifests nest more than "
                                f"{be.config.slo.max_nesting_depth} deep")
        nested = await _manifest(be, caller, account, piece.path, display)
        if piece.etag and normalize_etag(piece.etag) != slo.slo_etag_of(nested):
            raise ApiError(409, f"Cannot read file {display!r}: its nested SLO {piece.path} changed since "
                                "the manifest was written")
        manifests.append(piece.path)
        out.extend(await _slo_pieces(be, caller, account, nested, piece.first, piece.last + 1, level + 1,
                                     display, manifests))
    return out


def _verify(pieces: Sequence[Piece], heads: dict[str, Reply], display: str) -> None:
    """Raise ApiError for a segment that is unreadable, missing, changed or too short."""
    for piece in pieces:
        if piece.path is None:
            continue
        head = heads[piece.path]
        if not head.ok:
            raise _refused(head.status, display, piece.path)
        etag = normalize_etag(head.headers.get("Etag"))
        if piece.etag and etag != normalize_etag(piece.etag):
            raise ApiError(409, f"Cannot read file {display!r}: its segment {piece.path} changed since the "
                                f"manifest was written (ETag {etag}, the manifest has {normalize_etag(piece.etag)})")
        if (head.content_length or 0) <= piece.last:
            raise ApiError(409, f"Cannot read file {display!r}: its segment {piece.path} is shorter than the "
                                "manifest says")


async def _build(be: Backend, caller: SwiftRequest, account: str, container: str, name: str,
                 headers: dict[str, str], version: str) -> Layout:
    display = f"{container}/{name}"
    etag = normalize_etag(headers.get("etag")) or ""
    manifests: list[str] = []
    if "x-static-large-object" in headers:
        kind = "SLO"
        entries = await _manifest(be, caller, account, f"/{container}/{name}", display)
        pieces = await _slo_pieces(be, caller, account, entries, 0, _END, 1, display, manifests)

        async def head(path: str) -> Reply:
            reply = await be.subrequest(caller.sub("HEAD", account, *split_segment_path(path),
                                                   headers=_forward(caller)))
            await reply.drain()
            return reply

        paths = list(dict.fromkeys(p.path for p in pieces if p.path is not None))
        _verify(pieces, await slo.segment_heads(be, account, paths, head), display)
    else:
        kind = "DLO"
        manifest = unquote(headers["x-object-manifest"])
        seg_container, _, prefix = manifest.partition("/")
        listed = await dlo.list_segments(be, caller, seg_container, prefix)
        if isinstance(listed, Reply):
            raise listing_refused(listed.status, display, manifest)
        pieces = dlo.segment_pieces(seg_container, listed, 0, _END)
        if not pieces:
            raise ApiError(409, f"Cannot read file {display!r}: it is a dynamic large object (X-Object-Manifest: "
                                f"{manifest}) and no segment is listed under that prefix (deleted?)")
    starts, offset = [], 0
    for p in pieces:
        starts.append(offset)
        offset += p.length
    try:
        timestamp = float(headers.get("x-timestamp", "0"))
    except ValueError:
        timestamp = 0.0
    return Layout(display=display, kind=kind, etag=etag, version=version, size=offset, pieces=tuple(pieces),
                  starts=tuple(starts), probes=_probes(pieces, manifests), timestamp=timestamp,
                  content_type=headers.get("content-type", "application/octet-stream"))


class Layouts:
    """The layouts one worker keeps (used on its event loop only)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._layouts: OrderedDict[tuple[str, ...], Layout] = OrderedDict()

    async def get(self, be: Backend, caller: SwiftRequest, account: str, container: str, name: str,
                  headers: dict[str, str]) -> Layout:
        """The layout of ``container/name``, whose HEAD (made as ``caller``,
        lower-cased) gave ``headers``; built on first use of this version.
        The caller's access to the segments is checked every time."""
        # the SLO ETag hashes the segments' ETags only: the manifest's own ETag
        # (SLO) or its prefix (DLO) tells two manifests over equal bytes apart
        manifest = headers.get("x-manifest-etag") or headers.get("x-object-manifest", "")
        version = f"{normalize_etag(headers.get('etag'))}:{manifest}"
        key = (account, container, name, version)
        layout = self._layouts.get(key)
        if layout is None:
            layout = await _build(be, caller, account, container, name, headers, version)
            self._layouts[key] = layout
            while len(self._layouts) > self._capacity:
                self._layouts.popitem(last=False)
        else:
            self._layouts.move_to_end(key)
        await check_access(be, caller, account, layout)
        return layout
