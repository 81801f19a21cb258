"""One module per API level: account, container, object. Each lists its verbs
in ``VERBS``; :func:`by_method` runs the right one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sciswift.server import cors
from sciswift.server.backend import Backend
from sciswift.server.http import Reply, SwiftRequest, error

__all__ = ["Handler", "by_method"]

Handler = Callable[[Backend, SwiftRequest], Awaitable[Reply]]


async def by_method(be: Backend, req: SwiftRequest, verbs: Mapping[str, Handler]) -> Reply:
    """The reply of the handler for the request's method. OPTIONS (CORS
    preflight) and the 405 for other methods name the same ``Allow`` list."""
    allowed = ", ".join(sorted({*verbs, "OPTIONS"}))
    if req.method == "OPTIONS":
        return await cors.options(be, req, allowed)
    handler = verbs.get(req.method)
    if handler is None:
        return error(405, headers={"Allow": allowed})
    return await handler(be, req)
