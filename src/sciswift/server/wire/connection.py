"""One client connection: bytes in, requests to the application, responses out.

Requests on a connection are served strictly one after another. The parser is
not asked for the next request's head until the current response is complete,
so pipelined bytes wait in its buffer (the socket is paused when too many
pile up) and a response can never interleave with another. Flow control goes
both ways: a body queued faster than the application reads it pauses the
socket; a client that reads slowly makes :meth:`HTTPConnection.drain` wait.

Timeouts: an idle keep-alive connection is closed after ``keepalive_timeout``;
a request head must be complete within ``head_timeout`` of the previous
response (408 otherwise: slow-header clients cannot hold connections); a body
that stops arriving for ``body_timeout`` fails the read (the application
answers 408). A client that goes away never cancels the application's work: a
store write in progress finishes or rolls back on its own.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from sciswift.server.wire.body import BodyError, RequestBody
from sciswift.server.wire.parser import END_OF_MESSAGE, NEED_DATA, ParseError, RequestHead, RequestParser
from sciswift.server.wire.response import ResponseWriter, http_date

if TYPE_CHECKING:
    from sciswift.server.wire.server import HTTPServer

__all__ = ["HTTPConnection", "Request", "Handler"]

log = logging.getLogger("sciswift.server")

#: Queued body bytes above which the socket is paused, and below which a
#: paused one resumes: the gap makes a body arriving faster than it is read
#: pause the socket once per few MiB, not after every read; the high mark
#: lets the next ``store_body`` batch (4 MiB) arrive while one is written.
BODY_HIGH_WATER = 4 << 20
BODY_LOW_WATER = 1 << 20
#: Bytes asked of the socket per read (asyncio's selector transport, whose
#: ``max_size`` is 256 KiB): a large body then arrives in fewer pieces, each a
#: trip through the parser, the body's queue, its reader and the hashers.
RECV_SIZE = 1 << 20
#: Pipelined bytes (requests after the current one) above which the socket is paused.
PIPELINE_HIGH_WATER = 256 << 10
#: An unread rest of a body up to this size is read and dropped to keep the
#: connection; a larger one closes it.
DISCARD_LIMIT = 256 << 10


@dataclass
class Request:
    """What the application gets for one request."""

    head: RequestHead
    body: RequestBody
    response: ResponseWriter
    #: The client's address (``transport.get_extra_info("peername")``).
    peer: Any
    #: ``"http"`` or ``"https"``.
    scheme: str
    #: The server's own address on this connection (``sockname``).
    local: Any = None

    @property
    def host(self) -> str:
        """``host:port`` this connection reached (for a request without Host)."""
        if isinstance(self.local, tuple) and len(self.local) >= 2:
            host = str(self.local[0])
            return f"[{host}]:{self.local[1]}" if ":" in host else f"{host}:{self.local[1]}"
        return "localhost"


Handler = Callable[[Request], Awaitable[None]]


class HTTPConnection(asyncio.Protocol):
    """The protocol of one accepted connection (see the module docstring)."""

    def __init__(self, server: HTTPServer) -> None:
        self._server = server
        self._parser = RequestParser(server.limits)
        self.transport: asyncio.Transport | None = None
        self._peer: Any = None
        self._local: Any = None
        self._current: Request | None = None
        self._task: asyncio.Task[None] | None = None
        self._discarding = False
        self._paused = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._idle: asyncio.TimerHandle | None = None
        self._peer_eof = False
        self._closing = False
        #: Whether the connection may carry another request after the current one.
        self.keep_alive = True

    # ------------------------------------------------------------ asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._peer = transport.get_extra_info("peername")
        self._local = transport.get_extra_info("sockname")
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if isinstance(getattr(transport, "max_size", None), int):
            transport.max_size = RECV_SIZE  # type: ignore[attr-defined]
        self._server.connections.add(self)
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        self._parser.feed(data)
        self._pump()

    def eof_received(self) -> bool:
        # A client that half-closes after sending still gets its answers: the
        # requests already received are served, then the connection closes.
        self._peer_eof = True
        current = self._current
        if current is not None and not current.body.complete:
            self.keep_alive = False
            current.body.fail(BodyError("client closed the connection before the end of the body"))
        self._pump()
        return self._current is not None

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._cancel_idle()
        current = self._current
        if current is not None and not current.body.complete:
            current.body.fail(BodyError("client went away"))
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionError("client went away"))
        self._drain_waiters.clear()
        self.transport = None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()

    # ------------------------------------------------------------ writing
    def write(self, data: bytes | bytearray | memoryview) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            raise ConnectionError("client went away")
        transport.write(data)

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high mark."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("client went away")
        if self._write_paused:
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiters.append(waiter)
            await waiter

    def abort(self) -> None:
        self.keep_alive = False
        if self.transport is not None:
            self.transport.abort()

    def close_when_idle(self) -> None:
        """Close now if no request is in flight, else after its response."""
        self._closing = True
        self.keep_alive = False
        if self._current is None and self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------------ reading
    def _pump(self) -> None:
        """Move parsed events to where they belong, as far as allowed now."""
        parser = self._parser
        try:
            while True:
                current = self._current
                if current is None:
                    if self._closing or self.transport is None or self.transport.is_closing():
                        break
                    event = parser.next_event()
                    if event is NEED_DATA:
                        if self._peer_eof and self.transport is not None:
                            self.transport.close()
                        break
                    assert isinstance(event, RequestHead)
                    self._start(event)
                    continue
                body = current.body
                if body.complete:
                    break  # the next request waits for this response
                if body.queued >= BODY_HIGH_WATER and not self._discarding:
                    break
                event = parser.next_event()
                if event is NEED_DATA:
                    break
                if event is END_OF_MESSAGE:
                    body.end()
                    if self._discarding:
                        self._discarding = False
                        self._next_request()
                        return
                elif not self._discarding:
                    assert isinstance(event, bytes)
                    body.feed(event)
        except ParseError as exc:
            current = self._current
            if current is None:
                self._reject(exc)
                return
            self.keep_alive = False
            current.body.fail(BodyError(exc.reason, exc.status))
            if self._discarding and self.transport is not None:
                self.transport.close()
                return
        self._update_reading()

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        current = self._current
        if current is None:
            pause = False
        elif current.body.complete:
            pause = self._parser.buffered >= PIPELINE_HIGH_WATER
        elif self._discarding:
            pause = False
        else:
            queued = current.body.queued
            pause = queued > BODY_LOW_WATER if self._paused else queued >= BODY_HIGH_WATER
        if pause and not self._paused:
            self._paused = True
            transport.pause_reading()
        elif not pause and self._paused:
            self._paused = False
            transport.resume_reading()

    def _start(self, head: RequestHead) -> None:
        self._cancel_idle()
        server = self._server
        self.keep_alive = head.keep_alive and not self._closing
        if head.method in ("PUT", "POST") and not head.chunked and head.header("Content-Length") is None:
            # Answered 411 without a body; a client that sends one anyway would
            # have it read as a next request: close after the answer instead.
            self.keep_alive = False
        body = RequestBody(
            head.content_length,
            expect_continue=head.expect_continue,
            send_continue=self._send_continue,
            on_drain=self._pump,
            timeout=server.body_timeout,
        )
        request = Request(
            head=head,
            body=body,
            response=ResponseWriter(
                self, head.version, head.method == "HEAD",
                announce_keep_alive="keep-alive" in (head.header("Connection") or "").lower(),
            ),
            peer=self._peer,
            scheme=server.scheme,
            local=self._local,
        )
        self._current = request
        self._task = asyncio.get_running_loop().create_task(self._run(request))

    def _send_continue(self) -> None:
        current = self._current
        if current is not None and not current.response.started and self.transport is not None:
            if not self.transport.is_closing():
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def _run(self, request: Request) -> None:
        try:
            await self._server.handler(request)
        except asyncio.CancelledError:
            request.response.abort()
            raise
        except Exception:  # noqa: BLE001 - one request's bug must not end the server
            log.exception("unhandled error answering %s %s", request.head.method, request.head.target[:200])
            self._fail(request)
        if not request.response.finished:
            if not request.response.started:
                log.error("no response for %s %s", request.head.method, request.head.target[:200])
            self._fail(request)
        self._after_response(request)

    def _fail(self, request: Request) -> None:
        """End a response the application left unfinished: a 500 if nothing
        was sent yet, else a cut connection (the client sees a short body)."""
        response = request.response
        if response.finished:
            return
        if response.head_sent:
            response.abort()
        else:
            self._write_plain(500, "Internal server error.")
            response.finished = True

    def _after_response(self, request: Request) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if not self.keep_alive or self._closing:
            transport.close()
            return
        body = request.body
        if not body.complete:
            rest = None if body.length is None else body.length - body.received - body.queued
            if body.continue_pending or rest is None or rest > DISCARD_LIMIT:
                transport.close()
                return
            self._discarding = True  # read and drop the rest, then go on
            self._pump()
            return
        self._next_request()

    def _next_request(self) -> None:
        self._current = None
        self._task = None
        self._arm_idle()
        self._pump()

    # ------------------------------------------------------------ timeouts
    def _arm_idle(self) -> None:
        self._cancel_idle()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self._server.keepalive_timeout, self._on_idle)

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _on_idle(self) -> None:
        self._idle = None
        if self._current is not None or self.transport is None:
            return
        if self._parser.buffered:
            self._reject(ParseError(408, "request head not received in time"))
        else:
            self.transport.close()

    # ------------------------------------------------------------ errors
    def _reject(self, exc: ParseError) -> None:
        """Answer a request that could not be read, then close."""
        peer = self._peer[0] if isinstance(self._peer, tuple) else self._peer
        log.warning("%s malformed request from %s: %s", exc.status, peer, exc.reason)
        text = f"Bad Request: {exc.reason}" if exc.status == 400 else exc.reason
        self._write_plain(exc.status, text)
        if self.transport is not None:
            self.transport.close()

    def _write_plain(self, status: int, text: str) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        body = (text + "\n").encode("utf-8", "replace")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
            b"Date: %s\r\nConnection: close\r\n\r\n%s"
            % (status, phrase.encode(), len(body), http_date().encode(), body)
        )
        self.keep_alive = False
