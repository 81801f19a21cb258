"""Object requests: GET, HEAD, PUT, POST, DELETE (COPY and OPTIONS are routed
to :mod:`~sciswift.server.copy` and :mod:`~sciswift.server.cors`).

Contracts:

- PUT streams the body into ``Store.open_writer`` (or one ``put_object`` call
  for small bodies); the object becomes visible only once the whole body has
  arrived and matched its Content-Length and ETag. A client that disconnects,
  or a server killed mid-upload, leaves the previous object (or none).
- GET sends the body straight from the store, with sendfile when the store
  has a file descriptor; ranges and conditions as in Swift.
- POST replaces user metadata (and the persisted headers such as
  Content-Disposition and X-Delete-At) and may change Content-Type; the body
  and large-object markers stay.
- Expired objects (X-Delete-At in the past) answer 404.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time
from collections.abc import AsyncIterator

from multidict import CIMultiDict

from sciswift.errors import QUARANTINED_HEADER, NotFound, Quarantined, SciSwiftError, status_for
from sciswift.server import dlo, quotas, slo
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
    env_flag,
    error,
)
from sciswift.server.metadata import OBJECT_PERSISTED_HEADERS, check_metadata, metadata_updates
from sciswift.server.objects import is_dlo, is_expired, is_slo, object_headers, open_expired, ranged_reply
from sciswift.server.times import http_date
from sciswift.store.base import ObjectReader, Store
from sciswift.store.names import MAX_FILE_SIZE, MAX_OBJECT_NAME_LENGTH, utf8_len
from sciswift.store.types import CREATE, OVERWRITE, ByteRange, ContainerInfo, IfMatch, ObjectInfo, PutMode

__all__ = ["VERBS", "get_or_head", "put", "write_object", "store_body", "delete_at_from"]


#: Bodies up to this size are read whole and stored with one store call;
#: larger ones stream through a writer in WRITE_CHUNK pieces.
SMALL_BODY = 256 * 1024
WRITE_CHUNK = 1 << 20
#: Bodies up to this size are read in the same thread-pool call that opens them.
SMALL_READ = 64 * 1024
#: Seconds to wait for the next piece of a request body (Swift's client_timeout).
CLIENT_TIMEOUT = 60.0


def _names(req: SwiftRequest) -> tuple[str, str, str]:
    assert req.account is not None and req.container is not None and req.obj is not None
    return req.account, req.container, req.obj


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
    ``multipart-manifest=get``)."""
    account, container, name = _names(req)
    denied = await be.authorize(req, "read")
    if denied:
        return denied
    store = be.store(account)
    if store is None or utf8_len(name) > MAX_OBJECT_NAME_LENGTH:
        return _missing(req)
    reader: ObjectReader | None = None
    data: bytes | None = None
    try:
        if req.method == "HEAD":
            info = await be.run(store.head_object, container, name)
        else:
            info, data, reader = await be.run(_open_for_get, store, container, name)
    except NotFound:
        return _missing(req)
    try:
        if is_expired(info) and not open_expired(req):
            return _missing(req)
        manifest_get = req.param("multipart-manifest") == "get"
        if is_slo(info):
            return await slo.get_or_head(be, req, info, manifest_get)
        if is_dlo(info) and not manifest_get:
            return await dlo.get_or_head(be, req, info)
        reply = await plain_reply(be, req, store, info, data, reader)
        reader = None  # now owned by the reply body (or already closed)
        return reply
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
    _, container, name = _names(req)
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
        body = await single(start, stop)
        if isinstance(body, (bytes, bytearray)):
            yield bytes(body)
        else:
            async for chunk in body:  # type: ignore[union-attr]
                yield chunk

    try:
        return await ranged_reply(
            req, object_headers(info), info.size, fetch,
            etag=info.etag, timestamp=info.timestamp, whole=whole, single=single,
        )
    finally:
        if reader is not None and not used:
            reader.close()


