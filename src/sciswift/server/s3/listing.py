"""ListBuckets, ListObjects (v1 and v2) and ListObjectVersions.

Object listings read the store's listing directly, once Swift's
authorization for a container GET (owner, or a read ACL with
``.rlistings``) allowed it: the store's entries carry each object's system
values, where a completed multipart upload keeps its S3 ETag (Swift's JSON
listing does not show it), and no JSON round trip is made. Paging follows
S3: ``max-keys`` counts keys and common prefixes together, and the next page
starts after the last of either (a common prefix is skipped whole).
ListObjectVersions goes through the Swift API's object versioning merge
(:func:`~sciswift.server.middleware.object_versioning.list_versions`) with
records made from the same store entries.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import Element, SubElement

from sciswift.server.http import Reply
from sciswift.server.middleware import object_versioning, symlink
from sciswift.server.objects import is_slo
from sciswift.server.s3.context import S3Context, error_for
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.names import S3_ETAG, quoted, s3_time, valid_bucket_name
from sciswift.server.s3.obj import xml_reply
from sciswift.server.s3.versions import DELETE_MARKER, check_version_id
from sciswift.server.s3.xml import xml_safe
from sciswift.server.slo import listing_extras
from sciswift.store.types import ListingParams, ObjectInfo, Subdir

__all__ = ["list_buckets", "list_objects", "list_object_versions", "list_entries", "s3_listing_etag",
           "listing_encoding_asked", "listing_encoder"]


def _is_version_link(info: ObjectInfo) -> bool:
    """A versioned object's name: a link to its current version (which the
    listing shows, as Swift's listing does)."""
    return info.system.get(object_versioning.VERSIONS_LINK) == "true" and bool(info.system.get(symlink.TARGET_ETAG))


def s3_listing_etag(info: ObjectInfo) -> str:
    """An object's S3 ETag in a listing (quoted)."""
    link = _is_version_link(info)
    if is_slo(info) or link:
        if info.system.get(S3_ETAG):  # a completed multipart upload (or the link to one)
            return quoted(info.system[S3_ETAG])
        slo = info.system.get(symlink.TARGET_SLO_ETAG) if link else listing_extras(info).get("slo_etag")
        if slo:
            return f'"{slo.strip(chr(34))}-N"'
    if link:
        return quoted(info.system[symlink.TARGET_ETAG])
    return quoted(info.etag)


def _size(info: ObjectInfo) -> int:
    if _is_version_link(info):
        try:
            return int(info.system.get(symlink.TARGET_BYTES, "0") or 0)
        except ValueError:
            return 0
    return int(listing_extras(info).get("bytes", info.size))


#: ListBuckets' largest page (S3's limit for ``max-buckets``).
MAX_BUCKETS = 10000


async def list_buckets(ctx: S3Context) -> Reply:
    """ListBuckets: the account's containers that are valid bucket names,
    with S3's parameters: ``prefix``; ``max-buckets`` (1 to 10000, else
    ``InvalidArgument``) paging with ``ContinuationToken`` and
    ``continuation-token`` (opaque to clients: the last name, base64);
    ``bucket-region`` (every bucket is in the server's region). Ignoring
    them answered every bucket to a client asking for some."""
    prefix = ctx.param("prefix") or ""
    raw_max = ctx.param("max-buckets")
    limit: int | None = None
    if raw_max is not None:
        try:
            limit = int(raw_max)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_BUCKETS:
            raise S3Error("InvalidArgument", f"max-buckets must be an integer between 1 and {MAX_BUCKETS}",
                          ArgumentName="max-buckets", ArgumentValue=raw_max)
    token = ctx.param("continuation-token")
    marker = ""
    if token:
        try:
            marker = base64.b64decode(token.encode("ascii"), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError):
            raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                          ArgumentName="continuation-token", ArgumentValue=token) from None
    region = ctx.param("bucket-region")
    # Each bucket's region is shown to the clients of the paged ListBuckets
    # (those sending any of its parameters), as S3 shows it; the classic
    # request keeps the classic document, which Swift's s3api functional
    # tests validate against a schema without BucketRegion.
    paged = any(ctx.param(p) is not None for p in ("max-buckets", "continuation-token", "bucket-region", "prefix"))
    chosen: list[dict[str, Any]] = []
    truncated = False
    while region is None or region == ctx.cfg.region:
        query = {"format": "json", "marker": marker}
        if prefix:
            query["prefix"] = prefix
        reply = await ctx.swift("GET", query=query)
        await ctx.check(reply, "GET", None, None)
        page = json.loads(await reply.read() or b"[]")
        if not page:
            break
        for c in page:
            marker = c["name"]
            if not valid_bucket_name(c["name"], ctx.cfg.dns_compliant_bucket_names):
                continue
            if limit is not None and len(chosen) == limit:
                truncated = True
                break
            chosen.append(c)
        if truncated:
            break
    doc = Element("ListAllMyBucketsResult")
    owner = SubElement(doc, "Owner")
    SubElement(owner, "ID").text = ctx.user_id
    SubElement(owner, "DisplayName").text = ctx.user_id
    buckets = SubElement(doc, "Buckets")
    for c in chosen:
        b = SubElement(buckets, "Bucket")
        SubElement(b, "Name").text = c["name"]
        try:
            created = datetime.fromisoformat(c["last_modified"]).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        except (KeyError, ValueError):
            created = "2009-02-03T16:45:09.000Z"
        SubElement(b, "CreationDate").text = created
        if paged:
            SubElement(b, "BucketRegion").text = ctx.cfg.region
    if truncated:
        SubElement(doc, "ContinuationToken").text = base64.b64encode(chosen[-1]["name"].encode("utf-8")).decode()
    if ctx.param("prefix") is not None:
        SubElement(doc, "Prefix").text = prefix
    return xml_reply(doc)


