"""The server's internal request/response model, independent of the HTTP layer.

Handlers take a :class:`SwiftRequest` and return a :class:`Reply`. Features that
Swift implements as middleware making sub-requests (copy, large objects, bulk
delete) build sub-requests with :meth:`SwiftRequest.sub` and call handlers
directly, in-process. Only :mod:`sciswift.server.app` talks to the HTTP layer (``wire``).

Error replies look like Swift's (swob's) on the wire: the same reason phrases,
``text/html; charset=UTF-8`` bodies such as
``<html><h1>Not Found</h1><p>The resource could not be found.</p></html>``, or
a short plain message where Swift gives one (``Invalid UTF8 or contains NULL``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from multidict import CIMultiDict, MultiDict

from sciswift.errors import NotFound, SciSwiftError, status_for

if TYPE_CHECKING:
    from sciswift.server.auth import Identity
    from sciswift.store.base import ObjectReader
    from sciswift.store.types import ObjectInfo

__all__ = [
    "REASONS",
    "SwiftRequest",
    "Reply",
    "Body",
    "BodyChecks",
    "ContentDigest",
    "BytesBody",
    "IterBody",
    "ObjectBody",
    "SwiftError",
    "error",
    "reply",
    "reply_for_error",
    "insufficient_storage",
    "trans_id",
    "HTML_TYPE",
    "TEXT_TYPE",
]

error_log = logging.getLogger("sciswift.server")

HTML_TYPE = "text/html; charset=UTF-8"
TEXT_TYPE = "text/plain"

# Reason phrase and default explanation per status, as swob words them.
REASONS: dict[int, tuple[str, str]] = {
    100: ("Continue", ""),
    200: ("OK", ""),
    201: ("Created", ""),
    202: ("Accepted", "The request is accepted for processing."),
    204: ("No Content", ""),
    206: ("Partial Content", ""),
    301: ("Moved Permanently", "The resource has moved permanently."),
    303: ("See Other", "The response to the request can be found under a different URI."),
    304: ("Not Modified", ""),
    307: ("Temporary Redirect", "The resource has moved temporarily."),
    400: ("Bad Request", "The server could not comply with the request since it is either "
          "malformed or otherwise incorrect."),
    401: ("Unauthorized", "This server could not verify that you are authorized to access "
          "the document you requested."),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method is not allowed for this resource."),
    406: ("Not Acceptable", "The resource is not available in a format acceptable to your browser."),
    408: ("Request Timeout", "The server has waited too long for the request to be sent by the client."),
    409: ("Conflict", "There was a conflict when trying to complete your request."),
    411: ("Length Required", "Content-Length header required."),
    412: ("Precondition Failed", "A precondition for this request was not met."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    414: ("Request URI Too Long", "The request URI was too long for this server."),
    416: ("Requested Range Not Satisfiable", "The Range requested is not available."),
    417: ("Expectation Failed", "Expectation failed."),
    422: ("Unprocessable Entity", "Unable to process the contained instructions"),
    499: ("Client Disconnect", "The client was disconnected during request."),
    507: ("Insufficient Storage", "There was not enough space to save the resource. Drive: unknown"),
    500: ("Internal Error", "The server has either erred or is incapable of performing the "
          "requested operation."),
    501: ("Not Implemented", "The requested method is not implemented by this server."),
    503: ("Service Unavailable", "The server is currently unavailable. Please try again at a later time."),
}


def status_line(status: int) -> str:
    """``"404 Not Found"``: the status as Swift reports it in bodies."""
    return f"{status} {REASONS.get(status, ('Unknown', ''))[0]}"


_TX_PREFIX = os.urandom(6).hex()  # per process: ids from different workers differ
_tx_counter = itertools.count(1)


def _new_tx_prefix() -> None:
    global _TX_PREFIX, _tx_counter
    _TX_PREFIX = os.urandom(6).hex()
    _tx_counter = itertools.count(1)


os.register_at_fork(after_in_child=_new_tx_prefix)


def trans_id() -> str:
    """A Swift-style transaction id: ``tx`` + 21 hex digits + ``-`` + hex time
    (a per-process random prefix and a counter: no system call per request)."""
    return f"tx{_TX_PREFIX}{next(_tx_counter) & 0xFFFFFFFFF:09x}-{int(time.time()):010x}"


# ------------------------------------------------------------------- bodies
class BodyChecks(Protocol):
    """Checks over every byte of a body (digests a client announced) that the
    body's reader runs itself, see :meth:`Body.take_checks`."""

    def update(self, data: bytes) -> None:
        """Take the next bytes of the body (from one thread at a time)."""

    def verify(self) -> None:
        """After the last byte: raise the body's error if a check failed."""


