"""GetObjectAttributes: what S3 knows of an object, without its body.

The attributes asked for in ``x-amz-object-attributes`` (comma-separated;
required) of the object, or of ``versionId``:

- ``ETag``: the S3 ETag, unquoted (a multipart object's ``<md5>-<parts>``);
- ``Checksum``: the checksum the object keeps (see :mod:`.payload`) and its
  ``ChecksumType``; a COMPOSITE one without its ``-<parts>`` suffix, as S3
  shows it here (the count is in ``ObjectParts``); absent when
  the object keeps none;
- ``ObjectParts``: for a multipart object, ``PartsCount`` (``TotalPartsCount`` in the SDKs) and a page of
  its parts (``x-amz-max-parts``, at most 1000, from
  ``x-amz-part-number-marker``) with each part's size and checksum; absent
  for an object not uploaded in parts, as S3 answers;
- ``StorageClass``: always ``STANDARD``;
- ``ObjectSize``: the object's size in bytes.

The object is read with a Swift HEAD as the caller (its read ACL, versions
and delete markers answer as for HeadObject); the parts of a multipart object
with a GET of its manifest, and their checksums from the parts' system values.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, SubElement

from multidict import CIMultiDict

from sciswift.server.http import Reply, env_flag
from sciswift.server.s3.context import S3Context
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.multipart import segment_checksums
from sciswift.server.s3.names import segments_container
from sciswift.server.s3.obj import s3_etag_of, xml_reply
from sciswift.server.s3.payload import XML_NAMES, StoredChecksum, stored_checksum
from sciswift.server.s3.versions import DELETE_MARKER, asked_version

__all__ = ["get_object_attributes", "ATTRIBUTES"]

#: The attributes S3 names (``x-amz-object-attributes``).
ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
_MAX_PARTS = 1000


def _asked(ctx: S3Context) -> set[str]:
    given = ctx.head.headers.get("x-amz-object-attributes", "")
    names = {n.strip() for n in given.split(",") if n.strip()}
    if not names:
        raise S3Error("InvalidArgument", "Empty attribute list provided.", ArgumentName="x-amz-object-attributes",
                      ArgumentValue=given)
    unknown = sorted(names - set(ATTRIBUTES))
    if unknown:
        raise S3Error("InvalidArgument", f"Invalid attribute name specified: {unknown[0]}.",
                      ArgumentName="x-amz-object-attributes", ArgumentValue=given)
    return names


def _int_header(ctx: S3Context, name: str, default: int) -> int:
    raw = ctx.head.headers.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise S3Error("InvalidArgument", f"Invalid value for {name}.", ArgumentName=name, ArgumentValue=raw)
    return value


async def get_object_attributes(ctx: S3Context) -> Reply:
    """GetObjectAttributes (see the module docstring)."""
    await ctx.body.drain()
    asked = _asked(ctx)
    max_parts = min(_int_header(ctx, "x-amz-max-parts", _MAX_PARTS), _MAX_PARTS)
    marker = _int_header(ctx, "x-amz-part-number-marker", 0)
    query: dict[str, str] = {}
    version = await asked_version(ctx, query)
    reply = await ctx.swift("HEAD", ctx.bucket, ctx.key, query=query)
    await reply.drain()
    if reply.status == 404 and version is not None:
        if reply.headers.get("Content-Type") == DELETE_MARKER:
            raise S3Error("MethodNotAllowed", Method="GET", ResourceType="DeleteMarker",
                          headers={"x-amz-delete-marker": "true", "x-amz-version-id": version})
        if version != "null":
            raise S3Error("NoSuchVersion", Key=ctx.key, VersionId=version)
    await ctx.check(reply, "HEAD", ctx.bucket, ctx.key)
    stored = reply.stored
    multipart = env_flag(reply.headers.get("X-Static-Large-Object"))
    doc = Element("GetObjectAttributesResponse")
    if "ETag" in asked:
        SubElement(doc, "ETag").text = await s3_etag_of(ctx, ctx.bucket, ctx.key, reply.headers, stored)
    checksum = stored_checksum(stored.system) if stored is not None else None
    if "Checksum" in asked and checksum is not None:
        c = SubElement(doc, "Checksum")
        SubElement(c, XML_NAMES[checksum.algorithm]).text = checksum.value.partition("-")[0]
        SubElement(c, "ChecksumType").text = checksum.kind
    if "ObjectParts" in asked and multipart:
        await _object_parts(ctx, doc, query, checksum, marker, max_parts)
    if "StorageClass" in asked:
        SubElement(doc, "StorageClass").text = "STANDARD"
    if "ObjectSize" in asked:
        size = reply.content_length if reply.content_length is not None else reply.headers.get("Content-Length", 0)
        SubElement(doc, "ObjectSize").text = str(size)
    headers: CIMultiDict[str] = CIMultiDict()
    if reply.headers.get("Last-Modified"):
        headers["Last-Modified"] = reply.headers["Last-Modified"]
    if reply.headers.get("X-Object-Version-Id"):
        headers["x-amz-version-id"] = reply.headers["X-Object-Version-Id"]
    return xml_reply(doc, headers=dict(headers))


async def _object_parts(ctx: S3Context, doc: Element, query: dict[str, str], checksum: StoredChecksum | None,
                        marker: int, max_parts: int) -> None:
    """``ObjectParts`` of a multipart object: its manifest's segments are
    its parts (``<bucket>+segments/<key>/<upload id>/<n>``)."""
    got = await ctx.swift("GET", ctx.bucket, ctx.key, query={**query, "multipart-manifest": "get"})
    await ctx.check(got, "GET", ctx.bucket, ctx.key)
    try:
        segments: list[dict[str, Any]] = json.loads(await got.read())
    except ValueError:  # not a manifest after all (replaced meanwhile): no parts to show
        return
    parts: list[tuple[int, int, str, str]] = []
    for n, seg in enumerate(segments, 1):
        container, _, name = str(seg.get("name", "")).lstrip("/").partition("/")
        tail = name.rsplit("/", 1)[-1]
        number = int(tail) if tail.isdigit() else n  # a manifest written through Swift: its order
        parts.append((number, int(seg.get("bytes", 0)), container, name))
    e = SubElement(doc, "ObjectParts")
    SubElement(e, "PartsCount").text = str(len(parts))
    page = [p for p in parts if p[0] > marker]
    truncated = len(page) > max_parts
    page = page[:max_parts]
    SubElement(e, "PartNumberMarker").text = str(marker)
    SubElement(e, "NextPartNumberMarker").text = str(page[-1][0] if page else marker)
    SubElement(e, "MaxParts").text = str(max_parts)
    SubElement(e, "IsTruncated").text = "true" if truncated else "false"
    # only parts in the bucket's own segments container, which the caller
    # read the manifest of
    own = segments_container(ctx.bucket)
    sums = await segment_checksums(ctx, [name for _, _, c, name in page if c == own]) if checksum is not None else {}
    for number, size, container, name in page:
        p = SubElement(e, "Part")
        SubElement(p, "PartNumber").text = str(number)
        SubElement(p, "Size").text = str(size)
        found = sums.get(name) if container == own else None
        if found is not None and checksum is not None and found.algorithm == checksum.algorithm:
            SubElement(p, XML_NAMES[found.algorithm]).text = found.value

