"""Object versioning (``X-Versions-Enabled``), as Swift's object_versioning.

A container PUT or POST with ``X-Versions-Enabled: true`` keeps every version
of every object written to it: each PUT stores its body as a new version in a
hidden store and points the object's name at it with a static link; a DELETE
adds a zero-byte delete marker (``application/x-deleted;
swift_versions_deleted=1``) and removes the name. Versions are named by the
time they were written: the ``X-Object-Version-Id`` of the PUT (or DELETE)
reply. ``X-Versions-Enabled: false`` suspends versioning: new writes replace
the ``null`` version in place, old versions stay.

The API:

- ``GET/HEAD ?version-id=<id>`` reads a version (``null``: the unversioned
  object); a delete marker answers 404. Reading versions needs the account's
  owner, whatever the container's read ACL says.
- ``DELETE ?version-id=<id>`` removes that version for good (and the name,
  when it was the current version); no marker is written.
- ``PUT ?version-id=<id>`` with an empty body makes that version current.
- ``COPY ?version-id=<id>`` (or ``X-Copy-From`` with it) restores a version
  as a new one; POST applies to the current version (no new version).
- ``GET <container>?versions`` lists every version (JSON only: ``version_id``,
  ``is_latest``), with ``prefix``, ``delimiter``, ``limit``, ``reverse``, and
  ``marker`` with ``version_marker`` for paging.
- A container's ``X-Container-Bytes-Used`` counts its versions; it can be
  deleted only once versioning is off and every version is gone.

Where versions live: each account has a hidden store beside it, never
reachable by a request (its name has no reseller prefix, so authorization
refuses it to everyone), holding one container per versioned container. A
version of ``name`` is the object ``<name>\\x01<inverted version id>`` there
(``\\x01`` and ``\\x02`` in ``name`` escaped as ``\\x02\\x02`` and ``\\x02\\x03``),
so one container listing gives every object's versions newest first, in the
order of the names, as Swift's reserved-namespace names do.

Every acknowledged version is recoverable: a version is written once under a
new name (never overwritten: the store creates it or fails), before the link
that makes it current; an unversioned object being replaced is copied into
the versions first.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote

from multidict import CIMultiDict

from sciswift.errors import AlreadyExists, ContainerNotEmpty, NotFound
from sciswift.server.backend import Backend
from sciswift.server.http import (
    TEXT_TYPE,
    Reply,
    SwiftError,
    SwiftRequest,
    best_match,
    env_flag,
    error,
    reply,
)
from sciswift.server.middleware import symlink
from sciswift.server.middleware.namespace import hidden_account
from sciswift.server.middleware.types import Put
from sciswift.server.objects import SLO_ETAG, SLO_SIZE, is_expired, is_slo
from sciswift.server.times import http_date
from sciswift.store.base import Store
from sciswift.store.names import CONTAINER_LISTING_LIMIT
from sciswift.store.types import CREATE, ContainerInfo, ListingParams, ObjectInfo, Subdir

__all__ = [
    "DELETE_MARKER", "ENABLED", "VERSIONS_CONTAINER", "VERSIONS_LINK",
    "hidden_account", "version_name", "parse_version_name",
    "enabled_for", "container_updates", "container_headers", "versions_bytes", "rewrite_record",
    "list_versions", "delete_container",
    "write", "put", "read", "post", "delete",
]

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"
#: Container system values: versioning on or off (``True``/``False``), and the
#: hidden container holding its versions (set once versioning was enabled).
ENABLED = "x-container-sysmeta-versions-enabled"
VERSIONS_CONTAINER = "x-container-sysmeta-versions-container"
#: Marks the link that makes a version current.
VERSIONS_LINK = "x-object-sysmeta-versions-symlink"

_SEP = "\x01"
_ESC = "\x02"
_VERSION = re.compile(r"^\d{1,10}(\.\d{1,5})?$")
_MISSING_VERSIONS = "The versions container does not exist. You may want to re-enable object versioning."
#: Largest version id (``9999999999.99999``) in units of 10 µs; a version's
#: name holds this minus its id, so newer versions sort first.
_MAX_UNITS = 999_999_999_999_999

_last_units = 0
_clock = threading.Lock()


# ------------------------------------------------------------------ names
def _versions_store(be: Backend, account: str, create: bool = False) -> Store | None:
    return be.store(hidden_account(account), create=create)


def _encode(name: str) -> str:
    return name.replace(_ESC, _ESC + "\x03").replace(_SEP, _ESC + _ESC)


def _decode(text: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for c in chars:
        if c == _ESC:
            nxt = next(chars, "")
            out.append(_SEP if nxt == _ESC else _ESC)
        else:
            out.append(c)
    return "".join(out)


def _units(version: str) -> int:
    whole, _, frac = version.partition(".")
    return int(whole) * 100_000 + int((frac + "00000")[:5])


def _format(units: int) -> str:
    return f"{units // 100_000:010d}.{units % 100_000:05d}"


def version_name(name: str, version: str) -> str:
    """The hidden object holding version ``version`` of ``name``."""
    return _encode(name) + _SEP + _format(_MAX_UNITS - _units(version))


def parse_version_name(hidden: str) -> tuple[str, str] | None:
    """``(name, version id)`` of a hidden object, None if it is not one."""
    encoded, sep, inverted = hidden.rpartition(_SEP)
    if not sep or not _VERSION.match(inverted) or _SEP in encoded:
        return None
    return _decode(encoded), _format(_MAX_UNITS - _units(inverted))


def _to_version(timestamp: float) -> str:
    return _format(int(round(timestamp * 100_000)))


def _new_version() -> str:
    """A version id for a write now: this process never hands one out twice."""
    global _last_units
    with _clock:
        _last_units = max(int(round(time.time() * 100_000)), _last_units + 1)
        return _format(_last_units)


def _valid_version(req: SwiftRequest, value: str, allow_null: bool = True) -> str:
    if value == "null" and allow_null:
        return value
    if _VERSION.match(value):
        return _format(_units(value))
    raise SwiftError(400, "Invalid version parameter")


# -------------------------------------------------------------- container
def _on(be: Backend) -> bool:
    return be.config.middleware.object_versioning


def versioned(be: Backend, cinfo: ContainerInfo | None) -> bool:
    """Whether versioning was ever enabled on the container (versions may exist)."""
    return _on(be) and cinfo is not None and bool(cinfo.system.get(VERSIONS_CONTAINER))


def enabled_for(be: Backend, cinfo: ContainerInfo | None) -> bool:
    """Whether writes to the container make versions now."""
    return versioned(be, cinfo) and env_flag(cinfo.system.get(ENABLED) if cinfo else None)


async def container_updates(be: Backend, req: SwiftRequest, existing: ContainerInfo | None) -> dict[str, str]:
    """The system values a container PUT/POST with ``X-Versions-Enabled``
    sets; enabling makes the hidden versions container."""
    value = req.headers.get("X-Versions-Enabled")
    if value is None or not _on(be):
        return {}
    system = existing.system if existing is not None else {}
    if system.get("x-container-sysmeta-versions-location") or req.headers.get("X-Versions-Location") or \
            req.headers.get("X-History-Location"):
        raise SwiftError(400, "Cannot enable object versioning on a container that is already using the legacy "
                              "versioned writes feature.")
    if system.get("x-container-sync-to") or req.headers.get("X-Container-Sync-To"):
        raise SwiftError(400, "Cannot enable object versioning on a container configured as source of "
                              "container syncing.")
    enabled = env_flag(value)
    out = {ENABLED: str(enabled)}
    if enabled:
        assert req.account is not None and req.container is not None
        hidden = _versions_store(be, req.account, create=True)
        assert hidden is not None
        await be.run(hidden.create_container, req.container)
        out[VERSIONS_CONTAINER] = quote(req.container, errors="surrogateescape")
    return out


def container_headers(cinfo: ContainerInfo) -> dict[str, str]:
    value = cinfo.system.get(ENABLED)
    return {"X-Versions-Enabled": value} if value else {}


async def versions_bytes(be: Backend, req: SwiftRequest, cinfo: ContainerInfo) -> int:
    """Bytes the container's versions take (added to its own, as Swift does)."""
    if not versioned(be, cinfo):
        return 0
    assert req.account is not None
    hidden = _versions_store(be, req.account)
    if hidden is None:
        return 0
    try:
        return (await be.run(hidden.head_container, cinfo.name)).bytes_used
    except NotFound:
        return 0


