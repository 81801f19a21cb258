"""CORS for containers and objects, with Swift's ``strict_cors_mode`` on.

A container allows origins with ``X-Container-Meta-Access-Control-Allow-Origin``
(space-separated, ``*`` for any), and may set
``X-Container-Meta-Access-Control-Max-Age`` and
``X-Container-Meta-Access-Control-Expose-Headers``.

- ``OPTIONS`` without ``Origin`` answers 200 with ``Allow``. A preflight (with
  ``Origin``) answers 401 unless the origin is allowed and
  ``Access-Control-Request-Method`` is a method of the resource; otherwise 200
  with the ``Access-Control-Allow-*`` headers.
- Other requests with ``Origin`` get ``Access-Control-Allow-Origin`` and
  ``Access-Control-Expose-Headers`` when the origin is allowed (and nothing
  extra when it is not: strict mode).
"""

from __future__ import annotations

from sciswift.server.backend import Backend
from sciswift.server.http import Reply, SwiftRequest, error

__all__ = ["options", "decorate", "STRICT_CORS_MODE"]

STRICT_CORS_MODE = True

_EXPOSE = (
    "cache-control", "content-language", "content-type", "expires", "last-modified",
    "pragma", "etag", "x-timestamp", "x-trans-id", "x-openstack-request-id",
)


def _cors_meta(meta: dict[str, str]) -> dict[str, str]:
    prefix = "access-control-"
    return {k[len(prefix):]: v for k, v in meta.items() if k.startswith(prefix)}


def _allowed(cors: dict[str, str], origin: str) -> bool:
    origins = {o.strip() for o in cors.get("allow-origin", "").split(" ") if o.strip()}
    return origin in origins or "*" in origins


async def _container_cors(be: Backend, req: SwiftRequest) -> dict[str, str] | None:
    if req.account is None or req.container is None:
        return None
    cinfo = await be.container_info(req, req.account, req.container)
    return _cors_meta(cinfo.metadata) if cinfo else {}


async def options(be: Backend, req: SwiftRequest, allowed_methods: str) -> Reply:
    """An OPTIONS request (CORS preflight when it carries Origin)."""
    reply = Reply(200)
    reply.headers["Allow"] = allowed_methods
    reply.headers["Content-Type"] = "text/html; charset=UTF-8"
    origin = req.headers.get("Origin")
    if not origin:
        return reply
    cors = await _container_cors(be, req)
    if cors is None:
        return reply
    methods = [m.strip() for m in allowed_methods.split(",")]
    if not _allowed(cors, origin) or req.headers.get("Access-Control-Request-Method") not in methods:
        refused = error(401)
        refused.headers["Allow"] = allowed_methods
        return refused
    h = reply.headers
    if cors.get("allow-origin", "").strip() == "*":
        h["Access-Control-Allow-Origin"] = "*"
    else:
        h["Access-Control-Allow-Origin"] = origin
        h["Vary"] = "Origin"
    if cors.get("max-age") is not None:
        h["Access-Control-Max-Age"] = cors["max-age"]
    h["Access-Control-Allow-Methods"] = allowed_methods
    wanted = {x.strip() for x in req.headers.get("Access-Control-Request-Headers", "").split(",") if x.strip()}
    if wanted:
        h["Access-Control-Allow-Headers"] = ", ".join(sorted(wanted))
        h["Vary"] = h["Vary"] + ", Access-Control-Request-Headers" if "Vary" in h else "Access-Control-Request-Headers"
    return reply


async def decorate(be: Backend, req: SwiftRequest, reply: Reply) -> Reply:
    """Add CORS headers to the reply of a (non-OPTIONS) request with Origin."""
    origin = req.headers.get("Origin")
    if not origin or req.method == "OPTIONS" or req.container is None:
        return reply
    cors = await _container_cors(be, req)
    if cors is None or (STRICT_CORS_MODE and not _allowed(cors, origin)):
        return reply
    h = reply.headers
    if "Access-Control-Expose-Headers" not in h:
        expose = set(_EXPOSE)
        expose.update(k.lower() for k in h if k.lower().startswith(("x-container-meta", "x-object-meta")))
        expose.update(x.strip().lower() for x in cors.get("expose-headers", "").split(" ") if x.strip())
        h["Access-Control-Expose-Headers"] = ", ".join(sorted(expose))
    if "Access-Control-Allow-Origin" not in h:
        if cors.get("allow-origin", "").strip() == "*":
            h["Access-Control-Allow-Origin"] = "*"
        else:
            h["Access-Control-Allow-Origin"] = origin
            h["Vary"] = h["Vary"] + ", Origin" if "Vary" in h else "Origin"
    return reply
