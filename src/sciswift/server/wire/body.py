"""The body of a request as it arrives: a queue of received pieces.

The connection appends what its parser hands out; the application reads with
:meth:`RequestBody.read` or :meth:`RequestBody.read_any`. Reading answers
``Expect: 100-continue`` first (so a refused upload is never sent), and lets
the connection resume a socket it paused because too much was queued.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

__all__ = ["RequestBody", "BodyError"]


class BodyError(ConnectionError):
    """The body cannot be read to its end: the client went away (``status``
    499), sent a malformed chunked body (400) or stalled (408)."""

    def __init__(self, message: str, status: int = 499) -> None:
        super().__init__(message)
        self.status = status


class RequestBody:
    """A request body being received.

    ``length`` is the announced Content-Length, None for a chunked body.
    ``read(n)`` returns up to ``n`` bytes (all that is left for ``n < 0``) and
    ``b""`` at the end; a body that cannot be completed raises
    :class:`BodyError`. ``received`` counts the bytes handed out so far.
    """

    def __init__(
        self,
        length: int | None,
        *,
        expect_continue: bool,
        send_continue: Callable[[], None],
        on_drain: Callable[[], None],
        timeout: float,
    ) -> None:
        self.length = length
        self.received = 0
        self._pieces: deque[bytes] = deque()
        self.queued = 0
        self._eof = False
        self._error: BodyError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._expect_continue = expect_continue and length != 0
        self._send_continue = send_continue
        self._on_drain = on_drain
        self._timeout = timeout

    # ------------------------------------------------------ connection side
    def feed(self, data: bytes) -> None:
        self._pieces.append(data)
        self.queued += len(data)
        self._wake()

    def end(self) -> None:
        self._eof = True
        self._wake()

    def fail(self, error: BodyError) -> None:
        if not self._eof:
            self._error = error
        self._wake()

    @property
    def complete(self) -> bool:
        """All of the body was received (it may still be queued)."""
        return self._eof

    @property
    def continue_pending(self) -> bool:
        """The client waits for ``100 Continue`` that was never sent: it may
        or may not send its body, so the connection cannot be reused."""
        return self._expect_continue and not self._eof

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ----------------------------------------------------- application side
    async def _wait(self) -> None:
        if self._expect_continue:
            self._expect_continue = False
            self._send_continue()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._waiter, self._timeout)
        except TimeoutError:
            self._error = BodyError(f"no request body data for {self._timeout:.0f} s", 408)
        finally:
            self._waiter = None

    async def _ready(self) -> bool:
        """Wait until something is queued; False at the end of the body."""
        while not self._pieces:
            if self._error is not None:
                raise self._error
            if self._eof:
                return False
            await self._wait()
        return True

    def _taken(self, n: int) -> None:
        self.queued -= n
        self.received += n
        self._on_drain()

    async def read_any(self) -> bytes:
        """The oldest received piece as it is (no copy), ``b""`` at the end."""
        if not await self._ready():
            return b""
        piece = self._pieces.popleft()
        self._taken(len(piece))
        return piece

    async def read(self, n: int = -1) -> bytes:
        if n < 0:
            parts: list[bytes] = []
            while await self._ready():
                piece = self._pieces.popleft()
                self._taken(len(piece))
                parts.append(piece)
            return b"".join(parts)
        if n == 0 or not await self._ready():
            return b""
        first = self._pieces[0]
        if len(first) >= n:
            if len(first) == n:
                self._pieces.popleft()
                out = first
            else:
                out, self._pieces[0] = first[:n], first[n:]
            self._taken(n)
            return out
        parts = []
        got = 0
        while self._pieces and got < n:
            piece = self._pieces.popleft()
            if got + len(piece) > n:
                piece, rest = piece[: n - got], piece[n - got :]
                self._pieces.appendleft(rest)
            parts.append(piece)
            got += len(piece)
        self._taken(got)
        return b"".join(parts)
