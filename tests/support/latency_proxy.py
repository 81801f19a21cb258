"""A TCP forwarder that behaves like a network link with a round-trip time, and
counts the round trips a client waits for one after another.

A client connects to ``LatencyProxy.url`` instead of the server. Every byte
takes ``rtt / 2`` each way, and a new connection carries nothing until ``rtt``
after it was opened, as if the TCP handshake (SYN, SYN-ACK) had crossed the link
first: so a client sees what it would see over a link of that round-trip time
(concurrent requests overlap; a new connection costs one round trip more).

What it counts (no HTTP parsing: a request is the bytes a client sends on a
connection after the previous answer on it arrived, as HTTP/1.1 without
pipelining sends them):

- ``connections``: connections opened;
- ``requests``: requests sent;
- ``history``: ``(round, first line)`` of each request, in the order sent;
- ``rounds``: the longest chain of round trips that each had to wait for an
  earlier one. A handshake is one round, one after everything the client had
  received when it opened the connection; a request is one round after its
  connection's handshake and after everything received before it was sent.
  "Received before" can only over-count (a request that did not need an answer
  that happened to arrive first), never under-count, and with a round-trip time
  far above the client's own work between requests (0.2 s against milliseconds)
  it counts what the client really waited for.

It runs on its own event loop in a daemon thread::

    with LatencyProxy(("127.0.0.1", 8080), rtt=0.2) as link:
        ... a client talking to link.url ...
    assert link.rounds <= 3
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["LatencyProxy"]

_READ = 256 * 1024


@dataclass
class _Conn:
    opened: float
    handshake_round: int
    round: int = 0
    answered: bool = True  # the last thing on it was an answer (or nothing yet)


class LatencyProxy:
    """See the module docstring."""

    def __init__(self, upstream: tuple[str, int], rtt: float = 0.2) -> None:
        self.upstream = upstream
        self.rtt = rtt
        self.connections = 0
        self.requests = 0
        self.rounds = 0
        self.history: list[tuple[int, str]] = []
        self._received_round = 0  # the highest round of anything delivered to the client
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0
        #: A request header removed on the way to the server (as a server that
        #: does not know it would ignore it), or None.
        self.drop_header: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Start counting afresh (between two client runs)."""
        async def clear() -> None:
            self.connections = self.requests = self.rounds = self._received_round = 0
            self.history = []

        asyncio.run_coroutine_threadsafe(clear(), self._loop).result(10)

    # ------------------------------------------------------------ lifetime
    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        self._ready.wait(10)
        if not self.port:
            raise RuntimeError("the latency proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]

        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    # ----------------------------------------------------------- forwarding
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = _Conn(opened=self._loop.time(), handshake_round=self._received_round + 1)
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        pumps = [asyncio.ensure_future(self._pump(reader, up_writer, conn, to_server=True)),
                 asyncio.ensure_future(self._pump(up_reader, writer, conn, to_server=False))]
        try:
            await asyncio.gather(*pumps)
        except (OSError, asyncio.CancelledError):
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            for w in (writer, up_writer):
                w.close()
            self._tasks.discard(task)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: _Conn,
                    to_server: bool) -> None:
        """Copy ``reader`` to ``writer``, each piece ``rtt / 2`` later (and a new
        connection's first ones not before its handshake is done), in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.ensure_future(self._send(queue, writer, conn, to_server))
        try:
            while True:
                data = await reader.read(_READ)
                now = self._loop.time()
                if to_server and data and conn.answered:
                    # A new request: it waited for its connection and for what came before.
                    conn.answered = False
                    conn.round = 1 + max(conn.handshake_round, self._received_round)
                    self.requests += 1
                    self.history.append((conn.round, data.split(b"\r\n", 1)[0].decode("latin-1")))
                    self.rounds = max(self.rounds, conn.round)
                if to_server and data and self.drop_header:
                    data = re.sub(rb"\r\n" + re.escape(self.drop_header.encode()) + rb":[^\r\n]*",
                                  b"", data, flags=re.IGNORECASE)
                due = now + self.rtt / 2
                if to_server:
                    due = max(due, conn.opened + self.rtt + self.rtt / 2)
                await queue.put((due, data))
                if not data:
                    break
            await sender
        finally:
            sender.cancel()

    async def _send(self, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter,
                    conn: _Conn, to_server: bool) -> None:
        while True:
            due, data = await queue.get()
            wait = due - self._loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
            if not to_server:
                conn.answered = True
                self._received_round = max(self._received_round, conn.round)
