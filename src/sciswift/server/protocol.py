"""The HTTP protocol layer: aiohttp's server, adjusted to what Swift clients send.

Two request parsers. aiohttp's fast C parser (llhttp) refuses two things Swift
(eventlet) accepts: raw bytes above 0x7F in the request target, which Swift
clients send for UTF-8 names (``GET /v1/AUTH_test/caf\\xc3\\xa9``; Swift answers
412 only for invalid UTF-8), and methods it does not know (Swift answers 405,
e.g. to ``LICK``). aiohttp's pure-Python parser accepts both but costs
throughput (measured here: 16 MiB PUT bodies received at 1.0 GB/s against
1.7 GB/s). So each request is parsed by the C parser unless its request line
(looked at when the previous request's body is complete, so the bytes are
known to start a request) has such bytes or such a method; that one request
then goes through the Python parser.

Requests Swift answers without reading their body (a PUT or POST with neither
Content-Length nor Transfer-Encoding: 411; stacked transfer codings: 501) get
only their headers passed to the parser, and the connection closes after the
answer: a client that sends a body anyway would otherwise have it parsed as a
next request, whose parse error would hide the first one.

Malformed requests (bad request line, header, Content-Length, chunked
encoding) get one log line and a short plain-text reason, no traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import http_exceptions, web, web_protocol

__all__ = ["make_server", "needs_lenient_parser", "describe_parse_error"]

log = logging.getLogger("sciswift.server")

try:
    from aiohttp.http_parser import HttpRequestParserPy
except ImportError:  # pragma: no cover - very old aiohttp
    HttpRequestParserPy = None  # type: ignore[assignment,misc]

_HIGH = re.compile(rb"[\x80-\xff]")
#: Methods the C parser is used for; any other goes to the Python parser.
_FAST_METHODS = (b"GET ", b"HEAD ", b"PUT ", b"POST ", b"DELETE ", b"COPY ", b"OPTIONS ")


def needs_lenient_parser(data: bytes) -> bool:
    """True if the request starting ``data`` has a method or request-target
    bytes the C parser would refuse."""
    end = data.find(b"\r\n")
    line = data if end < 0 else data[:end]
    return not line.startswith(_FAST_METHODS) or _HIGH.search(line) is not None


class _Handler(web_protocol.RequestHandler):
    _last_payload: Any = None

    def __init__(self, manager: web.Server, *, loop: Any, **kwargs: Any) -> None:
        super().__init__(manager, loop=loop, **kwargs)
        self._fast_parser = self._parser
        self._lenient_parser: Any = None
        self._parser_args = (loop, kwargs)

    def _lenient(self) -> Any:
        if self._lenient_parser is None and HttpRequestParserPy is not None:
            loop, kwargs = self._parser_args
            self._lenient_parser = HttpRequestParserPy(
                self, loop, kwargs.get("read_bufsize", 2**16),
                max_line_size=kwargs.get("max_line_size", 8190),
                max_field_size=kwargs.get("max_field_size", 8190),
                max_headers=kwargs.get("max_headers", 128),
                payload_exception=web_protocol.RequestPayloadError,
                auto_decompress=kwargs.get("auto_decompress", True),
            )
        return self._lenient_parser or self._fast_parser

    def _at_request_start(self) -> bool:
        # The previous request's body is complete (its parser fed the EOF), so
        # the next byte received begins a new request line.
        last = self._last_payload
        return last is None or last.is_eof()

    def data_received(self, data: bytes) -> None:
        if self._at_request_start() and data:
            self._parser = self._lenient() if needs_lenient_parser(data) else self._fast_parser
            end = data.find(b"\r\n\r\n")
            if 0 < end < len(data) - 4 and _answered_without_body(data[:end]):
                self._feed(data[: end + 4])
                self._close = True  # answer, then close; the stray bytes are dropped
                return
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        messages = self._messages
        before = len(messages)
        super().data_received(data)
        if len(messages) > before:
            self._last_payload = messages[-1][1]

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500 or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        reason = describe_parse_error(exc, message)
        log.warning("%s malformed request from %s: %s", status, request.remote, reason)
        resp = web.Response(status=status, text=f"Bad Request: {reason}\n" if status == 400 else f"{reason}\n")
        resp.force_close()
        return resp


def _answered_without_body(head: bytes) -> bool:
    lower = head.lower()
    te = lower.find(b"\ntransfer-encoding:")
    if te >= 0:
        eol = lower.find(b"\n", te + 1)
        return b"," in lower[te + 19 : eol if eol > 0 else None]
    return head.split(b" ", 1)[0] in (b"PUT", b"POST") and b"\ncontent-length:" not in lower


def describe_parse_error(exc: BaseException | None, message: str | None) -> str:
    """A one-line, client-readable description of an HTTP parse error."""
    if isinstance(exc, http_exceptions.TransferEncodingError):
        return "invalid chunked transfer encoding"
    if isinstance(exc, http_exceptions.ContentLengthError):
        return "body shorter than its Content-Length"
    if isinstance(exc, http_exceptions.LineTooLong):
        return "request line or header too long (limit 8192 bytes)"
    if isinstance(exc, http_exceptions.BadHttpMethod):
        return "bad HTTP method"
    text = str(getattr(exc, "message", "") or message or exc or "")
    if isinstance(exc, http_exceptions.InvalidHeader) or "header" in text.lower():
        return "invalid Content-Length header" if "content-length" in text.lower() else "invalid header"
    if "chunk" in text.lower():
        return "invalid chunked transfer encoding"
    if isinstance(exc, http_exceptions.BadStatusLine):
        return "malformed request line"
    text = text.strip()
    return text.splitlines()[0][:200] if text else "malformed request"


class _Server(web.Server):
    def __call__(self) -> web_protocol.RequestHandler:
        return _Handler(self, loop=self._loop, **self._kwargs)


def make_server(handler: Any, **kwargs: Any) -> web.Server:
    """An aiohttp low-level server for ``handler`` with the adjustments above."""
    return _Server(handler, **kwargs)
