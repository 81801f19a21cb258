"""DeleteObjects (``POST /<bucket>?delete``): up to ``max_multi_delete_objects``
keys in one request, each deleted as DeleteObject deletes it (a multipart
object with its segments), a few at a time. A key that does not exist counts
as deleted, as in S3; a key the caller may not delete is reported in an
``Error`` entry, and the others are still deleted. A ``VersionId`` deletes
that version; in a bucket whose versioning is enabled a key without one gets
a delete marker (``DeleteMarker``, ``DeleteMarkerVersionId``). A key with
a condition (``ETag``, ``LastModifiedTime``, ``Size``: a conditional delete)
is not deleted and gets a ``NotImplemented`` entry.
"""

from __future__ import annotations

import base64
import hashlib
from xml.etree.ElementTree import Element, SubElement

from sciswift.server.http import Reply, gather_limited
from sciswift.server.s3.bucket import check_bucket_name, existing
from sciswift.server.s3.context import S3Context, error_for
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.obj import Deleted, conditional_delete_refusal, delete_key, xml_reply
from sciswift.server.s3.versions import check_version_id
from sciswift.server.s3.xml import XMLError, child_text, parse
from sciswift.store.names import MAX_OBJECT_NAME_LENGTH

__all__ = ["delete_objects"]

#: Keys deleted at once.
CONCURRENCY = 8


async def delete_objects(ctx: S3Context) -> Reply:
    check_bucket_name(ctx)
    limit = ctx.cfg.max_multi_delete_objects * (MAX_OBJECT_NAME_LENGTH + 256) + 1024
    length = ctx.body.length
    if length is not None and length > limit:
        await ctx.body.drain()
        raise S3Error("MalformedXML")
    body = await ctx.body.read()
    if len(body) > limit:
        raise S3Error("MalformedXML")
    md5 = ctx.head.headers.get("Content-MD5")
    if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5.strip():
        raise S3Error("BadDigest")
    try:
        doc = parse(body, "Delete")
    except XMLError:
        raise S3Error("MalformedXML") from None
    quiet = (child_text(doc, "Quiet") or "").strip().lower() == "true"
    objects = doc.findall("Object")
    if not objects or len(objects) > ctx.cfg.max_multi_delete_objects:
        raise S3Error("MalformedXML")
    keys: list[tuple[str, str | None, list[str]]] = []
    for o in objects:
        key = child_text(o, "Key")
        if not key:
            raise S3Error("UserKeyMustBeSpecified")
        conditions = [name for name in ("ETag", "LastModifiedTime", "Size") if o.find(name) is not None]
        keys.append((key, child_text(o, "VersionId"), conditions))
    await existing(ctx)

    async def one(key: str, version: str | None,
                  conditions: list[str]) -> tuple[str, str | None, Deleted | None, S3Error | None]:
        if conditions:  # a conditional delete of this key: not done, and the entry says why
            return key, version, None, conditional_delete_refusal(conditions)
        try:
            if version is not None:
                check_version_id(version, "VersionId")
            done = await delete_key(ctx, ctx.bucket, key, version)
        except S3Error as exc:
            return key, version, None, exc
        if done.refused is not None:
            await done.refused.drain()
            return key, version, None, await error_for(ctx, done.refused.status, "", "DELETE", ctx.bucket, key)
        return key, version, done, None

    results = await gather_limited((one(k, v, c) for k, v, c in keys), CONCURRENCY)
    out = Element("DeleteResult")
    for key, version, done, err in results:
        if err is None:
            if not quiet:
                d = SubElement(out, "Deleted")
                SubElement(d, "Key").text = key
                if version:
                    SubElement(d, "VersionId").text = version
                if done is not None and done.delete_marker:
                    SubElement(d, "DeleteMarker").text = "true"
                    if done.version_id:
                        SubElement(d, "DeleteMarkerVersionId").text = done.version_id
        else:
            e = SubElement(out, "Error")
            SubElement(e, "Key").text = key
            if version:
                SubElement(e, "VersionId").text = version
            SubElement(e, "Code").text = err.code
            SubElement(e, "Message").text = err.message
    return xml_reply(out)