async def delete_container(be: Backend, req: SwiftRequest, cinfo: ContainerInfo) -> Reply | None:
    """409 while versions remain; else the hidden container goes first (None:
    go on with the container's own delete)."""
    if not versioned(be, cinfo):
        return None
    assert req.account is not None and req.container is not None
    hidden = _versions_store(be, req.account)
    if hidden is None:
        return None
    try:
        await be.run(hidden.delete_container, req.container)
    except NotFound:
        pass
    except ContainerNotEmpty:
        return error(409, "Delete all versions before deleting container.")
    return None


def _link_target(be: Backend, req: SwiftRequest, info: ObjectInfo) -> str | None:
    """The version id a versions link points at (None for anything else)."""
    if info.system.get(VERSIONS_LINK) != "true" or not symlink.is_link(info):
        return None
    assert req.account is not None
    account, _, obj = symlink.target_of(info, req.account)
    if account != hidden_account(req.account):
        return None
    parsed = parse_version_name(obj)
    return parsed[1] if parsed else None


def rewrite_record(record: dict[str, Any], info: ObjectInfo, account: str, container: str, version: str) -> None:
    """A listing record of a versions link shows its version (bytes, ETag, a
    ``symlink_path`` with ``?version-id``), as Swift's listings do."""
    if info.system.get(VERSIONS_LINK) != "true" or "symlink_etag" not in record:
        return
    _, _, target = symlink.target_of(info, account)
    parsed = parse_version_name(target)
    record["bytes"] = record.pop("symlink_bytes", record["bytes"])
    record["hash"] = record.pop("symlink_etag")
    record["version_symlink"] = True
    if parsed is not None:
        record["symlink_path"] = (
            quote(f"/{version}/{account}/{container}/{parsed[0]}", errors="surrogateescape")
            + f"?version-id={parsed[1]}"
        )


