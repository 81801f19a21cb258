"""RFC-compliant (quoted) ETags per account or container, as Swift's etag_quoter
middleware (off by default, like Swift's).

``X-Account-Rfc-Compliant-Etags`` / ``X-Container-Rfc-Compliant-Etags`` (true,
false, or empty to remove) are kept as system values; an object request's
``Etag`` is then sent quoted when the container says so, or, if the container
says nothing, when the account does.
"""

from __future__ import annotations

from sciswift.server.backend import Backend
from sciswift.server.http import Reply, SwiftRequest, env_flag

__all__ = ["ENABLE_BY_DEFAULT", "updates", "header_for", "apply"]

ENABLE_BY_DEFAULT = False


def _key(level: str) -> str:
    return f"x-{level}-sysmeta-rfc-compliant-etags"


def updates(req: SwiftRequest, level: str) -> dict[str, str]:
    """The system value a POST/PUT of an account or container sets (``""`` removes)."""
    header = f"X-{level.title()}-Rfc-Compliant-Etags"
    out: dict[str, str] = {}
    if header in req.headers:
        value = req.headers[header]
        out[_key(level)] = str(env_flag(value)) if value else ""
    if req.headers.get(header.replace("X-", "X-Remove-", 1)):
        out[_key(level)] = ""
    return out


def header_for(system: dict[str, str], level: str) -> tuple[str, str] | None:
    """The ``X-<Level>-Rfc-Compliant-Etags`` header to show, if set."""
    value = system.get(_key(level))
    return (f"X-{level.title()}-Rfc-Compliant-Etags", value) if value else None


async def apply(be: Backend, req: SwiftRequest, reply: Reply) -> Reply:
    """Quote the Etag of an object reply when its container (or account) asks."""
    etag = reply.headers.get("Etag")
    if not etag or req.obj is None or req.account is None or req.container is None:
        return reply
    if etag.startswith(('"', 'W/"')) and etag.endswith('"'):
        return reply
    cinfo = await be.container_info(req, req.account, req.container)
    if cinfo is None:
        return reply
    flag = cinfo.system.get(_key("container"))
    if not flag:
        ainfo = await be.account_info(req, req.account)
        flag = ainfo.system.get(_key("account")) if ainfo else None
    if env_flag(flag) if flag else ENABLE_BY_DEFAULT:
        reply.headers["Etag"] = f'"{etag}"'
    return reply
