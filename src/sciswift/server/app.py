"""The aiohttp front end: parse a client request, route it, send the reply,
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

from aiohttp import web
from multidict import CIMultiDict

from sciswift.server import bulk, cors, dispatch, etag_quoter
from sciswift.server.auth import Identity
from sciswift.server.backend import Backend
from sciswift.server.extract import extract_archive
from sciswift.server.http import (
    Body,
    ObjectBody,
    Reply,
    SwiftError,
    SwiftRequest,
    error,
    trans_id,
)
from sciswift.server.info import MAX_ACCOUNT_NAME_LENGTH, info_body
from sciswift.store.names import utf8_len

__all__ = ["SwiftApp", "AioBody", "access_log"]

access_log = logging.getLogger("sciswift.server.access")
error_log = logging.getLogger("sciswift.server")

VALID_VERSIONS = ("v1", "v1.0")
#: Bodies at least this large are sent with sendfile when the store allows.
SENDFILE_MIN = 64 * 1024
#: A sendfile reply is checked (``ObjectReader.check``) and sent this much at a
#: time (16 MiB GETs: 4 MiB spans, even with the next span checked while one is
#: sent, were no faster than one span, and each span costs a thread-pool hop).
SENDFILE_STEP = 16 << 20


class AioBody(Body):
    """The body of an aiohttp request; answers ``Expect: 100-continue`` on
    first read (so a refused upload is never sent)."""

    def __init__(self, request: web.BaseRequest) -> None:
        self._request = request
        self._content = request.content
        te = request.headers.get("Transfer-Encoding")
        self.length = None if te else (request.content_length or 0)
        self._expect = request.headers.get("Expect", "").lower() == "100-continue"
        self.received = 0

    async def _continue(self) -> None:
        self._expect = False
        writer = self._request.writer
        await writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.output_size = 0

    async def read(self, n: int = -1) -> bytes:
        if self._expect:
            await self._continue()
        try:
            data = await (self._content.read(n) if n >= 0 else self._content.read())
        except Exception as exc:  # aiohttp's ContentLengthError, TransferEncodingError, ...
            raise ConnectionError(f"request body ended early: {exc}") from None
        self.received += len(data)
        return data

    async def read_any(self) -> bytes:
        # The buffer aiohttp received, as is: no copy into a bigger block.
        if self._expect:
            await self._continue()
        try:
            # readchunk hands over one received buffer; readany would join all
            # the buffered ones into a new bytes object first.
            while True:
                data, chunk_end = await self._content.readchunk()
                if data or not chunk_end:  # (b"", True) only marks an HTTP chunk's end
                    break
        except Exception as exc:
            raise ConnectionError(f"request body ended early: {exc}") from None
        self.received += len(data)
        return data


class _Response(web.StreamResponse):
    """Swift sends ``Content-Length: 0`` even on 204 replies (and its tests
    check for it); aiohttp would drop it."""

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        if self.status == 204:
            self._headers["Content-Length"] = "0"


class _FdFile:
    """The minimal file object ``loop.sendfile`` needs for a raw descriptor."""

    mode = "rb"

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def seek(self, offset: int, whence: int = 0) -> int:
        return offset


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


class SwiftApp:
    """One worker's request handler (give ``handle`` to an aiohttp Server)."""

    def __init__(self, backend: Backend, quiet: bool = False) -> None:
        self.backend = backend
        self.auth = backend.auth
        self.quiet = quiet

    # ------------------------------------------------------------ parsing
    def _build(self, request: web.BaseRequest, tid: str) -> SwiftRequest | Reply:
        raw_path, _, query_string = request.raw_path.partition("?")
        path_bytes = unquote_to_bytes(raw_path.encode("utf-8", "surrogateescape"))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        host = request.headers.get("Host") or f"{request.url.host}:{request.url.port}"
        req = SwiftRequest(
            method=request.method,
            path="",
            query=SwiftRequest.parse_query(query_string),
            headers=CIMultiDict(request.headers),
            body=AioBody(request),
            remote_addr=peer[0] if peer else "-",
            host_url=f"{request.scheme}://{host}",
            trans_id=tid,
        )
        try:
            path = path_bytes.decode("utf-8")
            bad = "\x00" in path
        except UnicodeDecodeError:
            path, bad = path_bytes.decode("utf-8", "surrogateescape"), True
        req.path = path
        if path == "/info" or path.startswith("/auth/") or path == "/auth":
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
            return error(412, "Bad URL")
        if req.version not in VALID_VERSIONS:
            return error(400)
        if utf8_len(req.account) > MAX_ACCOUNT_NAME_LENGTH:
            return error(400, f"Account name length of {utf8_len(req.account)} longer than {MAX_ACCOUNT_NAME_LENGTH}")
        return req

    # ------------------------------------------------------------ routing
    async def route(self, req: SwiftRequest) -> Reply:
        if req.path == "/info":
            if req.method in ("GET", "HEAD"):
                return Reply(200, CIMultiDict({"Content-Type": "application/json; charset=UTF-8"}), info_body())
            if req.method == "OPTIONS":
                return Reply(200, CIMultiDict({"Allow": "GET, HEAD, OPTIONS"}))
            return error(405, headers={"Allow": "GET, HEAD, OPTIONS"})
        if req.path == "/auth" or req.path.startswith("/auth/"):
            return self.auth.handle_auth(req)
        if "bulk-delete" in req.query and req.method in ("POST", "DELETE"):
            return await bulk.bulk_delete(self.backend, req)
        if "extract-archive" in req.query and req.method == "PUT":
            return await extract_archive(self.backend, req, req.query["extract-archive"])
        reply = await dispatch.call(self.backend, req)
        if req.obj is not None:
            reply = await etag_quoter.apply(self.backend, req, reply)
        if req.headers.get("Origin"):
            reply = await cors.decorate(self.backend, req, reply)
        return reply

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """aiohttp entry point: never raises for a bad request."""
        start = time.time()
        tid = trans_id()
        req: SwiftRequest | None = None
        try:
            built = self._build(request, tid)
            if isinstance(built, Reply):
                reply = built
            else:
                req = built
                reply = await self.route(req)
        except SwiftError as exc:
            reply = exc.reply
        except ConnectionError:
            reply = error(499)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bug must not kill the connection handler
            error_log.exception("unhandled error in %s %s (%s)", request.method, request.raw_path, tid)
            reply = error(500, "Internal server error.\n", content_type="text/plain")
        sent = -1
        try:
            response, sent = await self.send(request, reply, tid)
            return response
        finally:
            if not self.quiet:
                self.log(request, req, reply, max(sent, 0), start, tid)

    # ------------------------------------------------------------ sending
    async def send(self, request: web.BaseRequest, reply: Reply, tid: str) -> tuple[web.StreamResponse, int]:
        headers = reply.headers
        headers["X-Trans-Id"] = tid
        headers["X-Openstack-Request-Id"] = tid
        headers["Server"] = "sciswift"
        if request.headers.get("Connection", "").lower() == "keep-alive":
            headers["Connection"] = "keep-alive"
        headers.setdefault("Content-Type", "text/html; charset=UTF-8")
        body = reply.body
        head = request.method == "HEAD"
        if head or reply.status in (204, 304):
            await reply.drain()
            body = b"" if reply.status != 204 else None
        if isinstance(body, (bytes, bytearray)) or body is None:
            data = b"" if body is None else bytes(body)
            if head:
                resp = _Response(status=reply.status, reason=reply.reason, headers=headers)
                if reply.status not in (204, 304):
                    resp.content_length = reply.content_length if reply.ok else 0
                await resp.prepare(request)
                await resp.write_eof()
                return resp, 0
            if reply.status == 204:
                resp = _Response(status=204, reason=reply.reason, headers=headers)
                await resp.prepare(request)
                await resp.write_eof()
                return resp, 0
            return web.Response(status=reply.status, reason=reply.reason, headers=headers, body=data), len(data)
        resp = _Response(status=reply.status, reason=reply.reason, headers=headers)
        if reply.content_length is not None:
            resp.content_length = reply.content_length
        sent = 0
        try:
            if isinstance(body, ObjectBody):
                fo = body.reader.fileno_offset()
                if fo is not None and body.length >= SENDFILE_MIN and request.transport is not None:
                    await resp.prepare(request)
                    loop = asyncio.get_running_loop()
                    try:
                        # sendfile bypasses the reader's checks: check each span first
                        # (damage raises CorruptData and cuts the reply short).
                        reader = body.reader
                        while sent < body.length:
                            n = min(SENDFILE_STEP, body.length - sent)
                            await body.run(reader.check, reader.start + sent, reader.start + sent + n)
                            sent += await loop.sendfile(request.transport, _FdFile(fo[0]), fo[1] + sent, n)  # type: ignore[arg-type]
                    finally:
                        body.close()
                    await resp.write_eof()
                    return resp, sent
            await resp.prepare(request)
            async for chunk in body:  # type: ignore[union-attr]
                await resp.write(chunk)
                sent += len(chunk)
            if reply.content_length is not None and sent != reply.content_length:
                raise ConnectionError(f"body was {sent} bytes, announced {reply.content_length}")
            await resp.write_eof()
        except (ConnectionError, OSError, SwiftError) as exc:
            # The status is already sent: all we can do is cut the connection
            # so the client sees a short body, as Swift does.
            error_log.warning("%s: response body failed after %d bytes: %s", tid, sent, exc)
            if request.transport is not None:
                request.transport.close()
        finally:
            if isinstance(body, ObjectBody):
                body.close()
        return resp, sent

    # ------------------------------------------------------------ logging
    def log(
        self, request: web.BaseRequest, req: SwiftRequest | None, reply: Reply, sent: int, start: float, tid: str
    ) -> None:
        end = time.time()
        peer = request.remote or "-"
        token = request.headers.get("X-Auth-Token") or request.headers.get("X-Storage-Token")
        ident: Identity | None = req.identity if req is not None else None
        received = req.body.received if req is not None and isinstance(req.body, AioBody) else 0
        fields: list[Any] = [
            peer,
            peer,
            time.strftime("%d/%b/%Y/%H/%M/%S", time.gmtime(start)),
            request.method,
            quote(request.raw_path, safe="/?&=%:;@+,", errors="surrogateescape"),
            f"HTTP/{request.version.major}.{request.version.minor}",
            reply.status,
            quote(request.headers.get("Referer", "-"), safe="/:"),
            quote(request.headers.get("User-Agent", "-"), safe="/:();."),
            (token[:16] + "...") if token else "-",
            received or "-",
            sent or "-",
            reply.headers.get("Etag", "-"),
            tid,
            ident.user if ident else "-",
            f"{end - start:.4f}",
        ]
        access_log.info(" ".join(str(f) for f in fields))