# ---------------------------------------------------------------- listing
Record = Callable[[ObjectInfo], dict[str, Any]]


def _wants_json(req: SwiftRequest) -> bool:
    fmt = req.param("format")
    if fmt is not None:
        return fmt.lower() == "json"
    try:
        return best_match(req.headers.get("Accept"), {"application/json": "json"}, "json") is not None
    except ValueError:
        return False


async def list_versions(
    be: Backend, req: SwiftRequest, cinfo: ContainerInfo, params: ListingParams,
    entries: list[ObjectInfo | Subdir], record: Record,
) -> Reply:
    """``GET <container>?versions``: the container's objects with every
    version, merged from its own listing (``entries``, read with ``params``)
    and its versions' (Swift's algorithm, quirks included)."""
    if not _wants_json(req):
        raise SwiftError(406)
    assert req.account is not None and req.container is not None
    marker, version_marker = req.param("marker"), req.param("version_marker")
    if version_marker is not None and marker is None:
        raise SwiftError(400, "version_marker param requires marker")
    if set(params.delimiter) & set("0123456789." + _SEP + _ESC):
        raise SwiftError(400, "invalid delimiter param")
    hidden_marker = ""
    if marker:
        if version_marker is None:
            hidden_marker = _encode(marker) + _SEP + ":"  # past all of its versions
        elif version_marker == "null":
            hidden_marker = _encode(marker) + _SEP  # before all of its versions
        else:
            try:
                hidden_marker = version_name(marker, _valid_version(req, version_marker, allow_null=False))
            except SwiftError:
                raise SwiftError(400, "invalid version_marker param") from None
    null_listing: list[dict[str, Any]] = []
    subdirs: set[str] = set()
    current: dict[str, dict[str, Any]] = {}
    latest: set[str] = set()
    for entry in entries:
        if isinstance(entry, Subdir):
            subdirs.add(entry.name)
            continue
        rec = record(entry)
        if rec.get("version_symlink") and entry.system.get(symlink.TARGET):
            _, _, target = symlink.target_of(entry, req.account)
            current[target] = rec
        else:
            null_listing.append(dict(rec, version_id="null", is_latest=True))
            latest.add(entry.name)
    limit = params.limit if params.limit is not None else CONTAINER_LISTING_LIMIT
    hidden = _versions_store(be, req.account)
    page: list[ObjectInfo | Subdir] | None = None
    if hidden is not None and versioned(be, cinfo):
        hidden_params = ListingParams(
            prefix=_encode(params.prefix) if params.prefix else "", delimiter=params.delimiter,
            marker=hidden_marker, limit=limit, reverse=params.reverse,
        )
        try:
            page = await be.run(hidden.list_objects, req.container, hidden_params)
        except NotFound:
            page = None
    versions: list[dict[str, Any]] = []
    for item in page or []:
        if isinstance(item, Subdir):
            subdirs.add(_decode(item.name))
            continue
        parsed = parse_version_name(item.name)
        if parsed is None:
            continue
        name, version = parsed
        rec = record(item)
        if item.name in current:
            rec["is_latest"] = True
            latest.add(name)
            del current[item.name]
        elif item.content_type == DELETE_MARKER and name not in latest:
            rec["is_latest"] = True
            latest.add(name)
        else:
            rec["is_latest"] = False
        rec["name"] = name
        rec["version_id"] = version
        versions.append(rec)
    broken: list[dict[str, Any]] = []
    for target, rec in current.items():
        parsed = parse_version_name(target)
        if parsed is None:
            continue
        is_latest = page is not None or parsed[0] not in latest
        latest.add(parsed[0])
        broken.append({
            "name": parsed[0], "is_latest": is_latest, "version_id": parsed[1],
            "content_type": rec["content_type"], "bytes": rec["bytes"], "hash": rec["hash"],
            "last_modified": rec["last_modified"],
        })
    merged = sorted(
        itertools.chain(null_listing, versions, [{"subdir": s} for s in subdirs], broken),
        key=lambda r: r.get("subdir", r.get("name", "")), reverse=params.reverse,
    )[:limit]
    return Reply(200, CIMultiDict({"Content-Type": "application/json; charset=utf-8"}),
                 json.dumps(merged).encode("utf-8"))


