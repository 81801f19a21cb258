"""Batched GET: ``POST /v1/<account>/<container>?get-many`` answers many objects
in one response (a sciswift extension, announced in ``/info`` as
``sciswift.batched_get``; real Swift has no such request, so clients fall back
to one GET per object there).

Why: reading an array through ``sciswift serve`` is one GET per chunk, and a
small GET costs more in request handling (client and server) than in moving
its bytes. On the project's 2-core VM, 256 chunks of 256 KiB took 150-250 ms
as 256 GETs against 90-120 ms for the same 64 MiB as one object.

The request body lists object names of the container, one per line,
percent-encoded (as ``?bulk-delete`` lists paths), at most ``MAX_OBJECTS``.
Each object is fetched with a GET sub-request made as the caller, so ACLs,
symlinks, large objects, expiry and the verification of stored bytes apply
exactly as to a GET of it alone. The reply is 200 with a stream of frames
(``sciswift.store.object_frames``), one per name, in the order asked, then an
``end`` frame. A frame's status is what that object's own GET answered; a body
is sent only whole and verified: an object over ``MAX_OBJECT_BYTES`` answers
413 in its frame (GET it alone, streamed), one found damaged 404 marked
quarantined. A stored file is checked whole, then sent with ``sendfile``
(a ``PartsBody`` part); other bodies are read into memory. Objects are opened
``LOOKAHEAD`` at a time, which bounds the reply's memory and open files.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import unquote

from multidict import CIMultiDict

from sciswift.errors import QUARANTINED_HEADER, Quarantined, SciSwiftError, status_for
from sciswift.server.backend import Backend
from sciswift.server.http import ObjectBody, PartsBody, Reply, SwiftError, SwiftRequest
from sciswift.store.names import MAX_OBJECT_NAME_LENGTH
from sciswift.store.object_frames import CONTENT_TYPE, encode_frame, end_frame

__all__ = ["get_many", "MAX_OBJECTS", "MAX_OBJECT_BYTES", "LOOKAHEAD", "info"]

log = logging.getLogger("sciswift.server")

#: Most names one request may list.
MAX_OBJECTS = 1000
#: Largest object sent inside a batch; larger ones answer 413 in their frame.
MAX_OBJECT_BYTES = 16 << 20
#: Objects being opened and checked at once for one reply.
LOOKAHEAD = 8

_Frame = tuple[bytes, bytes | ObjectBody]


def info() -> dict[str, int]:
    """What ``/info`` announces under ``sciswift.batched_get``."""
    return {"max_objects_per_request": MAX_OBJECTS, "max_object_bytes": MAX_OBJECT_BYTES}


async def _read_names(req: SwiftRequest) -> list[str]:
    if req.body.length is None and req.headers.get("Transfer-Encoding", "").lower() != "chunked":
        raise SwiftError(411)
    data = await req.body.read_all(limit=MAX_OBJECTS * (3 * MAX_OBJECT_NAME_LENGTH + 2))
    names: list[str] = []
    for line in data.split(b"\n"):
        line = line.strip()
        if not line:
            continue
        try:
            names.append(unquote(line.decode("ascii"), errors="strict"))
        except UnicodeError:
            raise SwiftError(400, "Each line must be a percent-encoded UTF-8 object name\n") from None
        if len(names) > MAX_OBJECTS:
            raise SwiftError(413, f"At most {MAX_OBJECTS} objects per get-many request\n")
    return names


def _failed(req: SwiftRequest, path: str, name: str, exc: BaseException) -> _Frame:
    """The frame of an object whose body could not be read or checked."""
    if isinstance(exc, Quarantined):
        return encode_frame(name, 404, quarantined=True), b""
    status = status_for(exc)
    if status >= 500:
        log.error("%d GET %s in get-many: %s: %s (%s)", status, path, type(exc).__name__, exc, req.trans_id)
    return encode_frame(name, status), b""


async def _frame(be: Backend, req: SwiftRequest, name: str) -> _Frame:
    """``(frame header, body)`` for one object, as its own GET by the caller
    answers; the body is bytes, or an ObjectBody already checked whole."""
    assert req.account is not None and req.container is not None
    sub = req.sub("GET", req.account, req.container, name)
    try:
        reply = await be.subrequest(sub)
    except SwiftError as exc:
        reply = exc.reply
    if reply.status != 200:
        quarantined = reply.headers.get(QUARANTINED_HEADER) == "true"
        await reply.drain()
        return encode_frame(name, reply.status, quarantined=quarantined), b""
    length = reply.content_length
    if length is None or length > MAX_OBJECT_BYTES:
        await reply.drain()
        return encode_frame(name, 413), b""
    etag = reply.headers.get("Etag", "").strip('"')
    body = reply.body
    if isinstance(body, ObjectBody) and body.reader.fileno_offset() is not None:
        reader = body.reader
        try:
            await body.run(reader.check, reader.start, reader.stop)
        except (SciSwiftError, OSError) as exc:
            body.close()
            return _failed(req, sub.path, name, exc)
        return encode_frame(name, 200, length, etag), body
    try:
        data = await reply.read()
    except (SciSwiftError, ConnectionError, OSError) as exc:
        return _failed(req, sub.path, name, exc)
    finally:
        await reply.drain()
    if len(data) != length:
        log.error("500 GET %s in get-many: %d bytes of %d (%s)", sub.path, len(data), length, req.trans_id)
        return encode_frame(name, 500), b""
    return encode_frame(name, 200, length, etag), data


def _discard(task: asyncio.Task[_Frame]) -> None:
    """Cancel a frame not sent, closing the object it holds open if it has one."""
    if not task.done():
        task.cancel()
    elif not task.cancelled() and task.exception() is None:
        body = task.result()[1]
        if isinstance(body, ObjectBody):
            body.close()


async def get_many(be: Backend, req: SwiftRequest) -> Reply:
    """``?get-many`` on a container: 200 with one frame per listed object."""
    if req.container is None or req.obj is not None:
        raise SwiftError(400, "get-many is a request on a container: POST /v1/<account>/<container>?get-many\n")
    names = await _read_names(req)

    async def frames() -> AsyncIterator[bytes | ObjectBody]:
        pending: deque[asyncio.Task[_Frame]] = deque()
        waiting = iter(names)
        try:
            while True:
                while len(pending) < LOOKAHEAD and (name := next(waiting, None)) is not None:
                    pending.append(asyncio.ensure_future(_frame(be, req, name)))
                if not pending:
                    break
                head, body = await pending.popleft()
                yield head
                if body:
                    yield body
            yield end_frame(len(names))
        finally:
            for task in pending:
                _discard(task)

    return Reply(200, CIMultiDict({"Content-Type": CONTENT_TYPE}), PartsBody(frames()), content_length=None)
