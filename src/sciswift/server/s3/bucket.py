"""Bucket operations: CreateBucket, HeadBucket, DeleteBucket, the ACL
subresource (canned ACLs as Swift container ACLs), location, versioning, and
the configurations S3 has and Swift does not (answered as S3 answers a
bucket without them).

Canned ACLs are Swift's s3api mapping: ``public-read`` is ``X-Container-Read:
.r:*,.rlistings`` (anyone reads and lists), ``public-read-write`` adds
``X-Container-Write: .r:*``, ``private`` (and the ``bucket-owner-*`` ones)
removes both. Swift ACLs set through the Swift API show up in GetBucketAcl
the same way.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement

from sciswift.server import http
from sciswift.server.acl import parse_acl, referrer_allowed
from sciswift.server.http import Reply
from sciswift.server.s3.context import S3Context
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.listing import list_entries
from sciswift.server.s3.names import segments_container, valid_bucket_name
from sciswift.server.s3.obj import xml_reply
from sciswift.server.s3.versions import bucket_state, has_versions
from sciswift.server.s3.xml import XML_TYPE, XMLError, child_text, parse

__all__ = [
    "create", "head", "delete", "get_acl", "put_acl", "location", "get_versioning", "put_versioning",
    "absent_configuration", "canned_acl_headers", "MAX_CONFIG_BODY",
]

MAX_CONFIG_BODY = 64 * 1024
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"

_CANNED = {
    "private": {"X-Container-Read": "", "X-Container-Write": ""},
    "bucket-owner-full-control": {"X-Container-Read": "", "X-Container-Write": ""},
    "bucket-owner-read": {"X-Container-Read": "", "X-Container-Write": ""},
    "public-read": {"X-Container-Read": ".r:*,.rlistings", "X-Container-Write": ""},
    "public-read-write": {"X-Container-Read": ".r:*,.rlistings", "X-Container-Write": ".r:*"},
}


def canned_acl_headers(acl: str) -> dict[str, str]:
    """The Swift container ACL headers of an S3 canned ACL."""
    if acl in ("authenticated-read", "log-delivery-write", "aws-exec-read"):
        raise S3Error("NotImplemented", f"The canned ACL {acl} has no Swift equivalent.")
    if acl not in _CANNED:
        raise S3Error("InvalidArgument", ArgumentName="x-amz-acl", ArgumentValue=acl)
    return dict(_CANNED[acl])


async def read_small_body(ctx: S3Context, limit: int) -> bytes:
    """A configuration document (verified like any payload), at most ``limit`` bytes."""
    length = ctx.body.length
    if length is not None and length > limit:
        await ctx.body.drain()
        raise S3Error("MalformedXML")
    data = await ctx.body.read()
    if len(data) > limit:
        raise S3Error("MalformedXML")
    return data


def check_bucket_name(ctx: S3Context) -> None:
    if not valid_bucket_name(ctx.bucket, ctx.cfg.dns_compliant_bucket_names):
        raise S3Error("InvalidBucketName", BucketName=ctx.bucket)


async def create(ctx: S3Context) -> Reply:
    """CreateBucket (a container PUT; an existing one is BucketAlreadyOwnedByYou)."""
    check_bucket_name(ctx)
    body = await read_small_body(ctx, MAX_CONFIG_BODY)
    if body.strip():
        try:
            doc = parse(body, "CreateBucketConfiguration")
        except XMLError:
            raise S3Error("MalformedXML") from None
        location = child_text(doc, "LocationConstraint")
        # Ours, or the region the client signed for: a client configured for
        # another region (accepted, see auth.py) names it here (``aws s3 mb``
        # with AWS_DEFAULT_REGION=eu-west-1), as S3 wants the region of the
        # endpoint the client believes it talks to. The bucket stays in our
        # one location, which GetBucketLocation and HeadBucket report.
        if location not in (ctx.cfg.region, ctx.cfg.region.lower(), ctx.auth.region):
            raise S3Error("InvalidLocationConstraint", LocationConstraint=location or "")
    headers = canned_acl_headers(ctx.head.headers["x-amz-acl"]) if "x-amz-acl" in ctx.head.headers else {}
    headers = {k: v for k, v in headers.items() if v}
    reply = await ctx.swift("PUT", ctx.bucket, headers=headers)
    await reply.drain()
    if reply.status == 202:
        raise S3Error("BucketAlreadyOwnedByYou", BucketName=ctx.bucket)
    await ctx.check(reply, "PUT", ctx.bucket, None)
    return http.reply(200, {"Location": "/" + ctx.bucket})


async def existing(ctx: S3Context) -> Reply:
    """The Swift HEAD of the bucket (NoSuchBucket, AccessDenied ...)."""
    reply = await ctx.swift("HEAD", ctx.bucket)
    await reply.drain()
    return await ctx.check(reply, "HEAD", ctx.bucket, None)


async def head(ctx: S3Context) -> Reply:
    """HeadBucket, with S3's ``x-amz-bucket-region`` (SDKs find a bucket's
    region there: boto3's ``BucketRegion``, object_store, the Java SDK's
    cross-region client)."""
    check_bucket_name(ctx)
    await existing(ctx)
    return http.reply(200, {"Content-Type": XML_TYPE, "x-amz-bucket-region": ctx.cfg.region})


async def delete(ctx: S3Context) -> Reply:
    """DeleteBucket: refused while it holds objects or versions of objects
    (delete markers too); in-progress multipart uploads are aborted (their
    parts deleted) with it, as s3api does."""
    check_bucket_name(ctx)
    reply = await ctx.swift("HEAD", ctx.bucket)
    await reply.drain()
    await ctx.check(reply, "HEAD", ctx.bucket, None)
    if int(reply.headers.get("X-Container-Object-Count", "0") or 0) > 0:
        raise S3Error("BucketNotEmpty", BucketName=ctx.bucket)
    if (await bucket_state(ctx, ctx.bucket))[0] and await has_versions(ctx, ctx.bucket):
        # checked before the parts go: versions of multipart objects use them
        raise S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty. You must delete all "
                      "versions in the bucket.", BucketName=ctx.bucket)
    segments = segments_container(ctx.bucket)
    if await ctx.be.container_info(ctx.base, ctx.account, segments) is not None:
        while True:
            entries = await list_entries(ctx, segments, prefix="", delimiter="", marker="", limit=1000)
            if not entries:
                break
            for e in entries:
                gone = await ctx.swift("DELETE", segments, e.name)
                await gone.drain()
        gone = await ctx.swift("DELETE", segments)
        await gone.drain()
    reply = await ctx.swift("DELETE", ctx.bucket)
    await ctx.check(reply, "DELETE", ctx.bucket, None)
    await reply.drain()
    return Reply(204)


# ------------------------------------------------------------------- ACLs
def _grant(acl: Element, permission: str, user: str | None) -> None:
    grant = SubElement(acl, "Grant")
    grantee = SubElement(grant, "Grantee")
    grantee.set("xmlns:xsi", _XSI)
    if user is None:
        grantee.set("xsi:type", "Group")
        SubElement(grantee, "URI").text = _ALL_USERS
    else:
        grantee.set("xsi:type", "CanonicalUser")
        SubElement(grantee, "ID").text = user
        SubElement(grantee, "DisplayName").text = user
    SubElement(grant, "Permission").text = permission


def _policy(ctx: S3Context, read_acl: str | None, write_acl: str | None) -> Reply:
    doc = Element("AccessControlPolicy")
    owner = SubElement(doc, "Owner")
    SubElement(owner, "ID").text = ctx.user_id
    SubElement(owner, "DisplayName").text = ctx.user_id
    acl = SubElement(doc, "AccessControlList")
    _grant(acl, "FULL_CONTROL", ctx.user_id)
    if referrer_allowed("unknown", parse_acl(read_acl)[0]):
        _grant(acl, "READ", None)
    if referrer_allowed("unknown", parse_acl(write_acl)[0]):
        _grant(acl, "WRITE", None)
    return xml_reply(doc)


async def get_acl(ctx: S3Context) -> Reply:
    """GetBucketAcl / GetObjectAcl, from the container's Swift ACLs."""
    if ctx.head.key is None:
        check_bucket_name(ctx)
        reply = await existing(ctx)
        return _policy(ctx, reply.headers.get("X-Container-Read"), reply.headers.get("X-Container-Write"))
    reply = await ctx.swift("HEAD", ctx.bucket, ctx.key)
    await reply.drain()
    await ctx.check(reply, "HEAD", ctx.bucket, ctx.key)
    return _policy(ctx, None, None)