class Body:
    """A request body being read: ``length`` is the announced size (None when
    chunked). ``read(n)`` returns up to ``n`` bytes (all remaining for -1) and
    ``b""`` at the end; a body cut short raises ``ConnectionError``."""

    length: int | None = None

    def take_checks(self) -> BodyChecks | None:
        """Hand this body's checks over to its reader, before it reads
        anything; None when it has none (or kept them). A reader that takes
        them must pass every byte it reads to ``update``, in order, and call
        ``verify`` after the end and before anything it wrote becomes visible:
        the body no longer checks those bytes itself. A reader that touches
        every byte anyway (``store_body``, in the thread that writes them) can
        then hash them while they are in the CPU's cache, without another
        pass and another thread hand-over."""
        return None

    def system_at_commit(self) -> dict[str, str]:
        """System values to record with the object this body becomes, known
        only once the whole body was read and its checks passed (an S3
        checksum a client sent in an ``aws-chunked`` trailer, or one computed
        over the bytes). The reader that stores the body calls it after the
        end (and after ``verify`` of checks it took) and records the values
        in the same commit as the bytes, never in a second write. Only bodies
        made by the server return any: a client cannot set system values."""
        return {}

    async def read(self, n: int = -1) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError

    async def read_all(self, limit: int | None = None) -> bytes:
        """Everything left; raises ``SwiftError(413)`` past ``limit`` bytes."""
        parts: list[bytes] = []
        total = 0
        while True:
            chunk = await self.read(1 << 20)
            if not chunk:
                return b"".join(parts)
            total += len(chunk)
            if limit is not None and total > limit:
                raise SwiftError(413)
            parts.append(chunk)

    async def read_any(self) -> bytes:
        """Whatever is available (at least one byte), ``b""`` at the end; a
        body that can hand over its buffers uncopied does so."""
        return await self.read(1 << 20)


class ContentDigest(Protocol):
    """A digest computed over a body's bytes whose result the object keeps as
    system values (see :meth:`Body.system_at_commit`)."""

    def update(self, data: bytes) -> None:
        """Take the next bytes of the body, in order."""

    def system(self) -> dict[str, str]:
        """The system values recording the digest of all bytes taken."""


class _DigestChecks:
    """A :class:`ContentDigest` handed to a body's reader as its checks: it
    computes a value and so has nothing to verify."""

    def __init__(self, digest: ContentDigest) -> None:
        self._digest = digest

    def update(self, data: bytes) -> None:
        self._digest.update(data)

    def verify(self) -> None:
        pass


class BytesBody(Body):
    """A body already in memory (sub-requests, tests); ``system``: values its
    object is stored with (a multipart upload's marker records the upload's
    checksum settings so), given by server code only."""

    def __init__(self, data: bytes = b"", *, system: dict[str, str] | None = None) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self.length = len(data)
        self._system = dict(system or {})

    def system_at_commit(self) -> dict[str, str]:
        return dict(self._system)

    async def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = len(self._data) - self._pos
        out = bytes(self._data[self._pos : self._pos + n])
        self._pos += len(out)
        return out


