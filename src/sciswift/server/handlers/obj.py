"""Object requests: GET, HEAD, PUT, POST, DELETE (COPY and OPTIONS are routed
to :mod:`~sciswift.server.copy` and :mod:`~sciswift.server.cors`; the writing
of a PUT lives in :mod:`~sciswift.server.writing`, shared with the features).

Contracts:

- PUT: see :mod:`~sciswift.server.writing` (atomic, all or nothing).
- GET sends the body straight from the store, with sendfile when the store
  has a file descriptor; ranges and conditions as in Swift.
- POST replaces user metadata (and the persisted headers such as
  Content-Disposition and X-Delete-At) and may change Content-Type; the body
  and large-object markers stay.
- Expired objects (X-Delete-At in the past) answer 404.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from sciswift.errors import QUARANTINED_HEADER, NotFound, Quarantined, SciSwiftError
from sciswift.server import copy, dlo, slo
from sciswift.server.backend import Backend
from sciswift.server.conditional import etag_set
from sciswift.server.handlers import Handler
from sciswift.server.http import (
    TEXT_TYPE,
    ObjectBody,
    Reply,
    ReplyBody,
    SwiftError,
    SwiftRequest,
    chunks_of,
    env_flag,
    error,
    reply,
)
from sciswift.server.metadata import OBJECT_PERSISTED_HEADERS, check_metadata, metadata_updates
from sciswift.server.middleware import object_versioning, symlink, versioned_writes
from sciswift.server.objects import is_dlo, is_expired, is_slo, object_headers, open_expired, ranged_reply
from sciswift.server.writing import (
    delete_at_from,
    normalize_delete_at,
    object_names,
    persisted_headers,
    writable,
    write_object,
)
from sciswift.store.base import ObjectReader, Store
from sciswift.store.names import MAX_OBJECT_NAME_LENGTH, utf8_len
from sciswift.store.types import ByteRange, ObjectInfo

__all__ = ["VERBS", "get_or_head", "put", "post", "delete"]

#: Bodies up to this size are read in the same thread-pool call that opens them.
SMALL_READ = 64 * 1024


# ------------------------------------------------------------------ reading
def _open_for_get(store: Store, container: str, name: str) -> tuple[ObjectInfo, bytes | None, ObjectReader | None]:
    """Open an object; small plain objects are read at once (one pool hop)."""
    reader = store.open_object(container, name)
    info = reader.info
    if info.size <= SMALL_READ and not is_slo(info) and not is_dlo(info):
        try:
            return info, reader.readall(), None
        finally:
            reader.close()
    return info, None, reader


async def get_or_head(be: Backend, req: SwiftRequest) -> Reply:
    """GET or HEAD of an object (large objects assembled unless
    ``multipart-manifest=get``, symlinks followed unless ``symlink=get``; a
    version with ``version-id``)."""
    return await object_versioning.read(be, req, _read)


async def _read(be: Backend, req: SwiftRequest) -> Reply:
    answer, followed = await _read_object(be, req)
    if not followed:  # a symlink's answer names its own target (Reply.source)
        answer.source = object_names(req)
    return answer


async def _read_object(be: Backend, req: SwiftRequest) -> tuple[Reply, bool]:
    """The reply, and whether it is a followed symlink's."""
    account, container, name = object_names(req)
    denied = await be.authorize(req, "read")
    if denied:
        return denied, False
    store = be.store(account)
    if store is None or utf8_len(name) > MAX_OBJECT_NAME_LENGTH:
        return _missing(req), False
    reader: ObjectReader | None = None
    data: bytes | None = None
    try:
        if req.method == "HEAD":
            info = await be.run(store.head_object, container, name)
        else:
            info, data, reader = await be.run(_open_for_get, store, container, name)
    except NotFound:
        return _missing(req), False
    try:
        if is_expired(info) and not open_expired(req):
            return _missing(req), False
        link = symlink.enabled(be) and symlink.is_link(info)
        if link and req.param("symlink") != "get":
            return await symlink.follow(be, req, info), True
        manifest_get = req.param("multipart-manifest") == "get"
        if is_slo(info):
            answer = await slo.get_or_head(be, req, info, manifest_get)
        elif is_dlo(info) and not manifest_get:
            answer = await dlo.get_or_head(be, req, info)
        else:
            answer = await plain_reply(be, req, store, info, data, reader)
            reader = None  # now owned by the reply body (or already closed)
            if link:
                answer.headers.update(symlink.client_headers(info))
        answer.stored = info
        return answer, False
    finally:
        if reader is not None:
            reader.close()


def _missing(req: SwiftRequest) -> Reply:
    """404, or 412 for ``If-Match: *`` (nothing exists to match, RFC 7232)."""
    if "*" in etag_set(req.headers.get("If-Match", "")):
        return error(412)
    return error(404)


