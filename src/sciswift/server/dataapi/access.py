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

A symlink (Swift's symlink middleware, static or dynamic, chains too) is read
as a ``GET`` of its name reads it: the ``HEAD`` follows it hop by hop as the
caller (so the caller must be allowed to read every container on the way, a
static link's ETag is checked, loops end at ``symloop_max``), and the file
opened is the object that ``HEAD`` answered from (``Reply.source``), never the
link's own empty body. Errors name the link and its target: 404 for a dangling
link, 403 for a target the caller may not read, 409 for a loop or a changed
static target. A link whose target is no object but a native file's prefix
opens that native file (the caller's access is checked on its ``zarr.json``,
as for a native file named directly). Object versioning's current versions
are links into the account's hidden store: they open the version, shown by
the name asked for.

A large object (an SLO or DLO manifest) is a blob too: its :class:`Layout`
(:mod:`~sciswift.server.dataapi.segmented`) maps its bytes onto its segments,
and the caller must also be allowed to read every container holding them, as
for a ``GET`` of the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from sciswift.server.backend import Backend
from sciswift.server.dataapi.errors import ApiError
from sciswift.server.dataapi.segmented import Layout, Layouts, is_large, listing_refused
from sciswift.server.http import Reply, SwiftRequest
from sciswift.server.middleware import tempurl
from sciswift.server.middleware.namespace import hidden_account, home_account

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
    #: The ``container/name`` the caller asked for when it is a symlink to
    #: this file ("" when it is the file itself).
    link: str = field(default="", compare=False)

    @property
    def own(self) -> str:
        """``container/name`` of the file itself (``account/container/name``
        when a link reached it in another account)."""
        return f"{self.container}/{self.name}" if self.name else self.container

    @property
    def display(self) -> str:
        """How messages name the file: a link with its target."""
        return f"{self.link} (a symlink to {self.own})" if self.link else self.own

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


@dataclass(frozen=True)
class _Head:
    """A HEAD made as the caller: its status, (lower-cased) headers, the
    sub-request (it carries the identity a temp URL grants, for the reads
    that follow), the object it answered about (``Reply.source``: through a
    symlink, the final target) and its error text."""

    status: int
    headers: dict[str, str]
    sub: SwiftRequest
    source: tuple[str, str, str] | None
    text: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def _head(be: Backend, req: SwiftRequest, account: str, container: str, obj: str,
                manifest: bool = False, via: SwiftRequest | None = None) -> _Head:
    """HEAD of ``account/container/obj`` as the caller. ``manifest``: of a
    large object's manifest itself (``multipart-manifest=get``). ``via``: a
    sub-request made earlier for this caller, whose identity (a temp URL's
    grant included) this one reuses instead of the caller's parameters."""
    headers, query = forwarded(req)
    if via is not None:
        query = {}
    if manifest:
        query["multipart-manifest"] = "get"
    sub = (via or req).sub("HEAD", account, container, obj, headers=headers, query=query)
    if query and via is None and be.config.middleware.on("tempurl"):
        # a temp URL is checked by the tempurl middleware, which sits in front
        # of the router for client requests: put it in front of this one too
        reply = await tempurl.handle(be, sub, app=be.subrequest)
    else:
        reply = await be.subrequest(sub)
    return _Head(reply.status, {k.lower(): v for k, v in reply.headers.items()}, sub, reply.source,
                 await _error_text(reply))


async def _error_text(reply: Reply) -> str:
    """The text of an error reply (what the symlink middleware says of a loop
    or a changed static target); "" for a success."""
    if reply.ok:
        await reply.drain()
        return ""
    body = await reply.read()
    return body.decode("utf-8", "replace").strip()[:300] if body else ""


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
    the caller may read its segments too (403, 409 for missing segments).
    A symlink resolves to what its ``GET`` reads (see the module's text)."""
    container, name = split_file(file)
    display = f"{container}/{name}" if name else container
    if name:
        head = await _head(be, req, account, container, name)
        asked = (account, container, name)
        source = head.source
        if head.ok:
            t_account, t_container, t_name = source or asked
            # object versioning's current version is a link into the hidden
            # store: the caller named the object, not a link
            link = display if source not in (None, asked) and t_account != hidden_account(account) else ""
            etag = head.headers.get("etag", "").strip('"')
            if is_large(head.headers):
                cache = layouts if layouts is not None else Layouts()
                # the manifest is read through the name asked for (following
                # the link as the caller); its segments are in the target's account
                layout = await cache.get(be, head.sub, account, container, name, head.headers,
                                         segments_account=home_account(t_account), display=display)
                return Target(t_account, t_container, t_name, "blob", etag, layout, link=link)
            return Target(t_account, t_container, t_name, "blob", etag, link=link)
        if source is not None and source != asked:
            return await _linked(be, req, account, display, head)
        if "content-location" in head.headers:  # the symlink middleware's own refusal
            target = _location_name(head.headers["content-location"])
            raise ApiError(head.status, f"Cannot read file {display!r}: it is a symlink to {target!r}: "
                                        f"{head.text or head.status}")
        if head.status == 409:  # a symlink loop (Swift names no target then)
            raise ApiError(409, f"Cannot read file {display!r}: {head.text or 'the object store answered 409'}")
        if head.status != 404 and not _signs_only_the_native_prefix(req, name):
            await _check_dlo(be, req, account, container, name, head.status)
            raise _refused(head.status, display)
    marker = f"{name}/{NATIVE_MARKER}" if name else NATIVE_MARKER
    head = await _head(be, req, account, container, marker)
    if head.ok:
        _check_native_scope(req, display, name)
        return Target(account, container, name, "native", head.headers.get("etag", "").strip('"'))
    if head.status == 404:
        if name:  # asked only now: a native file's requests do not pay for it
            await _check_dlo(be, req, account, container, name, 404)
        raise ApiError(404, f"File not found: {display!r} is neither an object nor a native file in {account}")
    raise _refused(head.status, display)


def _location_name(location: str) -> str:
    """``container/name`` of a ``Content-Location`` (``/v1/account/container/name``)."""
    parts = location.split("?", 1)[0].split("/", 3)
    return unquote(parts[3], errors="surrogateescape") if len(parts) == 4 else location


async def _linked(be: Backend, req: SwiftRequest, account: str, display: str, head: _Head) -> Target:
    """The file a symlink ``display`` names when its target is no object
    (``head``, the link's HEAD, answered about that target): a native file
    at the target's name, or the link's error naming both."""
    assert head.source is not None
    t_account, t_container, t_name = head.source
    target = f"{t_container}/{t_name}" if t_account == account else f"{t_account}/{t_container}/{t_name}"
    if head.status == 404:
        # a native file is a prefix, not an object: Swift's GET of the link
        # answers 404, the data API opens the file the name stands for
        marker = await _head(be, req, t_account, t_container, f"{t_name}/{NATIVE_MARKER}", via=head.sub)
        if marker.ok:
            return Target(t_account, t_container, t_name, "native", marker.headers.get("etag", "").strip('"'),
                          link=display)
        if marker.status == 404:
            raise ApiError(404, f"File not found: {display!r} is a symlink to {target!r}, which is neither an "
                                f"object nor a native file (a dangling symlink)")
        head = marker
    if head.status == 401:
        raise ApiError(401, f"Unauthorized: {display!r} is a symlink to {target!r}: log in (X-Auth-Token) "
                            "to read it")
    if head.status == 403:
        raise ApiError(403, f"Cannot read file {display!r}: it is a symlink to {target!r}, which you may not "
                            "read: Permission denied")
    raise ApiError(head.status if head.status < 500 else 502,
                   f"Cannot read file {display!r}: it is a symlink to {target!r}, and the object store "
                   f"answered {head.status}")


def _signed_prefix(req: SwiftRequest) -> str | None:
    """The prefix the request's temp URL signs (None without a temp URL, or
    with one of a single object)."""
    return req.query.get("temp_url_prefix") if "temp_url_sig" in req.query else None


def _signs_only_the_native_prefix(req: SwiftRequest, name: str) -> bool:
    """Whether the request's temp URL signs a prefix that holds ``name/`` but
    not ``name`` itself (``temp_url_prefix=run1.h5/``): it cannot speak for an
    object called ``name`` (its HEAD was refused), only for the native file
    under that prefix, which is checked next."""
    prefix = _signed_prefix(req)
    return prefix is not None and f"{name}/".startswith(prefix) and not name.startswith(prefix)


def _check_native_scope(req: SwiftRequest, display: str, name: str) -> None:
    """A native file is all the objects under its prefix, so a temp URL opens
    one only if it signs that whole prefix (``temp_url_prefix`` of ``name/``
    or shorter; "" for a whole container). A temp URL of one object, even
    ``name/zarr.json`` itself, lets its holder read that object only: the
    HEAD that checked it proves nothing about the chunks beside it."""
    if "temp_url_sig" not in req.query:
        return
    prefix = _signed_prefix(req)
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
    head = await _head(be, req, account, container, name, manifest=True)
    if head.ok and "x-object-manifest" in head.headers:
        raise listing_refused(status, f"{container}/{name}", head.headers["x-object-manifest"])
