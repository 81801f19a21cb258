"""The front end: turn a client request, route it, send the reply,
log it.

Order of checks, as in Swift's proxy pipeline: an invalid token is refused
(401) before anything else; ``/info`` and ``/auth`` need no token; then the
path must be valid UTF-8 without NUL (412 ``Invalid UTF8 or contains NULL``)
and of the form ``/v1/<account>[/<container>[/<object>]]`` (404 for a
malformed path, 412 ``Bad URL`` without an account, 400 for an unknown API
version); then the handler authorizes (401 anonymous, 403 authenticated).
Every failure is an HTTP reply with a short body; an unexpected exception is
logged and answered 500 ``Internal server error``, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from multidict import CIMultiDict

from sciswift.errors import QUARANTINED_HEADER, Quarantined, SciSwiftError
from sciswift.server import auth_prefetch, bulk, cors, dataapi, dispatch, etag_quoter
from sciswift.server.auth import Identity
from sciswift.server.backend import Backend
from sciswift.server.extract import extract_archive
from sciswift.server.get_many import get_many
from sciswift.server.http import (
    Body,
    ObjectBody,
    PartsBody,
    Reply,
    SwiftError,
    SwiftRequest,
    error,
    reply_for_error,
    trans_id,
)
from sciswift.server.info import MAX_ACCOUNT_NAME_LENGTH, info_body
from sciswift.server.middleware import pipeline
from sciswift.server.s3 import S3Api
from sciswift.server.wire import BodyError, Request, RequestBody, ResponseWriter
from sciswift.store.names import utf8_len

__all__ = ["SwiftApp", "WireBody", "access_log"]

access_log = logging.getLogger("sciswift.server.access")
error_log = logging.getLogger("sciswift.server")

VALID_VERSIONS = ("v1", "v1.0")
#: Bodies at least this large are sent with sendfile when the store allows.
SENDFILE_MIN = 64 * 1024
#: A sendfile reply is checked (``ObjectReader.check``) and sent this much at a
#: time (16 MiB GETs: 4 MiB spans, even with the next span checked while one is
#: sent, were no faster than one span, and each span costs a thread-pool hop).
SENDFILE_STEP = 16 << 20


class WireBody(Body):
    """A client's request body (``Expect: 100-continue`` is answered on the
    first read, so a refused upload is never sent)."""

    def __init__(self, body: RequestBody) -> None:
        self._body = body
        self.length = body.length

    @property
    def received(self) -> int:
        return self._body.received

    async def read(self, n: int = -1) -> bytes:
        return await self._body.read(n)

    async def read_any(self) -> bytes:
        # The buffer as received: no copy into a bigger block.
        return await self._body.read_any()


def split_path(path: str) -> tuple[str, str | None, str | None, str | None]:
    """Swift's ``split_path(path, 1, 4, True)``: version, account, container,
    object (empty trailing parts become None). ValueError for a bad path."""
    segs = path.split("/", 4)
    if segs[0] or len(segs) < 2 or segs[1] == "":
        raise ValueError(path)
    parts = segs[1:5]
    if not all(parts[:-1]):
        raise ValueError(path)
    parts += [""] * (4 - len(parts))
    version, account, container, obj = (p or None for p in parts)
    assert version is not None
    return version, account, container, obj


def _stub(request: Request, tid: str) -> SwiftRequest:
    """A minimal SwiftRequest naming a client request (for error logs)."""
    return SwiftRequest(
        method=request.head.method, path=request.head.target, query=SwiftRequest.parse_query(""),
        headers=CIMultiDict(), body=WireBody(request.body), trans_id=tid,
    )


def _sendfile_origin(request: Request, body: ObjectBody) -> tuple[int, int] | None:
    """``(fd, offset)`` of ``body``'s bytes when they may go with sendfile: only
    on plain sockets (over TLS asyncio would read the file through its shared
    descriptor's offset)."""
    return body.reader.fileno_offset() if request.scheme == "http" else None


class SwiftApp:
    """One worker's request handler (give ``handle`` to a ``wire.HTTPServer``)."""

    def __init__(self, backend: Backend, quiet: bool = False) -> None:
        self.backend = backend
        backend.use_dispatcher(dispatch.call)
        self.auth = backend.auth
        self.quiet = quiet
        self.s3 = S3Api(backend)

    # ------------------------------------------------------------ parsing
    def _build(self, request: Request, tid: str) -> SwiftRequest | Reply:
        head = request.head
        raw_path, _, query_string = head.target.partition("?")
        path_bytes = unquote_to_bytes(raw_path.encode("utf-8", "surrogateescape"))
        headers: CIMultiDict[str] = CIMultiDict(head.headers)
        peer = request.peer
        host = headers.get("Host") or request.host
        req = SwiftRequest(
            method=head.method,
            path="",
            query=SwiftRequest.parse_query(query_string),
            headers=headers,
            body=WireBody(request.body),
            remote_addr=peer[0] if isinstance(peer, tuple) else "-",
            host_url=f"{request.scheme}://{host}",
            trans_id=tid,
        )
        return self.resolve(req, path_bytes)

    def resolve(self, req: SwiftRequest, path_bytes: bytes) -> SwiftRequest | Reply:
        """``req`` with its (unquoted) path parsed and its caller identified, or
        the reply that refuses it: what every client request goes through before
        ``route`` (also the requests an auth reply answers at once, see
        ``auth_prefetch``)."""
        try:
            path = path_bytes.decode("utf-8")
            bad = "\x00" in path
        except UnicodeDecodeError:
            path, bad = path_bytes.decode("utf-8", "surrogateescape"), True
        remapped = pipeline.remap_path(self.backend, req, path)
        if isinstance(remapped, Reply):
            return remapped
        req.path = path = remapped
        if path == "/info" or path.startswith("/auth/") or path == "/auth" or dataapi.claims(path):
            return req
        try:
            version, account, container, obj = split_path(path)
            req.version, req.account, req.container, req.obj = version, account, container, obj
        except ValueError:
            req.account = None
        identity = self.auth.identify(req)
        if isinstance(identity, Reply):
            return identity
        req.identity = identity
        if bad:
            if identity is None and req.account is not None:
                # as tempauth: an anonymous caller is refused before the path is judged
                return self.auth.denied(req)
            return error(412, "Invalid UTF8 or contains NULL")
        try:
            split_path(path)
        except ValueError:
            return error(404)
        if req.account is None:
            # a browser-form upload to /<bucket> (S3's POST Object) gets an S3 error document
            refusal = self.s3.form_upload_refusal(req.method, req.headers.get("Content-Type"), req.trans_id)
            return refusal if refusal is not None else error(412, "Bad URL")
        if req.version not in VALID_VERSIONS:
            return error(400)
        if utf8_len(req.account) > MAX_ACCOUNT_NAME_LENGTH:
            return error(400, f"Account name length of {utf8_len(req.account)} longer than {MAX_ACCOUNT_NAME_LENGTH}")
        return req

    # ------------------------------------------------------------ routing
    async def route(self, req: SwiftRequest) -> Reply:
        if req.path == "/info":
            if req.method in ("GET", "HEAD"):
                body = info_body(self.backend.config)
                return Reply(200, CIMultiDict({"Content-Type": "application/json; charset=UTF-8"}), body)
            if req.method == "OPTIONS":
                return Reply(200, CIMultiDict({"Allow": "GET, HEAD, OPTIONS"}))
            return error(405, headers={"Allow": "GET, HEAD, OPTIONS"})
        if req.path == "/auth" or req.path.startswith("/auth/"):
            reply = self.auth.handle_auth(req)
            if reply.status == 200 and auth_prefetch.HEADER in req.headers:
                reply = await auth_prefetch.answer(self, req, reply)
            return reply
        if dataapi.claims(req.path):
            return await dataapi.handle(self.backend, req)
        return await pipeline.handle(self.backend, req, self._api)

    async def _api(self, req: SwiftRequest) -> Reply:
        """The API below the client-facing middlewares (tempurl, formpost, staticweb)."""
        if "bulk-delete" in req.query and req.method in ("POST", "DELETE"):
            return await bulk.bulk_delete(self.backend, req)
        if "extract-archive" in req.query and req.method == "PUT":
            return await extract_archive(self.backend, req, req.query["extract-archive"])
        if "get-many" in req.query and req.method == "POST":
            return await get_many(self.backend, req)
        reply = await self.backend.subrequest(req)
        if req.obj is not None:
            reply = await etag_quoter.apply(self.backend, req, reply)
        if req.headers.get("Origin"):
            reply = await cors.decorate(self.backend, req, reply)
        return reply

    async def handle(self, request: Request) -> None:
        """The HTTP layer's entry point: answers every request, never raises
        for a bad one."""
        start = time.time()
        tid = trans_id()
        req: SwiftRequest | None = None
        try:
            if self.s3.claims(request):  # S3 authentication: the S3 API's (server/s3)
                req, reply = await self.s3.handle(request, tid)
            else:
                built = self._build(request, tid)
                if isinstance(built, Reply):
                    reply = built
                else:
                    req = built
                    reply = await self.route(req)
        except SwiftError as exc:
            reply = exc.reply
        except BodyError as exc:
            reply = self._body_failed(exc)
        except SciSwiftError as exc:  # before ConnectionError: StoreUnavailable is both
            reply = reply_for_error(exc, req or _stub(request, tid))
        except ConnectionError:
            reply = error(499)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bug must not kill the connection handler
            error_log.exception("unhandled error in %s %s (%s)", request.head.method, request.head.target, tid)
            reply = error(500, "Internal server error.\n", content_type="text/plain")
        try:
            reply = await self.send(request, reply, tid)
        finally:
            if not self.quiet:
                self.log(request, req, reply, request.response.sent, start, tid)

    @staticmethod
    def _body_failed(exc: BodyError) -> Reply:
        if exc.status == 400:
            return error(400, f"Bad Request: {exc}\n", content_type="text/plain")
        if exc.status == 408:
            return error(408)
        return error(499)

    # ------------------------------------------------------------ sending
    async def send(self, request: Request, reply: Reply, tid: str) -> Reply:
        """Send ``reply``; returns the reply that was sent (another one when the
        body failed before its first byte went out)."""
        headers = reply.headers
        headers["X-Trans-Id"] = tid
        headers["X-Openstack-Request-Id"] = tid
        headers["Server"] = "sciswift"
        headers.setdefault("Content-Type", "text/html; charset=UTF-8")
        response = request.response
        body = reply.body
        if request.head.method == "HEAD" or reply.status in (204, 304):
            await reply.drain()
            if reply.status == 204:
                length: int | None = 0  # Swift sends Content-Length: 0 on 204 (its tests check)
            elif reply.status == 304:
                # none unless the reply states one (S3 sends Content-Length: 0)
                length = 0 if headers.get("Content-Length") == "0" else None
            else:
                length = reply.content_length if reply.ok else 0
            response.start(reply.status, reply.reason, headers.items(), length)
            await response.finish()
            return reply
        if body is None or isinstance(body, (bytes, bytearray)):
            data = b"" if body is None else body
            response.start(reply.status, reply.reason, headers.items(), len(data))
            if data:
                await response.write(data)
            await response.finish()
            return reply
        response.start(reply.status, reply.reason, headers.items(), reply.content_length)
        try:
            if isinstance(body, ObjectBody):
                fo = _sendfile_origin(request, body)
                if fo is not None and body.length >= SENDFILE_MIN:
                    try:
                        # sendfile bypasses the reader's checks: check each span first
                        # (damage raises CorruptData and cuts the reply short).
                        reader = body.reader
                        done = 0
                        while done < body.length:
                            n = min(SENDFILE_STEP, body.length - done)
                            await body.run(reader.check, reader.start + done, reader.start + done + n)
                            done += await response.sendfile(fo[0], fo[1] + done, n)
                    finally:
                        body.close()
                    await response.finish()
                    return reply
            if isinstance(body, PartsBody):
                async for part in body:
                    await self._send_part(request, response, part)
            else:
                async for chunk in body:
                    await response.write(chunk)
            await response.finish()
            return reply
        except (ConnectionError, OSError, SwiftError, ValueError) as exc:
            if not response.head_sent and isinstance(exc, SciSwiftError):
                # Nothing reached the client yet (damage found before the first
                # byte): answer the error itself, e.g. 404 quarantined.
                response.restart()
                if isinstance(body, ObjectBody):
                    body.close()
                failed = error(404, headers={QUARANTINED_HEADER: "true"}) if isinstance(exc, Quarantined) \
                    else reply_for_error(exc, _stub(request, tid))
                return await self.send(request, failed, tid)
            # The status is already sent: all that is left is to cut the
            # connection so the client sees a short body, as Swift does.
            error_log.warning("%s: response body failed after %d bytes: %s", tid, response.sent, exc)
            response.abort()
            return reply
        finally:
            if isinstance(body, ObjectBody):
                body.close()
            elif isinstance(body, PartsBody):
                await body.aclose()

    @staticmethod
    async def _send_part(request: Request, response: ResponseWriter, part: bytes | ObjectBody) -> None:
        """One part of a PartsBody: bytes as they are, a stored object (checked
        by the body's producer) with sendfile on a plain socket, else read."""
        if isinstance(part, bytes):
            await response.write(part)
            return
        try:
            fo = _sendfile_origin(request, part)
            if fo is not None:
                await response.sendfile(fo[0], fo[1], part.length)
            else:
                async for block in part:
                    await response.write(block)
        finally:
            part.close()

    # ------------------------------------------------------------ logging
    def log(
        self, request: Request, req: SwiftRequest | None, reply: Reply, sent: int, start: float, tid: str
    ) -> None:
        head = request.head
        ident: Identity | None = req.identity if req is not None else None
        self.log_line(
            peer=request.peer[0] if isinstance(request.peer, tuple) else "-", start=start, method=head.method,
            target=head.target, version=f"HTTP/{head.version[0]}.{head.version[1]}", status=reply.status,
            referer=head.header("Referer"), agent=head.header("User-Agent"),
            token=head.header("X-Auth-Token") or head.header("X-Storage-Token"),
            received=req.body.received if req is not None and isinstance(req.body, WireBody) else 0,
            sent=sent, etag=reply.headers.get("Etag", "-"), tid=tid, user=ident.user if ident else "-",
        )

    @staticmethod
    def log_line(*, peer: str, start: float, method: str, target: str, version: str, status: int,
                 referer: str | None, agent: str | None, token: str | None, received: int, sent: int,
                 etag: str, tid: str, user: str) -> None:
        """One access log line (also for the reads an auth reply answered)."""
        end = time.time()
        fields: list[Any] = [
            peer,
            peer,
            time.strftime("%d/%b/%Y/%H/%M/%S", time.gmtime(start)),
            method,
            quote(target, safe="/?&=%:;@+,", errors="surrogateescape"),
            version,
            status,
            # header bytes that are not UTF-8 arrive as surrogate escapes
            quote(referer or "-", safe="/:", errors="surrogateescape"),
            quote(agent or "-", safe="/:();.", errors="surrogateescape"),
            (token[:16] + "...") if token else "-",
            received or "-",
            sent or "-",
            etag,
            tid,
            user,
            f"{end - start:.4f}",
        ]
        access_log.info(" ".join(str(f) for f in fields))
