"""Route a parsed request to its handler, and turn errors into replies.

Client requests arrive here from :mod:`sciswift.server.app` after path parsing
and authentication; features that make sub-requests (copy, large objects,
bulk delete) reach :func:`call` through ``Backend.subrequest`` with the
caller's identity, so every sub-request is authorized exactly like a client
request would be.

Errors: a handler's :class:`SwiftError` is its reply; a store's
:class:`~sciswift.errors.SciSwiftError` is answered with the status of the
project's one table (:func:`sciswift.errors.status_for`) and its message, and
one of 500 or above is also logged with the transaction id (the client sees
only Swift's short error page).
"""

from __future__ import annotations

import errno
import logging

from sciswift.errors import QUARANTINED_HEADER, Quarantined, SciSwiftError
from sciswift.server.backend import Backend
from sciswift.server.handlers import account, by_method, container, obj
from sciswift.server.http import (
    TEXT_TYPE,
    Reply,
    SwiftError,
    SwiftRequest,
    error,
    insufficient_storage,
    reply_for_error,
)

__all__ = ["call", "MAX_DEPTH"]

log = logging.getLogger("sciswift.server")

#: Sub-requests may nest (an SLO of SLOs of DLOs ...) at most this deep.
MAX_DEPTH = 24


async def call(be: Backend, req: SwiftRequest) -> Reply:
    """The reply to ``req`` (errors raised by handlers become replies)."""
    if req.depth > MAX_DEPTH:
        raise SwiftError(409, "Too many nested sub-requests (large-object recursion?)")
    try:
        level = obj if req.obj is not None else container if req.container is not None else account
        return await by_method(be, req, level.VERBS)
    except SwiftError as exc:
        return exc.reply
    except Quarantined:
        # Swift answers 404 for an object it quarantined; the header tells our
        # clients the object is lost, not absent (see docs/server.md).
        return error(404, headers={QUARANTINED_HEADER: "true"})
    except SciSwiftError as exc:
        return reply_for_error(exc, req)
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            # a name Swift allows but the filesystem under the store cannot hold
            return error(400, "Name too long for this store's filesystem\n", content_type=TEXT_TYPE)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            log.error("507 %s %s: %s (%s)", req.method, req.path, exc, req.trans_id)
            return insufficient_storage(req)
        raise