class IterBody(Body):
    """A body fed from an async iterator of byte chunks (server-side copy).
    ``vouched_md5``: the MD5 of the whole body, known to whoever made it (a
    stored object's bytes, checked as they are read, and its ETag); never set
    from anything a client sends."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        length: int | None,
        *,
        vouched_md5: str | None = None,
        system: dict[str, str] | None = None,
        digest: ContentDigest | None = None,
    ) -> None:
        self._it = chunks
        self._buf = b""
        self.length = length
        self.vouched_md5 = vouched_md5
        # ``system``: values describing the bytes that the copy keeps (the
        # source's checksum); ``digest``: one computed over them instead.
        self._system = dict(system or {})
        self._digest = digest
        self._handed_over = False

    def take_checks(self) -> BodyChecks | None:
        # the writer hashes each block in the thread that writes it
        if self._digest is None or self._handed_over or self._buf:
            return None
        self._handed_over = True
        return _DigestChecks(self._digest)

    def system_at_commit(self) -> dict[str, str]:
        out = dict(self._system)
        if self._digest is not None:
            out.update(self._digest.system())
        return out

    async def read(self, n: int = -1) -> bytes:
        while not self._buf or (n < 0):
            try:
                nxt = await self._it.__anext__()
            except StopAsyncIteration:
                break
            if self._digest is not None and not self._handed_over:
                self._digest.update(nxt)
            self._buf += nxt
            if n >= 0 and len(self._buf) >= n:
                break
        if n < 0 or n >= len(self._buf):
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


# ---------------------------------------------------------------- requests
@dataclass
class SwiftRequest:
    """One API request (from a client or made internally).

    ``account``, ``container`` and ``obj`` are decoded names (None when the path
    stops before them). ``identity`` is who made it (None: anonymous).
    ``swift_owner`` is set by authorization when the caller may see and change
    privileged values (ACLs, sync keys, temp-url keys).
    """

    method: str
    path: str
    query: MultiDict[str]
    headers: CIMultiDict[str]
    body: Body
    version: str = "v1"
    account: str | None = None
    container: str | None = None
    obj: str | None = None
    identity: Identity | None = None
    swift_owner: bool = False
    remote_addr: str = "-"
    host_url: str = ""
    trans_id: str = ""
    #: Per-request scratch space shared with sub-requests (container info cache).
    env: dict[Any, Any] = field(default_factory=dict)
    #: How many sub-requests deep this request is (0: the client's own).
    depth: int = 0
    #: The feature making this sub-request already authorized it (Swift's
    #: ``make_pre_authed_request``): this request skips authorization, its own
    #: sub-requests do not (``sub`` never copies the flag).
    preauthed: bool = False
    #: On a ``PUT`` with ``X-Copy-From``: a digest to compute over the copied
    #: bytes and keep with the copy (instead of the source's content
    #: checksums), set by the feature making the copy (S3's CopyObject with
    #: ``x-amz-checksum-algorithm``), never from a client's request; ``sub``
    #: never copies it.
    copy_digest: ContentDigest | None = None

    @staticmethod
    def parse_query(query_string: str) -> MultiDict[str]:
        return MultiDict(parse_qsl(query_string, keep_blank_values=True, errors="surrogateescape"))

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, default)

    @property
    def referer(self) -> str | None:
        return self.headers.get("Referer")

    def sub(
        self,
        method: str,
        account: str | None,
        container: str | None = None,
        obj: str | None = None,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        query: MultiDict[str] | dict[str, str] | None = None,
        body: Body | None = None,
        keep_auth: bool = True,
    ) -> SwiftRequest:
        """A sub-request on behalf of the same caller (same identity, same
        per-request cache), as Swift's middleware ``make_subrequest``."""
        path = "/" + "/".join(p for p in (self.version, account, container, obj) if p is not None)
        return SwiftRequest(
            method=method,
            path=path,
            query=MultiDict(query or {}),
            headers=CIMultiDict(headers or {}),
            body=body if body is not None else BytesBody(),
            version=self.version,
            account=account,
            container=container,
            obj=obj,
            identity=self.identity if keep_auth else None,
            remote_addr=self.remote_addr,
            host_url=self.host_url,
            trans_id=self.trans_id,
            env=self.env,
            depth=self.depth + 1,
        )