# ------------------------------------------------------------------ writing
def body_length(req: SwiftRequest) -> int | None:
    """The announced body size, None for chunked; raises Swift's errors for a
    missing, malformed or too-large length."""
    te = req.headers.get("Transfer-Encoding")
    if te is not None:
        codings = [c.strip().lower() for c in te.split(",")]
        if len(codings) > 1:
            raise SwiftError(
                501,
                "Unsupported Transfer-Coding header value specified in Transfer-Encoding header",
                content_type=TEXT_TYPE,
            )
        if codings[0] != "chunked":
            raise SwiftError(400, "Invalid Transfer-Encoding header value", content_type=TEXT_TYPE)
        return None
    cl = req.headers.get("Content-Length")
    if cl is None:
        raise SwiftError(411, "Missing Content-Length header.", content_type=TEXT_TYPE)
    try:
        length = int(cl)
    except ValueError:
        raise SwiftError(400, "Invalid Content-Length header value", content_type=TEXT_TYPE) from None
    if length < 0:
        raise SwiftError(400, "Invalid Content-Length", content_type=TEXT_TYPE)
    if length > MAX_FILE_SIZE:
        raise SwiftError(413, "Your request is too large.", content_type=TEXT_TYPE)
    return length


def delete_at_from(headers: CIMultiDict[str], now: float) -> str | None:
    """The X-Delete-At value a request sets (from X-Delete-After or
    X-Delete-At), validated as Swift does; None when neither is given."""
    if "X-Delete-After" in headers:
        try:
            after = int(headers["X-Delete-After"])
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-After", content_type=TEXT_TYPE) from None
        at = _normalize_delete_at(now + after)
        if int(at) <= now:
            raise SwiftError(400, "X-Delete-After in past", content_type=TEXT_TYPE)
        return at
    if "X-Delete-At" in headers:
        try:
            at = _normalize_delete_at(int(headers["X-Delete-At"]))
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-At", content_type=TEXT_TYPE) from None
        if int(at) <= now:
            raise SwiftError(400, "X-Delete-At in past", content_type=TEXT_TYPE)
        return at
    return None


def _normalize_delete_at(value: float) -> str:
    # Swift clamps to ten digits: a far-future date means "9999999999".
    return f"{min(max(0, int(value)), 9999999999):010d}"


def guessed_content_type(name: str) -> str:
    """The content type a PUT of ``name`` without one gets (from its extension)."""
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def content_type_for(req: SwiftRequest) -> str:
    ctype = req.headers.get("Content-Type")
    if not ctype or env_flag(req.headers.get("X-Detect-Content-Type")):
        return guessed_content_type(req.obj or "")
    try:
        ctype.encode("utf-8")
    except UnicodeEncodeError:
        raise SwiftError(400, "Invalid Content-Type", content_type=TEXT_TYPE) from None
    return ctype


def check_dlo_header(value: str) -> None:
    container, sep, prefix = value.partition("/")
    if not container or not sep or not prefix or "?" in value or "&" in value or prefix.startswith("/"):
        raise SwiftError(400, "X-Object-Manifest must be in the format container/prefix")


def persisted_headers(req: SwiftRequest, delete_at: str | None) -> dict[str, str]:
    """The headers of a PUT/POST the store keeps with the object."""
    system: dict[str, str] = {}
    for h in OBJECT_PERSISTED_HEADERS:
        if h in ("x-static-large-object", "x-delete-at"):
            continue
        value = req.headers.get(h)
        if value is not None:
            system[h] = value
    if "x-object-manifest" in system:
        check_dlo_header(system["x-object-manifest"])
    if delete_at is not None:
        system["x-delete-at"] = delete_at
    return system


