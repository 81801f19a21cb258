"""Which operation an S3 request is: by level (service, bucket, object),
method and subresource, as S3 defines them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sciswift.server.http import Reply
from sciswift.server.s3 import bucket, listing, multidelete, multipart, obj
from sciswift.server.s3.context import S3Context
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.names import valid_bucket_name

__all__ = ["route"]

Op = Callable[[S3Context], Awaitable[Reply]]

_CONFIGS = ("lifecycle", "tagging", "cors", "policy", "website", "object-lock", "logging", "notification",
            "requestPayment")
_UNSUPPORTED = ("replication", "encryption", "accelerate", "analytics", "inventory", "metrics",
                "intelligent-tiering", "ownershipControls", "publicAccessBlock", "restore", "select",
                "torrent", "legal-hold", "retention", "attributes")


def _bucket_op(ctx: S3Context) -> Op:
    params, method = ctx.head.params, ctx.head.method
    if "acl" in params:
        return {"GET": bucket.get_acl, "PUT": bucket.put_acl}.get(method, _not_allowed)
    if "uploads" in params:
        return multipart.list_uploads if method == "GET" else _not_allowed
    if "delete" in params:
        return multidelete.delete_objects if method == "POST" else _not_allowed
    if "versioning" in params:
        return {"GET": bucket.get_versioning, "PUT": bucket.put_versioning}.get(method, _not_allowed)
    if "location" in params:
        return bucket.location if method == "GET" else _not_allowed
    for name in _CONFIGS:
        if name in params:
            return lambda c, n=name: bucket.absent_configuration(c, n)  # type: ignore[misc]
    for name in _UNSUPPORTED:
        if name in params:
            return _not_implemented
    return {
        "GET": listing.list_objects, "HEAD": bucket.head, "PUT": bucket.create, "DELETE": bucket.delete,
        "POST": _not_implemented,
    }.get(method, _not_allowed)


def _object_op(ctx: S3Context) -> Op:
    params, method = ctx.head.params, ctx.head.method
    if "uploads" in params:
        return multipart.initiate if method == "POST" else _not_allowed
    if "uploadId" in params:
        return {"PUT": multipart.upload_part, "GET": multipart.list_parts, "POST": multipart.complete,
                "DELETE": multipart.abort}.get(method, _not_allowed)
    if "acl" in params:
        return {"GET": bucket.get_acl, "PUT": bucket.put_acl}.get(method, _not_allowed)
    for name in ("tagging",) + _UNSUPPORTED:
        if name in params:
            return _not_implemented
    return {
        "GET": obj.get_or_head, "HEAD": obj.get_or_head, "PUT": obj.put, "DELETE": obj.delete,
        "POST": _not_implemented,
    }.get(method, _not_allowed)


async def _not_allowed(ctx: S3Context) -> Reply:
    await ctx.body.drain()
    raise S3Error("MethodNotAllowed", Method=ctx.head.method,
                  ResourceType="OBJECT" if ctx.head.key else "BUCKET" if ctx.head.bucket else "SERVICE")


async def _not_implemented(ctx: S3Context) -> Reply:
    await ctx.body.drain()
    raise S3Error("NotImplemented")


async def _invalid_bucket(ctx: S3Context) -> Reply:
    await ctx.body.drain()
    raise S3Error("InvalidBucketName", BucketName=ctx.bucket)


def route(ctx: S3Context) -> Op:
    """The operation that serves ``ctx``'s request."""
    if ctx.head.bucket is None:
        return listing.list_buckets if ctx.head.method == "GET" else _not_allowed
    if not valid_bucket_name(ctx.head.bucket, ctx.cfg.dns_compliant_bucket_names):
        return _invalid_bucket
    if ctx.head.key is None:
        return _bucket_op(ctx)
    return _object_op(ctx)
