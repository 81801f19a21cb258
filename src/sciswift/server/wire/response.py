"""Writing one response on a connection: status line, headers, body.

The body is framed by Content-Length when the length is known, by chunked
transfer coding for an HTTP/1.1 client otherwise, and by closing the connection
for an HTTP/1.0 client. The head is held back until the first body bytes (or
the end) so that a small response leaves in one write. A response whose body
cannot be completed is ended with :meth:`ResponseWriter.abort`, which closes
the connection: the client sees a short body, never a clean one.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable
from email.utils import formatdate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sciswift.server.wire.connection import HTTPConnection

__all__ = ["ResponseWriter", "http_date"]

_date_cache: tuple[int, str] = (0, "")


def http_date() -> str:
    """The current time as an HTTP date (computed once per second)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def _check(text: str, what: str) -> bytes:
    data = text.encode("utf-8", "surrogateescape")
    if b"\r" in data or b"\n" in data or b"\x00" in data:
        raise ValueError(f"response {what} holds a line break or NUL: {text[:80]!r}")
    return data


class _FdFile:
    """The minimal file object ``loop.sendfile`` needs for a raw descriptor."""

    mode = "rb"

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def seek(self, offset: int, whence: int = 0) -> int:
        return os.lseek(self._fd, offset, whence)

    def read(self, n: int = -1) -> bytes:  # the fallback path (TLS) reads
        return os.read(self._fd, n if n >= 0 else 1 << 20)

    def readinto(self, buf: bytearray | memoryview) -> int:
        return os.readv(self._fd, [buf])


#: Chunks up to this size leave in one write with their framing (a copy that
#: costs less than the extra system calls on a small part).
_JOINED_WRITE = 16 << 10


