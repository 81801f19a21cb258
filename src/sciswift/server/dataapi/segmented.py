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

A segment may be a symlink (Swift allows it, static or dynamic): as Swift's
GET of the large object, its bytes are its final target's, whose ETag must be
the one the manifest recorded (the target's, written when the manifest was
checked). The layout records each link segment's target (``targets``), found
by the segment's ``HEAD`` as the caller; every link segment is a probe, so
every request follows each link again as the caller (its containers, a static
link's ETag, loops), and a link now pointing elsewhere makes the layout be
built again, never read from the old target.

Layouts are kept per worker (``Layouts``), keyed by the large object's ETag
and the manifest's identity, so a viewer's burst of requests resolves the
manifest once; the access check runs on every request all the same.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
    ETag) and the targets of symlink segments, and is what the open files are
    cached by. ``probes`` are the ``/container/object``
    paths checked as the caller on every request: one segment per container,
    every nested manifest and every segment that is a symlink. ``account``
    holds the segments; ``targets`` maps a symlink segment's path to the
    ``(account, container, object)`` it resolved to."""

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
    account: str = ""
    targets: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)

    def info(self, name: str) -> ObjectInfo:
        """The ObjectInfo a format plugin sees: the assembled object's size and ETag."""
        return ObjectInfo(name=name, size=self.size, etag=self.etag, timestamp=self.timestamp,
                          content_type=self.content_type)

    def read(self, stores: Callable[[str], Store | None], start: int, stop: int) -> bytes:
        """Bytes ``start .. stop-1`` (clamped to the object), read from the
        segments that hold them (``stores`` gives an account's store: the
        segments' ``account``, or a symlink segment's target's).
        Conflict when a segment is gone, changed or short (thread-safe)."""
        stop = min(stop, self.size)
        out: list[bytes] = []
        pos = start
        i = max(0, bisect.bisect_right(self.starts, pos) - 1)
        while pos < stop and i < len(self.pieces):
            piece, base = self.pieces[i], self.starts[i]
            lo, hi = pos - base, min(stop, base + piece.length) - base
            out.append(piece.data[lo:hi] if piece.data is not None else self._read_piece(stores, piece, lo, hi))
            pos = base + hi
            i += 1
        return b"".join(out)

    def _read_piece(self, stores: Callable[[str], Store | None], piece: Piece, lo: int, hi: int) -> bytes:
        path = piece.path or ""
        # a symlink segment reads its target's bytes, checked against the
        # manifest's ETag as Swift checks the segment GET's
        account, container, obj = self.targets.get(path) or (self.account, *split_segment_path(path))
        store = stores(account)
        try:
            if store is None:
                raise NotFound(f"no account {account}", path)
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


async def check_access(be: Backend, caller: SwiftRequest, layout: Layout) -> bool:
    """Raise ApiError unless the caller may read every container ``layout``
    reads (one HEAD as the caller per probe, in the segments' account).
    False when a symlink segment now resolves elsewhere than ``layout``
    reads: the layout is stale."""
    replies = await gather_limited((_head(be, caller, layout.account, p) for p in layout.probes),
                                   CHECK_CONCURRENCY)
    fresh = True
    for path, reply in zip(layout.probes, replies, strict=True):
        if not reply.ok:
            raise _link_refused(reply, layout.display, path) if _is_link(reply, layout.account, path) else \
                _refused(reply.status, layout.display, path)
        if _is_link(reply, layout.account, path) != (path in layout.targets) or \
                (path in layout.targets and reply.source != layout.targets[path]):
            fresh = False
    return fresh


def _is_link(reply: Reply, account: str, path: str) -> bool:
    """Whether the HEAD ``reply`` of the segment ``path`` followed a symlink."""
    return reply.source != (account, *split_segment_path(path)) and (
        reply.source is not None or "Content-Location" in reply.headers)


def _link_refused(reply: Reply, display: str, path: str) -> ApiError:
    """What a symlink segment whose target is missing or refused becomes."""
    target = "/".join(reply.source[1:]) if reply.source is not None else reply.headers.get("Content-Location", "?")
    if reply.status in (401, 403):
        return _refused(reply.status, display, "/" + target)
    why = "is missing (deleted?)" if reply.status == 404 else f"answered {reply.status}"
    return ApiError(409, f"Cannot read file {display!r}: its segment {path} is a symlink to {target}, which {why}")


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


def _probes(pieces: Sequence[Piece], manifests: Sequence[str], links: Sequence[str]) -> tuple[str, ...]:
    first: dict[str, str] = {}
    for p in pieces:
        if p.path is not None and p.path not in links:
            first.setdefault(split_segment_path(p.path)[0], p.path)
    # every link: its HEAD as the caller checks each container on its way
    return tuple(dict.fromkeys([*first.values(), *manifests, *links]))


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