# ----------------------------------------------------------------- writes
def _copy_across(src: Store, container: str, name: str, dst: Store, dst_name: str) -> None:
    """Copy an object into the versions (exactly: body, metadata, system);
    nothing when it went away meanwhile or that version is kept already."""
    try:
        reader = src.open_object(container, name)
    except NotFound:
        return
    with reader:
        info = reader.info
        try:
            dst.put_object(container, dst_name, reader.iter_chunks(), content_type=info.content_type,
                           metadata=info.metadata, system=info.system, mode=CREATE)
        except AlreadyExists:
            pass
        except NotFound:
            raise SwiftError(500, _MISSING_VERSIONS, content_type=TEXT_TYPE) from None


async def _keep_current(be: Backend, req: SwiftRequest, store: Store, hidden: Store) -> None:
    """Copy an unversioned (null) object about to be replaced into the versions."""
    assert req.container is not None and req.obj is not None
    container, name = req.container, req.obj
    try:
        current = await be.run(store.head_object, container, name)
    except NotFound:
        return
    if current.system.get(VERSIONS_LINK) == "true" or is_expired(current):
        return
    await be.run(_copy_across, store, container, name, hidden, version_name(name, _to_version(current.timestamp)))


def _hidden_for_write(be: Backend, req: SwiftRequest) -> Store:
    assert req.account is not None
    hidden = _versions_store(be, req.account)
    if hidden is None:
        raise SwiftError(500, _MISSING_VERSIONS, content_type=TEXT_TYPE)
    return hidden