async def store_body(
    be: Backend,
    req: SwiftRequest,
    store: Store,
    container: str,
    name: str,
    *,
    length: int | None,
    content_type: str,
    metadata: dict[str, str],
    system: dict[str, str],
    mode: PutMode = OVERWRITE,
    etag: str | None = None,
) -> ObjectInfo:
    """Store the request body as an object, atomically.

    Nothing is stored unless exactly ``length`` bytes arrive (any length up to
    5 GiB when None: chunked) and, if ``etag`` is given, their MD5 matches it.
    """
    options = dict(content_type=content_type, metadata=metadata, system=system, mode=mode, etag=etag)
    if length is not None and length <= SMALL_BODY:
        data = await _read_exact(req, length)
        return await be.run(lambda: store.put_object(container, name, data, **options))  # type: ignore[arg-type]
    writer = await be.run(lambda: store.open_writer(container, name, **options))  # type: ignore[arg-type]

    def write_all(blocks: list[bytes]) -> None:
        for block in blocks:
            writer.write(block)

    try:
        total = 0
        pending: list[bytes] = []
        pending_size = 0
        while True:
            chunk = await _read_any(req)
            if chunk:
                total += len(chunk)
                if total > MAX_FILE_SIZE or (length is not None and total > length):
                    raise SwiftError(413, "Your request is too large.", content_type=TEXT_TYPE)
                pending.append(chunk)
                pending_size += len(chunk)
            # Hand the received buffers to the pool about a MiB at a time, as
            # they are (joining them would copy every byte once more).
            if pending and (pending_size >= WRITE_CHUNK or not chunk):
                blocks, pending, pending_size = pending, [], 0
                await be.run(write_all, blocks)
            if not chunk:
                break
        if length is not None and total != length:
            raise SwiftError(499)
        return await be.run(writer.commit)
    except BaseException:
        await asyncio.shield(be.run(writer.abort))
        raise


async def _read_any(req: SwiftRequest) -> bytes:
    try:
        async with asyncio.timeout(CLIENT_TIMEOUT):
            return await req.body.read_any()
    except TimeoutError:
        raise SwiftError(408) from None


async def _read(req: SwiftRequest, n: int) -> bytes:
    try:
        async with asyncio.timeout(CLIENT_TIMEOUT):  # cheaper than wait_for: no extra task
            return await req.body.read(n)
    except TimeoutError:
        raise SwiftError(408) from None


