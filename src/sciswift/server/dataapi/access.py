"""Who may read a file, and what the file is, decided by the Swift API itself.

Every data API request names a file in an account (``file=container/name``).
Before anything is opened, the API sends a ``HEAD`` of that object as a
sub-request through the same router and handlers as a client's request
(``Backend.subrequest``), on behalf of the same caller: the token's identity,
the ``Referer`` (for ``.r:`` ACLs) and any temp URL parameters
(``temp_url_sig``, ``temp_url_expires``, ``temp_url_prefix``) travel with it.
So tokens, container read ACLs, account ACLs, public-read containers and
expiry decide exactly as they do for ``GET /v1/...``, and temp URLs work as
soon as the server checks them for object requests.

A name that is no object but a prefix holding ``zarr.json`` is a native file
(``name`` "" is a whole container): the check is then a ``HEAD`` of
``name/zarr.json``, which a prefix temp URL (``temp_url_prefix=name/``) signs.

The ETag of the checked object identifies the version opened (see
:mod:`~sciswift.server.dataapi.opened`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sciswift.server.backend import Backend
from sciswift.server.dataapi.errors import ApiError
from sciswift.server.http import SwiftRequest
from sciswift.server.middleware import tempurl

__all__ = ["Target", "resolve", "split_file", "TEMPURL_PARAMS", "forwarded"]

#: Query parameters of a temp URL (Swift's tempurl middleware), passed through.
TEMPURL_PARAMS = ("temp_url_sig", "temp_url_expires", "temp_url_prefix", "temp_url_ip_range")
#: The marker object of a native file (the root group's metadata).
NATIVE_MARKER = "zarr.json"


@dataclass(frozen=True)
class Target:
    """A file the caller may read: ``kind`` is ``"blob"`` (one object read by a
    format plugin) or ``"native"`` (a prefix, or a whole container when
    ``name`` is "")."""

    account: str
    container: str
    name: str
    kind: str
    etag: str

    @property
    def display(self) -> str:
        return f"{self.container}/{self.name}" if self.name else self.container


def split_file(file: str | None) -> tuple[str, str]:
    """``"c/dir/run1.h5"`` -> ``("c", "dir/run1.h5")``; ``"c"`` -> ``("c", "")``."""
    text = (file or "").strip().lstrip("/")
    if not text:
        raise ApiError(400, "missing parameter 'file' (container/name of the file to read)")
    container, _, name = text.partition("/")
    return container, name.strip("/") if name.endswith("/") else name


def forwarded(req: SwiftRequest) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and query parameters that speak for the caller in a sub-request."""
    headers = {k: req.headers[k] for k in ("Referer",) if k in req.headers}
    query = {k: req.query[k] for k in TEMPURL_PARAMS if k in req.query}
    return headers, query


async def _head(be: Backend, req: SwiftRequest, account: str, container: str, obj: str) -> tuple[int, dict[str, str]]:
    headers, query = forwarded(req)
    sub = req.sub("HEAD", account, container, obj, headers=headers, query=query)
    if query and be.config.middleware.on("tempurl"):
        # a temp URL is checked by the tempurl middleware, which sits in front
        # of the router for client requests: put it in front of this one too
        reply = await tempurl.handle(be, sub, app=be.subrequest)
    else:
        reply = await be.subrequest(sub)
    await reply.drain()
    return reply.status, {k.lower(): v for k, v in reply.headers.items()}


def _refused(status: int, display: str) -> ApiError:
    if status == 401:
        return ApiError(401, f"Unauthorized: log in (X-Auth-Token) or use a temp URL to read {display!r}")
    if status == 403:
        return ApiError(403, f"Cannot read file {display!r}: Permission denied")
    return ApiError(status, f"Cannot read file {display!r}: the object store answered {status}")


async def resolve(be: Backend, req: SwiftRequest, account: str, file: str | None) -> Target:
    """The file ``file`` names in ``account``, once the Swift API agrees the
    caller may read it. ApiError 401/403 when it does not, 404 when there is
    no such object or native file."""
    container, name = split_file(file)
    display = f"{container}/{name}" if name else container
    if name:
        status, headers = await _head(be, req, account, container, name)
        if 200 <= status < 300:
            if "x-static-large-object" in headers or "x-object-manifest" in headers:
                raise ApiError(
                    501, f"{display!r} is a large object (SLO/DLO): the data API reads single objects "
                    "and native files; download it with GET /v1/..."
                )
            return Target(account, container, name, "blob", headers.get("etag", "").strip('"'))
        if status != 404:
            raise _refused(status, display)
    marker = f"{name}/{NATIVE_MARKER}" if name else NATIVE_MARKER
    status, headers = await _head(be, req, account, container, marker)
    if 200 <= status < 300:
        return Target(account, container, name, "native", headers.get("etag", "").strip('"'))
    if status == 404:
        raise ApiError(404, f"File not found: {display!r} is neither an object nor a native file in {account}")
    raise _refused(status, display)
