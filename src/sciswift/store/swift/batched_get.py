"""Many objects in one request where the endpoint offers it: ``sciswift serve``'s
``POST <container>?get-many`` (``/info``: ``sciswift.batched_get``; the reply's
frames are described in ``sciswift.store.object_frames``).

Real Swift has no such request; there SwiftStore makes one GET per object.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import urllib3

from sciswift.store.object_frames import CONTENT_TYPE, read_frames

__all__ = ["plan_get_batches", "read_batch", "request_body", "MIN_BATCHED_GET", "CONTENT_TYPE"]

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
