"""The body of a batched GET (``POST <container>?get-many``): many objects, one
frame each, in one HTTP response. Shared by the server that writes it
(``sciswift.server.get_many``) and the SwiftStore that reads it.

A frame is a 4-byte big-endian length ``L``, ``L`` bytes of a JSON object (the
frame's header), then ``header["length"]`` bytes of body::

    {"name": "c/0.0", "status": 200, "length": 262144, "etag": "9e1..."}   + 262144 bytes
    {"name": "c/9.9", "status": 404, "length": 0}                          (absent)
    {"name": "c/1.1", "status": 404, "length": 0, "quarantined": true}     (damaged, quarantined)
    {"name": "big",   "status": 413, "length": 0}                          (too big: GET it alone)
    {"end": true, "objects": 4}                                            (always last)

``status`` is what a GET of that object alone, by the same caller, would have
answered; a body is only ever the whole, verified object. The final ``end``
frame tells a complete reply from one cut short (the reader must see it).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sciswift.errors import CorruptData

__all__ = ["CONTENT_TYPE", "Frame", "encode_frame", "end_frame", "read_frames", "read_frame_heads", "read_body",
           "read_body_into", "MAX_HEADER"]

CONTENT_TYPE = "application/x-sciswift-objects"
#: Largest frame header accepted (names are at most 1,024 bytes, 12x when
#: \u-escaped; an object's metadata at most 4 KiB before escaping, its other
#: headers a few hundred bytes).
MAX_HEADER = 64 << 10
_LEN = struct.Struct(">I")


@dataclass(frozen=True)
class Frame:
    """One object of a batched GET: its name, the status its own GET would
    have, its ETag and body (200 only), and whether it was quarantined."""

    name: str
    status: int
    body: bytes = b""
    etag: str = ""
    quarantined: bool = False
    #: The reply's headers, where the writer sends them (an auth reply's
    #: prefetched answers, see ``sciswift.server.auth_prefetch``).
    headers: Mapping[str, str] = field(default_factory=dict)


def encode_frame(name: str, status: int, length: int = 0, etag: str = "", quarantined: bool = False,
                 headers: Mapping[str, str] | None = None) -> bytes:
    """The frame header (with its length prefix) of one object; its ``length``
    bytes of body follow it."""
    head: dict[str, Any] = {"name": name, "status": status, "length": length}
    if etag:
        head["etag"] = etag
    if quarantined:
        head["quarantined"] = True
    if headers:
        head["headers"] = dict(headers)
    raw = json.dumps(head, separators=(",", ":")).encode("ascii")
    return _LEN.pack(len(raw)) + raw


def end_frame(count: int) -> bytes:
    """The last frame of a reply that answered ``count`` objects."""
    raw = json.dumps({"end": True, "objects": count}).encode()
    return _LEN.pack(len(raw)) + raw


def read_frame_heads(read_exact: Callable[[int], bytes], what: str) -> Iterator[tuple[Frame, int]]:
    """``(frame without its body, body length)`` for each frame of a reply body
    read with ``read_exact(n)`` (which returns fewer than ``n`` bytes only at the
    end of the body). The caller reads each frame's body, exactly its length,
    before asking for the next frame (``read_frames`` reads them as bytes;
    SwiftStore's ``read_many_into`` into a buffer of its caller's).

    CorruptData naming ``what`` when the body ends before its ``end`` frame or
    a frame is malformed: a reply cut short never passes for a shorter batch."""
    count = 0
    while True:
        (size,) = _LEN.unpack(read_body(read_exact, _LEN.size, what))
        if size > MAX_HEADER:
            raise CorruptData(f"{what}: a frame header of {size} bytes is not a batched GET reply")
        try:
            head = json.loads(read_body(read_exact, size, what).decode("ascii"))
            if head.get("end"):
                if int(head.get("objects", -1)) != count:
                    raise CorruptData(f"{what}: the reply holds {count} objects but says {head.get('objects')}")
                return
            length = int(head["length"])
            headers = head.get("headers", {})
            if not isinstance(headers, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
                raise ValueError("headers are not a map of strings")
            frame = Frame(str(head["name"]), int(head["status"]), b"", str(head.get("etag", "")),
                          bool(head.get("quarantined", False)), headers)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptData(f"{what}: malformed frame header ({exc})") from None
        if length < 0:
            raise CorruptData(f"{what}: negative frame length")
        count += 1
        yield frame, length


def read_body(read_exact: Callable[[int], bytes], n: int, what: str) -> bytes:
    """Exactly ``n`` bytes of a reply; CorruptData naming ``what`` if it ends first."""
    data = read_exact(n)
    if len(data) != n:
        raise _cut_short(what, n - len(data))
    return data


def read_body_into(readinto: Callable[[memoryview], int], buf: memoryview, what: str) -> None:
    """Fill ``buf`` from a reply with ``readinto`` (0 only at the end of the
    body); CorruptData naming ``what`` if it ends first."""
    got = 0
    while got < len(buf):
        n = readinto(buf[got:])
        if not n:
            raise _cut_short(what, len(buf) - got)
        got += n


def _cut_short(what: str, missing: int) -> CorruptData:
    return CorruptData(f"{what}: the reply ended {missing} bytes early (cut short in transit?)")


def read_frames(read_exact: Callable[[int], bytes], what: str) -> Iterator[Frame]:
    """The frames of a reply body, bodies included (see ``read_frame_heads``)."""
    for frame, length in read_frame_heads(read_exact, what):
        yield replace(frame, body=read_body(read_exact, length, what)) if length else frame