async def list_entries(
    ctx: S3Context, container: str, *, prefix: str, delimiter: str, marker: str, limit: int
) -> list[ObjectInfo | Subdir]:
    """Up to ``limit`` entries of ``container`` after ``marker``, as the caller
    may see them (Swift's read authorization for a listing)."""
    sub = ctx.sub("GET", container)
    denied = await ctx.be.authorize(sub, "read")
    if denied is not None:
        await denied.drain()
        raise await error_for(ctx, denied.status, "", "GET", container, None)
    if await ctx.be.container_info(sub, ctx.account, container) is None:
        raise S3Error("NoSuchBucket", BucketName=container)
    store = ctx.be.store(ctx.account)
    if store is None:
        raise S3Error("NoSuchBucket", BucketName=container)
    if delimiter and marker.startswith(prefix) and marker.endswith(delimiter) and marker != prefix:
        # the marker is a common prefix: continue after everything under it
        marker = marker + "\U0010ffff"
    params = ListingParams(prefix=prefix, delimiter=delimiter, marker=marker, limit=limit)
    return await ctx.be.run(store.list_objects, container, params)


def _max_keys(ctx: S3Context, name: str, ceiling: int) -> tuple[int, int]:
    """(what the reply shows as the maximum, how many to list)."""
    raw = ctx.param(name)
    if raw is None:
        return ceiling, ceiling
    try:
        asked = int(raw)
    except ValueError:
        asked = -1
    if asked < 0 or asked > 2 ** 31 - 1:
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer range",
                      ArgumentName=name, ArgumentValue=raw)
    return asked, min(asked, ceiling)


def listing_encoding_asked(ctx: S3Context) -> str | None:
    """The ``encoding-type`` asked for: None or ``url`` (another is
    ``InvalidArgument``)."""
    encoding = ctx.param("encoding-type")
    if encoding is not None and encoding != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=encoding)
    return encoding


def listing_encoder(asked: str | None, names: Iterable[str]) -> tuple[str | None, Callable[[str], str]]:
    """How a listing writes the ``names`` it shows: as they are, or
    URL-encoded when asked (``encoding-type=url``) or when one holds a
    character XML 1.0 cannot carry (U+0001 ...), which no well-formed
    document could show, raw or as a character reference (strict parsers
    refuse both). The document then says ``<EncodingType>url</EncodingType>``, as
    when asked, so a client that reads it (botocore) gets the exact names."""
    if asked is None and xml_safe("\n".join(names)):  # one check of all: 0.03 ms for 1000 keys
        return None, lambda s: s
    return "url", lambda s: quote(s, safe="/")


def _text(parent: Element, tag: str, value: str | int | None) -> None:
    SubElement(parent, tag).text = None if value is None else str(value)