async def _read_exact(req: SwiftRequest, length: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while True:
        chunk = await _read(req, max(length - got, 1 << 16))
        if not chunk:
            break
        got += len(chunk)
        if got > length:
            raise SwiftError(413, "Your request is too large.", content_type=TEXT_TYPE)
        parts.append(chunk)
    if got != length:
        raise SwiftError(499)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def put_mode(req: SwiftRequest) -> PutMode:
    """``If-None-Match: *`` creates only (as Swift). Beyond Swift, which ignores
    If-Match on PUT: one ETag in ``If-Match`` replaces the object only if that
    is its current ETag, atomically (412 otherwise, also when it is missing), so
    clients can compare-and-swap; ``/info`` announces it as
    ``sciswift.conditional_put``. Lists and ``*`` are ignored, as Swift does."""
    inm = req.headers.get("If-None-Match")
    if inm is None:
        tags = etag_set(req.headers.get("If-Match", ""))
        if len(tags) == 1 and "*" not in tags:
            return IfMatch(next(iter(tags)))
        return OVERWRITE
    if "*" not in [t.strip() for t in inm.split(",")]:
        raise SwiftError(400, "If-None-Match only supports *", content_type=TEXT_TYPE)
    return CREATE


def created_reply(info: ObjectInfo, etag: str | None = None) -> Reply:
    reply = Reply(201)
    reply.headers.update(
        {
            "Content-Type": "text/html; charset=UTF-8",
            "Etag": etag or info.etag,
            "Last-Modified": http_date(info.timestamp),
        }
    )
    return reply


async def put(be: Backend, req: SwiftRequest) -> Reply:
    """PUT an object (or an SLO manifest, or a server-side copy)."""
    if req.param("multipart-manifest") == "put":
        return await slo.put(be, req)
    if req.headers.get("X-Copy-From"):
        from sciswift.server.copy import put_copy_from

        return await put_copy_from(be, req)
    return await write_object(be, req)


async def write_object(
    be: Backend,
    req: SwiftRequest,
    *,
    data: bytes | None = None,
    extra_system: dict[str, str] | None = None,
    reply_etag: str | None = None,
) -> Reply:
    """Store the object a PUT describes: the request body, or ``data`` (an SLO
    manifest, whose ``extra_system`` values mark it and whose client ETag was
    already checked against the SLO ETag)."""
    account, container, name = _names(req)
    mode = put_mode(req)
    if data is not None and isinstance(mode, IfMatch):
        mode = OVERWRITE  # a manifest's stored ETag is not the one clients see
    target = await _writable(be, req)
    if isinstance(target, Reply):
        return target
    store, cinfo = target
    length = body_length(req) if data is None else len(data)
    if utf8_len(name) > MAX_OBJECT_NAME_LENGTH:
        raise SwiftError(
            400, f"Object name length of {utf8_len(name)} longer than {MAX_OBJECT_NAME_LENGTH}",
            content_type=TEXT_TYPE,
        )
    content_type = content_type_for(req)
    system = persisted_headers(req, delete_at_from(req.headers, time.time()))
    system.update(extra_system or {})
    check_metadata(req.headers, "object")
    await quotas.check_upload(be, req, cinfo, length)
    metadata = metadata_updates(req.headers, "object")
    try:
        if data is not None:
            info = await be.run(lambda: store.put_object(
                container, name, data, content_type=content_type, metadata=metadata, system=system, mode=mode,
            ))
        else:
            info = await store_body(
                be, req, store, container, name,
                length=length, content_type=content_type, metadata=metadata, system=system,
                mode=mode, etag=req.headers.get("Etag"),
            )
    except SciSwiftError as exc:
        return _store_error(exc)
    return created_reply(info, reply_etag)


async def _writable(be: Backend, req: SwiftRequest) -> tuple[Store, ContainerInfo] | Reply:
    """The store and container info of a write's target, once the caller may
    write there; else the 401/403 (or 404 for a missing container) reply."""
    denied = await be.authorize(req, "write")
    if denied:
        return denied
    account, container, _ = _names(req)
    cinfo = await be.container_info(req, account, container)
    store = be.store(account)
    if cinfo is None or store is None:
        return error(404)
    return store, cinfo


def _store_error(exc: SciSwiftError) -> Reply:
    status = status_for(exc)
    if status == 404:
        return error(404)
    return error(status)


# ------------------------------------------------------------------- POST
async def post(be: Backend, req: SwiftRequest) -> Reply:
    """Replace an object's metadata (Swift's "fast POST")."""
    _, container, name = _names(req)
    target = await _writable(be, req)
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
    return error(202)


# ----------------------------------------------------------------- DELETE
async def delete(be: Backend, req: SwiftRequest) -> Reply:
    _, container, name = _names(req)
    target = await _writable(be, req)
    if isinstance(target, Reply):
        return target
    store, _ = target
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
        if current.system.get("x-delete-at") != _normalize_delete_at(float(if_delete_at)):
            return error(412, "X-If-Delete-At and X-Delete-At do not match")
    try:
        await be.run(store.delete_object, container, name)
    except NotFound:
        return error(404)
    return error(204)


async def _copy(be: Backend, req: SwiftRequest) -> Reply:
    from sciswift.server.copy import handle_copy  # copy builds on this module

    return await handle_copy(be, req)


VERBS: dict[str, Handler] = {
    "GET": get_or_head, "HEAD": get_or_head, "PUT": put, "POST": post, "DELETE": delete, "COPY": _copy,
}
