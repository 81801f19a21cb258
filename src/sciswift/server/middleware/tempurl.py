"""Temporary URLs: a signed link grants one method on one object (or on every
object under a prefix) until it expires, without a token, as Swift's tempurl.

A link carries ``temp_url_sig`` and ``temp_url_expires`` (a Unix time, or ISO
8601 ``2030-01-01T00:00:00Z``), optionally ``temp_url_prefix``,
``temp_url_ip_range``, ``filename`` and ``inline``. The signature is the HMAC
of ``METHOD\\nEXPIRES\\n/v1/account/container/object`` (``prefix:/v1/a/c/pre``
for a prefix link, with ``ip=RANGE\\n`` in front for an IP-bound one) under one
of the account's or the container's ``Temp-URL-Key``/``-2``. A HEAD is allowed
by a GET, PUT or POST link too.

A valid link replaces authorization for the whole request, sub-requests
included: an account key reaches anything in the account (a DLO whose segments
live in another container), a container key only that container (everything
else answers 401). Anything wrong (no key, a bad, expired or forged signature,
another method or object) answers ``401 Unauthorized: Temp URL invalid``.
PUT and POST links may not carry ``X-Object-Manifest`` or
``X-Symlink-Target`` (400): they would reach data the link does not grant.

Replies lose ``X-Object-Meta-*`` headers (except ``X-Object-Meta-Public-*``),
and a successful GET or HEAD gets a ``Content-Disposition`` (``attachment`` with
the object's name, or ``filename``/``inline`` as asked) and ``Expires``.
"""

from __future__ import annotations

import calendar
import ipaddress
import time
from email.utils import formatdate
from os.path import basename
from urllib.parse import quote

from multidict import MultiDict

from sciswift.server.auth import Identity, Scope
from sciswift.server.backend import Backend
from sciswift.server.http import Reply, SwiftRequest, error
from sciswift.server.middleware import signatures
from sciswift.server.middleware.settings import TempURLSettings
from sciswift.server.middleware.types import CONTENT_GENERATOR, Next

__all__ = ["handle", "EXPIRES_ISO8601_FORMAT", "USER", "is_tempurl", "query_of"]

EXPIRES_ISO8601_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: The user a temporary URL's requests run as (Swift's ``REMOTE_USER``).
USER = ".wsgi.tempurl"
#: Headers a PUT/POST link may not set (they would point at other data).
DISALLOWED = ("x-object-manifest", "x-symlink-target")


def _expires(value: str | None) -> int | None:
    """The expiry as Unix time: None when absent, 0 when malformed or past."""
    if value is None:
        return None
    try:
        at = int(value)
    except ValueError:
        try:
            at = calendar.timegm(time.strptime(value, EXPIRES_ISO8601_FORMAT))
        except ValueError:
            return 0
    return at if at >= time.time() else 0


def is_tempurl(req: SwiftRequest) -> bool:
    """Whether ``req`` runs on a temporary URL's grant."""
    return req.identity is not None and req.identity.user == USER


def query_of(req: SwiftRequest) -> dict[str, str | None]:
    """The link's own parameters of a temporary-URL request (for staticweb's
    links): ``temp_url_sig``, ``temp_url_expires``, ``temp_url_prefix``,
    ``temp_url_ip_range`` and ``inline`` (None when absent)."""
    keys = ("temp_url_sig", "temp_url_expires", "temp_url_prefix", "temp_url_ip_range")
    out: dict[str, str | None] = {k: req.query.get(k) for k in keys}
    out["inline"] = "" if "inline" in req.query else None
    return out


def _invalid(req: SwiftRequest) -> Reply:
    body = None if req.method == "HEAD" else "401 Unauthorized: Temp URL invalid\n"
    return error(401, body if body is not None else b"",
                 headers={"Www-Authenticate": f'Swift realm="{quote(req.account or "unknown")}"'})


def _path_parts(req: SwiftRequest, settings: TempURLSettings, container_root: bool) -> tuple[str, str, str] | None:
    """(account, container, object) a link may sign for, or None."""
    if req.method not in settings.methods or req.version != "v1":
        return None
    if req.account is None or req.container is None:
        return None
    obj = req.obj or ""
    if obj.strip("/") or container_root:
        return req.account, req.container, obj
    return None


def _disposition(kind: str, filename: str) -> str:
    # RFC 6266 with the RFC 5987 filename* form, as Swift writes it
    return f"{kind}; filename=\"{quote(filename, safe=' /')}\"; filename*=UTF-8''{quote(filename)}"


def _matches_header(name: str, exact: tuple[str, ...], prefixes: tuple[str, ...]) -> bool:
    return name in exact or any(name.startswith(p) for p in prefixes)


