"""One worker's data API: routing of ``/api/v1/<account>/<endpoint>/`` and
the files it keeps open."""

from __future__ import annotations

import functools
from typing import Any

from sciswift.h5 import open_stored
from sciswift.server.backend import Backend
from sciswift.server.dataapi.access import Target
from sciswift.server.dataapi.endpoints import ENDPOINTS
from sciswift.server.dataapi.errors import ApiError
from sciswift.server.dataapi.opened import OpenFiles
from sciswift.server.dataapi.segmented import Layouts
from sciswift.server.http import Reply, SwiftRequest

__all__ = ["DataAPI"]

_VERSIONS = ("v1",)
_METHODS = ("GET", "HEAD")
API_PREFIX = "/api"


class DataAPI:
    """The backend and the files this worker keeps open for the API."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.files = OpenFiles(self._open)
        self.layouts = Layouts()

    def _open(self, target: Target, stats: Any) -> Any:
        store = self.backend.store(target.account)
        if store is None:
            raise FileNotFoundError(2, f"no account {target.account}", target.display)
        layout = target.layout
        if layout is None:
            return open_stored(store, target.container, target.name, target.kind, stats=stats)
        # a large object: its bytes are its segments' (the layout knows their accounts)
        return open_stored(store, target.container, target.name, "blob", stats=stats,
                           info=layout.info(target.name), read=functools.partial(layout.read, self.backend.store))

    async def handle(self, req: SwiftRequest) -> Reply:
        parts = req.path[len(API_PREFIX):].strip("/").split("/")
        if len(parts) != 3 or parts[0] not in _VERSIONS or not parts[1]:
            raise ApiError(404, f"no such API path {req.path!r}: use {API_PREFIX}/v1/<account>/"
                                f"<{'|'.join(ENDPOINTS)}>/?file=<container/name>&path=<path in the file>")
        _, account, name = parts
        endpoint = ENDPOINTS.get(name)
        if endpoint is None:
            raise ApiError(404, f"no endpoint {name!r}: the data API has {', '.join(ENDPOINTS)}")
        if req.method not in _METHODS:
            raise ApiError(405, f"the data API is read-only: {req.method} is not allowed (GET, HEAD)")
        return await endpoint(self, req, account)