def _add_entries(ctx: S3Context, doc: Element, entries: list[ObjectInfo | Subdir], enc: Callable[[str], str],
                 *, owner: bool) -> None:
    for e in entries:
        if isinstance(e, Subdir):
            cp = SubElement(doc, "CommonPrefixes")
            _text(cp, "Prefix", enc(e.name))
            continue
        item = SubElement(doc, "Contents")
        _text(item, "Key", enc(e.name))
        _text(item, "LastModified", s3_time(e.timestamp))
        _text(item, "ETag", s3_listing_etag(e))
        _text(item, "Size", _size(e))
        if owner:
            o = SubElement(item, "Owner")
            _text(o, "ID", ctx.user_id)
            _text(o, "DisplayName", ctx.user_id)
        _text(item, "StorageClass", "STANDARD")


async def list_objects(ctx: S3Context) -> Reply:
    """ListObjects (v1), ListObjectsV2 (``list-type=2``); ListObjectVersions
    (``?versions``) is :func:`list_object_versions`."""
    if "versions" in ctx.head.params:
        return await list_object_versions(ctx)
    asked = listing_encoding_asked(ctx)
    shown_max, max_keys = _max_keys(ctx, "max-keys", ctx.cfg.max_bucket_listing)
    prefix = ctx.param("prefix") or ""
    delimiter = ctx.param("delimiter") or ""
    v2 = ctx.param("list-type") == "2"
    if ctx.param("list-type") not in (None, "1", "2"):
        raise S3Error("InvalidArgument", "Invalid List Type specified in Request", ArgumentName="list-type",
                      ArgumentValue=ctx.param("list-type") or "")
    token = ctx.param("continuation-token")
    if v2:
        if token is not None:
            try:
                marker = base64.b64decode(token.encode("ascii"), validate=True).decode("utf-8")
            except (binascii.Error, ValueError, UnicodeError):
                raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                              ArgumentName="continuation-token", ArgumentValue=token) from None
        else:
            marker = ctx.param("start-after") or ""
    else:
        marker = ctx.param("marker") or ""
    entries = await list_entries(ctx, ctx.bucket, prefix=prefix, delimiter=delimiter, marker=marker,
                                 limit=max_keys + 1) if max_keys > 0 else []
    if max_keys == 0:
        # still refuse a missing bucket
        await list_entries(ctx, ctx.bucket, prefix=prefix, delimiter=delimiter, marker=marker, limit=1)
    truncated = len(entries) > max_keys
    entries = entries[:max_keys]
    last = entries[-1].name if entries else ""
    encoding, enc = listing_encoder(asked, [prefix, delimiter, marker, *(e.name for e in entries)])

    if v2:
        doc = Element("ListBucketResult")
        _text(doc, "Name", ctx.bucket)
        _text(doc, "Prefix", enc(prefix))
        _text(doc, "MaxKeys", shown_max)
        _text(doc, "KeyCount", len(entries))
        if token is not None:
            _text(doc, "ContinuationToken", token)
        if truncated:
            _text(doc, "NextContinuationToken", base64.b64encode(last.encode("utf-8")).decode("ascii"))
        if ctx.param("start-after") is not None:
            _text(doc, "StartAfter", enc(ctx.param("start-after") or ""))
        if delimiter:
            _text(doc, "Delimiter", enc(delimiter))
    else:
        doc = Element("ListBucketResult")
        _text(doc, "Name", ctx.bucket)
        _text(doc, "Prefix", enc(prefix))
        _text(doc, "Marker", enc(marker))
        if truncated and delimiter:
            _text(doc, "NextMarker", enc(last))
        _text(doc, "MaxKeys", shown_max)
        if delimiter:
            _text(doc, "Delimiter", enc(delimiter))
    if encoding:
        _text(doc, "EncodingType", encoding)
    _text(doc, "IsTruncated", "true" if truncated else "false")
    owner = not v2 or ctx.param("fetch-owner") == "true"
    _add_entries(ctx, doc, entries, enc, owner=owner)
    return xml_reply(doc)


# --------------------------------------------------------- ListObjectVersions
def _record(account: str, container: str) -> object_versioning.Record:
    """A versions-listing record as the S3 listing needs it: the S3 ETag and
    size, and the time as a number; links to versions marked as Swift's
    listing marks them (the merge tells current versions by them)."""

    def record(info: ObjectInfo) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "name": info.name, "content_type": info.content_type, "bytes": _size(info),
            "hash": s3_listing_etag(info), "last_modified": info.timestamp,
        }
        rec.update(symlink.listing_extras(info, account))
        object_versioning.rewrite_record(rec, info, account, container, "v1")
        return rec

    return record


