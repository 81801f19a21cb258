"""Object operations: GetObject, HeadObject, PutObject (with conditional
writes), CopyObject, DeleteObject, and the object ACL subresource.

- GET/HEAD are Swift GETs/HEADs: ranges, ``partNumber`` of a multipart
  object, sendfile, and large objects assembled from their segments. The
  conditional headers are evaluated here against the S3 ETag (for a
  completed multipart upload its ``"<md5 of part md5s>-<parts>"``, kept with
  the object), not against Swift's large-object ETag.
- PUT streams the (verified, possibly aws-chunked) body into a Swift PUT.
  ``If-None-Match: *`` creates only and one ETag in ``If-Match`` replaces
  only that version, both atomically in the store (``PreconditionFailed``
  otherwise); other conditions are ``NotImplemented``, as in S3.
- DELETE of a multipart object removes its segments too; a missing key is
  204, as S3 answers.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element, SubElement

from multidict import CIMultiDict

from sciswift.errors import SciSwiftError
from sciswift.server.conditional import check_conditions, etag_set, normalize_etag
from sciswift.server.http import Reply, env_flag
from sciswift.server.s3.context import S3Context
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.headers import content_md5_etag, s3_object_headers, swift_object_headers
from sciswift.server.s3.names import S3_ETAG, s3_time
from sciswift.server.s3.xml import XML_TYPE, to_xml
from sciswift.store.names import MAX_OBJECT_NAME_LENGTH, utf8_len

__all__ = [
    "get_or_head", "put", "delete", "delete_key", "copy", "copy_source", "check_copy_conditions", "check_key",
    "s3_etag_of", "last_modified_of", "xml_reply",
]

_CONDITIONS = ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")
_OVERRIDES = ("content-type", "content-language", "expires", "cache-control", "content-disposition",
              "content-encoding")


def xml_reply(doc: Element, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    h: CIMultiDict[str] = CIMultiDict({"Content-Type": XML_TYPE})
    h.update(headers or {})
    return Reply(status, h, to_xml(doc))


def check_key(key: str) -> None:
    if utf8_len(key) > MAX_OBJECT_NAME_LENGTH:
        raise S3Error("KeyTooLongError", Size=str(utf8_len(key)), MaxSizeAllowed=str(MAX_OBJECT_NAME_LENGTH))


async def s3_etag_of(ctx: S3Context, container: str, key: str, reply_headers: CIMultiDict[str]) -> str:
    """The S3 ETag of an object a Swift reply describes (unquoted)."""
    etag = normalize_etag(reply_headers.get("Etag")) or ""
    if env_flag(reply_headers.get("X-Static-Large-Object")):
        # A completed multipart upload keeps its S3 ETag with the manifest;
        # Swift's reply carries the large-object ETag instead.
        store = ctx.be.store(ctx.account)
        if store is not None:
            try:
                info = await ctx.be.run(store.head_object, container, key)
                return info.system.get(S3_ETAG) or etag
            except SciSwiftError:  # the object went away meanwhile: show Swift's
                return etag
    return etag


def last_modified_of(headers: CIMultiDict[str]) -> float | None:
    """The Last-Modified time a reply states (None if it states none)."""
    try:
        return parsedate_to_datetime(headers.get("Last-Modified", "")).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


async def get_or_head(ctx: S3Context) -> Reply:
    """GetObject / HeadObject."""
    head = ctx.head
    headers = {k: v for k, v in head.headers.items() if k.lower() == "range"}
    query: dict[str, str] = {}
    part = ctx.param("partNumber")
    if part is not None:
        if "Range" in headers:
            raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
        try:
            number = int(part)
        except ValueError:
            number = 0
        if not 1 <= number <= ctx.cfg.max_upload_part_num:
            raise S3Error("InvalidArgument", f"Part number must be an integer between 1 and "
                          f"{ctx.cfg.max_upload_part_num}, inclusive", ArgumentName="partNumber",
                          ArgumentValue=part)
        query["part-number"] = str(number)
    version = ctx.param("versionId")
    if version is not None and version != "null":
        raise S3Error("NoSuchVersion", Key=ctx.key, VersionId=version)
    # A HEAD with a Range answers as the GET would (206 and the range's
    # length), so ask Swift for the GET and send no body.
    method = "GET" if head.method == "HEAD" and "Range" in headers else head.method
    reply = await ctx.swift(method, ctx.bucket, ctx.key, headers=headers, query=query)
    if method != head.method and reply.status < 300:
        await reply.drain()
    if reply.status == 416 and part is not None:
        await reply.drain()
        raise S3Error("InvalidPartNumber")
    if reply.status >= 300 and reply.status != 416:
        await ctx.check(reply, head.method, ctx.bucket, ctx.key)
    etag = await s3_etag_of(ctx, ctx.bucket, ctx.key, reply.headers)
    cond = check_conditions(head.headers, etag, last_modified_of(reply.headers))
    if cond is not None:
        await reply.drain()
        if cond == 412:
            raise S3Error("PreconditionFailed", Condition=",".join(h for h in _CONDITIONS if h in head.headers))
        out = s3_object_headers(reply.headers, etag)
        out.popall("Content-Type", None)
        out["Content-Length"] = "0"
        return Reply(304, out, None, content_length=0)
    if reply.status == 416:
        await reply.drain()
        raise S3Error("InvalidRange", RangeRequested=head.headers.get("Range", ""))
    out = s3_object_headers(reply.headers, etag)
    for name in _OVERRIDES:
        value = ctx.param(f"response-{name}")
        if value is not None:
            out[name] = value
    reply.headers = out
    return reply


def _put_headers(ctx: S3Context) -> CIMultiDict[str]:
    s3 = ctx.head.headers
    for name in ("If-Modified-Since", "If-Unmodified-Since"):
        if name in s3:
            raise S3Error("NotImplemented", "Conditional writes with " + name + " are not implemented.")
    headers = swift_object_headers(s3)
    if "If-None-Match" in s3:
        if s3["If-None-Match"].strip() != "*":
            raise S3Error("NotImplemented", "Only If-None-Match: * is supported on writes.")
        headers["If-None-Match"] = "*"
    if "If-Match" in s3:
        tags = etag_set(s3["If-Match"])
        if len(tags) != 1 or "*" in tags:
            raise S3Error("NotImplemented", "If-Match on writes takes exactly one ETag.")
        headers["If-Match"] = next(iter(tags))
    if "Content-MD5" in s3:
        headers["Etag"] = content_md5_etag(s3["Content-MD5"])
    storage_class = s3.get("x-amz-storage-class")
    if storage_class is not None and storage_class != "STANDARD":
        raise S3Error("InvalidStorageClass", StorageClassRequested=storage_class)
    return headers


async def put(ctx: S3Context) -> Reply:
    """PutObject, or CopyObject when ``x-amz-copy-source`` is given."""
    check_key(ctx.key)
    if "x-amz-copy-source" in ctx.head.headers:
        return await copy(ctx)
    acl = ctx.head.headers.get("x-amz-acl")
    if acl is not None and acl not in ("private", "bucket-owner-full-control", "bucket-owner-read"):
        # Swift has no per-object ACLs; granting more than the bucket does is not possible
        raise S3Error("NotImplemented", "Object ACLs other than private are not supported; use a bucket ACL.")
    headers = _put_headers(ctx)
    length = ctx.body.length
    if length is None:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(length)
    reply = await ctx.swift("PUT", ctx.bucket, ctx.key, headers=headers, body=ctx.body)
    await ctx.check(reply, "PUT", ctx.bucket, ctx.key)
    out: CIMultiDict[str] = CIMultiDict({"ETag": f'"{normalize_etag(reply.headers.get("Etag"))}"'})
    if ctx.body.checksum is not None:
        out[f"x-amz-checksum-{ctx.body.checksum.algorithm}"] = ctx.body.checksum.value()
    return Reply(200, out, b"")


def copy_source(ctx: S3Context, header: str = "x-amz-copy-source") -> tuple[str, str]:
    """(bucket, key) of an ``x-amz-copy-source`` (``/bucket/key`` or ``bucket/key``,
    percent-encoded or not, optionally ``?versionId=null``)."""
    value = ctx.head.headers[header]
    path, sep, query = value.partition("?")
    if sep:
        name, _, version = query.partition("=")
        if name != "versionId" or "&" in version:
            raise S3Error("InvalidArgument", "Unsupported copy source parameter.", ArgumentName=header,
                          ArgumentValue=value)
        if version != "null":
            raise S3Error("NoSuchVersion", VersionId=version)
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: "
                      "sourcebucket/sourcekey", ArgumentName=header, ArgumentValue=value)
    return bucket, key


async def check_copy_conditions(ctx: S3Context, bucket: str, key: str) -> None:
    """The ``x-amz-copy-source-if-*`` conditions, against the source (412)."""
    h = ctx.head.headers
    given = {name[len("x-amz-copy-source-"):]: h[name] for name in
             ("x-amz-copy-source-if-match", "x-amz-copy-source-if-none-match",
              "x-amz-copy-source-if-modified-since", "x-amz-copy-source-if-unmodified-since") if name in h}
    if not given:
        return
    reply = await ctx.swift("HEAD", bucket, key)
    await ctx.check(reply, "HEAD", bucket, key)
    etag = await s3_etag_of(ctx, bucket, key, reply.headers)
    cond_headers: CIMultiDict[str] = CIMultiDict({n.title(): v for n, v in given.items()})
    if check_conditions(cond_headers, etag, last_modified_of(reply.headers)) is not None:
        raise S3Error("PreconditionFailed")


async def copy(ctx: S3Context) -> Reply:
    """CopyObject: a Swift PUT with ``X-Copy-From``."""
    src_bucket, src_key = copy_source(ctx)
    s3 = ctx.head.headers
    directive = s3.get("x-amz-metadata-directive", "COPY")
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.", ArgumentName="x-amz-metadata-directive",
                      ArgumentValue=directive)
    if (src_bucket, src_key) == (ctx.bucket, ctx.key) and directive == "COPY":
        raise S3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object "
                      "to itself without changing the object's metadata, storage class, website redirect "
                      "location or encryption attributes.")
    await check_copy_conditions(ctx, src_bucket, src_key)
    if directive == "REPLACE":
        headers = swift_object_headers(s3)
        headers["X-Fresh-Metadata"] = "true"
    else:  # the source's metadata and content headers stay
        headers = CIMultiDict({k: v for k, v in s3.items() if k.lower() in ("x-delete-at", "x-delete-after")})
    if "If-None-Match" in s3:
        headers["If-None-Match"] = s3["If-None-Match"]
    headers["X-Copy-From"] = quote(f"/{src_bucket}/{src_key}")
    headers["Content-Length"] = "0"
    reply = await ctx.swift("PUT", ctx.bucket, ctx.key, headers=headers)
    if reply.status == 404:
        await reply.drain()
        if await ctx.be.container_info(ctx.base, ctx.account, ctx.bucket) is None:
            raise S3Error("NoSuchBucket", BucketName=ctx.bucket)
        raise S3Error("NoSuchKey", Key=src_key)
    await ctx.check(reply, "PUT", ctx.bucket, ctx.key)
    doc = Element("CopyObjectResult")
    SubElement(doc, "LastModified").text = _s3_time_of(reply.headers)
    SubElement(doc, "ETag").text = f'"{normalize_etag(reply.headers.get("Etag"))}"'
    return xml_reply(doc)


def _s3_time_of(headers: CIMultiDict[str]) -> str:
    ts = last_modified_of(headers)
    return s3_time(ts if ts is not None else 0.0)


async def delete(ctx: S3Context) -> Reply:
    """DeleteObject (a multipart object's segments go with it)."""
    reply = await delete_key(ctx, ctx.bucket, ctx.key)
    if reply is not None:
        await ctx.check(reply, "DELETE", ctx.bucket, ctx.key)
    return Reply(204)


async def delete_key(ctx: S3Context, bucket: str, key: str) -> Reply | None:
    """Delete one key as DeleteObject does: None when done (or already gone),
    else the Swift refusal."""
    version = ctx.param("versionId")
    if version is not None and version != "null":
        raise S3Error("NoSuchVersion", Key=key, VersionId=version)
    head = await ctx.swift("HEAD", bucket, key)
    await head.drain()
    if head.status == 404:
        if await ctx.be.container_info(ctx.base, ctx.account, bucket) is None:
            raise S3Error("NoSuchBucket", BucketName=bucket)
        return None
    if head.status >= 300:
        return head
    query = {"multipart-manifest": "delete"} if env_flag(head.headers.get("X-Static-Large-Object")) else None
    reply = await ctx.swift("DELETE", bucket, key, query=query)
    if reply.status == 404:
        await reply.drain()
        return None
    if reply.status >= 300:
        return reply
    await reply.drain()
    return None
