"""Writing objects: the PUT path shared by the object handler and by the
features that store objects (copy, SLO manifests, bulk upload).

Contracts:

- :func:`store_body` streams a request body into ``Store.open_writer`` (or one
  ``put_object`` call for small bodies); the object becomes visible only once
  the whole body has arrived and matched its Content-Length and ETag. A client
  that disconnects, or a server killed mid-upload, leaves the previous object
  (or none).
- :func:`write_object` is a whole PUT: authorization, Swift's checks in Swift's
  order (name length, Content-Type, X-Delete-*, metadata limits, quotas), the
  store call, the 201 reply. In a versioned container the versioning
  middlewares decide where the body goes (``server.middleware``): the
  replaced version is archived first, or the body becomes a new version.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time

from multidict import CIMultiDict

from sciswift.errors import SciSwiftError
from sciswift.server import quotas
from sciswift.server.backend import Backend
from sciswift.server.conditional import etag_set
from sciswift.server.http import TEXT_TYPE, Reply, SwiftError, SwiftRequest, env_flag, error, reply_for_error
from sciswift.server.metadata import OBJECT_PERSISTED_HEADERS, check_metadata, metadata_updates
from sciswift.server.middleware import object_versioning, versioned_writes
from sciswift.server.times import http_date
from sciswift.store.base import Store
from sciswift.store.names import MAX_FILE_SIZE, MAX_OBJECT_NAME_LENGTH, utf8_len
from sciswift.store.types import CREATE, OVERWRITE, ContainerInfo, IfMatch, ObjectInfo, PutMode

__all__ = [
    "object_names",
    "body_length",
    "delete_at_from",
    "normalize_delete_at",
    "guessed_content_type",
    "content_type_for",
    "persisted_headers",
    "store_body",
    "put_mode",
    "created_reply",
    "write_object",
    "writable",
]

#: Bodies up to this size are read whole and stored with one store call;
#: larger ones stream through a writer, handed to the thread pool about
#: WRITE_CHUNK bytes at a time (each hand-over wakes two threads: 16 MiB S3
#: PUTs from 4 clients cost the server 48-50 ms of CPU each with 4 MiB, 52-57
#: with 1 MiB, alternating runs at load average 12).
SMALL_BODY = 256 * 1024
WRITE_CHUNK = 4 << 20
#: Seconds to wait for the next piece of a request body (Swift's client_timeout).
CLIENT_TIMEOUT = 60.0


def object_names(req: SwiftRequest) -> tuple[str, str, str]:
    """(account, container, object) of an object request."""
    assert req.account is not None and req.container is not None and req.obj is not None
    return req.account, req.container, req.obj


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
        at = normalize_delete_at(now + after)
        if int(at) <= now:
            raise SwiftError(400, "X-Delete-After in past", content_type=TEXT_TYPE)
        return at
    if "X-Delete-At" in headers:
        try:
            at = normalize_delete_at(int(headers["X-Delete-At"]))
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-At", content_type=TEXT_TYPE) from None
        if int(at) <= now:
            raise SwiftError(400, "X-Delete-At in past", content_type=TEXT_TYPE)
        return at
    return None


def normalize_delete_at(value: float) -> str:
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
    The body's ``system_at_commit`` values (asked once it ended and passed its
    checks) are stored with the object, over ``system``, in the same write.
    """
    options = dict(content_type=content_type, metadata=metadata, system=system, mode=mode, etag=etag)
    if length is not None and length <= SMALL_BODY:
        data = await _read_exact(req, length)  # the body verified itself at its end
        late = req.body.system_at_commit()
        if late:
            options["system"] = {**system, **late}
        return await be.run(lambda: store.put_object(container, name, data, **options))  # type: ignore[arg-type]
    writer = await be.run(lambda: store.open_writer(container, name, **options))  # type: ignore[arg-type]
    vouched = getattr(req.body, "vouched_md5", None)
    if vouched and etag and vouched == etag.strip('"'):
        writer.vouch_md5(vouched)  # a server-side copy of checked bytes
    # The body's own checks (an S3 payload's SHA-256 and checksum) run here,
    # on each block in the thread that writes it while it is in the CPU's
    # cache: one hand-over to the pool per batch instead of two.
    checks = req.body.take_checks()

    def write_all(blocks: list[bytes]) -> None:
        for block in blocks:
            if checks is not None:
                checks.update(block)
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
            # Hand the received buffers to the pool a few MiB at a time, as
            # they are (joining them would copy every byte once more).
            if pending and (pending_size >= WRITE_CHUNK or not chunk):
                blocks, pending, pending_size = pending, [], 0
                await be.run(write_all, blocks)
            if not chunk:
                break
        if length is not None and total != length:
            raise SwiftError(499)
        if checks is not None:
            checks.verify()
        # values known only now (a trailer's checksum) go into the same commit
        late = req.body.system_at_commit()
        if late:
            writer.add_system(late)
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
    account, container, name = object_names(req)
    mode = put_mode(req)
    if data is not None and isinstance(mode, IfMatch):
        mode = OVERWRITE  # a manifest's stored ETag is not the one clients see
    target = await writable(be, req)
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

    async def put(target: Store, t_container: str, t_name: str, t_mode: PutMode, t_system: dict[str, str]) -> ObjectInfo:
        if data is not None:
            return await be.run(lambda: target.put_object(
                t_container, t_name, data, content_type=content_type, metadata=metadata, system=t_system, mode=t_mode,
            ))
        return await store_body(
            be, req, target, t_container, t_name,
            length=length, content_type=content_type, metadata=metadata, system=t_system,
            mode=t_mode, etag=req.headers.get("Etag"),
        )

    written_mode = mode
    try:
        if object_versioning.enabled_for(be, cinfo):
            return await object_versioning.write(be, req, store, cinfo, put, system, metadata, length, reply_etag)
        written_mode = await versioned_writes.archive_current(be, req, store, cinfo, mode)
        info = await put(store, container, name, written_mode, system)
    except SciSwiftError as exc:
        if written_mode is not mode and versioned_writes.is_race(exc):
            return versioned_writes.conflict().reply
        return reply_for_error(exc, req, detail=False)
    return created_reply(info, reply_etag)


async def writable(be: Backend, req: SwiftRequest) -> tuple[Store, ContainerInfo] | Reply:
    """The store and container info of a write's target, once the caller may
    write there; else the 401/403 (or 404 for a missing container) reply."""
    denied = await be.authorize(req, "write")
    if denied:
        return denied
    account, container, _ = object_names(req)
    cinfo = await be.container_info(req, account, container)
    store = be.store(account)
    if cinfo is None or store is None:
        return error(404)
    return store, cinfo