def _split(patterns: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(p for p in patterns if not p.endswith("*")), tuple(p[:-1] for p in patterns if p.endswith("*"))


def _filtered(names: list[str], remove: tuple[str, ...], allow: tuple[str, ...]) -> list[str]:
    """Those of ``names`` (lower case) to drop: matched by ``remove`` unless ``allow`` keeps them."""
    r_exact, r_pre = _split(remove)
    a_exact, a_pre = _split(allow)
    return [n for n in names if _matches_header(n, r_exact, r_pre) and not _matches_header(n, a_exact, a_pre)]


async def handle(be: Backend, req: SwiftRequest, app: Next) -> Reply:
    """Run ``req`` on its temporary URL's grant when it carries one."""
    if req.method == "OPTIONS":
        return await app(req)
    settings: TempURLSettings = be.config.middleware.tempurl
    q = req.query
    sig, raw_expires, prefix = q.get("temp_url_sig"), q.get("temp_url_expires"), q.get("temp_url_prefix")
    ip_range, filename, inline = q.get("temp_url_ip_range"), q.get("filename"), "inline" in q
    expires = _expires(raw_expires)
    if sig is None and expires is None:
        return await app(req)
    if not sig or not expires:
        return _invalid(req)
    try:
        algorithm, sig_hex = signatures.split_signature(sig)
    except ValueError:
        return _invalid(req)
    if algorithm not in settings.allowed_digests:
        return _invalid(req)
    parts = _path_parts(req, settings, container_root=req.method in ("GET", "HEAD") and prefix == "")
    if parts is None:
        return _invalid(req)
    account, container, obj = parts
    if ip_range:
        try:
            if ipaddress.ip_address(req.remote_addr) not in ipaddress.ip_network(ip_range):
                return _invalid(req)
        except ValueError:
            return _invalid(req)
    keys = await _keys(be, req, account, container)
    if not keys:
        return _invalid(req)
    if prefix is None:
        path = f"/v1/{account}/{container}/{obj}"
    else:
        if not obj.startswith(prefix):
            return _invalid(req)
        path = f"prefix:/v1/{account}/{container}/{prefix}"
    methods = ("HEAD", "GET", "POST", "PUT") if req.method == "HEAD" else (req.method,)
    head = f"ip={ip_range}\n" if ip_range else ""
    scope = None
    for method in methods:
        message = f"{head}{method}\n{expires}\n{path}"
        for key, key_scope in keys:
            if signatures.matches(sig_hex, [signatures.hmac_hex(key, message, algorithm)]) and scope is None:
                scope = key_scope
    if scope is None:
        return _invalid(req)
    if req.method not in ("GET", "HEAD", "OPTIONS"):
        for header in DISALLOWED:
            if header in req.headers:
                return error(400, f"The header {header.title()!r} is not allowed in this tempurl")
    for name in _filtered([k.lower() for k in req.headers], settings.incoming_remove_headers,
                          settings.incoming_allow_headers):
        req.headers.popall(name, None)
    req.identity = Identity(
        user=USER, groups=frozenset(),
        scope=Scope(account, container if scope == signatures.CONTAINER else None),
    )
    kept: MultiDict[str] = MultiDict({"temp_url_sig": sig_hex, "temp_url_expires": raw_expires or ""})
    for k in ("temp_url_prefix", "temp_url_ip_range", "filename"):
        if k in q:
            kept[k] = q[k]
    if inline:
        kept["inline"] = ""
    req.query = kept
    reply = await app(req)
    for name in _filtered([k.lower() for k in reply.headers], settings.outgoing_remove_headers,
                          settings.outgoing_allow_headers):
        reply.headers.popall(name, None)
    if req.method in ("GET", "HEAD") and reply.ok:
        generated = reply.headers.get(CONTENT_GENERATOR) == "staticweb"
        if not generated and not obj:
            await reply.drain()
            return _invalid(req)
        existing = reply.headers.popall("Content-Disposition", [None])[0]
        if inline or generated:
            value = _disposition("inline", filename) if filename else "inline"
        elif filename:
            value = _disposition("attachment", filename)
        elif existing:
            value = existing
        else:
            value = _disposition("attachment", basename(req.path.rstrip("/")))
        reply.headers["Content-Disposition"] = value.replace("\n", "%0A")
        reply.headers["Expires"] = formatdate(expires, usegmt=True)
    return reply


async def _keys(be: Backend, req: SwiftRequest, account: str, container: str) -> list[tuple[str, str]]:
    """(key, scope) pairs: the account's keys, then the container's."""
    out: list[tuple[str, str]] = []
    ainfo = await be.account_info(req, account)
    if ainfo is not None:
        out.extend((k, signatures.ACCOUNT) for k in signatures.keys_from(ainfo.metadata))
    cinfo = await be.container_info(req, account, container)
    if cinfo is not None:
        out.extend((k, signatures.CONTAINER) for k in signatures.keys_from(cinfo.metadata))
    return out