def _link_system(system: dict[str, str], hidden_acct: str, container: str, vname: str, info: ObjectInfo) -> dict[str, str]:
    """The system values of the link making version ``info`` current: the
    request's persisted headers (expiry included) and the static link."""
    out = {k: v for k, v in system.items()
           if not k.startswith(("x-object-sysmeta-symlink", "x-object-sysmeta-slo-"))
           and k not in ("x-object-manifest", "x-static-large-object", symlink.LOOP_EXTEND)}
    size = int(info.system.get(SLO_SIZE, info.size)) if is_slo(info) else info.size
    etag = info.etag
    if symlink.is_link(info) and info.system.get(symlink.TARGET_ETAG):
        # a static link kept as a version: the link to it checks (and lists)
        # what that link checks, its target's ETag and size, as Swift's does
        etag = info.system[symlink.TARGET_ETAG]
        size = int(info.system.get(symlink.TARGET_BYTES, "0") or 0)
    out.update({
        symlink.TARGET: quote(f"{container}/{vname}", errors="surrogateescape"),
        symlink.TARGET_ACCOUNT: quote(hidden_acct, errors="surrogateescape"),
        symlink.TARGET_ETAG: etag,
        symlink.TARGET_BYTES: str(size),
        symlink.LOOP_EXTEND: "true",
        symlink.HIDDEN_TARGET: "true",
        VERSIONS_LINK: "true",
    })
    if is_slo(info) and info.system.get(SLO_ETAG):
        out[symlink.TARGET_SLO_ETAG] = f'"{info.system[SLO_ETAG]}"'
    elif symlink.is_link(info) and info.system.get(symlink.TARGET_SLO_ETAG):
        out[symlink.TARGET_SLO_ETAG] = info.system[symlink.TARGET_SLO_ETAG]
    return out


async def _make_current(
    be: Backend, req: SwiftRequest, store: Store, version: str, info: ObjectInfo,
    metadata: dict[str, str], system: dict[str, str], reply_etag: str | None = None,
) -> Reply:
    """Point the object's name at version ``info`` (the 201 reply)."""
    account, container, name = req.account, req.container, req.obj
    assert account is not None and container is not None and name is not None
    vname = version_name(name, version)
    link_system = _link_system(system, hidden_account(account), container, vname, info)
    content_type = info.content_type.split(";")[0].strip()
    link = await be.run(lambda: store.put_object(
        container, name, b"", content_type=content_type, metadata=metadata, system=link_system,
    ))
    return reply(201, {
        "Etag": reply_etag or info.etag, "Last-Modified": http_date(link.timestamp), "X-Object-Version-Id": version,
    })


async def _check_quota(be: Backend, req: SwiftRequest, cinfo: ContainerInfo, length: int | None) -> None:
    """A container's byte quota counts its versions too."""
    quota = cinfo.metadata.get("quota-bytes")
    if not quota:
        return
    try:
        limit = int(quota)
    except ValueError:
        return
    assert req.account is not None and req.container is not None
    fresh = await be.container_info(req, req.account, req.container, fresh=True) or cinfo
    if fresh.bytes_used + await versions_bytes(be, req, fresh) + (length or 0) > limit:
        raise SwiftError(413, "Upload exceeds quota.")


async def write(
    be: Backend, req: SwiftRequest, store: Store, cinfo: ContainerInfo, put_body: Put,
    system: dict[str, str], metadata: dict[str, str], length: int | None, reply_etag: str | None = None,
) -> Reply:
    """A PUT in a container whose versioning is on: the body becomes a new
    version, then the name points at it (``put_body`` stores the body where
    it is told, as the PUT path would have stored it)."""
    await _check_quota(be, req, cinfo, length)
    hidden = _hidden_for_write(be, req)
    await _keep_current(be, req, store, hidden)
    assert req.container is not None and req.obj is not None
    version = _new_version()
    version_system = {k: v for k, v in system.items() if k != "x-delete-at"}
    try:
        info = await put_body(hidden, req.container, version_name(req.obj, version), CREATE, version_system)
    except NotFound:
        raise SwiftError(500, _MISSING_VERSIONS, content_type=TEXT_TYPE) from None
    except AlreadyExists:
        raise SwiftError(503, "Another version was written at the same moment; try again.\n",
                         content_type=TEXT_TYPE) from None
    return await _make_current(be, req, store, version, info, metadata, system, reply_etag)


