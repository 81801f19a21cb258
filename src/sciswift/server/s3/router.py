"""Which operation an S3 request is: by level (service, bucket, object),
method and subresource, as S3 defines them.

Every subresource S3 defines is routed: to its operation where this server
has one, to S3's answer for a bucket without that configuration where Swift
has no such thing (:func:`bucket.absent_configuration`), and otherwise to
``NotImplemented`` naming the operation. None falls through to a listing or
an object read: a client asking for, say, ``?policyStatus`` must not get a
ListBucketResult it would parse as an empty answer, nor a PUT of
``?annotation`` replace the object. A parameter without a value that the
router does not know is taken for a subresource too (S3 names them so, and
keeps adding them). Parameters with values that are not subresources (SDKs
add some, such as ``x-id``) are ignored, as S3 does.
Before any operation, request headers asking for features the server cannot
honour are refused (:func:`headers.unsupported_feature`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sciswift.server.http import Reply
from sciswift.server.s3 import attributes, bucket, listing, multidelete, multipart, obj
from sciswift.server.s3.context import S3Context
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.headers import unsupported_feature
from sciswift.server.s3.names import valid_bucket_name

__all__ = ["route", "CONFIGS", "UNSUPPORTED", "KNOWN"]

Op = Callable[[S3Context], Awaitable[Reply]]

#: Bucket configurations Swift has no counterpart of, and the suffix of their
#: operations' names (``Get``/``Put``/``Delete`` + it).
CONFIGS: dict[str, str] = {
    "lifecycle": "BucketLifecycleConfiguration", "tagging": "BucketTagging", "cors": "BucketCors",
    "policy": "BucketPolicy", "policyStatus": "BucketPolicyStatus", "website": "BucketWebsite",
    "object-lock": "ObjectLockConfiguration", "logging": "BucketLogging",
    "notification": "BucketNotificationConfiguration", "requestPayment": "BucketRequestPayment",
}
#: Subresources of operations this server does not implement, with the
#: suffix of those operations' names.
UNSUPPORTED: dict[str, str] = {
    "replication": "BucketReplication", "encryption": "BucketEncryption",
    "accelerate": "BucketAccelerateConfiguration", "analytics": "BucketAnalyticsConfiguration",
    "inventory": "BucketInventoryConfiguration", "metrics": "BucketMetricsConfiguration",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration", "ownershipControls": "BucketOwnershipControls",
    "publicAccessBlock": "PublicAccessBlock", "metadataTable": "BucketMetadataTableConfiguration",
    "metadataConfiguration": "BucketMetadataConfiguration", "legal-hold": "ObjectLegalHold",
    "retention": "ObjectRetention", "abac": "BucketAbac", "default-storage-class": "BucketDefaultStorageClass",
    "annotation": "ObjectAnnotation",
}
#: Subresources of one method only, and that operation's full name.
_UNSUPPORTED_ONE_METHOD: dict[str, tuple[str, str]] = {
    "attributes": ("GET", "GetObjectAttributes"), "restore": ("POST", "RestoreObject"),
    "select": ("POST", "SelectObjectContent"), "torrent": ("GET", "GetObjectTorrent"),
    "session": ("GET", "CreateSession"), "renameObject": ("PUT", "RenameObject"), "part": ("GET", "GetPart"),
    "metadataAnnotationTable": ("PUT", "UpdateBucketMetadataAnnotationTableConfiguration"),
    "metadataInventoryTable": ("PUT", "UpdateBucketMetadataInventoryTableConfiguration"),
    "metadataJournalTable": ("PUT", "UpdateBucketMetadataJournalTableConfiguration"),
}
#: Subresources this server serves.
_SERVED = frozenset({"acl", "uploads", "delete", "versioning", "location", "versions", "tagging"})
#: Every subresource name the router knows.
KNOWN = _SERVED | frozenset(CONFIGS) | frozenset(UNSUPPORTED) | frozenset(_UNSUPPORTED_ONE_METHOD)
#: Configurations kept by id (or name), whose GET without it is the List operation.
_LISTED = {"analytics": "id", "inventory": "id", "metrics": "id", "intelligent-tiering": "id",
           "annotation": "annotationName"}
_VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}


def _unsupported(ctx: S3Context) -> Op | None:
    """The refusal of a subresource this server does not implement (either
    level: S3 answers ``NotImplemented``, not a listing or a read, whatever
    the level a client got wrong), or None."""
    params, method = ctx.head.params, ctx.head.method
    if ctx.head.key is not None and method == "PUT" and "encryption" in params:
        return _not_implemented("UpdateObjectEncryption")
    for name, suffix in UNSUPPORTED.items():
        if name in params:
            if method == "GET" and name in _LISTED and _LISTED[name] not in params:
                return _not_implemented(f"List{suffix}s")  # without an id, GET lists them
            return _not_implemented(_VERBS.get(method, method) + suffix)
    for name, (only, operation) in _UNSUPPORTED_ONE_METHOD.items():
        if name in params:
            return _not_implemented(operation) if method == only else _not_allowed
    unknown = sorted(ctx.head.bare_params - KNOWN)
    if unknown:
        # A parameter without a value is how S3 names a subresource: one this
        # router does not know is an operation it does not implement (S3 keeps
        # adding them), never the object write or read it would fall to: a PUT
        # of ?annotation used to replace the object with the annotation.
        return _not_implemented(f"The subresource ?{unknown[0]}")
    return None


def _bucket_op(ctx: S3Context) -> Op:
    params, method = ctx.head.params, ctx.head.method
    refusal = _unsupported(ctx)
    if refusal is not None:
        return refusal
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
    for name, suffix in CONFIGS.items():
        if name in params:
            if method not in ("GET", "PUT", "DELETE"):
                return _not_allowed
            return lambda c, n=name, s=suffix: bucket.absent_configuration(  # type: ignore[misc]
                c, n, _VERBS[c.head.method] + s)
    return {
        "GET": listing.list_objects, "HEAD": bucket.head, "PUT": bucket.create, "DELETE": bucket.delete,
        # POST Object, the browser-form upload, is the only POST on a bucket itself
        "POST": _not_implemented("PostObject"),
    }.get(method, _not_allowed)


def _object_op(ctx: S3Context) -> Op:
    params, method = ctx.head.params, ctx.head.method
    if "attributes" in params and method == "GET":
        return attributes.get_object_attributes
    refusal = _unsupported(ctx)  # first: GetPart carries an uploadId too
    if refusal is not None:
        return refusal
    if "uploads" in params:
        return multipart.initiate if method == "POST" else _not_allowed
    if "uploadId" in params:
        return {"PUT": multipart.upload_part, "GET": multipart.list_parts, "POST": multipart.complete,
                "DELETE": multipart.abort}.get(method, _not_allowed)
    if "acl" in params:
        return {"GET": bucket.get_acl, "PUT": bucket.put_acl}.get(method, _not_allowed)
    if "tagging" in params:
        return {"GET": obj.tagging, "DELETE": obj.tagging, "PUT": _not_implemented("PutObjectTagging")}.get(
            method, _not_allowed)
    return {
        "GET": obj.get_or_head, "HEAD": obj.get_or_head, "PUT": obj.put, "DELETE": obj.delete,
        "POST": _not_implemented("POST on an object without a subresource"),
    }.get(method, _not_allowed)


async def _not_allowed(ctx: S3Context) -> Reply:
    await ctx.body.drain()
    raise S3Error("MethodNotAllowed", Method=ctx.head.method,
                  ResourceType="OBJECT" if ctx.head.key else "BUCKET" if ctx.head.bucket else "SERVICE")


def _not_implemented(operation: str) -> Op:
    """An operation answering ``NotImplemented`` that names ``operation``
    (S3's own name for it, which is what a client's error shows)."""
    async def refuse(ctx: S3Context) -> Reply:
        await ctx.body.drain()
        raise S3Error("NotImplemented", Operation=operation)
    return refuse


def _refuse(error: S3Error) -> Op:
    async def refuse(ctx: S3Context) -> Reply:
        await ctx.body.drain()
        raise error
    return refuse


async def _invalid_bucket(ctx: S3Context) -> Reply:
    await ctx.body.drain()
    raise S3Error("InvalidBucketName", BucketName=ctx.bucket)


def route(ctx: S3Context) -> Op:
    """The operation that serves ``ctx``'s request."""
    refused = unsupported_feature(ctx.head.headers)
    if refused is not None:
        return _refuse(refused)
    if ctx.head.bucket is None:
        return listing.list_buckets if ctx.head.method == "GET" else _not_allowed
    if not valid_bucket_name(ctx.head.bucket, ctx.cfg.dns_compliant_bucket_names):
        return _invalid_bucket
    if ctx.head.key is None:
        return _bucket_op(ctx)
    return _object_op(ctx)