def _acl_from_xml(body: bytes) -> str:
    """The canned ACL an AccessControlPolicy document amounts to (as s3api
    reads one: the owner's FULL_CONTROL plus AllUsers READ and/or WRITE)."""
    try:
        doc = parse(body, "AccessControlPolicy")
    except XMLError:
        raise S3Error("MalformedACLError") from None
    acl = "private"
    for grant in doc.findall("./AccessControlList/Grant"):
        permission = child_text(grant, "Permission")
        grantee = grant.find("Grantee")
        kind = grantee.get(f"{{{_XSI}}}type") if grantee is not None else None
        if permission == "FULL_CONTROL" and kind == "CanonicalUser":
            continue
        if permission == "READ" and kind == "Group" and acl != "public-read-write":
            acl = "public-read"
        elif permission == "WRITE" and kind == "Group":
            acl = "public-read-write"
        else:
            raise S3Error("NotImplemented", "Only the grants of canned ACLs can be stored as Swift ACLs.")
    return acl


async def put_acl(ctx: S3Context) -> Reply:
    """PutBucketAcl (canned header or policy document); PutObjectAcl is
    NotImplemented (Swift has no per-object ACLs)."""
    if ctx.head.key is not None:
        await ctx.body.drain()
        raise S3Error("NotImplemented", "Swift has no per-object ACLs; set the bucket's ACL.")
    check_bucket_name(ctx)
    body = await read_small_body(ctx, 200 * 1024)
    canned = ctx.head.headers.get("x-amz-acl")
    if canned is not None and body.strip():
        raise S3Error("UnexpectedContent")
    if canned is None and not body.strip():
        raise S3Error("MissingSecurityHeader", MissingHeaderName="x-amz-acl")
    headers = canned_acl_headers(canned) if canned is not None else canned_acl_headers(_acl_from_xml(body))
    reply = await ctx.swift("POST", ctx.bucket, headers=headers)
    await reply.drain()
    await ctx.check(reply, "POST", ctx.bucket, None)
    return http.reply(200, {"Location": ctx.bucket})