# ----------------------------------------------------------------- replies
class ObjectBody:
    """A reply body read from a store's ObjectReader (closed when sent).

    ``run`` runs a blocking call in the server's thread pool. When the reader
    exposes ``fileno_offset()`` the app may send it with ``sendfile``.
    """

    def __init__(
        self,
        reader: ObjectReader,
        run: Callable[..., Awaitable[Any]],
        chunk_size: int = 1 << 20,
    ) -> None:
        self.reader = reader
        self.run = run
        self.length = reader.stop - reader.start
        self.chunk_size = chunk_size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            left = self.length
            while left > 0:
                block = await self.run(self.reader.read, min(self.chunk_size, left))
                if not block:
                    raise ConnectionError(f"object body ended {left} bytes early")
                left -= len(block)
                yield block
        finally:
            self.close()

    def close(self) -> None:
        try:
            self.reader.close()
        except OSError:
            pass


class PartsBody:
    """A reply body of parts: bytes, and stored objects to send whole
    (``ObjectBody``, with ``sendfile`` where the socket allows). Whoever yields
    an ObjectBody part has checked its bytes (``ObjectReader.check``) first:
    sendfile bypasses the reader's checks. The sender closes every part it
    takes, sent or not; ``close`` closes the iterator (its producer closes
    the parts it made and did not hand over)."""

    def __init__(self, parts: AsyncIterator[bytes | ObjectBody]) -> None:
        self.parts = parts

    def __aiter__(self) -> AsyncIterator[bytes | ObjectBody]:
        return self.parts

    async def aclose(self) -> None:
        closer = getattr(self.parts, "aclose", None)
        if closer is not None:
            await closer()


ReplyBody = bytes | AsyncIterator[bytes] | ObjectBody | PartsBody | None


async def chunks_of(body: ReplyBody) -> AsyncIterator[bytes]:
    """The bytes of a reply body of any kind, as chunks (consumes it)."""
    if body is None:
        return
    if isinstance(body, (bytes, bytearray)):
        if body:
            yield bytes(body)
        return
    if isinstance(body, PartsBody):
        async for part in body:
            if isinstance(part, bytes):
                yield part
            else:
                async for chunk in part:
                    yield chunk
        return
    async for chunk in body:
        yield chunk


@dataclass
class Reply:
    """A response: status, headers and a body (bytes, an async iterator of
    bytes, an ObjectBody, or None for no body). ``content_length`` is sent as
    Content-Length when known; a HEAD keeps it but sends no body."""

    status: int
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    body: ReplyBody = None
    content_length: int | None = None
    #: The stored object this reply answers from (set by the object handler,
    #: never sent): features reading a sub-request's reply see its system
    #: values, as Swift's middlewares see an object's sysmeta headers.
    stored: ObjectInfo | None = None
    #: ``(account, container, object)`` of the object this reply is about (set
    #: by the object handler, never sent): through a symlink, its final
    #: target's, also when that target is missing or refused; None for the
    #: symlink middleware's own errors (a loop, a static link's ETag).
    source: tuple[str, str, str] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.body, (bytes, bytearray)) and self.content_length is None:
            self.content_length = len(self.body)
        elif self.body is None and self.content_length is None:
            self.content_length = 0

    @property
    def reason(self) -> str:
        return REASONS.get(self.status, ("Unknown", ""))[0]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    async def read(self) -> bytes:
        """The whole body (for sub-requests whose replies are consumed)."""
        body = self.body
        if isinstance(body, (bytes, bytearray)):
            return bytes(body)
        return b"".join([chunk async for chunk in chunks_of(body)])

    async def drain(self) -> None:
        """Release the body without sending it."""
        body = self.body
        self.body = None
        if isinstance(body, ObjectBody):
            body.close()
        elif body is not None and hasattr(body, "aclose"):
            await body.aclose()


def _swob_page(status: int) -> bytes:
    """The body swob gives a reply of ``status`` that has none of its own."""
    title, explanation = REASONS.get(status, ("Unknown", ""))
    return f"<html><h1>{title}</h1><p>{explanation}</p></html>".encode() if explanation else b""


