"""An incremental HTTP/1.1 request parser: one per connection, one state machine.

The parser is fed the bytes of a connection as they arrive, in pieces of any
size, and hands out events in order: a :class:`RequestHead`, then the body as
``bytes`` pieces, then :data:`END_OF_MESSAGE`; then the next request's head.
It never looks at bytes past the end of the message it is in until that
message's events have been taken, so how a request was split across reads can
never change how it is read, and one request's bytes can never be read as part
of another's (the "request splicing" a parser chosen anew per read allowed).

It accepts what Swift's server (eventlet) accepts and HTTP allows: any method
token (the application answers 405 to those it does not serve), raw bytes above
0x7F in the request target (clients send UTF-8 object names unquoted), and a
bare LF as line end. It refuses what a proxy in front could read differently:
header folding, whitespace before a header's colon, control characters, a
bare CR, Content-Length together with Transfer-Encoding, differing or non-digit
Content-Lengths, malformed chunk sizes. Every refusal is a :class:`ParseError`
with the status to answer and a one-line reason; after one, the connection must
be closed, because where the next request starts is no longer known.

Bodies move without copies where possible: a received buffer that lies wholly
inside a Content-Length body is handed out as the same ``bytes`` object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "Limits",
    "RequestHead",
    "ParseError",
    "RequestParser",
    "END_OF_MESSAGE",
    "NEED_DATA",
]


@dataclass(frozen=True)
class Limits:
    """Size limits of a request head (Swift's: 8 KiB lines)."""

    max_line: int = 8192
    max_headers: int = 256
    max_head: int = 256 * 1024
    #: Empty lines tolerated before a request line (RFC 9112 section 2.2).
    max_leading_empty_lines: int = 8
    max_trailer: int = 16 * 1024


class ParseError(Exception):
    """A request the server cannot read: answer ``status`` with ``reason``, then
    close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class RequestHead:
    """A parsed request line and header section.

    ``target`` is the request target as sent, decoded as UTF-8 with surrogate
    escapes (so raw bytes survive a round trip through ``encode("utf-8",
    "surrogateescape")``); header names and values are decoded the same way.
    ``content_length`` is None for a chunked body. ``keep_alive`` says whether
    the connection may carry another request after this one (HTTP/1.1 unless
    ``Connection: close``; HTTP/1.0 only with ``Connection: keep-alive``).
    """

    method: str
    target: str
    version: tuple[int, int]
    headers: list[tuple[str, str]]
    content_length: int | None
    chunked: bool
    keep_alive: bool
    expect_continue: bool
    #: Bytes of the head on the wire (for logs and limits).
    size: int = 0

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


END_OF_MESSAGE: Final = _Marker("END_OF_MESSAGE")
NEED_DATA: Final = _Marker("NEED_DATA")

Event = RequestHead | bytes | _Marker

# RFC 9110 tchar: the characters of a method.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# A header name: visible ASCII but the colon. Wider than tchar because Swift's
# server (and S3 clients' metadata, ``x-amz-meta-(``) take any; what decides
# framing (the colon, line ends, no whitespace) stays strict.
_FIELD_NAME = re.compile(rb"[!-9;-~]+\Z")
# Bytes a request target may not hold: controls, space, DEL.
_BAD_TARGET = re.compile(rb"[\x00-\x20\x7f]")
# Bytes a header value may not hold: controls other than tab, DEL.
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}\Z")
#: Headers a request may carry once. Two Host headers must be refused (RFC 9112,
#: 3.2); two credentials leave open whose request it is (one join of two
#: requests' bytes carries both), so neither is taken.
_SINGLE = frozenset({b"host", b"x-auth-token", b"x-storage-token", b"x-service-token", b"authorization"})
_DIGITS = re.compile(rb"[0-9]{1,19}\Z")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])\Z")

_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILER, _DONE = range(7)


class RequestParser:
    """Feed bytes with :meth:`feed`; take events with :meth:`next_event`.

    ``next_event`` returns a :class:`RequestHead`, a non-empty ``bytes`` piece
    of the body, :data:`END_OF_MESSAGE`, or :data:`NEED_DATA` when more bytes
    must be fed first. It raises :class:`ParseError` for a request that cannot
    be read; the parser is then unusable. After ``END_OF_MESSAGE`` the next
    call starts reading the next request.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._chunks: list[bytes] = []  # unread input, oldest first
        self._pos = 0  # read offset into _chunks[0]
        self._size = 0  # unread bytes in all of _chunks
        self._state = _HEAD
        self._left = 0  # body bytes left (Content-Length or current chunk)
        self._scanned = 0  # head bytes already searched for the blank line
        self._started = False  # a request line has begun (leading blank lines skipped)
        self._skipped = 0
        self._trailer_size = 0
        self._failed: ParseError | None = None

    # ------------------------------------------------------------------ input
    def feed(self, data: bytes) -> None:
        """Queue received bytes (kept by reference, not copied)."""
        if data:
            self._chunks.append(data)
            self._size += len(data)

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet handed out (including a next request's)."""
        return self._size

    @property
    def between_messages(self) -> bool:
        """True when no byte of a next request has been received."""
        return self._state == _HEAD and self._size == 0

    def _coalesce(self) -> bytes:
        """All unread input as one bytes object (heads and chunk lines only:
        these are small, bodies never go through here)."""
        if len(self._chunks) == 1 and self._pos == 0:
            return self._chunks[0]
        first = self._chunks[0][self._pos :] if self._pos else self._chunks[0]
        data = b"".join([first, *self._chunks[1:]]) if len(self._chunks) > 1 else first
        self._chunks = [data] if data else []
        self._pos = 0
        return data

    def _consume(self, n: int) -> None:
        """Drop ``n`` bytes from the front of the input (after _coalesce)."""
        data = self._chunks[0]
        self._size -= n
        if n + self._pos >= len(data):
            self._chunks.pop(0)
            self._pos = 0
        else:
            self._pos += n

    def _take(self, n: int) -> bytes:
        """Up to ``n`` bytes from the front, without copying a whole buffer."""
        data = self._chunks[0]
        avail = len(data) - self._pos
        if self._pos == 0 and avail <= n:
            self._chunks.pop(0)
            self._size -= avail
            return data
        k = min(n, avail)
        out = data[self._pos : self._pos + k]
        self._pos += k
        self._size -= k
        if self._pos >= len(data):
            self._chunks.pop(0)
            self._pos = 0
        return out

    # ----------------------------------------------------------------- events
    def next_event(self) -> Event:
        if self._failed is not None:
            raise self._failed
        try:
            return self._next()
        except ParseError as exc:
            self._failed = exc
            self._chunks, self._size, self._pos = [], 0, 0
            raise

    def _next(self) -> Event:
        state = self._state
        if state == _BODY:
            if self._left == 0:
                self._state = _HEAD
                return END_OF_MESSAGE
            if not self._size:
                return NEED_DATA
            piece = self._take(self._left)
            self._left -= len(piece)
            return piece
        if state == _HEAD:
            return self._head()
        if state == _DONE:
            self._state = _HEAD
            return END_OF_MESSAGE
        return self._chunked()

    # ------------------------------------------------------------------- head
    def _head(self) -> Event:
        if not self._size:
            return NEED_DATA
        limits = self.limits
        data = self._coalesce()
        if not self._started:
            # Empty lines before a request line are skipped (RFC 9112 section 2.2:
            # some clients send CRLF after a POST body).
            while data[:1] in (b"\r", b"\n"):
                if data[:1] == b"\r" and len(data) < 2:
                    return NEED_DATA
                n = 1 if data[:1] == b"\n" else 2
                if n == 2 and data[1:2] != b"\n":
                    raise ParseError(400, "malformed request line")
                self._skipped += 1
                if self._skipped > limits.max_leading_empty_lines:
                    raise ParseError(400, "malformed request line")
                self._consume(n)
                if not self._size:
                    return NEED_DATA
                data = self._coalesce()
            self._started = True
        found = self._find_head_end(data)
        if found is None:
            self._scanned = max(0, len(data) - 3)
            first_eol = data.find(b"\n")
            if first_eol < 0 and len(data) > limits.max_line:
                raise ParseError(414, "request line too long (limit 8192 bytes)")
            if first_eol >= 0 and len(data) - data.rfind(b"\n") > limits.max_line:
                raise ParseError(400, "request line or header too long (limit 8192 bytes)")
            if len(data) > limits.max_head:
                raise ParseError(431, "request header section too large")
            return NEED_DATA
        end, consumed = found
        if consumed > limits.max_head:
            raise ParseError(431, "request header section too large")
        self._scanned = 0
        self._started = False
        self._skipped = 0
        head = self._parse_head(data[:end])
        self._consume(consumed)
        head.size = consumed
        if head.chunked:
            self._state = _CHUNK_SIZE
            self._trailer_size = 0
        else:
            self._state = _BODY
            self._left = head.content_length or 0
        return head

    def _find_head_end(self, data: bytes) -> tuple[int, int] | None:
        """Where the header section ends: (length of the head without its blank
        line, bytes to consume), or None if no blank line was received yet. A
        line ends with LF, optionally preceded by CR."""
        i = data.find(b"\n", self._scanned)
        while i >= 0:
            nxt = data[i + 1 : i + 3]
            if nxt[:1] == b"\n":
                return i, i + 2
            if nxt == b"\r\n":
                return i, i + 3
            i = data.find(b"\n", i + 1)
        return None

    def _parse_head(self, raw: bytes) -> RequestHead:
        limits = self.limits
        lines = raw.split(b"\n")
        for k, line in enumerate(lines):
            if line.endswith(b"\r"):
                line = lines[k] = line[:-1]
            if b"\r" in line:
                raise ParseError(400, "bare CR in request head")
            if len(line) > limits.max_line:
                if k == 0:
                    raise ParseError(414, "request line too long (limit 8192 bytes)")
                raise ParseError(400, "request line or header too long (limit 8192 bytes)")
        method, target, version = self._request_line(lines[0])
        if len(lines) - 1 > limits.max_headers:
            raise ParseError(431, f"too many headers (limit {limits.max_headers})")
        headers: list[tuple[str, str]] = []
        lengths: list[bytes] = []
        codings: list[bytes] = []
        connection: list[bytes] = []
        expect = b""
        single: set[bytes] = set()
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t"):
                raise ParseError(400, "invalid header: folded header lines are not accepted")
            name, colon, value = line.partition(b":")
            if not colon or not _FIELD_NAME.match(name):
                raise ParseError(400, "invalid header")
            value = value.strip(b" \t")
            if _BAD_VALUE.search(value):
                raise ParseError(400, "invalid header: control character in a value")
            lname = name.lower()
            if lname == b"content-length":
                lengths.append(value)
            elif lname == b"transfer-encoding":
                codings.extend(c.strip(b" \t").lower() for c in value.split(b",") if c.strip(b" \t"))
            elif lname == b"connection":
                connection.extend(c.strip(b" \t").lower() for c in value.split(b","))
            elif lname == b"expect":
                expect = value.lower()
            if lname in _SINGLE:
                if lname in single:
                    raise ParseError(400, f"more than one {name.decode('ascii')} header")
                single.add(lname)
            headers.append((name.decode("ascii"), value.decode("utf-8", "surrogateescape")))
        content_length: int | None = 0
        chunked = False
        if codings:
            if lengths:
                raise ParseError(400, "Content-Length and Transfer-Encoding together")
            if version < (1, 1):
                raise ParseError(400, "Transfer-Encoding in an HTTP/1.0 request")
            if codings != [b"chunked"]:
                raise ParseError(501, "Unsupported Transfer-Coding header value specified in Transfer-Encoding header")
            chunked, content_length = True, None
        elif lengths:
            if any(not _DIGITS.match(v) for v in lengths) or len(set(lengths)) > 1:
                raise ParseError(400, "invalid Content-Length header")
            content_length = int(lengths[0])
        if version >= (1, 1):
            keep_alive = b"close" not in connection
        else:
            keep_alive = b"keep-alive" in connection
        return RequestHead(
            method=method,
            target=target,
            version=version,
            headers=headers,
            content_length=content_length,
            chunked=chunked,
            keep_alive=keep_alive,
            expect_continue=expect == b"100-continue",
        )

    @staticmethod
    def _request_line(line: bytes) -> tuple[str, str, tuple[int, int]]:
        parts = line.split(b" ")
        if len(parts) != 3 or not parts[1]:
            raise ParseError(400, "malformed request line")
        method, target, version = parts
        if not _TOKEN.match(method):
            raise ParseError(400, "bad HTTP method")
        if _BAD_TARGET.search(target):
            raise ParseError(400, "malformed request line")
        m = _VERSION.match(version)
        if m is None:
            raise ParseError(400, "malformed request line")
        ver = (int(m.group(1)), int(m.group(2)))
        if ver not in ((1, 0), (1, 1)):
            raise ParseError(505, "HTTP Version Not Supported")
        return method.decode("ascii"), target.decode("utf-8", "surrogateescape"), ver

    # ---------------------------------------------------------------- chunked
    def _line(self, limit: int) -> bytes | None:
        """The next line (without its end) or None when it is not complete."""
        if not self._size:
            return None
        data = self._coalesce()
        i = data.find(b"\n")
        if i < 0:
            if len(data) > limit:
                raise ParseError(400, "invalid chunked transfer encoding")
            return None
        line = data[:i]
        self._consume(i + 1)
        if line.endswith(b"\r"):
            line = line[:-1]
        if b"\r" in line:
            raise ParseError(400, "invalid chunked transfer encoding")
        return line

    def _chunked(self) -> Event:
        while True:
            state = self._state
            if state == _CHUNK_DATA:
                if self._left == 0:
                    self._state = _CHUNK_CRLF
                    continue
                if not self._size:
                    return NEED_DATA
                piece = self._take(self._left)
                self._left -= len(piece)
                return piece
            if state == _CHUNK_SIZE:
                line = self._line(1024)
                if line is None:
                    return NEED_DATA
                size, _, _ext = line.partition(b";")
                size = size.strip(b" \t")
                if not _HEX.match(size):
                    raise ParseError(400, "invalid chunked transfer encoding")
                self._left = int(size, 16)
                self._state = _CHUNK_DATA if self._left else _TRAILER
                continue
            if state == _CHUNK_CRLF:
                line = self._line(2)
                if line is None:
                    return NEED_DATA
                if line:
                    raise ParseError(400, "invalid chunked transfer encoding")
                self._state = _CHUNK_SIZE
                continue
            # _TRAILER: trailer fields up to an empty line; read and dropped.
            line = self._line(self.limits.max_line)
            if line is None:
                return NEED_DATA
            self._trailer_size += len(line) + 2
            if self._trailer_size > self.limits.max_trailer:
                raise ParseError(400, "invalid chunked transfer encoding: trailer too large")
            if not line:
                self._state = _HEAD
                return END_OF_MESSAGE
            name, colon, _ = line.partition(b":")
            if not colon or not _FIELD_NAME.match(name):
                raise ParseError(400, "invalid chunked transfer encoding")