# ------------------------------------------------------ other subresources
async def location(ctx: S3Context) -> Reply:
    check_bucket_name(ctx)
    await existing(ctx)
    doc = Element("LocationConstraint")
    if ctx.cfg.region != "us-east-1":  # S3 shows its default region as empty
        doc.text = ctx.cfg.region
    return xml_reply(doc)


async def get_versioning(ctx: S3Context) -> Reply:
    """GetBucketVersioning: Swift's object versioning state (X-Versions-Enabled)."""
    check_bucket_name(ctx)
    reply = await existing(ctx)
    doc = Element("VersioningConfiguration")
    state = reply.headers.get("X-Versions-Enabled")
    if state is not None:
        SubElement(doc, "Status").text = "Enabled" if state.lower() in ("true", "1", "yes", "on") else "Suspended"
    return xml_reply(doc)


async def put_versioning(ctx: S3Context) -> Reply:
    """PutBucketVersioning: Swift's object versioning when the server has it
    (the container then reports X-Versions-Enabled), else NotImplemented."""
    check_bucket_name(ctx)
    body = await read_small_body(ctx, MAX_CONFIG_BODY)
    try:
        doc = parse(body, "VersioningConfiguration")
    except XMLError:
        raise S3Error("MalformedXML") from None
    status = child_text(doc, "Status")
    if status not in ("Enabled", "Suspended"):
        raise S3Error("MalformedXML")
    if child_text(doc, "MfaDelete") not in (None, "Disabled"):
        raise S3Error("NotImplemented", "MFA Delete is not supported.")
    await existing(ctx)
    reply = await ctx.swift("POST", ctx.bucket, headers={"X-Versions-Enabled": str(status == "Enabled").lower()})
    await reply.drain()
    await ctx.check(reply, "POST", ctx.bucket, None)
    after = await existing(ctx)
    if "X-Versions-Enabled" not in after.headers:
        raise S3Error("NotImplemented", "Object versioning is not enabled on this server.")
    return Reply(200)


_ABSENT = {
    "lifecycle": "NoSuchLifecycleConfiguration",
    "tagging": "NoSuchTagSet",
    "cors": "NoSuchCORSConfiguration",
    "policy": "NoSuchBucketPolicy",
    "policyStatus": "NoSuchBucketPolicy",
    "website": "NoSuchWebsiteConfiguration",
    "object-lock": "ObjectLockConfigurationNotFoundError",
}
#: Configurations S3 has a Delete operation for (DeleteBucketLifecycle, ...).
_DELETABLE = frozenset({"lifecycle", "tagging", "cors", "policy", "website"})


async def absent_configuration(ctx: S3Context, name: str, operation: str) -> Reply:
    """A configuration Swift does not have, as S3 answers for a bucket without
    one: GET is the configuration's "none" error (logging, notification and
    requestPayment: their empty documents); DELETE of a deletable one is 204,
    as S3 answers when there is nothing to delete (tools reset buckets that
    way); setting one is ``NotImplemented`` naming ``operation``. The bucket
    must exist (NoSuchBucket) except for the refusal."""
    method = ctx.head.method
    if method == "PUT" or (method == "DELETE" and name not in _DELETABLE):
        await ctx.body.drain()
        raise S3Error("NotImplemented", Operation=operation)
    check_bucket_name(ctx)
    await ctx.body.drain()
    await existing(ctx)
    if method == "DELETE":
        return Reply(204)
    if name == "logging":
        return xml_reply(Element("BucketLoggingStatus"))
    if name == "notification":
        return xml_reply(Element("NotificationConfiguration"))
    if name == "requestPayment":
        doc = Element("RequestPaymentConfiguration")
        SubElement(doc, "Payer").text = "BucketOwner"
        return xml_reply(doc)
    raise S3Error(_ABSENT[name], BucketName=ctx.bucket)
