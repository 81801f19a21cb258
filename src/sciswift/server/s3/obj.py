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
- Object versions (``versionId``, ``x-amz-version-id``, delete markers) are
  the Swift API's object versioning, mapped as :mod:`.versions` describes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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
from sciswift.server.s3.names import S3_ETAG, s3_time, segments_container
from sciswift.server.s3.payload import Checksum, StoredChecksum, checksum_algorithm, stored_checksum
from sciswift.server.s3.versions import (
    DELETE_MARKER,
    asked_version,
    bucket_state,
    check_version_id,
    latest_delete_marker,
    restore_latest,
    version_headers,
)
from sciswift.server.s3.xml import XML_TYPE, to_xml
from sciswift.store.names import MAX_OBJECT_NAME_LENGTH, utf8_len
from sciswift.store.types import ObjectInfo

__all__ = [
    "get_or_head", "put", "delete", "delete_key", "Deleted", "copy", "copy_source", "CopySource",
    "check_copy_conditions", "check_key", "s3_etag_of", "last_modified_of", "xml_reply", "tagging",
    "conditional_delete_refusal", "DELETE_CONDITIONS",
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


async def s3_etag_of(ctx: S3Context, container: str, key: str, reply_headers: CIMultiDict[str],
                     stored: ObjectInfo | None = None) -> str:
    """The S3 ETag of an object a Swift reply describes (unquoted); ``stored``
    is the object the reply was read from, when the reply says (a version)."""
    etag = normalize_etag(reply_headers.get("Etag")) or ""
    if not env_flag(reply_headers.get("X-Static-Large-Object")):
        return etag
    # A completed multipart upload keeps its S3 ETag with the manifest; Swift's
    # reply carries the large-object ETag instead. Without the stored object
    # the reply was read from, the key's current one is asked.
    if stored is None:
        store = ctx.be.store(ctx.account)
        if store is None:
            return etag
        try:
            stored = await ctx.be.run(store.head_object, container, key)
        except SciSwiftError:  # the object went away meanwhile: show Swift's
            return etag
    return stored.system.get(S3_ETAG) or etag


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
    version = await asked_version(ctx, query)
    # A HEAD with a Range answers as the GET would (206 and the range's
    # length), so ask Swift for the GET and send no body.
    method = "GET" if head.method == "HEAD" and "Range" in headers else head.method
    reply = await ctx.swift(method, ctx.bucket, ctx.key, headers=headers, query=query)
    if method != head.method and reply.status < 300:
        await reply.drain()
    if reply.status == 416 and part is not None:
        await reply.drain()
        raise S3Error("InvalidPartNumber")
    if part is not None and int(query["part-number"]) > 1 and reply.status < 300 and \
            not env_flag(reply.headers.get("X-Static-Large-Object")):
        # an object not uploaded in parts is its own part 1 and has no other
        # (S3's answer; the store serves part-number only for multipart ones)
        await reply.drain()
        raise S3Error("InvalidPartNumber")
    if reply.status == 404 and version is not None:
        await reply.drain()
        if reply.headers.get("Content-Type") == DELETE_MARKER:
            # a delete marker has no body to read, as S3 answers
            raise S3Error("MethodNotAllowed", Method=head.method, ResourceType="DeleteMarker",
                          headers={"x-amz-delete-marker": "true", "x-amz-version-id": version})
        if version != "null":
            raise S3Error("NoSuchVersion", Key=ctx.key, VersionId=version)
    if reply.status == 404 and version is None and (await bucket_state(ctx, ctx.bucket))[0]:
        await reply.drain()
        marker = await latest_delete_marker(ctx, ctx.bucket, ctx.key)
        if marker is not None:  # deleted in a versioned bucket: S3 says by which marker
            raise S3Error("NoSuchKey", Key=ctx.key,
                          headers={"x-amz-delete-marker": "true", "x-amz-version-id": marker})
    if reply.status >= 300 and reply.status != 416:
        await ctx.check(reply, head.method, ctx.bucket, ctx.key)
    etag = await s3_etag_of(ctx, ctx.bucket, ctx.key, reply.headers, reply.stored)
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
    if _checksum_mode(ctx) and "Range" not in headers and reply.stored is not None:
        # whole-object reads only (as S3): a range has no checksum of its own;
        # a part of a multipart object has its part's (the part number of a
        # single-part object is the whole object)
        found = stored_checksum(reply.stored.system)
        if found is not None and part is not None and env_flag(reply.headers.get("X-Static-Large-Object")):
            found = await _part_checksum(ctx, found, int(query["part-number"]), query.get("version-id"))
        if found is not None:
            out.update(found.headers())
    for name in _OVERRIDES:
        value = ctx.param(f"response-{name}")
        if value is not None:
            out[name] = value
    reply.headers = out
    return reply


async def _part_checksum(ctx: S3Context, whole: StoredChecksum, number: int,
                         version: str | None) -> StoredChecksum | None:
    """The checksum part ``number`` of a multipart object keeps, shown with
    the object's ``ChecksumType`` (None if the part keeps none of the
    object's algorithm). The part is found in the object's manifest (a read
    of it: this is paid only by a part read asking for checksums)."""
    query = {"multipart-manifest": "get", **({"version-id": version} if version is not None else {})}
    got = await ctx.swift("GET", ctx.bucket, ctx.key, query=query)
    if got.status >= 300:
        await got.drain()
        return None
    try:
        segments = json.loads(await got.read())
        container, _, name = str(segments[number - 1]["name"]).lstrip("/").partition("/")
    except (ValueError, IndexError, KeyError, TypeError):  # replaced meanwhile by something else
        return None
    store = ctx.be.store(ctx.account)
    if store is None or container != segments_container(ctx.bucket):
        return None  # only parts of the caller's own uploads (a Swift manifest may name any object)
    try:
        info = await ctx.be.run(store.head_object, container, name)
    except SciSwiftError:
        return None
    found = stored_checksum(info.system)
    if found is None or found.algorithm != whole.algorithm or found.kind != "FULL_OBJECT":
        return None
    return StoredChecksum(found.algorithm, found.value, whole.kind)


def _checksum_mode(ctx: S3Context) -> bool:
    """Whether the request asks for the object's checksum (``x-amz-checksum-mode: ENABLED``)."""
    return ctx.head.headers.get("x-amz-checksum-mode", "").strip().upper() == "ENABLED"


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
    out.update(version_headers(reply))
    if ctx.body.checksum is not None:
        out[f"x-amz-checksum-{ctx.body.checksum.algorithm}"] = ctx.body.checksum.value()
        out["x-amz-checksum-type"] = "FULL_OBJECT"
    return Reply(200, out, b"")


@dataclass
class CopySource:
    """The object a copy reads: ``version`` None for the current one."""

    bucket: str
    key: str
    version: str | None = None

    @property
    def query(self) -> dict[str, str]:
        """The Swift query reading the source (its version)."""
        return {"version-id": self.version} if self.version is not None else {}

    def missing(self) -> S3Error:
        """The error for a source that is not there (its bucket is)."""
        if self.version is not None and self.version != "null":
            return S3Error("NoSuchVersion", Key=self.key, VersionId=self.version)
        return S3Error("NoSuchKey", Key=self.key)


async def copy_source(ctx: S3Context, header: str = "x-amz-copy-source") -> CopySource:
    """The source an ``x-amz-copy-source`` names (``/bucket/key`` or ``bucket/key``,
    percent-encoded or not, optionally ``?versionId=<id>``)."""
    value = ctx.head.headers[header]
    path, sep, query = value.partition("?")
    version: str | None = None
    if sep:
        name, _, version = query.partition("=")
        if name != "versionId" or "&" in version:
            raise S3Error("InvalidArgument", "Unsupported copy source parameter.", ArgumentName=header,
                          ArgumentValue=value)
        check_version_id(version, header)
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: "
                      "sourcebucket/sourcekey", ArgumentName=header, ArgumentValue=value)
    if version is not None and version != "null" and not (await bucket_state(ctx, bucket))[0]:
        if await ctx.be.container_info(ctx.base, ctx.account, bucket) is None:
            raise S3Error("NoSuchBucket", BucketName=bucket)
        raise S3Error("NoSuchVersion", Key=key, VersionId=version)
    return CopySource(bucket, key, version)


