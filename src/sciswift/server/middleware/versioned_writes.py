"""Legacy object versioning (``X-Versions-Location`` / ``X-History-Location``),
as Swift's versioned_writes middleware.

A container naming an archive container keeps every overwritten version
there, as ``<archive>/<len><name>/<timestamp>`` (``len``: the name's UTF-8
length as three hex digits, ``timestamp`` the version's ``X-Timestamp``), a
copy made before the overwrite. ``X-Versions-Location`` ("stack" mode): a
DELETE removes the current version and puts back the newest archived one.
``X-History-Location`` ("history" mode): a DELETE archives the current
version and a zero-byte delete marker (``application/x-deleted;
swift_versions_deleted=1``), then removes it. POSTs make no versions.

The caller must be allowed to write the versioned container; the archive
container is written on the server's authority (it may belong to someone the
writer cannot write to), as Swift's pre-authorized requests do. A missing
archive container makes the write fail with 412 and changes nothing.

What the server adds to Swift, whose versioning loses versions when writers
race: an overwrite (and a stack-mode restore) replaces exactly the version it
archived, the write being conditional on that version's ETag (atomic in the
store), and an archive copy never replaces another; the writer that would
make a version vanish unarchived fails with 503 (retry) instead. A
history-mode DELETE archives whatever it finds before deleting; only a write
landing between its last look and the delete itself (consecutive store calls,
the store having no conditional delete) can still be lost.
"""

from __future__ import annotations

import time
from urllib.parse import unquote

from sciswift.errors import AlreadyExists, NotFound, PreconditionFailed
from sciswift.server.backend import Backend
from sciswift.server.http import TEXT_TYPE, Reply, SwiftError, SwiftRequest, error, reply
from sciswift.server.objects import is_expired
from sciswift.server.times import x_timestamp
from sciswift.store.base import Store
from sciswift.store.names import utf8_len
from sciswift.store.types import CREATE, OVERWRITE, ContainerInfo, IfMatch, ListingParams, ObjectInfo, PutMode

__all__ = [
    "DELETE_MARKER", "LOCATION", "MODE", "container_updates", "container_headers", "location",
    "archive_prefix", "archive_name", "archive_current", "delete", "conflict", "is_race",
]

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"
#: Container system values: the archive container (as the client quoted
#: it) and the mode (``stack`` or ``history``).
LOCATION = "x-container-sysmeta-versions-location"
MODE = "x-container-sysmeta-versions-mode"
_PAGE = 1000
#: How often a history-mode DELETE re-archives a version written meanwhile.
_RETRIES = 5


def container_updates(be: Backend, req: SwiftRequest) -> dict[str, str]:
    """The system values a container PUT/POST sets from its versioning
    headers (``""`` removes). Raises 400 when both modes are given, 412 for a
    bad name or when legacy versioning is off."""
    h = req.headers
    versions, history = h.get("X-Versions-Location"), h.get("X-History-Location")
    if versions is not None and history is not None:
        if not history:
            history = None
        elif versions:
            raise SwiftError(400, "Only one of x-versions-location or x-history-location may be specified",
                             content_type=TEXT_TYPE)
        else:
            versions = None
    out: dict[str, str] = {}
    remove = any(h.get(x) for x in ("X-Remove-Versions-Location", "X-Remove-History-Location"))
    value, mode = (versions, "stack") if versions is not None else (history, "history")
    if value is not None:
        if not value:
            remove = True
        elif not be.config.middleware.legacy_versioning:
            raise SwiftError(412, "Versioned Writes is disabled", content_type=TEXT_TYPE)
        else:
            if "/" in value:
                raise SwiftError(412, "Container name cannot contain slashes")
            return {LOCATION: value, MODE: mode}  # setting wins over removing
    if remove:
        out = {LOCATION: "", MODE: ""}
    return out


def container_headers(info: ContainerInfo) -> dict[str, str]:
    """``X-Versions-Location`` or ``X-History-Location`` as the container keeps it."""
    value = info.system.get(LOCATION)
    if not value:
        return {}
    header = "X-History-Location" if info.system.get(MODE) == "history" else "X-Versions-Location"
    return {header: value}


def location(be: Backend, cinfo: ContainerInfo) -> tuple[str, str] | None:
    """(archive container, mode) when writes to this container are versioned."""
    value = cinfo.system.get(LOCATION)
    if not value or not be.config.middleware.legacy_versioning:
        return None
    return unquote(value, errors="surrogateescape").split("/")[0], cinfo.system.get(MODE) or "stack"


def archive_prefix(name: str) -> str:
    return f"{utf8_len(name):03x}{name}/"


def archive_name(name: str, timestamp: float) -> str:
    return archive_prefix(name) + x_timestamp(timestamp)


def _current(store: Store, container: str, name: str) -> ObjectInfo | None:
    try:
        info = store.head_object(container, name)
    except NotFound:
        return None
    return None if is_expired(info) else info


def _archive(store: Store, container: str, name: str, archive: str, current: ObjectInfo) -> None:
    """Copy ``current`` into the archive container (412 if that is missing).

    The copy never replaces an archived version: if another writer archived
    this version first, theirs stands (and only one of the two overwrites
    that follow, each conditional on this version's ETag, succeeds)."""
    try:
        store.copy_object(container, name, archive, archive_name(name, current.timestamp), mode=CREATE)
    except AlreadyExists:
        pass
    except NotFound:
        raise SwiftError(412) from None


