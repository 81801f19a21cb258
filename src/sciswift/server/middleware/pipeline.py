"""The middlewares that wrap a client's request, in Swift's order.

``remap_path`` runs while the request is read (domain_remap decides which
account and container a request names); :func:`handle` wraps the API with
tempurl, formpost and staticweb, each of which may answer by itself, change
the request, or change the reply.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import quote

from sciswift.server.backend import Backend
from sciswift.server.http import Reply, SwiftRequest
from sciswift.server.middleware import domain_remap, formpost, staticweb, tempurl
from sciswift.server.middleware.types import CONTENT_GENERATOR, Next

__all__ = ["handle", "remap_path"]

#: req.env key: (requested, rewritten) URL-quoted paths of a remapped request.
_REMAPPED = "domain_remap.paths"


def remap_path(be: Backend, req: SwiftRequest, path: str) -> str | Reply:
    """The path ``req`` stands for once domain_remap read its Host (``path``
    itself when it is off or the host is not a storage domain's)."""
    settings = be.config.middleware
    if not settings.on("domain_remap"):
        return path
    remapped = domain_remap.remap(settings.domain_remap, req.headers.get("Host"), path)
    if isinstance(remapped, str) and remapped != path:
        req.env[_REMAPPED] = (
            quote(path, errors="surrogateescape"), quote(remapped, errors="surrogateescape"),
        )
    return remapped


async def handle(be: Backend, req: SwiftRequest, app: Next) -> Reply:
    """``app``'s reply to ``req`` through the enabled client-facing middlewares."""
    settings = be.config.middleware
    chain: Next = app
    if settings.on("staticweb"):
        chain = partial(staticweb.handle, be, app=chain)
    if settings.on("formpost"):
        chain = partial(formpost.handle, be, app=chain)
    if settings.on("tempurl"):
        chain = partial(tempurl.handle, be, app=chain)
    reply = await chain(req)
    reply.headers.popall(CONTENT_GENERATOR, None)
    remapped = req.env.get(_REMAPPED)
    if remapped is not None:
        domain_remap.restore_locations(reply, *remapped)
    return reply
