"""The data API and the browser: read any stored file's tree, attributes and
slices over HTTP, and look at them in H5Web at ``/browse/``.

Routes (beside the Swift API, on the same port)::

    /api/v1/<account>/meta/   ?file=<container/name>&path=/g/d
    /api/v1/<account>/attr/   ?file=...&path=...[&attr_keys=a&attr_keys=b]
    /api/v1/<account>/data/   ?file=...&path=...&selection=0:100,::4&format=json|bin|npy|csv&dtype=origin|safe
    /api/v1/<account>/stats/  ?file=...&path=...&selection=...
    /api/v1/<account>/paths/  ?file=...&path=...
    /api/v1/<account>/ls/     [?container=c&prefix=p/]
    /browse/                  the viewer

The endpoint names, parameters and answers are h5grove 4's, which H5Web's
h5grove provider speaks (with ``/api/v1/<account>`` as its base URL); ``ls``
is ours. Every file request is authorized by a sub-request through the Swift
API (:mod:`~sciswift.server.dataapi.access`); every error is JSON
``{"message": ...}`` with a 4xx status naming what is wrong, never a
traceback.

Why not the PyPI ``h5grove`` package itself: it checks entities with
``isinstance(x, h5py.Dataset)`` and types with h5py's Cython ``h5t`` classes,
so it would only run with h5py itself patched process-wide in the server (the
``sciswift run`` router), which the HDF5 format plugin must not see: it reads
``.h5`` objects with the real h5py. It is also synchronous and answers bad
selections with 500s. We speak its protocol instead, and test our answers
against h5grove's own on the same files.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING

from sciswift.errors import SciSwiftError, status_for
from sciswift.server.backend import Backend
from sciswift.server.dataapi import site
from sciswift.server.dataapi.errors import ApiError, error_reply
from sciswift.server.http import Reply, SwiftRequest

if TYPE_CHECKING:
    from sciswift.server.dataapi.service import DataAPI

__all__ = ["API_PREFIX", "BROWSE_PREFIX", "claims", "handle"]

log = logging.getLogger("sciswift.server")

API_PREFIX = "/api"
BROWSE_PREFIX = site.PREFIX


def claims(path: str) -> bool:
    """True for the paths this package answers (``/api/...``, ``/browse...``)."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/") or path == BROWSE_PREFIX or \
        path.startswith(BROWSE_PREFIX + "/")


_apis: weakref.WeakKeyDictionary[Backend, DataAPI] = weakref.WeakKeyDictionary()


def _api_of(be: Backend) -> DataAPI:
    # Loaded on first use: the file-reading side (numpy, sciswift.h5, the format
    # plugins) costs a second of start-up that a pure Swift server need not pay.
    from sciswift.server.dataapi.service import DataAPI

    api = _apis.get(be)
    if api is None:
        api = _apis[be] = DataAPI(be)
    return api


async def handle(be: Backend, req: SwiftRequest) -> Reply:
    """The reply to a request :func:`claims` (never raises for a bad one)."""
    if req.path == BROWSE_PREFIX or req.path.startswith(BROWSE_PREFIX + "/"):
        return site.serve_file(req)
    identity = be.auth.identify(req)
    if isinstance(identity, Reply):
        return error_reply(ApiError(401, "the X-Auth-Token is not valid (expired?): log in again"))
    req.identity = identity
    try:
        return await _api_of(be).handle(req)
    except ApiError as exc:
        return error_reply(exc)
    except SciSwiftError as exc:
        status = status_for(exc)
        if status >= 500:
            log.error("%d %s %s: %s: %s (%s)", status, req.method, req.path, type(exc).__name__, exc, req.trans_id)
            return error_reply(ApiError(status, f"the store failed reading this file (transaction {req.trans_id})"))
        return error_reply(ApiError(status, str(exc)))
    except Exception:  # noqa: BLE001 - a bug answers a JSON 500 naming the transaction, never a traceback
        log.exception("unhandled error in data API %s %s (%s)", req.method, req.path, req.trans_id)
        return error_reply(ApiError(500, f"internal error (transaction {req.trans_id})"))