async def put(be: Backend, req: SwiftRequest, writable: Callable[[], Awaitable[Any]]) -> Reply | None:
    """``PUT ?version-id=<id>``: make that version current (None: not such a PUT).
    ``writable`` authorizes the write (the object handler's check)."""
    value = req.param("version-id")
    if value is None or not _on(be):
        return None
    version = _valid_version(req, value, allow_null=False)
    te = req.headers.get("Transfer-Encoding", "").lower()
    if te == "chunked":
        has_body = await req.body.read(1) != b""
    elif req.headers.get("Content-Length") is None:
        raise SwiftError(411)
    else:
        has_body = req.headers.get("Content-Length") != "0"
    if has_body:
        raise SwiftError(400, "PUT version-id requests require a zero byte body", content_type=TEXT_TYPE)
    target = await writable()
    if isinstance(target, Reply):
        return target
    store, cinfo = target
    if not versioned(be, cinfo):
        raise SwiftError(400, "version-aware operations require that the container is versioned")
    assert req.account is not None and req.container is not None and req.obj is not None
    hidden = _hidden_for_write(be, req)
    try:
        info = await be.run(hidden.head_object, req.container, version_name(req.obj, version))
    except NotFound:
        try:
            await be.run(hidden.head_container, req.container)
        except NotFound:
            raise SwiftError(500, _MISSING_VERSIONS, content_type=TEXT_TYPE) from None
        raise SwiftError(404, "The specified version does not exist", content_type=TEXT_TYPE) from None
    return await _make_current(be, req, store, version, info, {}, {})


async def post(be: Backend, req: SwiftRequest, link: ObjectInfo) -> Reply | None:
    """A POST that reached a versions link also updates the version it points
    at (None when ``link`` is another kind of link)."""
    version = _link_target(be, req, link)
    if version is None or not _on(be):
        return None
    assert req.account is not None and req.container is not None and req.obj is not None
    headers = {k: v for k, v in req.headers.items() if k.lower() not in ("x-delete-at", "x-delete-after")}
    sub = req.sub("POST", hidden_account(req.account), req.container, version_name(req.obj, version), headers=headers)
    sub.preauthed = True
    return await be.subrequest(sub)


def refuse_version_post(be: Backend, req: SwiftRequest) -> None:
    if _on(be) and "version-id" in req.query:
        raise SwiftError(400, "POST to a specific version is not allowed")


# ------------------------------------------------------------------ reads
def _version_of_location(req: SwiftRequest, location: str) -> str | None:
    """The version id a Content-Location into the hidden store names."""
    parts = location.split("/", 4)
    if len(parts) != 5 or req.account is None:
        return None
    account, container, obj = (unquote(p, errors="surrogateescape") for p in parts[2:])
    if account != hidden_account(req.account) or container != req.container:
        return None
    parsed = parse_version_name(obj)
    return parsed[1] if parsed else None


async def read(be: Backend, req: SwiftRequest, inner: Callable[[Backend, SwiftRequest], Awaitable[Reply]]) -> Reply:
    """GET/HEAD of an object, ``?version-id`` and version headers included;
    ``inner`` reads the object itself."""
    value = req.param("version-id")
    if not _on(be) or req.account is None or req.container is None or req.obj is None:
        return await inner(be, req)
    if value is None:
        answer = await inner(be, req)
        cinfo = await be.container_info(req, req.account, req.container)
        if versioned(be, cinfo):
            _annotate(req, answer)
        return answer
    version = _valid_version(req, value)
    cinfo = await be.container_info(req, req.account, req.container)
    if version != "null" and not versioned(be, cinfo):
        raise SwiftError(400, "version-aware operations require that the container is versioned")
    if version == "null":
        answer = await inner(be, req)
        if answer.ok:
            if _version_of_location(req, answer.headers.get("Content-Location", "")) is not None:
                await answer.drain()
                return error(404)
            answer.headers["X-Object-Version-Id"] = "null"
        return answer
    denied = await be.authorize(req)  # versions are the owner's (no container ACL applies)
    if denied is not None:
        return denied
    query = {k: v for k, v in req.query.items() if k != "version-id"}
    sub = req.sub(req.method, hidden_account(req.account), req.container, version_name(req.obj, version),
                  headers=req.headers, query=query)
    sub.preauthed = True
    answer = await be.subrequest(sub)
    stored_type = answer.stored.content_type if answer.stored is not None else answer.headers.get("Content-Type")
    if stored_type == DELETE_MARKER:
        await answer.drain()
        return error(404, headers={"X-Object-Version-Id": version, "Content-Type": DELETE_MARKER})
    answer.headers["X-Object-Version-Id"] = version
    return answer


