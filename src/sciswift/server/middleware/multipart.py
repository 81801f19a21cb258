"""Reading a ``multipart/form-data`` body part by part, as it arrives.

Parts are handed out in order; each part's body is read in pieces (a file part
may be large) and must be read (or skipped) before the next part is asked
for. Nothing is held in memory beyond one read buffer.
"""

from __future__ import annotations

from email.message import Message
from email.parser import HeaderParser

from sciswift.server.http import Body

__all__ = ["MultipartError", "MultipartReader", "Part", "content_disposition"]

READ = 64 * 1024
MAX_HEAD = 16 * 1024


class MultipartError(ValueError):
    """The body is not the multipart document it claims to be."""


def content_disposition(value: str) -> tuple[str, dict[str, str]]:
    """``("form-data", {"name": ..., "filename": ...})`` of a Content-Disposition value."""
    msg = Message()
    msg["Content-Disposition"] = value
    params = msg.get_params(header="Content-Disposition") or []
    if not params:
        return "", {}
    kind = params[0][0].lower()
    return kind, {k.lower(): str(v) for k, v in params[1:]}


class Part:
    """One part: its headers, and its body read with :meth:`read`."""

    def __init__(self, reader: MultipartReader, headers: Message) -> None:
        self._reader = reader
        self.headers = headers
        self.done = False

    async def read(self, n: int = READ) -> bytes:
        """Up to ``n`` bytes of the part's body; ``b""`` at its end."""
        if self.done:
            return b""
        data = await self._reader._read_part(n)
        if not data:
            self.done = True
        return data

    async def drain(self) -> None:
        while await self.read():
            pass


class MultipartReader:
    """The parts of ``body``, delimited by ``boundary``."""

    def __init__(self, body: Body, boundary: str) -> None:
        self._body = body
        self._delim = b"\r\n--" + boundary.encode("utf-8")
        self._buf = b""
        self._eof = False
        self._started = False
        self._finished = False
        self._part_done = True

    @property
    def finished(self) -> bool:
        """The closing delimiter was read: no parts are left."""
        return self._finished

    async def _fill(self, want: int) -> bool:
        """Read until the buffer holds ``want`` bytes; False at the end of the body."""
        while len(self._buf) < want and not self._eof:
            chunk = await self._body.read(READ)
            if not chunk:
                self._eof = True
                break
            self._buf += chunk
        return len(self._buf) >= want

    async def _start(self) -> None:
        # the first delimiter has no CRLF before it; empty lines may precede it
        first = self._delim[2:]
        while True:
            await self._fill(len(first) + 2)
            if self._buf.startswith(b"\r\n"):
                self._buf = self._buf[2:]
                continue
            break
        if not self._buf.startswith(first):
            raise MultipartError("invalid starting boundary")
        self._buf = self._buf[len(first):]
        await self._after_delimiter()

    async def _after_delimiter(self) -> None:
        await self._fill(2)
        if self._buf.startswith(b"--"):
            self._finished = True
            return
        # the rest of the delimiter line (transport padding, then CRLF)
        while b"\n" not in self._buf[:MAX_HEAD]:
            if not await self._fill(len(self._buf) + 1):
                raise MultipartError("body ended inside a boundary line")
        self._buf = self._buf[self._buf.index(b"\n") + 1:]

    async def next_part(self) -> Part | None:
        """The next part (its headers read), or None after the last one."""
        if not self._started:
            self._started = True
            await self._start()
        if not self._part_done:
            raise RuntimeError("the previous part was not read to its end")
        if self._finished:
            return None
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end == -1 and self._buf.startswith(b"\r\n"):
                end = -2  # no headers at all
            if end != -1:
                break
            if len(self._buf) > MAX_HEAD or not await self._fill(len(self._buf) + 1):
                raise MultipartError("part headers too long or cut short")
        head = self._buf[:max(end, 0)].decode("utf-8", "replace")
        self._buf = self._buf[end + 4:]
        self._part_done = False
        return Part(self, HeaderParser().parsestr(head))

    async def _read_part(self, n: int) -> bytes:
        await self._fill(n + len(self._delim))
        cut = self._buf.find(self._delim)
        if cut == -1:
            if self._eof:
                raise MultipartError("body ended inside a part")
            take = max(0, len(self._buf) - len(self._delim))
            out, self._buf = self._buf[:take], self._buf[take:]
            return out
        if cut == 0:
            self._buf = self._buf[len(self._delim):]
            self._part_done = True
            await self._after_delimiter()
            return b""
        take = min(cut, n)
        out, self._buf = self._buf[:take], self._buf[take:]
        return out
