"""sciswift's HTTP/1.1 server layer, on asyncio alone.

- ``parser``: the incremental request parser (one per connection, one state).
- ``body``: a request body as it arrives, with ``Expect: 100-continue``.
- ``response``: writing one response (Content-Length, chunked, sendfile).
- ``connection``: one connection: requests in order, flow control, timeouts.
- ``server``: serving sockets and stopping gracefully.

It knows nothing of Swift: :mod:`sciswift.server.app` turns its requests into
Swift requests. Owning this layer (rather than adjusting aiohttp's private
parser, as before) is what guarantees that how a request was split into reads
cannot change how it is parsed; see ``parser``.
"""

from sciswift.server.wire.body import BodyError, RequestBody
from sciswift.server.wire.connection import Handler, HTTPConnection, Request
from sciswift.server.wire.parser import Limits, ParseError, RequestHead, RequestParser
from sciswift.server.wire.response import ResponseWriter
from sciswift.server.wire.server import HTTPServer

__all__ = [
    "BodyError",
    "Handler",
    "HTTPConnection",
    "HTTPServer",
    "Limits",
    "ParseError",
    "Request",
    "RequestBody",
    "RequestHead",
    "RequestParser",
    "ResponseWriter",
]
