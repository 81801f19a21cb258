"""Account requests: GET (container listing), HEAD, POST; PUT and DELETE are
refused (405) since accounts are created on first write and never removed
through the API (``allow_account_management = false``).

Account ACLs (``X-Account-Access-Control``) are validated as TempAuth does and
kept as ``x-account-sysmeta-core-access-control``; only owners see them, and
only owners see ``X-Account-Meta-Temp-Url-Key(-2)``.
"""

from __future__ import annotations

import time

from multidict import CIMultiDict

from sciswift.server import etag_quoter, quotas
from sciswift.server.acl import format_account_acl, validate_account_acl
from sciswift.server.backend import ACCOUNT_ACL_KEY, Backend
from sciswift.server.handlers import Handler
from sciswift.server.handlers.container import modified_time
from sciswift.server.http import Reply, SwiftError, SwiftRequest, reply
from sciswift.server.listing import CONTENT_TYPES, parse_listing, render_containers
from sciswift.server.metadata import (
    check_merged_metadata,
    check_metadata,
    check_utf8_values,
    meta_headers,
    metadata_updates,
)
from sciswift.server.policies import default_policy
from sciswift.server.times import x_timestamp
from sciswift.store.base import Store
from sciswift.store.names import ACCOUNT_LISTING_LIMIT
from sciswift.store.types import AccountInfo, ContainerInfo, ListingParams

__all__ = ["VERBS", "OWNER_ONLY_META"]

#: Account metadata only owners see.
OWNER_ONLY_META = ("temp-url-key", "temp-url-key-2")


def _title(name: str) -> str:
    return "-".join(p.capitalize() for p in name.split("-"))


def policy_totals(store: Store, default: str) -> dict[str, list[int]]:
    """``{policy: [containers, objects, bytes]}`` over the account's containers
    (read from every container: only asked for when several policies exist)."""
    totals: dict[str, list[int]] = {}
    marker = ""
    while True:
        page = store.list_containers(ListingParams(marker=marker, limit=ACCOUNT_LISTING_LIMIT))
        for c in page:
            if isinstance(c, ContainerInfo):
                t = totals.setdefault(c.system.get("x-storage-policy") or default, [0, 0, 0])
                t[0] += 1
                t[1] += c.object_count
                t[2] += c.bytes_used
        if len(page) < ACCOUNT_LISTING_LIMIT:
            return totals
        marker = page[-1].name


def account_headers(info: AccountInfo, owner: bool, per_policy: dict[str, list[int]]) -> CIMultiDict[str]:
    h: CIMultiDict[str] = CIMultiDict()
    h["X-Account-Container-Count"] = str(info.container_count)
    h["X-Account-Object-Count"] = str(info.object_count)
    h["X-Account-Bytes-Used"] = str(info.bytes_used)
    h["X-Timestamp"] = x_timestamp(info.timestamp)
    h["X-Put-Timestamp"] = x_timestamp(info.timestamp)
    for policy, (containers, objects, used) in per_policy.items():
        if containers:
            prefix = f"X-Account-Storage-Policy-{policy}-"
            h[prefix + "Container-Count"] = str(containers)
            h[prefix + "Object-Count"] = str(objects)
            h[prefix + "Bytes-Used"] = str(used)
    meta = {k: v for k, v in info.metadata.items() if owner or k not in OWNER_ONLY_META}
    for k, v in meta_headers(meta, "account"):
        h[k] = v
    for k, v in info.system.items():
        if k.startswith(quotas.ACCOUNT_QUOTA_PREFIX) and v:
            h[_title(k)] = v
    quoting = etag_quoter.header_for(info.system, "account")
    if quoting:
        h[quoting[0]] = quoting[1]
    if owner:
        acl = format_account_acl(info.system.get(ACCOUNT_ACL_KEY))
        if acl:
            h["X-Account-Access-Control"] = acl
    return h


async def get_or_head(be: Backend, req: SwiftRequest) -> Reply:
    assert req.account is not None
    denied = await be.authorize(req)
    if denied:
        return denied
    listing = parse_listing(req, ACCOUNT_LISTING_LIMIT)
    info = await be.account_info(req, req.account, fresh=True)
    if info is None:
        info = AccountInfo(timestamp=time.time())  # never written: an empty account
    store = be.store(req.account)
    default = default_policy(be.config.policies).name
    if len(be.config.policies) > 1 and store is not None:
        per_policy = await be.run(policy_totals, store, default)
    else:
        per_policy = {default: [info.container_count, info.object_count, info.bytes_used]}
    headers = account_headers(info, req.swift_owner, per_policy)
    headers["Content-Type"] = CONTENT_TYPES[listing.fmt]
    if req.method == "HEAD":
        headers["Vary"] = "Accept"
        return Reply(204, headers, None, content_length=0)
    entries = await be.run(store.list_containers, listing.params) if store is not None else []
    if not entries and listing.fmt == "text":
        return Reply(204, headers, None, content_length=0)

    def policy_of(c: ContainerInfo) -> str:
        return c.system.get("x-storage-policy") or default

    body = render_containers(entries, listing.fmt, req.account, modified_time, policy_of)
    return Reply(200, headers, body)


async def post(be: Backend, req: SwiftRequest) -> Reply:
    assert req.account is not None
    denied = await be.authorize(req)
    if denied:
        return denied
    system: dict[str, str] = {}
    acl = req.headers.get("X-Account-Access-Control")
    if acl is not None:
        problem = validate_account_acl(acl)
        if problem:
            raise SwiftError(
                400, f"X-Account-Access-Control invalid: {problem}\n\nInput: {acl}\n",
                content_type="text/plain; charset=UTF-8",
            )
        if req.swift_owner:
            system[ACCOUNT_ACL_KEY] = acl
    system.update(quotas.account_quota_updates(req))
    system.update(etag_quoter.updates(req, "account"))
    check_metadata(req.headers, "account")
    meta = metadata_updates(req.headers, "account")
    if not req.swift_owner:
        for key in OWNER_ONLY_META:
            meta.pop(key, None)
    check_utf8_values(system)
    current = await be.account_info(req, req.account, fresh=True)
    check_merged_metadata(current.metadata if current else {}, meta)
    store = be.store(req.account, create=True)
    assert store is not None
    await be.run(store.post_account, meta, system)
    be.forget(req, req.account)
    return reply(204)


VERBS: dict[str, Handler] = {"GET": get_or_head, "HEAD": get_or_head, "POST": post}