class ResponseWriter:
    """One response. Call :meth:`start`, then :meth:`write` / :meth:`sendfile`
    any number of times, then :meth:`finish` (or :meth:`abort`)."""

    def __init__(
        self, conn: HTTPConnection, version: tuple[int, int], head_request: bool, announce_keep_alive: bool = False
    ) -> None:
        self._conn = conn
        self._announce_keep_alive = announce_keep_alive
        self._version = version
        self._head_request = head_request
        self._pending: bytes | None = None  # the head, not sent yet
        # Framing owed before the next bytes (a chunk's closing CRLF): sent
        # with them, so a chunked reply of many parts costs fewer writes.
        self._tail = b""
        self._chunked = False
        self._no_body = False
        self._length: int | None = None
        self.status = 0
        self.started = False
        self.finished = False
        #: Body bytes sent (not counting framing).
        self.sent = 0

    @property
    def head_sent(self) -> bool:
        """Some of the response (at least its head) went to the client."""
        return self.started and self._pending is None

    def restart(self) -> None:
        """Forget a started response whose head was not sent yet (to answer
        differently); RuntimeError once anything went to the client."""
        if self.head_sent or self.finished:
            raise RuntimeError("response already sent")
        self._pending = None
        self._chunked = False
        self._no_body = False
        self._length = None
        self.status = 0
        self.started = False
        self.sent = 0

    def start(
        self,
        status: int,
        reason: str,
        headers: Iterable[tuple[str, str]],
        content_length: int | None,
    ) -> None:
        """Prepare the head. ``content_length`` None means "not known": the
        body is then chunked (HTTP/1.1) or ends when the connection closes
        (HTTP/1.0). A HEAD request, 1xx, 204 and 304 get no body; their
        Content-Length (when given) is still sent, as Swift does."""
        if self.started:
            raise RuntimeError("response already started")
        self.started = True
        self.status = status
        conn = self._conn
        self._no_body = self._head_request or status in (204, 304) or status < 200
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, _check(reason, "reason"))]
        seen_date = False
        for name, value in headers:
            lname = name.lower()
            if lname in ("content-length", "transfer-encoding", "connection"):
                continue  # framing is this writer's business
            if lname == "date":
                seen_date = True
            lines.append(b"%s: %s\r\n" % (_check(name, "header name"), _check(str(value), "header value")))
        if not seen_date:
            lines.append(b"Date: %s\r\n" % http_date().encode("ascii"))
        if content_length is not None:
            lines.append(b"Content-Length: %d\r\n" % content_length)
            self._length = content_length
        elif not self._no_body:
            if self._version >= (1, 1):
                self._chunked = True
                lines.append(b"Transfer-Encoding: chunked\r\n")
            else:
                conn.keep_alive = False
        if not conn.keep_alive:
            lines.append(b"Connection: close\r\n")
        elif self._version < (1, 1) or self._announce_keep_alive:
            lines.append(b"Connection: keep-alive\r\n")
        lines.append(b"\r\n")
        self._pending = b"".join(lines)

    def _flush_head(self, data: bytes | bytearray | memoryview = b"") -> None:
        head, self._pending = self._pending, None
        if head is None:
            if data:
                self._conn.write(data)
        elif data and len(data) <= 16384:
            self._conn.write(head + data)
        else:
            self._conn.write(head)
            if data:
                self._conn.write(data)

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send body bytes (waits while the client reads slowly)."""
        if not self.started or self.finished:
            raise RuntimeError("write outside a started response")
        n = len(data)
        if self._no_body or not n:
            return
        if self._length is not None and self.sent + n > self._length:
            raise ValueError(f"body longer than its Content-Length {self._length}")
        if self._chunked:
            framing = self._take_tail() + b"%x\r\n" % n
            if n <= _JOINED_WRITE:
                self._flush_head(b"".join((framing, data, b"\r\n")))
            else:
                self._flush_head(framing)
                self._conn.write(data)
                self._tail = b"\r\n"
        else:
            self._flush_head(data)
        self.sent += n
        await self._conn.drain()

    def _take_tail(self) -> bytes:
        tail, self._tail = self._tail, b""
        return tail

    async def sendfile(self, fd: int, offset: int, count: int) -> int:
        """Send ``count`` bytes of the open file ``fd`` from ``offset`` with the
        kernel's sendfile where the transport allows (a plain socket), by reads
        otherwise (TLS)."""
        if self._no_body or count <= 0:
            return 0
        # In a chunked reply the file's bytes are one chunk.
        self._flush_head(self._take_tail() + b"%x\r\n" % count if self._chunked else b"")
        transport = self._conn.transport
        if transport is None or transport.is_closing():
            raise ConnectionError("client went away")
        sent = 0
        sock = transport.get_extra_info("socket")
        if sock is not None and transport.get_write_buffer_size() == 0 and transport.get_extra_info("ssl_object") is None:
            # Nothing queued before it: try one sendfile straight away (a
            # 256 KiB part usually fits the socket's buffer). loop.sendfile
            # costs ~0.3 ms of selector bookkeeping per call, which a batched
            # GET of 256 small objects paid for each.
            try:
                sent = os.sendfile(sock.fileno(), fd, offset, count)
            except (BlockingIOError, InterruptedError):
                sent = 0
        if sent < count:
            loop = asyncio.get_running_loop()
            sent += await loop.sendfile(transport, _FdFile(fd), offset + sent, count - sent)  # type: ignore[arg-type]
        if self._chunked:
            if sent != count:
                raise ConnectionError(f"sendfile sent {sent} of {count} bytes of a chunk")
            self._tail = b"\r\n"
        self.sent += sent
        return sent

    async def finish(self) -> None:
        """End the response (sends the head if nothing else was sent). A body
        shorter than its Content-Length aborts the connection instead."""
        if self.finished:
            return
        if self._length is not None and not self._no_body and self.sent != self._length:
            self.abort()
            raise ConnectionError(f"body was {self.sent} bytes, announced {self._length}")
        self.finished = True
        self._flush_head(self._take_tail() + b"0\r\n\r\n" if self._chunked else b"")
        await self._conn.drain()

    def abort(self) -> None:
        """Give up on this response: close the connection at once."""
        self.finished = True
        self._pending = None
        self._conn.abort()
