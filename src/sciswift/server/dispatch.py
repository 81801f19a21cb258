"""Route a parsed request to its handler.

Client requests arrive here from :mod:`sciswift.server.app` after path parsing
and authentication; features that make sub-requests (copy, large objects,
bulk delete) call :func:`call` directly with the caller's identity, so every
sub-request is authorized exactly like a client request would be.
"""

from __future__ import annotations

import errno
import logging

from sciswift.errors import QUARANTINED_HEADER, CorruptData, NotFound, Quarantined, SciSwiftError, status_for
from sciswift.server.backend import Backend
from sciswift.server.http import TEXT_TYPE, Reply, SwiftError, SwiftRequest, error

__all__ = ["call", "MAX_DEPTH"]

log = logging.getLogger("sciswift.server")

#: Sub-requests may nest (an SLO of SLOs of DLOs ...) at most this deep.
MAX_DEPTH = 24


async def call(be: Backend, req: SwiftRequest) -> Reply:
    """The reply to ``req`` (SwiftErrors raised by handlers become replies)."""
    from sciswift.server.handlers import account, by_method, container, obj

    if req.depth > MAX_DEPTH:
        raise SwiftError(409, "Too many nested sub-requests (large-object recursion?)")
    try:
        level = obj if req.obj is not None else container if req.container is not None else account
        return await by_method(be, req, level.VERBS)
    except SwiftError as exc:
        return exc.reply
    except NotFound:
        return error(404)
    except Quarantined:
        # Swift answers 404 for an object it quarantined; the header tells our
        # clients the object is lost, not absent (see docs/server.md).
        return error(404, headers={QUARANTINED_HEADER: "true"})
    except CorruptData as exc:
        # Damage the store could not quarantine (or a record it cannot read):
        # one log line, not a traceback.
        log.error("%s %s: %s", req.method, req.path, exc)
        return error(500, "Internal server error.\n", content_type=TEXT_TYPE)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        # a name Swift allows but the filesystem under the store cannot hold
        return error(400, "Name too long for this store's filesystem\n", content_type=TEXT_TYPE)
    except SciSwiftError as exc:
        # a store refusing something the API allows (a name it cannot hold,
        # a conflict): its status, and its message naming what is wrong
        status = status_for(exc)
        if status >= 500:
            raise
        return error(status, f"{exc.message}\n", content_type=TEXT_TYPE)