async def archive_current(
    be: Backend, req: SwiftRequest, store: Store, cinfo: ContainerInfo, mode: PutMode
) -> PutMode:
    """Archive the version a PUT is about to replace; the put mode that makes
    the PUT replace exactly that version (or create, when there is none)."""
    versioning = location(be, cinfo)
    if versioning is None:
        return mode
    assert req.container is not None and req.obj is not None
    container, name = req.container, req.obj
    current = await be.run(_current, store, container, name)
    if current is None:
        return CREATE if mode is OVERWRITE else mode
    if mode is CREATE or (isinstance(mode, IfMatch) and mode.etag != current.etag):
        return mode  # the PUT fails on its own condition: nothing is replaced
    await be.run(_archive, store, container, name, versioning[0], current)
    return IfMatch(current.etag)


def conflict() -> SwiftError:
    """The answer to a versioned write that lost a race (retry it)."""
    return SwiftError(503, "The object changed while its version was kept; try again.\n", content_type=TEXT_TYPE)


def is_race(exc: Exception) -> bool:
    """Whether a store's refusal of a write made conditional by versioning
    means a concurrent writer won."""
    return isinstance(exc, (PreconditionFailed, AlreadyExists))


async def delete(be: Backend, req: SwiftRequest, store: Store, cinfo: ContainerInfo) -> Reply | None:
    """A DELETE in a versioned container, or None when it is a plain delete."""
    versioning = location(be, cinfo)
    if versioning is None:
        return None
    archive, mode = versioning
    assert req.container is not None and req.obj is not None
    if mode == "history":
        return await be.run(_push, store, req.container, req.obj, archive)
    return await be.run(_pop, store, req.container, req.obj, archive)


def _same(a: ObjectInfo | None, b: ObjectInfo | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.etag, a.timestamp) == (b.etag, b.timestamp)


def _remove(store: Store, container: str, name: str) -> Reply:
    try:
        store.delete_object(container, name)
    except NotFound:
        return error(404)
    return reply(204)


def _delete_kept(store: Store, container: str, name: str, archive: str, kept: ObjectInfo | None) -> Reply:
    """Delete the current object, ``kept`` (already archived). If a writer
    replaced it meanwhile, that version is archived first, then deleted.

    The store has no conditional delete: a write landing between the last
    look and the delete (the two are consecutive calls) is the one case a
    version can be lost, as with Swift."""
    for _ in range(_RETRIES):
        current = _current(store, container, name)
        if _same(current, kept):
            return _remove(store, container, name)
        if current is not None:
            _archive(store, container, name, archive, current)
        kept = current
    raise conflict()


def _push(store: Store, container: str, name: str, archive: str) -> Reply:
    """History mode: archive the current version, add a delete marker, delete it."""
    current = _current(store, container, name)
    if current is not None:
        _archive(store, container, name, archive, current)
    try:
        store.put_object(archive, archive_name(name, time.time()), b"", content_type=DELETE_MARKER)
    except NotFound:
        raise SwiftError(412) from None
    return _delete_kept(store, container, name, archive, current)


def _listing(store: Store, archive: str, name: str) -> list[ObjectInfo]:
    """The archived versions of ``name``, newest first (all pages)."""
    out: list[ObjectInfo] = []
    marker = ""
    prefix = archive_prefix(name)
    while True:
        try:
            page = store.list_objects(archive, ListingParams(prefix=prefix, marker=marker, limit=_PAGE, reverse=True))
        except NotFound:
            return out
        out.extend(e for e in page if isinstance(e, ObjectInfo))
        if len(page) < _PAGE:
            return out
        marker = page[-1].name


def _restore(store: Store, archive: str, version: str, container: str, name: str, replacing: ObjectInfo | None) -> bool:
    """Copy an archived version back in place, replacing exactly ``replacing``
    (None: where nothing is); False if the archived version is gone, 503 if
    the current object changed meanwhile."""
    mode: PutMode = IfMatch(replacing.etag) if replacing is not None else CREATE
    try:
        store.copy_object(archive, version, container, name, mode=mode)
    except NotFound:
        return False
    except (PreconditionFailed, AlreadyExists):
        raise conflict() from None
    return True


def _pop(store: Store, container: str, name: str, archive: str) -> Reply | None:
    """Stack mode: put the previous version back in place of the current one
    (or, after a delete marker, undo the marker). None: a plain delete."""
    versions = _listing(store, archive, name)
    current = _current(store, container, name)
    for i, version in enumerate(versions):
        if version.content_type == DELETE_MARKER:
            if current is not None:
                return None  # back to the deleted state: drop the current object
            for older in versions[i + 1:]:
                if older.content_type == DELETE_MARKER:
                    break
                if _restore(store, archive, older.name, container, name, None):
                    try:
                        store.delete_object(archive, older.name)
                    except NotFound:
                        pass
                    break
            return _remove(store, archive, version.name)
        if _restore(store, archive, version.name, container, name, current):
            return _remove(store, archive, version.name)
    return None
