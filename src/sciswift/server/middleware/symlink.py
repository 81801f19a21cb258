"""Symlinks: objects that stand for other objects, as Swift's symlink middleware.

``PUT`` with ``X-Symlink-Target: container/object`` (and optionally
``X-Symlink-Target-Account``) and an empty body makes a *dynamic* link; adding
``X-Symlink-Target-Etag`` makes a *static* one, checked at once (the target
must exist, as the caller may read it, with that ETag: 409 otherwise) and on
every read. The link is a zero-byte object whose target is kept in system
values; a PUT without a Content-Type gets ``application/symlink`` (dynamic) or
the target's (static).

``GET``/``HEAD`` of a link answer the target's reply with ``Content-Location``
naming the target. Each hop is a sub-request made as the caller, so a link
never reaches what the caller could not read directly (a target the caller
may not read answers 401/403). Links to links are followed up to
``symloop_max`` (then 409). A static link whose target changed answers 409.
``?symlink=get`` reads the link itself, with ``X-Symlink-Target`` (and
``-Account``, ``-Etag``, ``-Bytes``) headers. ``POST`` to a link updates the
link's metadata and answers ``307`` with ``Location`` at the target; a POST
may not set ``X-Symlink-Target`` (400). JSON container listings show
``symlink_path`` (and ``symlink_etag``, ``symlink_bytes``, ``slo_etag`` for
static links).
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from multidict import CIMultiDict

from sciswift.server.backend import Backend
from sciswift.server.conditional import normalize_etag
from sciswift.server.http import TEXT_TYPE, Reply, SwiftError, SwiftRequest, error
from sciswift.server.middleware.namespace import home_account
from sciswift.server.objects import SLO_ETAG, SLO_SIZE, is_slo
from sciswift.store.links import LINK_CONTENT_TYPE, SYSMETA_TARGET, SYSMETA_TARGET_ACCOUNT
from sciswift.store.types import ObjectInfo

__all__ = [
    "TARGET", "TARGET_ACCOUNT", "TARGET_ETAG", "TARGET_BYTES", "TARGET_SLO_ETAG", "LOOP_EXTEND", "HIDDEN_TARGET",
    "is_link", "target_of", "client_headers", "listing_extras", "follow", "prepare_put", "check_post", "post_redirect",
    "enabled",
]

# System values of a link (Swift's X-Object-Sysmeta-Symlink-*); paths are kept
# URL-quoted, as Swift keeps them.
TARGET = SYSMETA_TARGET
TARGET_ACCOUNT = SYSMETA_TARGET_ACCOUNT
TARGET_ETAG = "x-object-sysmeta-symlink-target-etag"
TARGET_BYTES = "x-object-sysmeta-symlink-target-bytes"
#: A static link to an SLO keeps the SLO's ETag for listings.
TARGET_SLO_ETAG = "x-object-sysmeta-symlink-target-slo-etag"
#: Set on links that do not count against symloop_max (object versioning's).
LOOP_EXTEND = "x-object-sysmeta-symloop-extend"
#: Set on links into object versioning's hidden store: that hop was
#: authorized when the link was made and is not checked again.
HIDDEN_TARGET = "x-object-sysmeta-symlink-target-hidden"

_TARGET_FORM = "X-Symlink-Target header must be of the form <container name>/<object name>"


def enabled(be: Backend) -> bool:
    return be.config.middleware.on("symlink")


def is_link(info: ObjectInfo) -> bool:
    return bool(info.system.get(TARGET))


def target_of(info: ObjectInfo, account: str) -> tuple[str, str, str]:
    """(account, container, object) a link points at (unquoted); ``account``
    is the link's own, used when the link names none."""
    container, _, obj = unquote(info.system[TARGET], errors="surrogateescape").partition("/")
    target_account = info.system.get(TARGET_ACCOUNT)
    if target_account:
        return unquote(target_account, errors="surrogateescape"), container, obj
    return home_account(account), container, obj


def _location(version: str, account: str, info: ObjectInfo) -> str:
    """The target's path as Content-Location / Location show it (quoted)."""
    quoted_account = info.system.get(TARGET_ACCOUNT) or quote(home_account(account), errors="surrogateescape")
    return f"/{version}/{quoted_account}/{info.system[TARGET].lstrip('/')}"


def client_headers(info: ObjectInfo) -> dict[str, str]:
    """The ``X-Symlink-*`` headers ``?symlink=get`` shows for a link."""
    out = {"X-Symlink-Target": info.system[TARGET]}
    for key, header in ((TARGET_ACCOUNT, "X-Symlink-Target-Account"), (TARGET_ETAG, "X-Symlink-Target-Etag"),
                        (TARGET_BYTES, "X-Symlink-Target-Bytes")):
        if info.system.get(key):
            out[header] = info.system[key]
    return out


