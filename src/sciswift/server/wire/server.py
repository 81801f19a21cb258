"""Serving HTTP/1.1 on a listening socket, and stopping gracefully."""

from __future__ import annotations

import asyncio
import socket
import ssl as ssl_module

from sciswift.server.wire.connection import Handler, HTTPConnection
from sciswift.server.wire.parser import Limits

__all__ = ["HTTPServer"]


class HTTPServer:
    """Serves ``handler`` on sockets given to :meth:`start`.

    ``handler(request)`` is awaited once per request and must answer through
    ``request.response``; requests of one connection are served in order.
    With ``ssl`` (a server-side :class:`ssl.SSLContext`) connections are TLS.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        limits: Limits | None = None,
        keepalive_timeout: float = 60.0,
        body_timeout: float = 60.0,
        ssl: ssl_module.SSLContext | None = None,
    ) -> None:
        self.handler = handler
        self.limits = limits or Limits()
        self.keepalive_timeout = keepalive_timeout
        self.body_timeout = body_timeout
        self.ssl = ssl
        self.scheme = "https" if ssl is not None else "http"
        self.connections: set[HTTPConnection] = set()
        self._servers: list[asyncio.Server] = []

    async def start(self, sock: socket.socket) -> None:
        """Accept connections on the listening socket ``sock``."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: HTTPConnection(self), sock=sock, ssl=self.ssl)
        self._servers.append(server)

    async def shutdown(self, timeout: float) -> None:
        """Stop accepting, let requests in flight finish for up to ``timeout``
        seconds, then cut what is left."""
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.close_when_idle()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.abort()
        await asyncio.sleep(0)
        self._servers.clear()