async def check_copy_conditions(ctx: S3Context, source: CopySource) -> None:
    """The ``x-amz-copy-source-if-*`` conditions, against the source (412)."""
    h = ctx.head.headers
    given = {name[len("x-amz-copy-source-"):]: h[name] for name in
             ("x-amz-copy-source-if-match", "x-amz-copy-source-if-none-match",
              "x-amz-copy-source-if-modified-since", "x-amz-copy-source-if-unmodified-since") if name in h}
    if not given:
        return
    bucket, key = source.bucket, source.key
    reply = await ctx.swift("HEAD", bucket, key, query=source.query)
    if reply.status == 404 and source.version is not None and source.version != "null":
        await reply.drain()
        raise source.missing()
    await ctx.check(reply, "HEAD", bucket, key)
    etag = await s3_etag_of(ctx, bucket, key, reply.headers, reply.stored)
    cond_headers: CIMultiDict[str] = CIMultiDict({n.title(): v for n, v in given.items()})
    if check_conditions(cond_headers, etag, last_modified_of(reply.headers)) is not None:
        raise S3Error("PreconditionFailed")


async def copy(ctx: S3Context) -> Reply:
    """CopyObject: a Swift PUT with ``X-Copy-From`` (and the source's ``version-id``)."""
    source = await copy_source(ctx)
    src_bucket, src_key = source.bucket, source.key
    s3 = ctx.head.headers
    directive = s3.get("x-amz-metadata-directive", "COPY")
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.", ArgumentName="x-amz-metadata-directive",
                      ArgumentValue=directive)
    if (src_bucket, src_key) == (ctx.bucket, ctx.key) and directive == "COPY" and source.version is None:
        raise S3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object "
                      "to itself without changing the object's metadata, storage class, website redirect "
                      "location or encryption attributes.")
    await check_copy_conditions(ctx, source)
    if directive == "REPLACE":
        headers = swift_object_headers(s3)
        headers["X-Fresh-Metadata"] = "true"
    else:  # the source's metadata and content headers stay
        headers = CIMultiDict({k: v for k, v in s3.items() if k.lower() in ("x-delete-at", "x-delete-after")})
    if "If-None-Match" in s3:
        headers["If-None-Match"] = s3["If-None-Match"]
    headers["X-Copy-From"] = quote(f"/{src_bucket}/{src_key}")
    headers["Content-Length"] = "0"
    # The copy keeps the source's checksum (the Swift copy carries it with
    # the bytes), or computes the one x-amz-checksum-algorithm asks for.
    algorithm = checksum_algorithm(s3)
    digest = Checksum(algorithm, None, computed=True) if algorithm is not None else None
    sub = ctx.sub("PUT", ctx.bucket, ctx.key, headers=headers, query=source.query)
    sub.copy_digest = digest
    reply = await ctx.be.subrequest(sub)
    if reply.status == 404:
        await reply.drain()
        if await ctx.be.container_info(ctx.base, ctx.account, ctx.bucket) is None:
            raise S3Error("NoSuchBucket", BucketName=ctx.bucket)
        raise source.missing()
    await ctx.check(reply, "PUT", ctx.bucket, ctx.key)
    doc = Element("CopyObjectResult")
    SubElement(doc, "LastModified").text = _s3_time_of(reply.headers)
    etag = normalize_etag(reply.headers.get("Etag"))
    SubElement(doc, "ETag").text = f'"{etag}"'
    kept = StoredChecksum(digest.algorithm, digest.value()) if digest is not None else \
        await _checksum_of_written(ctx, etag)
    if kept is not None:
        kept.add_to(doc)
    return xml_reply(doc, headers=copy_version_headers(reply))