def listing_extras(info: ObjectInfo, account: str, version: str = "v1") -> dict[str, object]:
    """What a JSON container listing adds for a link."""
    if not is_link(info):
        return {}
    out: dict[str, object] = {"symlink_path": _location(version, account, info)}
    if info.system.get(TARGET_ETAG):
        out["symlink_etag"] = info.system[TARGET_ETAG]
        try:
            out["symlink_bytes"] = int(info.system.get(TARGET_BYTES, "0"))
        except ValueError:
            out["symlink_bytes"] = 0
        if info.system.get(TARGET_SLO_ETAG):
            out["slo_etag"] = info.system[TARGET_SLO_ETAG]
    return out


# ------------------------------------------------------------------- reads
def _too_many(be: Backend, req: SwiftRequest) -> SwiftError:
    loops = be.config.middleware.symlink.symloop_max
    return SwiftError(409, f"Too many levels of symbolic links, maximum allowed is {loops}", content_type=TEXT_TYPE)


async def _walk(
    be: Backend, req: SwiftRequest, link: ObjectInfo, link_account: str, *,
    method: str, follow_dynamic: bool, loops: int, demanded: str | None,
) -> Reply:
    """Follow ``link`` (in ``link_account``) to its final target's reply.

    Each hop reads the next object with ``?symlink=get`` as the caller, so a
    hop that is a link answers itself and is followed here, counting loops.
    ``demanded`` is the ETag a static link before ``link`` requires of it.
    """
    limit = be.config.middleware.symlink.symloop_max
    while True:
        location = _location(req.version, link_account, link)
        found = link.system.get(TARGET_ETAG) or link.etag
        if demanded and demanded != found:
            raise SwiftError(409, "X-Symlink-Target-Etag headers do not match", content_type=TEXT_TYPE,
                             headers={"Content-Location": location})
        if loops >= limit:
            raise _too_many(be, req)
        if link.system.get(LOOP_EXTEND) != "true":
            loops += 1
        demanded = link.system.get(TARGET_ETAG)
        account, container, obj = target_of(link, link_account)
        query = dict(req.query.items())
        query["symlink"] = "get"
        sub = req.sub(method, account, container, obj, headers=req.headers, query=query)
        sub.preauthed = link.system.get(HIDDEN_TARGET) == "true"
        reply = await be.subrequest(sub)
        stored = reply.stored
        if stored is not None and is_link(stored) and (follow_dynamic or stored.system.get(TARGET_ETAG)):
            await reply.drain()
            link, link_account = stored, account
            continue
        final = stored.etag if stored is not None else normalize_etag(reply.headers.get("Etag"))
        if final and demanded and final != demanded:
            await reply.drain()
            raise SwiftError(
                409, f"Object Etag {final!r} does not match X-Symlink-Target-Etag header {demanded!r}",
                content_type=TEXT_TYPE, headers={"Content-Location": location},
            )
        reply.headers["Content-Location"] = location
        return reply


async def follow(be: Backend, req: SwiftRequest, link: ObjectInfo) -> Reply:
    """The reply to a GET/HEAD of ``link``: its target's, as the caller."""
    assert req.account is not None
    try:
        return await _walk(be, req, link, req.account, method=req.method, follow_dynamic=True,
                           loops=0, demanded=None)
    except SwiftError as exc:
        return exc.reply


# ------------------------------------------------------------------ writes
def _check_account(value: str) -> str:
    account = unquote(value, errors="surrogateescape")
    if not account:
        raise SwiftError(412, "Account name cannot be empty")
    if "/" in account:
        raise SwiftError(412, "Account name cannot contain slashes")
    return account


async def _has_body(req: SwiftRequest) -> bool:
    length = req.body.length
    if length is None:
        return await req.body.read(1) != b""
    return length != 0