async def list_object_versions(ctx: S3Context) -> Reply:
    """ListObjectVersions (``GET /<bucket>?versions``): the Swift API's
    versions listing (object_versioning's merge of the bucket's objects and
    their versions; without versioning every object is its one ``null``
    version), as S3 shows it."""
    asked = listing_encoding_asked(ctx)
    shown_max, max_keys = _max_keys(ctx, "max-keys", ctx.cfg.max_bucket_listing)
    prefix = ctx.param("prefix") or ""
    delimiter = ctx.param("delimiter") or ""
    key_marker = ctx.param("key-marker")
    version_marker = ctx.param("version-id-marker")
    if version_marker is not None:
        if key_marker is None:
            raise S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.",
                          ArgumentName="version-id-marker", ArgumentValue=version_marker)
        check_version_id(version_marker, "version-id-marker")
    query = {"format": "json", "versions": ""}
    marker = key_marker or ""
    if marker and delimiter and marker.startswith(prefix) and marker.endswith(delimiter) and marker != prefix:
        # the marker is a common prefix: continue after everything under it
        query["marker"] = marker + "\U0010ffff"
    elif marker:
        query["marker"] = marker
        if version_marker:
            query["version_marker"] = version_marker
    sub = ctx.sub("GET", ctx.bucket, query=query)
    denied = await ctx.be.authorize(sub, "read")
    if denied is not None:
        await denied.drain()
        raise await error_for(ctx, denied.status, "", "GET", ctx.bucket, None)
    cinfo = await ctx.be.container_info(sub, ctx.account, ctx.bucket)
    store = ctx.be.store(ctx.account)
    if cinfo is None or store is None:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket)
    items: list[dict[str, Any]] = []
    if max_keys > 0:
        params = ListingParams(prefix=prefix, delimiter=delimiter, marker=query.get("marker", ""),
                               limit=max_keys + 1)
        entries = await ctx.be.run(store.list_objects, ctx.bucket, params)
        listed = await object_versioning.list_versions(ctx.be, sub, cinfo, params, entries,
                                                       _record(ctx.account, ctx.bucket))
        items = json.loads(await listed.read() or b"[]")
    truncated = len(items) > max_keys
    items = items[:max_keys]
    encoding, enc = listing_encoder(asked, [prefix, delimiter, marker,
                                     *(str(i.get("subdir") or i.get("name", "")) for i in items)])

    doc = Element("ListVersionsResult")
    _text(doc, "Name", ctx.bucket)
    _text(doc, "Prefix", enc(prefix))
    _text(doc, "KeyMarker", enc(marker))
    _text(doc, "VersionIdMarker", version_marker or "")
    if truncated:
        last = items[-1]
        _text(doc, "NextKeyMarker", enc(last.get("subdir") or last.get("name", "")))
        _text(doc, "NextVersionIdMarker", last.get("version_id") or "null")
    _text(doc, "MaxKeys", shown_max)
    _text(doc, "Delimiter", enc(delimiter))
    if encoding:
        _text(doc, "EncodingType", encoding)
    _text(doc, "IsTruncated", "true" if truncated else "false")
    for item in items:
        if "subdir" in item:
            _text(SubElement(doc, "CommonPrefixes"), "Prefix", enc(item["subdir"]))
            continue
        is_marker = item.get("content_type") == DELETE_MARKER
        entry = SubElement(doc, "DeleteMarker" if is_marker else "Version")
        _text(entry, "Key", enc(item["name"]))
        _text(entry, "VersionId", item.get("version_id") or "null")
        _text(entry, "IsLatest", "true" if item.get("is_latest") else "false")
        _text(entry, "LastModified", s3_time(float(item.get("last_modified") or 0.0)))
        if not is_marker:
            _text(entry, "ETag", quoted(str(item.get("hash", ""))))
            _text(entry, "Size", int(item.get("bytes", 0)))
        owner = SubElement(entry, "Owner")
        _text(owner, "ID", ctx.user_id)
        _text(owner, "DisplayName", ctx.user_id)
        if not is_marker:
            _text(entry, "StorageClass", "STANDARD")
    return xml_reply(doc)