def _annotate(req: SwiftRequest, answer: Reply) -> None:
    """Version headers of a read in a versioned container: the version read,
    and links shown as the version they point at, not the hidden store."""
    assert req.container is not None and req.obj is not None
    answer.headers["X-Object-Version-Id"] = "null"
    version = _version_of_location(req, answer.headers.get("Content-Location", ""))
    if version is not None:
        answer.headers["X-Object-Version-Id"] = version
        answer.headers["Content-Location"] = (
            quote(f"/{req.version}/{req.account}/{req.container}/{req.obj}", errors="surrogateescape")
            + f"?version-id={version}"
        )
    stored = answer.stored
    target = answer.headers.get("X-Symlink-Target")
    if stored is not None and target and stored.system.get(VERSIONS_LINK) == "true":
        assert req.account is not None
        account, container, obj = symlink.target_of(stored, req.account)
        parsed = parse_version_name(obj)
        if account == hidden_account(req.account) and container == req.container and parsed is not None:
            answer.headers["X-Object-Version-Id"] = parsed[1]
            answer.headers["X-Symlink-Target"] = (
                quote(f"{req.container}/{req.obj}", errors="surrogateescape") + f"?version-id={parsed[1]}"
            )
            answer.headers.popall("X-Symlink-Target-Account", None)


# ---------------------------------------------------------------- deletes
async def delete(be: Backend, req: SwiftRequest, store: Store, cinfo: ContainerInfo) -> Reply | None:
    """A DELETE in a versioned container (None: a plain delete)."""
    value = req.param("version-id") if _on(be) else None
    if value is not None:
        version = _valid_version(req, value)
        if version == "null":
            return None
        if not versioned(be, cinfo):
            raise SwiftError(400, "version-aware operations require that the container is versioned")
        return await _delete_version(be, req, store, version)
    container, name = req.container, req.obj
    assert container is not None and name is not None
    if not enabled_for(be, cinfo):
        return None
    hidden = _hidden_for_write(be, req)
    await _keep_current(be, req, store, hidden)
    marker = _new_version()
    try:
        await be.run(lambda: hidden.put_object(
            container, version_name(name, marker), b"", content_type=DELETE_MARKER, mode=CREATE,
        ))
    except NotFound:
        raise SwiftError(412) from None
    try:
        await be.run(store.delete_object, container, name)
        answer = reply(204)
    except NotFound:
        answer = error(404)
    answer.headers["X-Object-Version-Id"] = marker
    return answer


async def _delete_version(be: Backend, req: SwiftRequest, store: Store, version: str) -> Reply:
    """``DELETE ?version-id=<id>``: remove that version (and the name, when
    it is the current one). Needs the account's owner."""
    denied = await be.authorize(req)
    if denied is not None:
        return denied
    assert req.account is not None and req.container is not None and req.obj is not None
    hidden = _hidden_for_write(be, req)
    try:
        current = await be.run(store.head_object, req.container, req.obj)
        current_version = _link_target(be, req, current)
    except NotFound:
        current_version = None
    if current_version == version:
        try:
            await be.run(store.delete_object, req.container, req.obj)
        except NotFound:
            pass
        current_version = None
    try:
        await be.run(hidden.delete_object, req.container, version_name(req.obj, version))
        answer = reply(204)
    except NotFound:
        answer = error(404)
    answer.headers["X-Object-Version-Id"] = version
    answer.headers["X-Object-Current-Version-Id"] = current_version or "null"
    return answer