async def prepare_put(be: Backend, req: SwiftRequest) -> dict[str, str]:
    """Check a PUT of a link (a request with ``X-Symlink-Target``); the system
    values the PUT stores (the request's headers become an empty object's)."""
    account, container, obj = req.account, req.container, req.obj
    assert account is not None and container is not None and obj is not None
    if await _has_body(req):
        raise SwiftError(400, "Symlink requests require a zero byte body", content_type=TEXT_TYPE)
    raw = req.headers["X-Symlink-Target"]
    unquoted = unquote(raw, errors="surrogateescape")
    if unquoted.startswith("/"):
        raise SwiftError(412, _TARGET_FORM, content_type=TEXT_TYPE)
    t_container, _, t_obj = unquoted.partition("/")
    if not t_container or not t_obj:
        raise SwiftError(412, _TARGET_FORM, content_type=TEXT_TYPE)
    system = {TARGET: quote(f"{t_container}/{t_obj}", errors="surrogateescape")}
    t_account = account
    if "X-Symlink-Target-Account" in req.headers:
        t_account = _check_account(req.headers["X-Symlink-Target-Account"])
        system[TARGET_ACCOUNT] = quote(t_account, errors="surrogateescape")
    if (t_account, t_container, t_obj) == (account, container, obj):
        raise SwiftError(400, "Symlink cannot target itself", content_type=TEXT_TYPE)
    etag = normalize_etag(req.headers.get("X-Symlink-Target-Etag"))
    if etag and any(c in etag for c in ';"\\'):
        raise SwiftError(400, "Bad X-Symlink-Target-Etag format", content_type=TEXT_TYPE)
    headers = req.headers
    if etag:
        system.update(await _validate_static(be, req, system, t_account, etag))
    elif not headers.get("Content-Type"):
        headers["Content-Type"] = LINK_CONTENT_TYPE
    for header in ("X-Symlink-Target", "X-Symlink-Target-Account", "X-Symlink-Target-Etag",
                   "X-Symlink-Target-Bytes"):
        headers.popall(header, None)
    headers["Content-Length"] = "0"
    headers.popall("Transfer-Encoding", None)
    return system


async def _validate_static(
    be: Backend, req: SwiftRequest, system: dict[str, str], t_account: str, etag: str
) -> dict[str, str]:
    """Check that a static link's target exists with ``etag``; the system
    values recording its size (and an SLO's ETag). Sets the request's
    Content-Type to the target's when it has none."""
    # A stand-in for the link being made: walking from it HEADs the target as
    # the caller (no client headers), following static links only, with the
    # link's own hop not counted.
    start = ObjectInfo(name="", size=0, etag="", timestamp=0.0, system=dict(system, **{TARGET_ETAG: etag}))
    probe = req.sub("HEAD", req.account)
    reply = await _walk(be, probe, start, req.account or "", method="HEAD",
                        follow_dynamic=False, loops=-1, demanded=None)
    await reply.drain()
    location = reply.headers.get("Content-Location", "")
    if reply.status == 404:
        raise SwiftError(409, "X-Symlink-Target does not exist", content_type=TEXT_TYPE,
                         headers={"Content-Location": location})
    if not reply.ok:
        raise SwiftError(reply.status)
    stored = reply.stored
    found = stored.etag if stored is not None else normalize_etag(reply.headers.get("Etag"))
    if found != etag:
        raise SwiftError(
            409, f"Object Etag {found!r} does not match X-Symlink-Target-Etag header {etag!r}",
            content_type=TEXT_TYPE, headers={"Content-Location": location},
        )
    out = {TARGET_ETAG: etag}
    size = reply.content_length or 0
    if stored is not None and is_slo(stored):
        size = int(stored.system.get(SLO_SIZE, size))
        if stored.system.get(SLO_ETAG):
            out[TARGET_SLO_ETAG] = f'"{stored.system[SLO_ETAG]}"'
    elif stored is not None and is_link(stored) and stored.system.get(TARGET_SLO_ETAG):
        out[TARGET_SLO_ETAG] = stored.system[TARGET_SLO_ETAG]
    out[TARGET_BYTES] = str(size)
    if not req.headers.get("Content-Type") and reply.headers.get("Content-Type"):
        req.headers["Content-Type"] = reply.headers["Content-Type"]
    return out


def check_post(req: SwiftRequest) -> None:
    """A POST may not make an object a link (Swift answers before anything else)."""
    if "X-Symlink-Target" in req.headers:
        raise SwiftError(400, "A PUT request is required to set a symlink target", content_type=TEXT_TYPE)


def post_redirect(req: SwiftRequest, info: ObjectInfo) -> Reply:
    """The 307 a POST to the link ``info`` answers once applied to the link."""
    assert req.account is not None
    headers = CIMultiDict({"Location": _location(req.version, req.account, info)})
    if info.system.get(TARGET_ETAG):
        headers["X-Symlink-Target-Etag"] = info.system[TARGET_ETAG]
    return error(307, "The requested POST was applied to a symlink. POST directly to the target to apply "
                 "requested metadata.", headers=dict(headers))
