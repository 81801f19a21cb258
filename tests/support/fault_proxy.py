"""An HTTP/1.1 proxy that breaks chosen requests: a client talks to it instead
of the Swift proxy, and each request either passes or meets a fault.

Faults (``Rule.action``), chosen per request by method and path:

- ``status``: answer ``Rule.status`` (503 by default) without asking upstream;
- ``reset``: reset the client's connection (TCP RST) before forwarding
  (``stage="head"``), after ``after_bytes`` of the request body went upstream
  (``"request"``: the upstream sees a client that went away), or after
  ``after_bytes`` of the response body reached the client (``"response"``; 0:
  the whole answer is lost, after upstream did the work);
- ``delay``: wait ``delay`` seconds, then forward;
- ``throttle``: forward the bodies at ``rate`` bytes per second (a slow link,
  so that a test can act while a transfer is under way);
- ``stall``: stop answering (at the head, or after ``after_bytes`` of the
  response body) and hold the connection open until the client gives up.

A rule fires for the matching requests after the first ``skip``, at most
``times`` times (None: always), each with ``probability`` (from a seeded RNG).
``counts`` tallies the faults injected by kind (``"503"``, ``"reset:head"``,
``"delay"`` ...), ``requests`` the requests seen (``history``: their methods
and targets), ``bytes_up`` and
``bytes_down`` the body bytes forwarded each way.

Framing is h11's (requests and responses with Content-Length or chunked bodies,
keep-alive, HEAD); request and response bodies are pumped concurrently, so an
early answer (a 413 before the body is sent) passes as it would directly.

The proxy runs on its own event loop in a daemon thread::

    with FaultProxy(("127.0.0.1", 8080)) as fp:
        fp.add(Rule("status", method="PUT", path=r"/v1/AUTH_test/c/", times=2))
        store = SwiftStore(fp.url + "/auth/v1.0", ...)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import h11

__all__ = ["Rule", "FaultProxy"]

_READ = 64 * 1024


@dataclass
class Rule:
    """One kind of fault for the requests it matches (see the module docstring)."""

    action: str
    method: str = ".*"
    path: str = ".*"
    times: int | None = 1
    skip: int = 0
    probability: float = 1.0
    status: int = 503
    delay: float = 0.0
    rate: float = 0.0
    stage: str = "head"
    after_bytes: int = 0
    seen: int = 0
    fired: int = 0
    _method: re.Pattern[str] = field(init=False, repr=False)
    _path: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.action not in ("status", "reset", "delay", "stall", "throttle"):
            raise ValueError(f"unknown fault action {self.action!r}")
        if self.stage not in ("head", "request", "response"):
            raise ValueError(f"unknown fault stage {self.stage!r}")
        self._method = re.compile(self.method)
        self._path = re.compile(self.path)

    @property
    def kind(self) -> str:
        if self.action == "status":
            return str(self.status)
        if self.action in ("reset", "stall"):
            return f"{self.action}:{self.stage}"
        return self.action

    def matches(self, method: str, target: str) -> bool:
        return bool(self._method.fullmatch(method) and self._path.search(target))


class _Reset(Exception):
    """The fault cut the connection: stop handling it."""


class FaultProxy:
    """See the module docstring. ``upstream`` is ``(host, port)`` of the real proxy."""

    def __init__(self, upstream: tuple[str, int], *, seed: int = 0, host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.host = host
        self.rules: list[Rule] = []
        self.counts: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[float, str, str, str]] = []
        self.requests = 0
        self.history: list[tuple[str, str]] = []
        self.bytes_up = 0
        self.bytes_down = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, host, 0), self._loop).result(10)
        self.port: int = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ----------------------------------------------------------- control
    def add(self, *rules: Rule) -> None:
        with self._lock:
            self.rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def total(self) -> int:
        return sum(self.counts.values())

    def seen(self, method: str, path: str) -> int:
        """How many requests with ``method`` had ``path`` in their target."""
        with self._lock:
            return sum(1 for m, t in self.history if m == method and path in t)

    def _choose(self, method: str, target: str) -> Rule | None:
        with self._lock:
            self.requests += 1
            self.history.append((method, target))
            for rule in self.rules:
                if not rule.matches(method, target):
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip or (rule.times is not None and rule.fired >= rule.times):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.action != "throttle":  # a slow link is a condition, not a fault
                    self.counts[rule.kind] += 1
                    self.log.append((time.time(), rule.kind, method, target))
                return rule
        return None

    def close(self) -> None:
        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._conns):
                w.transport.abort()
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ serving
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        client = _Side(reader, writer, h11.Connection(h11.SERVER))
        upstream: _Side | None = None
        try:
            while True:
                event = await client.next_event()
                if not isinstance(event, h11.Request):
                    return  # closed, or garbage
                method, target = event.method.decode(), event.target.decode("latin-1")
                rule = self._choose(method, target)
                if rule is not None and rule.action == "delay":
                    await asyncio.sleep(rule.delay)
                    rule = None
                throttle = rule.rate if rule is not None and rule.action == "throttle" else 0.0
                if throttle:
                    rule = None
                if rule is not None and rule.stage == "head":
                    if rule.action == "reset":
                        client.reset()
                        return
                    if rule.action == "stall":
                        await client.wait_closed()
                        return
                    await self._answer(client, rule.status)
                else:
                    if upstream is None or upstream.conn.our_state is not h11.IDLE:
                        if upstream is not None:
                            upstream.close()
                        r, w = await asyncio.open_connection(*self.upstream)
                        upstream = _Side(r, w, h11.Connection(h11.CLIENT))
                    await self._forward(client, upstream, event, rule, throttle)
                if client.conn.our_state is h11.MUST_CLOSE or client.conn.their_state is h11.MUST_CLOSE:
                    return
                client.conn.start_next_cycle()
                if upstream is not None:
                    if upstream.conn.our_state is h11.DONE and upstream.conn.their_state is h11.DONE:
                        upstream.conn.start_next_cycle()
                    else:
                        upstream.close()
                        upstream = None
        except (_Reset, ConnectionError, h11.ProtocolError, OSError):
            pass
        finally:
            self._conns.discard(writer)
            client.close()
            if upstream is not None:
                upstream.close()

    async def _answer(self, client: _Side, status: int) -> None:
        """Read the request body away, then answer ``status`` ourselves."""
        while not isinstance(await client.next_event(), (h11.EndOfMessage, h11.ConnectionClosed)):
            pass
        body = f"{status} injected by the fault proxy\n".encode()
        client.send(h11.Response(status_code=status, headers=[
            ("Content-Type", "text/plain"), ("Content-Length", str(len(body))), ("Retry-After", "0")]))
        client.send(h11.Data(data=body))
        client.send(h11.EndOfMessage())
        await client.drain()

    async def _forward(self, client: _Side, upstream: _Side, request: h11.Request, rule: Rule | None,
                       rate: float = 0.0) -> None:
        upstream.send(h11.Request(method=request.method, target=request.target,
                                  headers=list(request.headers.raw_items())))
        await upstream.drain()

        async def request_body() -> None:
            sent = 0
            while True:
                event = await client.next_event()
                if isinstance(event, h11.Data):
                    if rule is not None and rule.stage == "request" and sent + len(event.data) >= rule.after_bytes:
                        upstream.send(h11.Data(data=event.data[: max(0, rule.after_bytes - sent)]))
                        await upstream.drain()
                        client.reset()
                        upstream.reset()
                        raise _Reset
                    sent += len(event.data)
                    self.bytes_up += len(event.data)
                    upstream.send(event)
                    await upstream.drain()
                    if rate:
                        await asyncio.sleep(len(event.data) / rate)
                elif isinstance(event, h11.EndOfMessage):
                    upstream.send(event)
                    await upstream.drain()
                    return
                else:
                    raise _Reset  # the client went away mid-body

        async def response() -> None:
            sent = 0
            while True:
                event = await upstream.next_event()
                if isinstance(event, h11.Response) and rule is not None and rule.stage == "response" \
                        and rule.after_bytes == 0:
                    # The answer is lost: upstream did the work, the client never hears.
                    upstream.close()
                    if rule.action == "stall":
                        await client.wait_closed()
                    else:
                        client.reset()
                    raise _Reset
                if isinstance(event, (h11.InformationalResponse, h11.Response)):
                    client.send(h11.Response(status_code=event.status_code, headers=list(event.headers.raw_items()),
                                             reason=event.reason) if isinstance(event, h11.Response) else event)
                elif isinstance(event, h11.Data):
                    if rule is not None and rule.stage == "response" and sent + len(event.data) >= rule.after_bytes:
                        client.send(h11.Data(data=event.data[: max(0, rule.after_bytes - sent)]))
                        await client.drain()
                        upstream.close()
                        if rule.action == "stall":
                            await client.wait_closed()
                        else:
                            client.reset()
                        raise _Reset
                    sent += len(event.data)
                    self.bytes_down += len(event.data)
                    client.send(event)
                    if rate:
                        await client.drain()
                        await asyncio.sleep(len(event.data) / rate)
                elif isinstance(event, h11.EndOfMessage):
                    client.send(event)
                    await client.drain()
                    return
                else:
                    raise _Reset  # upstream went away: so does the client's connection
                await client.drain()

        up = asyncio.ensure_future(request_body())
        down = asyncio.ensure_future(response())
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_EXCEPTION)
            if down.done() and down.exception() is None and not up.done():
                # Answered before the whole body arrived: the client's leftover
                # body goes with the connection (h11 cannot reuse it).
                raise _Reset
            for task in (up, down):
                if task.done() and task.exception() is not None:
                    raise _Reset
            await asyncio.gather(up, down)
        finally:
            for task in (up, down):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(BaseException):
                    await task


class _Side:
    """One TCP connection with its h11 state."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: h11.Connection) -> None:
        self.reader, self.writer, self.conn = reader, writer, conn

    async def next_event(self) -> Any:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(_READ)
                self.conn.receive_data(data)
                continue
            if event is h11.PAUSED:
                return h11.ConnectionClosed()
            return event

    def send(self, event: Any) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()

    async def wait_closed(self) -> None:
        """Hold the connection, reading nothing useful, until the peer closes it."""
        while await self.reader.read(_READ):
            pass
        self.close()

    def reset(self) -> None:
        sock: socket.socket | None = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()