def _verify(pieces: Sequence[Piece], heads: dict[str, Reply], display: str, account: str) -> None:
    """Raise ApiError for a segment that is unreadable, missing, changed or
    too short (a symlink segment: its target)."""
    for piece in pieces:
        if piece.path is None:
            continue
        head = heads[piece.path]
        if not head.ok:
            raise _link_refused(head, display, piece.path) if _is_link(head, account, piece.path) else \
                _refused(head.status, display, piece.path)
        etag = normalize_etag(head.headers.get("Etag"))
        if piece.etag and etag != normalize_etag(piece.etag):
            raise ApiError(409, f"Cannot read file {display!r}: its segment {piece.path} changed since the "
                                f"manifest was written (ETag {etag}, the manifest has {normalize_etag(piece.etag)})")
        if (head.content_length or 0) <= piece.last:
            raise ApiError(409, f"Cannot read file {display!r}: its segment {piece.path} is shorter than the "
                                "manifest says")


async def _build(be: Backend, caller: SwiftRequest, account: str, container: str, name: str,
                 headers: dict[str, str], version: str, seg_account: str, display: str) -> Layout:
    """The layout of the large object ``account/container/name`` (read as
    ``caller``: through a symlink, its target's manifest), whose segments are
    in ``seg_account``."""
    etag = normalize_etag(headers.get("etag")) or ""
    manifests: list[str] = []
    targets: dict[str, tuple[str, str, str]] = {}
    if "x-static-large-object" in headers:
        kind = "SLO"
        entries = await _manifest(be, caller, account, f"/{container}/{name}", display)
        pieces = await _slo_pieces(be, caller, seg_account, entries, 0, _END, 1, display, manifests)

        async def head(path: str) -> Reply:
            reply = await be.subrequest(caller.sub("HEAD", seg_account, *split_segment_path(path),
                                                   headers=_forward(caller)))
            await reply.drain()
            return reply

        paths = list(dict.fromkeys(p.path for p in pieces if p.path is not None))
        heads = await slo.segment_heads(be, seg_account, paths, head)
        _verify(pieces, heads, display, seg_account)
        for path, reply in heads.items():
            if _is_link(reply, seg_account, path):
                if reply.source is None:  # the link middleware answered itself (a 409)
                    raise _link_refused(reply, display, path)
                targets[path] = reply.source
    else:
        kind = "DLO"
        manifest = unquote(headers["x-object-manifest"])
        seg_container, _, prefix = manifest.partition("/")
        lister = caller if caller.account == seg_account else caller.sub(caller.method, seg_account,
                                                                          headers=_forward(caller))
        listed = await dlo.list_segments(be, lister, seg_container, prefix)
        if isinstance(listed, Reply):
            raise listing_refused(listed.status, display, manifest)
        pieces = dlo.segment_pieces(seg_container, listed, 0, _END)
        if not pieces:
            raise ApiError(409, f"Cannot read file {display!r}: it is a dynamic large object (X-Object-Manifest: "
                                f"{manifest}) and no segment is listed under that prefix (deleted?)")
    if targets:
        # the open file reads through this layout: another set of link targets
        # is another file to the cache of open files (``Target.version``)
        resolved = json.dumps(sorted(targets.items()), ensure_ascii=False).encode("utf-8", "surrogateescape")
        version = f"{version}:{hashlib.md5(resolved).hexdigest()}"
    starts, offset = [], 0
    for p in pieces:
        starts.append(offset)
        offset += p.length
    try:
        timestamp = float(headers.get("x-timestamp", "0"))
    except ValueError:
        timestamp = 0.0
    return Layout(display=display, kind=kind, etag=etag, version=version, size=offset, pieces=tuple(pieces),
                  starts=tuple(starts), probes=_probes(pieces, manifests, list(targets)), timestamp=timestamp,
                  content_type=headers.get("content-type", "application/octet-stream"), account=seg_account,
                  targets=targets)


class Layouts:
    """The layouts one worker keeps (used on its event loop only)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._layouts: OrderedDict[tuple[str, ...], Layout] = OrderedDict()

    async def get(self, be: Backend, caller: SwiftRequest, account: str, container: str, name: str,
                  headers: dict[str, str], segments_account: str | None = None,
                  display: str | None = None) -> Layout:
        """The layout of ``container/name``, whose HEAD (made as ``caller``,
        lower-cased) gave ``headers``; built on first use of this version.
        The caller's access to the segments is checked every time.
        ``segments_account``: where the segments are (default ``account``;
        a symlink's target's when ``name`` is a link into another account);
        ``display``: how errors name the file."""
        # the SLO ETag hashes the segments' ETags only: the manifest's own ETag
        # (SLO) or its prefix (DLO) tells two manifests over equal bytes apart
        manifest = headers.get("x-manifest-etag") or headers.get("x-object-manifest", "")
        version = f"{normalize_etag(headers.get('etag'))}:{manifest}"
        seg_account = segments_account or account
        key = (account, container, name, version, seg_account)
        layout = self._layouts.get(key)
        for _attempt in range(2):
            if layout is None:
                layout = await _build(be, caller, account, container, name, headers, version, seg_account,
                                      display or f"{container}/{name}")
                self._layouts[key] = layout
                while len(self._layouts) > self._capacity:
                    self._layouts.popitem(last=False)
            else:
                self._layouts.move_to_end(key)
            if await check_access(be, caller, layout):
                return layout
            # a symlink segment points elsewhere now: build the layout again
            self._layouts.pop(key, None)
            layout = None
        raise ApiError(409, f"Cannot read file {display or f'{container}/{name}'!r}: its symlink segments "
                            "keep changing while it is read: try again")
