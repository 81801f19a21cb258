"""ListBuckets, ListObjects (v1 and v2) and ListObjectVersions.

Object listings read the store's listing directly, once Swift's
authorization for a container GET (owner, or a read ACL with
``.rlistings``) allowed it: the store's entries carry each object's system
values, where a completed multipart upload keeps its S3 ETag (Swift's JSON
listing does not show it), and no JSON round trip is made. Paging follows
S3: ``max-keys`` counts keys and common prefixes together, and the next page
starts after the last of either (a common prefix is skipped whole).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote
from xml.etree.ElementTree import Element, SubElement

from sciswift.server.http import Reply
from sciswift.server.objects import is_slo
from sciswift.server.s3.context import S3Context, error_for
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.names import S3_ETAG, quoted, s3_time, valid_bucket_name
from sciswift.server.s3.obj import xml_reply
from sciswift.server.slo import listing_extras
from sciswift.store.types import ListingParams, ObjectInfo, Subdir

__all__ = ["list_buckets", "list_objects", "list_entries", "s3_listing_etag"]


def s3_listing_etag(info: ObjectInfo) -> str:
    """An object's S3 ETag in a listing (quoted)."""
    if is_slo(info):
        if info.system.get(S3_ETAG):
            return quoted(info.system[S3_ETAG])
        slo = listing_extras(info).get("slo_etag")
        if slo:
            return f'"{slo.strip(chr(34))}-N"'
    return quoted(info.etag)


def _size(info: ObjectInfo) -> int:
    return int(listing_extras(info).get("bytes", info.size))


async def list_buckets(ctx: S3Context) -> Reply:
    """ListBuckets: the account's containers that are valid bucket names."""
    reply = await ctx.swift("GET", query={"format": "json"})
    await ctx.check(reply, "GET", None, None)
    containers = json.loads(await reply.read() or b"[]")
    doc = Element("ListAllMyBucketsResult")
    owner = SubElement(doc, "Owner")
    SubElement(owner, "ID").text = ctx.user_id
    SubElement(owner, "DisplayName").text = ctx.user_id
    buckets = SubElement(doc, "Buckets")
    for c in containers:
        if not valid_bucket_name(c["name"], ctx.cfg.dns_compliant_bucket_names):
            continue
        b = SubElement(buckets, "Bucket")
        SubElement(b, "Name").text = c["name"]
        try:
            created = datetime.fromisoformat(c["last_modified"]).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        except (KeyError, ValueError):
            created = "2009-02-03T16:45:09.000Z"
        SubElement(b, "CreationDate").text = created
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


def _encoder(ctx: S3Context) -> tuple[str | None, Callable[[str], str]]:
    encoding = ctx.param("encoding-type")
    if encoding is None:
        return None, lambda s: s
    if encoding != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=encoding)
    return encoding, lambda s: quote(s, safe="/")


def _text(parent: Element, tag: str, value: str | int | None) -> None:
    SubElement(parent, tag).text = None if value is None else str(value)


def _add_entries(ctx: S3Context, doc: Element, entries: list[ObjectInfo | Subdir], enc: Callable[[str], str],
                 *, owner: bool, versions: bool) -> None:
    for e in entries:
        if isinstance(e, Subdir):
            cp = SubElement(doc, "CommonPrefixes")
            _text(cp, "Prefix", enc(e.name))
            continue
        item = SubElement(doc, "Version" if versions else "Contents")
        _text(item, "Key", enc(e.name))
        if versions:
            _text(item, "VersionId", "null")
            _text(item, "IsLatest", "true")
        _text(item, "LastModified", s3_time(e.timestamp))
        _text(item, "ETag", s3_listing_etag(e))
        _text(item, "Size", _size(e))
        if owner:
            o = SubElement(item, "Owner")
            _text(o, "ID", ctx.user_id)
            _text(o, "DisplayName", ctx.user_id)
        _text(item, "StorageClass", "STANDARD")


async def list_objects(ctx: S3Context) -> Reply:
    """ListObjects (v1), ListObjectsV2 (``list-type=2``), ListObjectVersions
    (``?versions``; without versioning every object is its one ``null`` version)."""
    encoding, enc = _encoder(ctx)
    shown_max, max_keys = _max_keys(ctx, "max-keys", ctx.cfg.max_bucket_listing)
    prefix = ctx.param("prefix") or ""
    delimiter = ctx.param("delimiter") or ""
    versions = "versions" in ctx.head.params
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
    elif versions:
        marker = ctx.param("key-marker") or ""
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

    if versions:
        doc = Element("ListVersionsResult")
        _text(doc, "Name", ctx.bucket)
        _text(doc, "Prefix", enc(prefix))
        _text(doc, "KeyMarker", enc(marker))
        _text(doc, "VersionIdMarker", ctx.param("version-id-marker") or "")
        if truncated:
            _text(doc, "NextKeyMarker", enc(last))
            _text(doc, "NextVersionIdMarker", "null")
        _text(doc, "MaxKeys", shown_max)
        _text(doc, "Delimiter", enc(delimiter))
    elif v2:
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
    _add_entries(ctx, doc, entries, enc, owner=owner, versions=versions)
    return xml_reply(doc)
