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
(a ``PartsBody`` part); other bodies are read into memory.

Plain objects take a shorter way with the same answers: names go in groups of
``GROUP``, the caller is authorized once per group (a read is allowed or not
per container, never per object name), and one call opens the group's
objects and checks those of up to ``CHECK_IN_GROUP`` (a larger one is checked
by a pool call of its own while the frames before it are sent): on the event
loop itself while groups take it less than ``INLINE_BUDGET``, else in the
pool. Whatever is
not a plain object of at most ``MAX_OBJECT_BYTES`` (a symlink, a large-object
manifest, an expired object, an error other than absence or quarantine) is
closed again and answered by its own GET sub-request as above. Why: each
sub-request cost two pool calls and its own reply; with 256 chunks of 256 KiB
the event loop spent a third of its time waiting for the GIL behind 32 pool
threads (``perf``, 2-core VM), and the server's CPU per 64 MiB read was
100-220 ms (60-90 ms so). Two groups are opened ahead of the one being sent,
which bounds the reply's open files, and a worker opens at most ``OPENING``
groups at once over all its requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import unquote

from multidict import CIMultiDict

from sciswift.errors import QUARANTINED_HEADER, NotFound, Quarantined, SciSwiftError, status_for
from sciswift.server.backend import Backend
from sciswift.server.http import ObjectBody, PartsBody, Reply, SwiftError, SwiftRequest
from sciswift.server.objects import serves_own_bytes
from sciswift.store.base import ObjectReader, Store
from sciswift.store.names import MAX_OBJECT_NAME_LENGTH
from sciswift.store.object_frames import CONTENT_TYPE, encode_frame, end_frame
from sciswift.store.types import ObjectInfo

__all__ = ["get_many", "MAX_OBJECTS", "MAX_OBJECT_BYTES", "GROUP", "LOOKAHEAD", "info"]

log = logging.getLogger("sciswift.server")

#: Most names one request may list.
MAX_OBJECTS = 1000
#: Largest object sent inside a batch; larger ones answer 413 in their frame.
MAX_OBJECT_BYTES = 16 << 20
#: Objects opened and checked by one pool call.
GROUP = 8
#: Plain objects up to this size are read (and checked) into memory and sent
#: with their frame in one write, as a GET of one sends them; larger ones are
#: checked, then sent with sendfile. (Where the store has no file to send, a
#: larger one takes its own GET: a group never holds more than this much of
#: each object in memory.)
IN_MEMORY = 64 << 10
#: Plain objects up to this size are checked by their group's pool call;
#: a larger one by its own, so that the frames before it are sent meanwhile
#: (a group of 8 objects of 16 MiB would otherwise read and hash 128 MiB
#: before its first byte left).
CHECK_IN_GROUP = 256 << 10
#: Groups being opened and checked while an earlier one is sent.
LOOKAHEAD = 2
#: Groups being opened at once by one worker, over all its requests: more
#: only make the pool's threads take the GIL from each other and from the event
#: loop (``perf``: a quarter of the server's CPU in futex calls). 64 MiB in 256
#: KiB objects, 8 requests at once from one client, 2-core VM: 124-138 ms of
#: server CPU and 128-155 ms per read with no limit, 79-84 ms and 110-117 ms so.
OPENING = 2
#: Per event loop (one per worker; tests may run several in turn).
_opening_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
#: A group is opened on the event loop itself while that is quick: handing it
#: to a pool thread costs more than the work when the objects are in the page
#: cache, because the thread and the loop then take the GIL from each other at
#: every system call (``strace``: ~12,000 futex calls per 64 MiB read). 64 MiB
#: in 256 KiB objects, 8 requests at once, 2-core VM: the server's CPU per read
#: 90 -> 60-70 ms, median read 106-109 -> 74-98 ms. A group that takes longer
#: than ``INLINE_BUDGET`` seconds (a cold cache on a slow disk) sends the next
#: ``INLINE_PAUSE`` groups of its worker to the pool, so that the other
#: requests are not held up behind the disk. (Not less: a group of 8 objects
#: of 256 KiB from the page cache takes ~1 ms, but 4-7 ms when the client on
#: the same 2 cores preempts the worker, which a pool thread would not avoid.)
INLINE_BUDGET = 0.02
INLINE_PAUSE = 16
_inline_pause: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()

