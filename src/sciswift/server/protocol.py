"""The HTTP protocol layer: aiohttp's server with a request-line parser that
accepts what Swift clients send.

Swift clients (python-swiftclient, the ``swift`` CLI, Swift's own functional
tests) put raw UTF-8 bytes in request paths (``GET /v1/AUTH_test/caf\\xc3\\xa9``).
aiohttp's C parser (llhttp) rejects any byte above 0x7F in the URL with a 400,
while Swift (eventlet) accepts it and then answers 412 only for invalid UTF-8.
So requests are parsed with aiohttp's pure-Python parser, which accepts those
bytes and still rejects control characters. Measured here: 10 µs per GET
request line and headers against 5 µs for the C parser, a few percent of the
cost of a small-object request.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import http_exceptions, web, web_protocol

__all__ = ["make_server"]

log = logging.getLogger("sciswift.server")

try:
    from aiohttp.http_parser import HttpRequestParserPy
except ImportError:  # pragma: no cover - very old aiohttp
    HttpRequestParserPy = None  # type: ignore[assignment,misc]


class _Handler(web_protocol.RequestHandler):
    def __init__(self, manager: web.Server, *, loop: Any, **kwargs: Any) -> None:
        super().__init__(manager, loop=loop, **kwargs)
        if HttpRequestParserPy is None:
            return
        try:
            self._parser = HttpRequestParserPy(
                self,
                loop,
                kwargs.get("read_bufsize", 2**16),
                max_line_size=kwargs.get("max_line_size", 8190),
                max_field_size=kwargs.get("max_field_size", 8190),
                max_headers=kwargs.get("max_headers", 128),
                payload_exception=web_protocol.RequestPayloadError,
                auto_decompress=kwargs.get("auto_decompress", True),
                max_msg_queue_size=getattr(web_protocol, "MAX_MSG_QUEUE_SIZE", 0),
            )
        except TypeError:  # pragma: no cover - an aiohttp with another parser signature
            log.warning("aiohttp's Python parser is unavailable: raw UTF-8 request paths will get 400")


    def data_received(self, data: bytes) -> None:
        """Requests Swift answers without reading their body: a PUT or POST
        without Content-Length or Transfer-Encoding (411; in HTTP/1.1 it has no
        body, so bytes a client sends anyway would be parsed as the next
        request, and aiohttp would lose the first one in the parse error), and
        one whose Transfer-Encoding stacks codings (501). We pass on only their
        headers and close the connection after the answer."""
        parser = self._parser
        if (
            self._payload_parser is None
            and parser is not None
            and not getattr(parser, "_lines", True)
            and not getattr(parser, "_tail", True)
        ):
            end = data.find(b"\r\n\r\n")
            if 0 < end < len(data) - 4 and _answered_without_body(data[:end]):
                super().data_received(data[: end + 4])
                self._close = True
                return
        super().data_received(data)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A malformed request (bad request line, header, Content-Length or
        chunked encoding) gets one log line and a short plain-text reason."""
        if status >= 500 or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        reason = describe_parse_error(exc, message)
        log.warning("%s %s from %s: %s", status, "malformed request", request.remote, reason)
        resp = web.Response(status=status, text=f"Bad Request: {reason}\n" if status == 400 else f"{reason}\n")
        resp.force_close()
        return resp


def _answered_without_body(head: bytes) -> bool:
    lower = head.lower()
    te = lower.find(b"\ntransfer-encoding:")
    if te >= 0:
        value = lower[te + 19 : lower.find(b"\n", te + 1) if lower.find(b"\n", te + 1) > 0 else None]
        return b"," in value
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
    if isinstance(exc, http_exceptions.InvalidHeader):
        text = str(getattr(exc, "message", "") or exc)
        if "content-length" in text.lower():
            return "invalid Content-Length header"
        return "invalid header"
    if isinstance(exc, http_exceptions.BadStatusLine):
        return "malformed request line"
    text = (getattr(exc, "message", None) or message or str(exc or "malformed request")).strip()
    return text.splitlines()[0][:200] if text else "malformed request"


class _Server(web.Server):
    def __call__(self) -> web_protocol.RequestHandler:
        return _Handler(self, loop=self._loop, **self._kwargs)


def make_server(handler: Any, **kwargs: Any) -> web.Server:
    """An aiohttp low-level server for ``handler`` with the lenient parser."""
    return _Server(handler, **kwargs)