async def plain_reply(
    be: Backend,
    req: SwiftRequest,
    store: Store,
    info: ObjectInfo,
    data: bytes | None,
    reader: ObjectReader | None,
) -> Reply:
    """The reply for an object's own bytes. Takes ownership of ``reader``."""
    _, container, name = object_names(req)
    used = False

    async def whole() -> ReplyBody:
        nonlocal used
        used = True
        return data if data is not None else ObjectBody(reader, be.run)  # type: ignore[arg-type]

    async def single(start: int, stop: int) -> ReplyBody:
        if data is not None:
            return data[start:stop]
        ranged = await be.run(store.open_object, container, name, ByteRange(start, stop))
        if ranged.info.etag != info.etag:
            ranged.close()
            raise SwiftError(503, "object changed while being read")
        return ObjectBody(ranged, be.run)

    async def fetch(start: int, stop: int) -> AsyncIterator[bytes]:
        async for chunk in chunks_of(await single(start, stop)):
            yield chunk

    try:
        return await ranged_reply(
            req, object_headers(info), info.size, fetch,
            etag=info.etag, timestamp=info.timestamp, whole=whole, single=single,
        )
    finally:
        if reader is not None and not used:
            reader.close()


async def put(be: Backend, req: SwiftRequest) -> Reply:
    """PUT an object (or an SLO manifest, a server-side copy, a symlink; with
    ``version-id``, make that version current)."""
    if not req.headers.get("X-Copy-From"):  # a copy of a version writes a new one
        current = await object_versioning.put(be, req, lambda: writable(be, req))
        if current is not None:
            return current
    if req.param("multipart-manifest") == "put":
        return await slo.put(be, req)
    if req.headers.get("X-Copy-From"):
        return await copy.put_copy_from(be, req)
    if "X-Symlink-Target" in req.headers and symlink.enabled(be):
        return await write_object(be, req, extra_system=await symlink.prepare_put(be, req))
    if env_flag(req.headers.get("X-Static-Large-Object")):
        raise SwiftError(
            400,
            "X-Static-Large-Object is a reserved header. To create a static large object "
            "add query param multipart-manifest=put.",
            content_type=TEXT_TYPE,
        )
    return await write_object(be, req)


# ------------------------------------------------------------------- POST
async def post(be: Backend, req: SwiftRequest) -> Reply:
    """Replace an object's metadata (Swift's "fast POST"); a POST to a
    symlink applies to the link and answers 307 at its target."""
    _, container, name = object_names(req)
    object_versioning.refuse_version_post(be, req)
    if symlink.enabled(be):
        symlink.check_post(req)
    target = await writable(be, req)
    if isinstance(target, Reply):
        return target
    store, _ = target
    check_metadata(req.headers, "object")
    now = time.time()
    delete_at = delete_at_from(req.headers, now)
    try:
        current = await be.run(store.head_object, container, name)
    except Quarantined:
        return error(404, headers={QUARANTINED_HEADER: "true"})
    except (NotFound, SciSwiftError):
        return error(404)
    if is_expired(current, now) and not open_expired(req):
        return error(404)
    system = persisted_headers(req, delete_at)
    for h in OBJECT_PERSISTED_HEADERS:
        if h != "x-static-large-object":
            system.setdefault(h, "")  # not sent again: dropped, as Swift's POST does
    content_type = req.headers.get("Content-Type") or None
    meta = {k: v for k, v in metadata_updates(req.headers, "object").items() if v}
    try:
        await be.run(
            lambda: store.post_object(container, name, metadata=meta, content_type=content_type, system=system)
        )
    except NotFound:
        return error(404)
    if symlink.enabled(be) and symlink.is_link(current):
        version = await object_versioning.post(be, req, current)
        return version if version is not None else symlink.post_redirect(req, current)
    return reply(202)


# ----------------------------------------------------------------- DELETE
async def delete(be: Backend, req: SwiftRequest) -> Reply:
    _, container, name = object_names(req)
    target = await writable(be, req)
    if isinstance(target, Reply):
        return target
    store, cinfo = target
    if_delete_at = req.headers.get("X-If-Delete-At")
    if if_delete_at is not None:
        try:
            float(if_delete_at)
        except ValueError:
            raise SwiftError(400, "Bad X-If-Delete-At header value") from None
    if req.param("multipart-manifest") == "delete":
        return await slo.delete(be, req)
    if if_delete_at is not None:
        try:
            current = await be.run(store.head_object, container, name)
        except NotFound:
            return error(404)
        if current.system.get("x-delete-at") != normalize_delete_at(float(if_delete_at)):
            return error(412, "X-If-Delete-At and X-Delete-At do not match")
    versioned = await object_versioning.delete(be, req, store, cinfo)
    if versioned is None:
        versioned = await versioned_writes.delete(be, req, store, cinfo)
    if versioned is not None:
        return versioned
    try:
        await be.run(store.delete_object, container, name)
    except NotFound:
        return error(404)
    return reply(204)


VERBS: dict[str, Handler] = {
    "GET": get_or_head, "HEAD": get_or_head, "PUT": put, "POST": post, "DELETE": delete, "COPY": copy.handle_copy,
}