async def _checksum_of_written(ctx: S3Context, etag: str | None) -> StoredChecksum | None:
    """The checksum the object just written under the key keeps, for the
    reply; None if it keeps none, or if another write replaced it already
    (its ETag is not ``etag``)."""
    store = ctx.be.store(ctx.account)
    if store is None or not etag:
        return None
    try:
        info = await ctx.be.run(store.head_object, ctx.bucket, ctx.key)
    except SciSwiftError:  # removed meanwhile
        return None
    return stored_checksum(info.system) if info.etag == etag else None


def copy_version_headers(reply: Reply) -> dict[str, str]:
    """``x-amz-version-id`` of a copy's new object and ``x-amz-copy-source-version-id``
    of what it read, from the Swift copy's reply."""
    out = version_headers(reply)
    if reply.headers.get("X-Copied-From-Version-Id"):
        out["x-amz-copy-source-version-id"] = reply.headers["X-Copied-From-Version-Id"]
    return out


def _s3_time_of(headers: CIMultiDict[str]) -> str:
    ts = last_modified_of(headers)
    return s3_time(ts if ts is not None else 0.0)


@dataclass
class Deleted:
    """What deleting one key did: ``refused`` is the Swift refusal (None: done,
    or nothing was there); ``version_id`` the version removed or the delete
    marker written, ``delete_marker`` whether that is a delete marker."""

    refused: Reply | None = None
    version_id: str | None = None
    delete_marker: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.version_id is not None:
            self.headers["x-amz-version-id"] = self.version_id
        if self.delete_marker:
            self.headers["x-amz-delete-marker"] = "true"


#: The conditions of S3's conditional deletes. The store has no atomic
#: conditional delete, and a condition ignored would delete what the client
#: meant to keep: they are NotImplemented.
DELETE_CONDITIONS = ("If-Match", "x-amz-if-match-last-modified-time", "x-amz-if-match-size")


