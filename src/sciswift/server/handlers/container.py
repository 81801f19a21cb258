"""Container requests: GET (listing), HEAD, PUT, POST, DELETE, OPTIONS.

PUT creates (201) or updates (202) a container; POST merges metadata and ACLs;
DELETE refuses (409) while objects remain. Container ACLs
(``X-Container-Read``/``-Write``), sync settings, the storage policy and the
modification time are kept as container system values; only account owners see
or change ACLs and sync keys (others' changes to them are ignored, as Swift
does).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from multidict import CIMultiDict

from sciswift.errors import ContainerNotEmpty, NotFound
from sciswift.server import etag_quoter, quotas, slo
from sciswift.server.acl import clean_acl
from sciswift.server.backend import Backend
from sciswift.server.handlers import Handler
from sciswift.server.http import TEXT_TYPE, Reply, SwiftError, SwiftRequest, env_flag, error, reply
from sciswift.server.listing import CONTENT_TYPES, list_path, parse_listing, render_objects
from sciswift.server.metadata import (
    check_merged_metadata,
    check_metadata,
    check_utf8_values,
    meta_headers,
    metadata_updates,
)
from sciswift.server.middleware import object_versioning, symlink, versioned_writes
from sciswift.server.policies import default_policy, find
from sciswift.server.times import http_date, iso_timestamp, x_timestamp
from sciswift.store.names import MAX_CONTAINER_NAME_LENGTH, utf8_len
from sciswift.store.types import ContainerInfo, ObjectInfo

__all__ = ["VERBS", "modified_time"]

#: Container system values only account owners may read or set.
PRIVILEGED = ("x-container-read", "x-container-write", "x-container-sync-key", "x-container-sync-to")
#: Container metadata only owners see or set.
OWNER_ONLY_META = ("temp-url-key", "temp-url-key-2")
#: The container's last PUT/POST time (ContainerInfo.timestamp is its creation).
MODIFIED = "x-timestamp"


def modified_time(info: ContainerInfo) -> float:
    try:
        return float(info.system.get(MODIFIED, info.timestamp))
    except ValueError:
        return info.timestamp


def _headers(be: Backend, info: ContainerInfo, owner: bool) -> CIMultiDict[str]:
    h: CIMultiDict[str] = CIMultiDict()
    h["X-Container-Object-Count"] = str(info.object_count)
    h["X-Container-Bytes-Used"] = str(info.bytes_used)
    h["X-Timestamp"] = x_timestamp(info.timestamp)
    h["Last-Modified"] = http_date(modified_time(info))
    h["Accept-Ranges"] = "bytes"
    h["X-Storage-Policy"] = info.system.get("x-storage-policy") or default_policy(be.config.policies).name
    meta = {k: v for k, v in info.metadata.items() if owner or k not in OWNER_ONLY_META}
    for k, v in meta_headers(meta, "container"):
        h[k] = v
    quoting = etag_quoter.header_for(info.system, "container")
    if quoting:
        h[quoting[0]] = quoting[1]
    if owner:
        for key in PRIVILEGED:
            if info.system.get(key):
                h["-".join(p.capitalize() for p in key.split("-"))] = info.system[key]
    h.update(versioned_writes.container_headers(info))
    h.update(object_versioning.container_headers(info))
    return h


#: A JSON listing asked with ``?with_metadata=true`` (a sciswift extension, offered
#: in ``/info`` as ``sciswift.listing_metadata``; Swift ignores the parameter)
#: gives each object's user metadata as ``"metadata": {name: value}``: what a
#: HEAD of each would, with read access to the container as for the HEADs. The
#: mount shows files' own times (``X-Object-Meta-Mtime``) from it.
WITH_METADATA = "with_metadata"


def _object_record(entry: ObjectInfo, account: str = "", container: str = "", version: str = "v1",
                   metadata: bool = False) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "bytes": entry.size,
        "hash": entry.etag,
        "name": entry.name,
        "content_type": entry.content_type,
        "last_modified": iso_timestamp(entry.timestamp),
    }
    rec.update(slo.listing_extras(entry))
    rec.update(symlink.listing_extras(entry, account, version))
    object_versioning.rewrite_record(rec, entry, account, container, version)
    if metadata and entry.metadata:
        rec["metadata"] = dict(entry.metadata)
    return rec


async def get_or_head(be: Backend, req: SwiftRequest) -> Reply:
    assert req.account is not None and req.container is not None
    denied = await be.authorize(req, "read")
    if denied:
        return denied
    listing = parse_listing(req)
    info = await be.container_info(req, req.account, req.container, fresh=True)
    store = be.store(req.account)
    if info is None or store is None:
        return error(404)
    headers = _headers(be, info, req.swift_owner)
    headers["Content-Type"] = CONTENT_TYPES[listing.fmt]
    kept = await object_versioning.versions_bytes(be, req, info)
    if kept:
        headers["X-Container-Bytes-Used"] = str(info.bytes_used + kept)
    if req.method == "HEAD":
        headers["Vary"] = "Accept"
        return Reply(204, headers, None, content_length=0)
    container = req.container
    try:
        if listing.path is not None:
            entries = await be.run(list_path, store, container, listing.path, listing.params)
        else:
            entries = await be.run(store.list_objects, container, listing.params)
    except NotFound:
        return error(404)
    record = partial(_object_record, account=req.account, container=container, version=req.version,
                     metadata=listing.fmt == "json" and env_flag(req.param(WITH_METADATA)))
    if "versions" in req.query and be.config.middleware.object_versioning:
        versions = await object_versioning.list_versions(be, req, info, listing.params, entries, record)
        versions.headers.update((k, v) for k, v in headers.items() if k.lower() != "content-type")
        return versions
    if not entries and listing.fmt == "text":
        return Reply(204, headers, None, content_length=0)
    if len(entries) > 1000:  # rendering thousands of entries: keep the loop free
        body = await be.run(render_objects, entries, listing.fmt, container, record)
    else:
        body = render_objects(entries, listing.fmt, container, record)
    return Reply(200, headers, body)


def _check_name(name: str) -> None:
    n = utf8_len(name)
    if n > MAX_CONTAINER_NAME_LENGTH:
        raise SwiftError(400, f"Container name length of {n} longer than {MAX_CONTAINER_NAME_LENGTH}")


def _system_updates(be: Backend, req: SwiftRequest, owner: bool) -> dict[str, str]:
    """ACL, sync and versioning headers of a PUT/POST as system values (only an
    owner's ACLs count; ACLs are validated and normalised)."""
    out: dict[str, str] = etag_quoter.updates(req, "container")
    out.update(versioned_writes.container_updates(be, req))
    if owner:
        _privileged_updates(req, out)
    check_utf8_values(out)
    return out


def _privileged_updates(req: SwiftRequest, out: dict[str, str]) -> None:
    """The owner-only headers of ``req`` (ACLs, sync) into ``out``."""
    for key in PRIVILEGED:
        if key in req.headers:
            value = req.headers[key]
            if key in ("x-container-read", "x-container-write"):
                try:
                    value = clean_acl(key, value)
                except ValueError as exc:
                    raise SwiftError(400, str(exc), content_type=TEXT_TYPE) from None
            out[key] = value
        remove = "x-remove-" + key[2:]
        if remove in req.headers:
            out[key] = ""


def _meta_updates(req: SwiftRequest) -> dict[str, str]:
    meta = metadata_updates(req.headers, "container")
    if not req.swift_owner:
        for key in OWNER_ONLY_META:
            meta.pop(key, None)
    return meta


async def put(be: Backend, req: SwiftRequest) -> Reply:
    assert req.account is not None and req.container is not None
    denied = await be.authorize(req)
    if denied:
        return denied
    _check_name(req.container)
    check_metadata(req.headers, "container")
    quotas.check_container_quota_values(req)
    system = _system_updates(be, req, req.swift_owner)
    policy_header = req.headers.get("X-Storage-Policy")
    policy = None
    if policy_header:
        found = find(be.config.policies, policy_header)
        if found is None:
            raise SwiftError(400, f'Invalid X-Storage-Policy "{policy_header}"')
        policy = found.name
    default = default_policy(be.config.policies).name
    now = time.time()
    system[MODIFIED] = f"{now:.5f}"
    meta = _meta_updates(req)
    existing = await be.container_info(req, req.account, req.container, fresh=True)
    if existing is not None:
        check_merged_metadata(existing.metadata, meta)
        current = existing.system.get("x-storage-policy") or default
        if policy is not None and policy != current:
            return error(409, "Storage Policy is not allowed to be changed")
    else:
        check_merged_metadata({}, meta)
        system["x-storage-policy"] = policy or default
    system.update(await object_versioning.container_updates(be, req, existing))  # last: it may make a container
    store = be.store(req.account, create=True)
    assert store is not None
    created = await be.run(store.create_container, req.container, meta, system)
    be.forget(req, req.account, req.container)
    return reply(201 if created else 202)


async def post(be: Backend, req: SwiftRequest) -> Reply:
    assert req.account is not None and req.container is not None
    denied = await be.authorize(req)
    if denied:
        return denied
    check_metadata(req.headers, "container")
    quotas.check_container_quota_values(req)
    info = await be.container_info(req, req.account, req.container, fresh=True)
    store = be.store(req.account)
    if info is None or store is None:
        return error(404)
    meta = _meta_updates(req)
    check_merged_metadata(info.metadata, meta)
    system = _system_updates(be, req, req.swift_owner)
    system.update(await object_versioning.container_updates(be, req, info))
    system[MODIFIED] = f"{time.time():.5f}"
    try:
        await be.run(store.post_container, req.container, meta, system)
    except NotFound:
        return error(404)
    be.forget(req, req.account, req.container)
    return reply(204)


async def delete(be: Backend, req: SwiftRequest) -> Reply:
    assert req.account is not None and req.container is not None
    denied = await be.authorize(req)
    if denied:
        return denied
    store = be.store(req.account)
    if store is None:
        return error(404)
    info = await be.container_info(req, req.account, req.container, fresh=True)
    if info is not None:
        refused = await object_versioning.delete_container(be, req, info)
        if refused is not None:
            return refused
    try:
        await be.run(store.delete_container, req.container)
    except NotFound:
        return error(404)
    except ContainerNotEmpty:
        return error(409)
    be.forget(req, req.account, req.container)
    return reply(204)


VERBS: dict[str, Handler] = {
    "GET": get_or_head, "HEAD": get_or_head, "PUT": put, "POST": post, "DELETE": delete,
}
