"""Answers in the auth reply: a client that authenticates may name up to
``MAX_ENTRIES`` reads (``GET`` or ``HEAD`` of an object of its account) in the
auth request's ``X-Sciswift-Prefetch`` header; the reply then carries their
answers as frames (``sciswift.store.object_frames``, each with the reply's
headers), which SwiftStore uses instead of sending those requests.

Why: a fresh process with no token kept waited for auth, then for the file's
root document (with the HEAD telling a plain ``.h5`` object from a native
file), then for the data: with the TCP handshake, 4 round trips before one
small dataset was read, where 3 would do (issue 14's bar). With the root
document and the HEAD in the auth reply it is 3.

Each read is made exactly as the client's own request with the new token
would be (``SwiftApp.resolve`` and ``route``: the same identity, ACLs,
middlewares and verification of stored bytes), after the credentials were
accepted; nothing is read for a refused auth. A body over ``MAX_BODY`` bytes is
not sent (413 in its frame: the client asks for it the ordinary way). A header
that is malformed or names other methods is ignored whole: the auth reply is
then the ordinary one, as from a server that does not know the header (real
Swift ignores it).

The header: entries separated by ``,``, each ``METHOD path``, the path the
percent-encoded ``/container/object`` suffix of the storage URL, as the client
would request it, or ``GET /info`` for the endpoint's ``/info``::

    X-Sciswift-Prefetch: HEAD /wind/run1.h5, GET /wind/run1.h5/zarr.json, GET /info
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes, urlsplit

from multidict import CIMultiDict

from sciswift.errors import SciSwiftError, status_for
from sciswift.server.http import BytesBody, Reply, SwiftError, SwiftRequest
from sciswift.store.object_frames import CONTENT_TYPE, encode_frame, end_frame
from sciswift.store.swift.auth import PREFETCH_HEADER

if TYPE_CHECKING:
    from sciswift.server.app import SwiftApp

__all__ = ["HEADER", "MAX_ENTRIES", "MAX_BODY", "parse", "answer"]

HEADER = PREFETCH_HEADER
#: Reads one auth request may name.
MAX_ENTRIES = 8
#: Largest body sent in an auth reply (root documents are a few KiB; a packed
#: file of 1,000 small datasets ~5 KB).
MAX_BODY = 1 << 20
_METHODS = ("GET", "HEAD")
#: ``GET /info`` names the endpoint's capabilities (not a path of the account).
INFO = "/info"


def parse(value: str) -> list[tuple[str, str]] | None:
    """``[(method, path), ...]`` of a header, or None if it is not one to honour."""
    entries: list[tuple[str, str]] = []
    for item in value.split(","):
        method, _, path = item.strip().partition(" ")
        path = path.strip()
        if (method, path) == ("GET", INFO):
            entries.append((method, path))
            continue
        if method not in _METHODS or not path.startswith("/") or path.count("/") < 2 or "?" in path:
            return None
        entries.append((method, path))
    if not entries or len(entries) > MAX_ENTRIES:
        return None
    return entries


async def answer(app: SwiftApp, req: SwiftRequest, reply: Reply) -> Reply:
    """``reply`` (a successful auth reply) with the answers of the reads named in
    ``req``'s header as its body, or unchanged if the header is not honoured."""
    entries = parse(req.headers.get(HEADER, ""))
    token, storage = reply.headers.get("X-Auth-Token"), reply.headers.get("X-Storage-Url")
    if entries is None or not token or not storage:
        return reply
    account_path = urlsplit(storage).path
    frames = await asyncio.gather(*(_frame(app, req, token, account_path, m, p) for m, p in entries))
    reply.headers["Content-Type"] = CONTENT_TYPE
    reply.headers[HEADER] = str(len(frames))
    reply.body = b"".join(frames) + end_frame(len(frames))
    reply.content_length = len(reply.body)
    return reply


async def _frame(app: SwiftApp, auth_req: SwiftRequest, token: str, account_path: str, method: str,
                 path: str) -> bytes:
    """One read as the client's own request with ``token``, as a frame (and a
    line of the access log, as the request itself would have had)."""
    start = time.time()
    user: list[str] = []
    status, headers, data = await _answer(app, auth_req, token, account_path, method, path, user)
    frame = encode_frame(f"{method} {path}", status, len(data), headers=headers) + data
    if not app.quiet:
        app.log_line(peer=auth_req.remote_addr, start=start, method=method,
                     target=path if path == INFO else account_path + path,
                     version="HTTP/1.1", status=status, referer=auth_req.headers.get("Referer"),
                     agent=auth_req.headers.get("User-Agent"), token=token, received=0, sent=len(data),
                     etag=headers.get("Etag", "-"), tid=auth_req.trans_id, user=user[0] if user else "-")
    return frame


async def _answer(app: SwiftApp, auth_req: SwiftRequest, token: str, account_path: str, method: str,
                  path: str, user: list[str]) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of one read (only a 200 GET has a body);
    the caller's name goes into ``user`` once identified."""
    sub = SwiftRequest(
        method=method, path="", query=SwiftRequest.parse_query(""),
        headers=CIMultiDict({"X-Auth-Token": token, "Host": auth_req.headers.get("Host", "")}),
        body=BytesBody(), remote_addr=auth_req.remote_addr, host_url=auth_req.host_url,
        trans_id=auth_req.trans_id,
    )
    try:
        resolved = app.resolve(sub, unquote_to_bytes(path if path == INFO else account_path + path))
        if isinstance(resolved, Reply):
            got = resolved
        else:
            if resolved.identity is not None:
                user.append(resolved.identity.user)
            got = await app.route(resolved)
    except SwiftError as exc:
        got = exc.reply
    except SciSwiftError as exc:
        # The client's own request says precisely what is wrong (it makes it
        # for any answer but 200 or 404: see SwiftConnection.auth_with_prefetch).
        return status_for(exc), {}, b""
    headers = {k: v for k, v in got.headers.items()}
    if got.content_length is not None:  # sent beside the headers, as SwiftApp.send does
        headers["Content-Length"] = str(got.content_length)
    if method == "HEAD" or got.status != 200:
        await got.drain()
        return got.status, headers, b""
    length = got.content_length
    if length is None or length > MAX_BODY:
        await got.drain()
        return 413, {}, b""
    try:
        data = await got.read()
    except (SciSwiftError, OSError) as exc:  # damage found while reading: its own GET reports it
        return status_for(exc), {}, b""
    finally:
        await got.drain()
    if len(data) != length:
        return 500, {}, b""
    return 200, headers, data