def conditional_delete_refusal(conditions: list[str]) -> S3Error:
    """The refusal of a delete with ``conditions`` (header or element names)."""
    return S3Error("NotImplemented", f"Conditional deletes ({', '.join(conditions)}) are not implemented by this "
                   "server.")


async def delete(ctx: S3Context) -> Reply:
    """DeleteObject (a multipart object's segments go with it), of a version
    with ``versionId``; conditional deletes are refused."""
    conditions = [name for name in DELETE_CONDITIONS if name in ctx.head.headers]
    if conditions:
        raise conditional_delete_refusal(conditions)
    version = ctx.param("versionId")
    if version is not None:
        check_version_id(version)
    done = await delete_key(ctx, ctx.bucket, ctx.key, version)
    if done.refused is not None:
        await ctx.check(done.refused, "DELETE", ctx.bucket, ctx.key)
    return Reply(204, CIMultiDict(done.headers))


async def tagging(ctx: S3Context) -> Reply:
    """GetObjectTagging and DeleteObjectTagging of an object (of a version,
    with ``versionId``). Objects here carry no tags: PutObjectTagging and an
    ``x-amz-tagging`` header are refused (``NotImplemented``), so no object
    was ever given one. An existing object's tag set is therefore S3's empty
    one, and deleting it is S3's 204; clients copying objects with their
    tags (the aws CLI's ``s3 cp`` between buckets) read it first. A missing
    object or version is NoSuchKey/NoSuchVersion, as S3 answers."""
    await ctx.body.drain()
    query: dict[str, str] = {}
    version = ctx.param("versionId")
    if version is not None:
        check_version_id(version)
        query["version-id"] = version
    reply = await ctx.swift("HEAD", ctx.bucket, ctx.key, query=query)
    await reply.drain()
    if reply.status == 404 and version is not None and version != "null":
        if await ctx.be.container_info(ctx.base, ctx.account, ctx.bucket) is None:
            raise S3Error("NoSuchBucket", BucketName=ctx.bucket)
        raise S3Error("NoSuchVersion", Key=ctx.key, VersionId=version)
    await ctx.check(reply, "HEAD", ctx.bucket, ctx.key)
    headers = {"x-amz-version-id": version} if version is not None else {}
    if ctx.head.method == "DELETE":
        return Reply(204, CIMultiDict(headers))
    doc = Element("Tagging")
    SubElement(doc, "TagSet")
    return xml_reply(doc, headers=headers)


async def _missing_key(ctx: S3Context, bucket: str, version: str | None) -> Deleted:
    """Deleting what is not there succeeds, in a bucket that is."""
    if await ctx.be.container_info(ctx.base, ctx.account, bucket) is None:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    return Deleted(version_id=version)


async def delete_key(ctx: S3Context, bucket: str, key: str, version: str | None = None) -> Deleted:
    """Delete one key (or one version of it) as DeleteObject does.

    - No version, versioning enabled: a delete marker is written; the
      current version stays (as a noncurrent one, segments and all).
    - No version otherwise: the object goes (a multipart object with its
      segments; a link to a version of a suspended bucket only the link).
    - A version: that version goes for good (a multipart one with its
      segments); if it was the current one, or the delete marker on top,
      the newest remaining version becomes current.
    """
    versioned, enabled = await bucket_state(ctx, bucket)
    if version is not None and version != "null" and not versioned:
        return await _missing_key(ctx, bucket, version)  # never versioned: no such version (as s3api)
    if version is None and enabled:
        reply = await ctx.swift("DELETE", bucket, key)
        await reply.drain()
        if reply.status >= 300 and not (reply.status == 404 and reply.headers.get("X-Object-Version-Id")):
            if reply.status == 404:
                return await _missing_key(ctx, bucket, None)
            return Deleted(refused=reply)
        return Deleted(version_id=reply.headers.get("X-Object-Version-Id"), delete_marker=True)
    query = {"version-id": version} if version is not None else {"symlink": "get"}
    head = await ctx.swift("HEAD", bucket, key, query=query)
    await head.drain()
    marker = head.status == 404 and version is not None and head.headers.get("Content-Type") == DELETE_MARKER
    if head.status == 404 and not marker:
        return await _missing_key(ctx, bucket, version)
    if head.status >= 300 and not marker:
        return Deleted(refused=head)
    query = {"version-id": version} if version is not None else {}
    if not marker and env_flag(head.headers.get("X-Static-Large-Object")):
        query["multipart-manifest"] = "delete"
    reply = await ctx.swift("DELETE", bucket, key, query=query)
    await reply.drain()
    if reply.status >= 300 and reply.status != 404:
        return Deleted(refused=reply)
    if version is not None and versioned:
        await restore_latest(ctx, bucket, key)
    return Deleted(version_id=version, delete_marker=marker)