def reply(status: int, headers: Mapping[str, str] | None = None, body: bytes | None = None) -> Reply:
    """A success reply (201, 202, 204 ...): ``status`` with ``headers`` and a
    body (without one, swob's page for the status, as Swift sends: 202 has one,
    201 and 204 are empty)."""
    h: CIMultiDict[str] = CIMultiDict({"Content-Type": HTML_TYPE})
    if headers:
        h.update(headers)
    return Reply(status, h, _swob_page(status) if body is None else body)


def error(
    status: int,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = HTML_TYPE,
) -> Reply:
    """A Swift-style error (or empty status) reply. Without ``body``, the
    default swob page for the status is used."""
    if body is None:
        data = _swob_page(status)
    else:
        # backslashreplace: a message may quote header bytes that are not
        # UTF-8 (surrogate escapes); encoding it must not turn a 400 into a 500.
        data = body.encode("utf-8", "backslashreplace") if isinstance(body, str) else body
    h: CIMultiDict[str] = CIMultiDict({"Content-Type": content_type})
    if headers:
        h.update(headers)
    return Reply(status, h, data)


def reply_for_error(exc: SciSwiftError, req: SwiftRequest, detail: bool = True) -> Reply:
    """The reply for a store error escaping a handler: its status from the
    project's one table; with ``detail``, its message (it names what is wrong),
    else swob's page; 404 always swob's page. A status of 500 or more is logged
    with the transaction id and answered with swob's page only, but for 507
    (a full disk: ``insufficient_storage``)."""
    status = status_for(exc)
    if status >= 500:
        error_log.error(
            "%d %s %s: %s: %s (%s)", status, req.method, req.path, type(exc).__name__, exc, req.trans_id
        )
        return insufficient_storage(req) if status == 507 else error(status)
    if isinstance(exc, NotFound) or not detail:
        return error(status)
    return error(status, f"{exc.message}\n", content_type=TEXT_TYPE)


def insufficient_storage(req: SwiftRequest) -> Reply:
    """507 for a write the store had no room for. The body names the request's
    path and what to do (the store's own message, with its paths on the server,
    goes to the log only)."""
    return error(
        507,
        f"Insufficient Storage: the server has no space left to store {req.path}; nothing was "
        "written. Try again once space has been freed (delete objects, or ask the server's operator).\n",
        content_type=TEXT_TYPE,
    )


class SwiftError(Exception):
    """Raised inside handlers to answer with an error reply at once."""

    def __init__(
        self,
        status: int,
        body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = HTML_TYPE,
    ) -> None:
        super().__init__(status, body)
        self.reply = error(status, body, headers, content_type)

    @property
    def status(self) -> int:
        return self.reply.status


def best_match(accept: str | None, offers: dict[str, str], default: str | None) -> str | None:
    """The offer (``{media type: result}``) the Accept header prefers, by
    q-value then order; ``default`` without an Accept header, None when it
    accepts none of them. Raises ValueError for an unparseable q-value."""
    if not accept:
        return default
    best, best_q = None, 0.0
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip() == "q":
                q = float(v)
        if q <= 0:
            continue
        for offer, result in offers.items():
            ptype, _, psub = media.partition("/")
            otype, _, osub = offer.partition("/")
            if (media in ("*/*", "*") or (ptype == otype and psub in ("*", osub))) and q > best_q:
                best, best_q = result, q
                break
    return best


def env_flag(value: str | None) -> bool:
    """Swift's ``config_true_value``: true, 1, yes, on, t, y (any case)."""
    return value is not None and value.strip().lower() in ("true", "1", "yes", "on", "t", "y")


def cpu_count() -> int:
    return os.cpu_count() or 1


async def gather_limited(coros: Iterable[Awaitable[Any]], limit: int) -> list[Any]:
    """Await ``coros`` with at most ``limit`` running at once, results in order."""
    sem = asyncio.Semaphore(limit)

    async def one(c: Awaitable[Any]) -> Any:
        async with sem:
            return await c

    return list(await asyncio.gather(*(one(c) for c in coros)))
