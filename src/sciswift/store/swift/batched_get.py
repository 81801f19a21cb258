"""Many objects in one request where the endpoint offers it: ``sciswift serve``'s
``POST <container>?get-many`` (``/info``: ``sciswift.batched_get``; the reply's
frames are described in ``sciswift.store.object_frames``).

Real Swift has no such request; there SwiftStore makes one GET per object.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from http.client import HTTPResponse
from typing import Any
from urllib.parse import quote

import urllib3

from sciswift.store.object_frames import (
    CONTENT_TYPE,
    read_body,
    read_body_into,
    read_frame_heads,
    read_frames,
)

__all__ = ["plan_get_batches", "read_batch", "read_batch_into", "request_body", "MIN_BATCHED_GET", "CONTENT_TYPE"]

#: Fewer names than this are fetched one GET each.
MIN_BATCHED_GET = 4
#: Batches in flight for one ``get_many`` (the server reads each batch's
#: objects several at a time too).
BATCHES_IN_FLIGHT = 8


def plan_get_batches(names: Sequence[str], announced: dict[str, Any], in_flight: int | None = None
                     ) -> list[list[str]]:
    """``names`` cut into about ``in_flight`` batches (``BATCHES_IN_FLIGHT`` by
    default) no longer than the endpoint's ``max_objects_per_request``."""
    most = int(announced.get("max_objects_per_request", 1000)) or 1
    spread = max(1, min(in_flight or BATCHES_IN_FLIGHT, BATCHES_IN_FLIGHT))
    size = min(most, max(MIN_BATCHED_GET, math.ceil(len(names) / spread)))
    return [list(names[i:i + size]) for i in range(0, len(names), size)]


def request_body(names: Sequence[str]) -> bytes:
    """The request body: one percent-encoded name per line."""
    return "\n".join(quote(n, safe="/") for n in names).encode("ascii")


def read_batch(resp: urllib3.BaseHTTPResponse, what: str) -> tuple[dict[str, bytes], list[str]]:
    """``(bodies found, names to GET alone)`` from a streamed ``?get-many`` reply.

    An object that does not exist is in neither; any other answer than 200
    (quarantined, refused, too big for a batch, a server error) is left to a
    GET of its own, which raises the precise error or streams it.
    CorruptData when the reply is cut short or malformed."""
    found: dict[str, bytes] = {}
    alone: list[str] = []
    read: Callable[[int], bytes] = resp.read  # urllib3 2: short only at the end of the body
    for frame in read_frames(read, what):
        if frame.status == 200:
            found[frame.name] = frame.body
        elif frame.status != 404 or frame.quarantined:
            alone.append(frame.name)
    return found, alone


def read_batch_into(resp: urllib3.BaseHTTPResponse, what: str, buf: memoryview, consume: Callable[[str], None],
                    absent: Callable[[str], None] | None, handled: set[str]) -> list[str]:
    """Read a streamed ``?get-many`` reply into one scratch buffer: each body of
    exactly ``len(buf)`` bytes is read into ``buf``, then ``consume(name)``;
    ``absent(name)`` (if given) for each object that does not exist. Returns the
    names left to the caller (other sizes, other answers: as ``read_batch``'s
    second list, plus the missing ones without ``absent``). ``handled`` gets
    every name consumed or reported absent, so that a reply cut short (CorruptData)
    leaves the rest to the caller.

    Bodies go from the socket straight into ``buf`` (``readinto`` of the chunked
    reply underneath urllib3, whose ``read(n)`` makes a new ``bytes`` and copies
    it on the way): 64 MiB in 256 KiB objects, 8 requests at once from a local
    ``sciswift serve``, took 63-72 ms of the client's CPU so and 28-30 ms this way."""
    raw = _raw_chunked(resp)
    read: Callable[[int], bytes] = raw.read if raw is not None else resp.read
    size = len(buf)
    left: list[str] = []
    for frame, length in read_frame_heads(read, what):
        if frame.status == 200 and length == size:
            if raw is not None:
                read_body_into(raw.readinto, buf, what)
            else:
                buf[:] = read_body(read, length, what)
            consume(frame.name)
            handled.add(frame.name)
            continue
        if length:
            read_body(read, length, what)  # another size: the caller reads it its own way
        if frame.status == 404 and not frame.quarantined and absent is not None:
            absent(frame.name)
            handled.add(frame.name)
        else:
            left.append(frame.name)
    return left


def _raw_chunked(resp: urllib3.BaseHTTPResponse) -> HTTPResponse | None:
    """The ``http.client`` response under urllib3's, where reading it directly is
    safe: a chunked body (no length for urllib3 to keep count of) without a
    content coding. None otherwise (then urllib3's own ``read`` is used)."""
    raw = getattr(resp, "_fp", None)
    if (not isinstance(raw, HTTPResponse) or getattr(resp, "length_remaining", 0) is not None
            or resp.headers.get("Content-Encoding", "identity").lower() != "identity"):
        return None
    return raw

