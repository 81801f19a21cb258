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

A large object (an SLO or DLO manifest) is a blob too: its :class:`Layout`
(:mod:`~sciswift.server.dataapi.segmented`) maps its bytes onto its segments,
and the caller must also be allowed to read every container holding them, as
for a ``GET`` of the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sciswift.server.backend import Backend
from sciswift.server.dataapi.errors import ApiError
from sciswift.server.dataapi.segmented import Layout, Layouts, is_large, listing_refused
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
    ``name`` is ""). A blob stored as a large object has its ``layout``."""

    account: str
    container: str
    name: str
    kind: str
    etag: str
    layout: Layout | None = field(default=None, compare=False, repr=False)

    @property
    def display(self) -> str:
        return f"{self.container}/{self.name}" if self.name else self.container

    @property
    def version(self) -> str:
        """What identifies the bytes opened: the ETag, and for a large object
        its manifest too."""
        return self.layout.version if self.layout is not None else self.etag


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


async def _head(be: Backend, req: SwiftRequest, account: str, container: str, obj: str,
                manifest: bool = False) -> tuple[int, dict[str, str], SwiftRequest]:
    """The status and (lower-cased) headers of a HEAD as the caller, and that
    sub-request: it carries the identity a temp URL grants, for the reads of
    a large object's segments that follow. ``manifest``: of a large object's
    manifest itself (``multipart-manifest=get``)."""
    headers, query = forwarded(req)
    if manifest:
        query["multipart-manifest"] = "get"
    sub = req.sub("HEAD", account, container, obj, headers=headers, query=query)
    if query and be.config.middleware.on("tempurl"):
        # a temp URL is checked by the tempurl middleware, which sits in front
        # of the router for client requests: put it in front of this one too
        reply = await tempurl.handle(be, sub, app=be.subrequest)
    else:
        reply = await be.subrequest(sub)
    await reply.drain()
    return reply.status, {k.lower(): v for k, v in reply.headers.items()}, sub


def _refused(status: int, display: str) -> ApiError:
    if status == 401:
        return ApiError(401, f"Unauthorized: log in (X-Auth-Token) or use a temp URL to read {display!r}")
    if status == 403:
        return ApiError(403, f"Cannot read file {display!r}: Permission denied")
    return ApiError(status, f"Cannot read file {display!r}: the object store answered {status}")


async def resolve(be: Backend, req: SwiftRequest, account: str, file: str | None,
                  layouts: Layouts | None = None) -> Target:
    """The file ``file`` names in ``account``, once the Swift API agrees the
    caller may read it. ApiError 401/403 when it does not, 404 when there is
    no such object or native file. A large object gets its layout from
    ``layouts`` (a worker's cache; a fresh one if None), after the check that
    the caller may read its segments too (403, 409 for missing segments)."""
    container, name = split_file(file)
    display = f"{container}/{name}" if name else container
    if name:
        status, headers, sub = await _head(be, req, account, container, name)
        if 200 <= status < 300:
            etag = headers.get("etag", "").strip('"')
            if is_large(headers):
                cache = layouts if layouts is not None else Layouts()
                layout = await cache.get(be, sub, account, container, name, headers)
                return Target(account, container, name, "blob", etag, layout)
            return Target(account, container, name, "blob", etag)
        if status != 404 and not _signs_only_the_native_prefix(req, name):
            await _check_dlo(be, req, account, container, name, status)
            raise _refused(status, display)
    marker = f"{name}/{NATIVE_MARKER}" if name else NATIVE_MARKER
    status, headers, _ = await _head(be, req, account, container, marker)
    if 200 <= status < 300:
        _check_native_scope(req, display, name)
        return Target(account, container, name, "native", headers.get("etag", "").strip('"'))
    if status == 404:
        if name:  # asked only now: a native file's requests do not pay for it
            await _check_dlo(be, req, account, container, name, 404)
        raise ApiError(404, f"File not found: {display!r} is neither an object nor a native file in {account}")
    raise _refused(status, display)


def _signs_only_the_native_prefix(req: SwiftRequest, name: str) -> bool:
    """Whether the request's temp URL signs a prefix that holds ``name/`` but
    not ``name`` itself (``temp_url_prefix=run1.h5/``): it cannot speak for an
    object called ``name`` (its HEAD was refused), only for the native file
    under that prefix, which is checked next."""
    prefix = req.query.get("temp_url_prefix") if "temp_url_sig" in req.query else None
    return prefix is not None and f"{name}/".startswith(prefix) and not name.startswith(prefix)


def _check_native_scope(req: SwiftRequest, display: str, name: str) -> None:
    """A native file is all the objects under its prefix, so a temp URL opens
    one only if it signs that whole prefix (``temp_url_prefix`` of ``name/``
    or shorter; "" for a whole container). A temp URL of one object, even
    ``name/zarr.json`` itself, lets its holder read that object only: the
    HEAD that checked it proves nothing about the chunks beside it."""
    if "temp_url_sig" not in req.query:
        return
    prefix = req.query.get("temp_url_prefix")
    whole = f"{name}/" if name else ""
    if prefix is None or not whole.startswith(prefix):
        raise ApiError(403, f"Cannot read file {display!r}: a temp URL opens a native file only when it signs "
                       f"its whole prefix (temp_url_prefix={whole!r} or shorter)")


async def _check_dlo(be: Backend, req: SwiftRequest, account: str, container: str, name: str, status: int) -> None:
    """Raise the segments' error if ``container/name`` is a DLO manifest: its
    HEAD (which answered ``status``) lists its segment container as the caller,
    so a refused listing, or a segment container that is gone, fails the HEAD
    of a manifest the caller may read."""
    if status not in (401, 403, 404):
        return
    status_m, headers_m, _ = await _head(be, req, account, container, name, manifest=True)
    if 200 <= status_m < 300 and "x-object-manifest" in headers_m:
        raise listing_refused(status, f"{container}/{name}", headers_m["x-object-manifest"])