_Frame = tuple[bytes, bytes | ObjectBody]
#: What ``_open_group`` found for a name: a plain object opened (its reader or
#: its bytes, and whether they are checked), absent, quarantined, or None
#: (left to a sub-request).
_Opened = tuple[ObjectInfo, ObjectReader | bytes, bool] | type[NotFound] | type[Quarantined] | None


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
        return await _checked_frame(be, req, sub.path, name, body, length, etag)
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


def _plain(info: ObjectInfo) -> bool:
    """Whether a GET of this object answers its own stored bytes, whole."""
    return info.size <= MAX_OBJECT_BYTES and serves_own_bytes(info)


def _open_group(store: Store, container: str, names: list[str]) -> list[_Opened]:
    """Open each plain object of ``names`` (a pool call): read whole if small,
    checked whole if at most ``CHECK_IN_GROUP``, else only opened (its frame
    checks it). Readers returned are open; the caller closes them."""
    found: list[_Opened] = []
    try:
        for name in names:
            try:
                # The frame carries the ETag where the store has it; none is
                # computed for it (its reader, SwiftStore, does not use it).
                reader = store.open_object(container, name, need_etag=False)
            except NotFound:
                found.append(NotFound)
                continue
            except Quarantined:
                found.append(Quarantined)
                continue
            except (SciSwiftError, OSError):
                found.append(None)
                continue
            try:
                size = reader.info.size
                if not _plain(reader.info) or size > IN_MEMORY and reader.fileno_offset() is None:
                    reader.close()
                    found.append(None)
                    continue
                if size <= IN_MEMORY:
                    data = reader.readall()
                    reader.close()
                    found.append((reader.info, data, True))
                    continue
                if size <= CHECK_IN_GROUP:
                    reader.check(reader.start, reader.stop)
            except Quarantined:
                reader.close()
                found.append(Quarantined)
                continue
            except (SciSwiftError, OSError):
                reader.close()
                found.append(None)
                continue
            found.append((reader.info, reader, size <= CHECK_IN_GROUP))
    except BaseException:
        _close_opened(found)
        raise
    return found


def _close_opened(found: list[_Opened]) -> None:
    for got in found:
        if isinstance(got, tuple) and isinstance(got[1], ObjectReader):
            got[1].close()


def _ready(frame: _Frame) -> asyncio.Future[_Frame]:
    done: asyncio.Future[_Frame] = asyncio.get_running_loop().create_future()
    done.set_result(frame)
    return done


async def _checked_frame(be: Backend, req: SwiftRequest, path: str, name: str, body: ObjectBody,
                         length: int, etag: str) -> _Frame:
    """The frame of an object to be sent with sendfile, its bytes checked
    whole first by a pool call of its own (so that frames before it need not
    wait for it); the failure's frame, the body closed, if they are not intact."""
    reader = body.reader
    try:
        await body.run(reader.check, reader.start, reader.stop)
    except (SciSwiftError, OSError) as exc:
        body.close()
        return _failed(req, path, name, exc)
    except BaseException:
        body.close()
        raise
    return encode_frame(name, 200, length, etag), body


async def _group(be: Backend, req: SwiftRequest, names: list[str]) -> list[asyncio.Future[_Frame]]:
    """The frames of ``names``, in order, each as a future: plain objects
    opened by one pool call (see the module docstring), the rest by their own
    GETs, all under way once this returns."""
    assert req.account is not None and req.container is not None
    store = be.store(req.account)
    denied = await be.authorize(req.sub("GET", req.account, req.container, names[0]), "read")
    if store is None or denied is not None:
        return [asyncio.ensure_future(_frame(be, req, name)) for name in names]
    job = asyncio.ensure_future(_opening(be, store, req.container, names))
    try:
        found = await asyncio.shield(job)
    except asyncio.CancelledError:  # the pool call goes on: close what it opens
        job.add_done_callback(_close_when_done)
        raise
    frames: list[asyncio.Future[_Frame]] = []
    try:
        for i, (name, got) in enumerate(zip(names, found)):
            if got is NotFound:
                frames.append(_ready((encode_frame(name, 404), b"")))
            elif got is Quarantined:
                frames.append(_ready((encode_frame(name, 404, quarantined=True), b"")))
            elif isinstance(got, tuple):
                info, opened, checked = got
                found[i] = None  # handed over: the frame's body closes it
                if isinstance(opened, bytes):
                    frames.append(_ready((encode_frame(name, 200, info.size, info.etag), opened)))
                elif checked:
                    frames.append(_ready((encode_frame(name, 200, info.size, info.etag),
                                          ObjectBody(opened, be.run))))
                else:
                    frames.append(asyncio.ensure_future(_checked_frame(
                        be, req, f"{req.path}/{name}", name, ObjectBody(opened, be.run), info.size, info.etag)))
            else:
                frames.append(asyncio.ensure_future(_frame(be, req, name)))
    except BaseException:
        _close_opened(found)
        for frame in frames:
            _discard_frame(frame)
        raise
    return frames


async def _opening(be: Backend, store: Store, container: str, names: list[str]) -> list[_Opened]:
    """``_open_group`` on the event loop while that is quick (``INLINE_BUDGET``),
    else in the pool, at most ``OPENING`` at once per worker."""
    loop = asyncio.get_running_loop()
    pause = _inline_pause.get(loop, 0)
    if pause <= 0:
        start = time.perf_counter()
        found = _open_group(store, container, names)
        if time.perf_counter() - start > INLINE_BUDGET:
            _inline_pause[loop] = INLINE_PAUSE
        return found
    _inline_pause[loop] = pause - 1
    slots = _opening_slots.get(loop)
    if slots is None:
        slots = _opening_slots[loop] = asyncio.Semaphore(OPENING)
    async with slots:
        return await be.run(_open_group, store, container, names)


def _close_when_done(job: asyncio.Future[list[_Opened]]) -> None:
    if not job.cancelled() and job.exception() is None:
        _close_opened(job.result())


def _discard_frame(frame: asyncio.Future[_Frame]) -> None:
    """Cancel a frame not sent, or close the object it holds open."""
    if not frame.done():
        frame.cancel()
        frame.add_done_callback(_discard_frame)  # it may still finish with an open body
    elif not frame.cancelled() and frame.exception() is None:
        body = frame.result()[1]
        if isinstance(body, ObjectBody):
            body.close()


def _discard(task: asyncio.Future[list[asyncio.Future[_Frame]]]) -> None:
    """Cancel a group not sent, closing the objects its frames hold open."""
    if not task.done():
        task.cancel()
        task.add_done_callback(_discard)
    elif not task.cancelled() and task.exception() is None:
        for frame in task.result():
            _discard_frame(frame)


async def get_many(be: Backend, req: SwiftRequest) -> Reply:
    """``?get-many`` on a container: 200 with one frame per listed object."""
    if req.container is None or req.obj is not None:
        raise SwiftError(400, "get-many is a request on a container: POST /v1/<account>/<container>?get-many\n")
    names = await _read_names(req)

    groups = iter([names[i:i + GROUP] for i in range(0, len(names), GROUP)])

    async def frames() -> AsyncIterator[bytes | ObjectBody]:
        pending: deque[asyncio.Task[list[asyncio.Future[_Frame]]]] = deque()
        try:
            while True:
                while len(pending) <= LOOKAHEAD and (group := next(groups, None)) is not None:
                    pending.append(asyncio.ensure_future(_group(be, req, group)))
                if not pending:
                    break
                task = pending.popleft()
                try:
                    ready = await task
                except BaseException:
                    _discard(task)
                    raise
                sent = 0  # frames whose body went to the sender (which closes it) or was closed
                try:
                    for frame in ready:
                        head, body = await frame
                        try:
                            yield head
                        except BaseException:
                            if isinstance(body, ObjectBody):
                                body.close()
                            raise
                        finally:
                            sent += 1
                        if body:
                            yield body
                finally:
                    for frame in ready[sent:]:
                        _discard_frame(frame)
            yield end_frame(len(names))
        finally:
            for task in pending:
                _discard(task)

    return Reply(200, CIMultiDict({"Content-Type": CONTENT_TYPE}), PartsBody(frames()), content_length=None)
