"""Multipart uploads, stored as Swift's s3api stores them, so that Swift
clients read the result as an ordinary static large object:

- ``<bucket>+segments/<key>/<upload id>``: the upload's marker, an empty
  object carrying the future object's content type, headers and metadata;
- ``<bucket>+segments/<key>/<upload id>/<part number>``: each part;
- on completion, ``<bucket>/<key>``: an SLO manifest naming the parts, with the
  S3 ETag (MD5 of the parts' MD5s, ``-<count>``) and the upload id kept as the
  object's system values (``x-object-sysmeta-s3api-etag``/``-upload-id``).

Nothing is visible under the key until CompleteMultipartUpload writes the
manifest, atomically (``If-None-Match: *`` makes that write create-only); an
abort, or a bucket deletion, removes the parts. Completing twice with the same
upload id answers the same result (clients retry).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote
from xml.etree.ElementTree import Element, SubElement

from multidict import CIMultiDict

from sciswift.errors import SciSwiftError
from sciswift.server.http import BytesBody, Reply, chunks_of, reply
from sciswift.server.middleware import object_versioning
from sciswift.server.objects import CONTENT_CHECKSUM_PREFIX, SLO_ETAG, SLO_SIZE
from sciswift.server.s3 import bucket as bucket_ops
from sciswift.server.s3.context import S3Context
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.headers import content_md5_etag, swift_object_headers
from sciswift.server.s3.listing import list_entries, listing_encoder, listing_encoding_asked
from sciswift.server.s3.names import S3_ETAG, S3_UPLOAD_ID, s3_time, segments_container
from sciswift.server.s3.obj import check_copy_conditions, check_key, copy_source, last_modified_of, xml_reply
from sciswift.server.s3.payload import (
    HASH_BATCH,
    XML_NAMES,
    Checksum,
    StoredChecksum,
    checksum_algorithm,
    stated_checksum,
    stored_checksum,
)
from sciswift.server.s3.versions import bucket_state, version_headers
from sciswift.server.s3.xml import XMLError, child_text, parse
from sciswift.server.times import iso_timestamp
from sciswift.server.writing import guessed_content_type, write_object
from sciswift.store.types import ObjectInfo, Subdir

__all__ = ["initiate", "upload_part", "list_parts", "list_uploads", "complete", "abort", "segment_checksums"]

_PART = re.compile(r".*/[0-9]+\Z")
_KEPT_FROM_MARKER = ("content-type", "content-encoding", "content-disposition", "content-language",
                     "cache-control", "expires", "x-robots-tag")


def _new_upload_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(18)).decode("ascii")


def _owner(parent: Element, tag: str, user: str) -> None:
    e = SubElement(parent, tag)
    SubElement(e, "ID").text = user
    SubElement(e, "DisplayName").text = user


async def _bucket_exists(ctx: S3Context) -> None:
    await bucket_ops.existing(ctx)


async def _marker(ctx: S3Context, upload_id: str) -> Reply:
    """The Swift HEAD of the upload's marker (NoSuchUpload if it is gone)."""
    if "/" in upload_id or not upload_id:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    found = await ctx.swift("HEAD", segments_container(ctx.bucket), f"{ctx.key}/{upload_id}")
    await found.drain()
    if found.status == 404:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    return await ctx.check(found, "HEAD", segments_container(ctx.bucket), f"{ctx.key}/{upload_id}")


def _part_number(ctx: S3Context) -> int:
    raw = ctx.param("partNumber") or ""
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if not 1 <= number <= ctx.cfg.max_upload_part_num:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and "
                      f"{ctx.cfg.max_upload_part_num}, inclusive", ArgumentName="partNumber", ArgumentValue=raw)
    return number


# -------------------------------------------------------------- initiate
async def initiate(ctx: S3Context) -> Reply:
    """CreateMultipartUpload."""
    check_key(ctx.key)
    await _bucket_exists(ctx)
    acl = ctx.head.headers.get("x-amz-acl")
    if acl is not None and acl not in ("private", "bucket-owner-full-control", "bucket-owner-read"):
        raise S3Error("NotImplemented", "Object ACLs other than private are not supported; use a bucket ACL.")
    segments = segments_container(ctx.bucket)
    made = await ctx.swift("PUT", segments)
    await made.drain()
    await ctx.check(made, "PUT", segments, None)
    headers = swift_object_headers(ctx.head.headers)
    for name in ("x-delete-at", "x-delete-after"):
        headers.popall(name, None)  # they apply to the object, not to the marker
    headers.setdefault("Content-Type", guessed_content_type(ctx.key))
    headers["Content-Length"] = "0"
    settings = _checksum_settings(ctx)
    upload_id = _new_upload_id()
    # the marker keeps the upload's checksum settings as its system values
    # (a server-made body states them: no client header can)
    marker = await ctx.swift("PUT", segments, f"{ctx.key}/{upload_id}", headers=headers,
                             body=BytesBody(b"", system=settings.system() if settings else None))
    await marker.drain()
    await ctx.check(marker, "PUT", segments, f"{ctx.key}/{upload_id}")
    doc = Element("InitiateMultipartUploadResult")
    SubElement(doc, "Bucket").text = ctx.bucket
    SubElement(doc, "Key").text = ctx.key
    SubElement(doc, "UploadId").text = upload_id
    return xml_reply(doc, headers=settings.headers() if settings else None)


@dataclass(frozen=True)
class UploadChecksum:
    """The checksum a multipart upload keeps (``x-amz-checksum-algorithm`` and
    ``x-amz-checksum-type`` of CreateMultipartUpload): every part gets one
    of ``algorithm``, and the object the ``kind`` (COMPOSITE or FULL_OBJECT)."""

    algorithm: str
    kind: str

    def system(self) -> dict[str, str]:
        return {_ALGORITHM_KEY: self.algorithm, _TYPE_KEY: self.kind}

    def headers(self) -> dict[str, str]:
        return {"x-amz-checksum-algorithm": self.algorithm.upper(), "x-amz-checksum-type": self.kind}

    @staticmethod
    def of(marker: Reply) -> UploadChecksum | None:
        """The settings a marker's HEAD reply shows (None: the upload has none)."""
        system = marker.stored.system if marker.stored is not None else {}
        algorithm = system.get(_ALGORITHM_KEY)
        return UploadChecksum(algorithm, system.get(_TYPE_KEY) or "COMPOSITE") if algorithm else None


_ALGORITHM_KEY = CONTENT_CHECKSUM_PREFIX + "algorithm"
_TYPE_KEY = CONTENT_CHECKSUM_PREFIX + "type"
#: The algorithms S3 combines into a FULL_OBJECT checksum of a multipart upload.
_FULL_OBJECT_ALGORITHMS = ("crc32", "crc32c", "crc64nvme")


def _checksum_settings(ctx: S3Context) -> UploadChecksum | None:
    """The upload's checksum settings a CreateMultipartUpload asks for, as S3
    allows them: COMPOSITE (the default, except for CRC64NVME) for any
    algorithm but CRC64NVME, FULL_OBJECT for the CRCs only."""
    algorithm = checksum_algorithm(ctx.head.headers)
    given = ctx.head.headers.get("x-amz-checksum-type")
    if algorithm is None:
        if given is not None:
            raise S3Error("InvalidRequest", "The x-amz-checksum-type header can only be used with the "
                          "x-amz-checksum-algorithm header.")
        return None
    kind = given.strip().upper() if given is not None else \
        ("FULL_OBJECT" if algorithm == "crc64nvme" else "COMPOSITE")
    if kind not in ("COMPOSITE", "FULL_OBJECT") or (kind == "FULL_OBJECT" and algorithm not in _FULL_OBJECT_ALGORITHMS) \
            or (kind == "COMPOSITE" and algorithm == "crc64nvme"):
        raise S3Error("InvalidRequest", f"The {algorithm.upper()} checksum algorithm does not support the "
                      f"{kind} checksum type.")
    return UploadChecksum(algorithm, kind)


# ------------------------------------------------------------ upload part
async def upload_part(ctx: S3Context) -> Reply:
    """UploadPart and UploadPartCopy."""
    upload_id = ctx.param("uploadId") or ""
    await _bucket_exists(ctx)
    number = _part_number(ctx)
    settings = UploadChecksum.of(await _marker(ctx, upload_id))
    segments = segments_container(ctx.bucket)
    name = f"{ctx.key}/{upload_id}/{number}"
    if "x-amz-copy-source" in ctx.head.headers:
        return await _upload_part_copy(ctx, segments, name, settings)
    if settings is not None:
        # every part of the upload keeps its checksum of the upload's algorithm
        # (the object's is made of them): computed here when not sent
        if ctx.body.checksum is None:
            ctx.body.compute_checksum(settings.algorithm)
        elif ctx.body.checksum.algorithm != settings.algorithm:
            raise S3Error("InvalidRequest", f"Checksum Type mismatch occurred, expected checksum Type: "
                          f"{settings.algorithm}, actual checksum Type: {ctx.body.checksum.algorithm}")
    headers: CIMultiDict[str] = CIMultiDict()
    if "Content-MD5" in ctx.head.headers:
        headers["Etag"] = content_md5_etag(ctx.head.headers["Content-MD5"])
    length = ctx.body.length
    if length is None:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(length)
    headers["Content-Type"] = "application/octet-stream"
    stored = await ctx.swift("PUT", segments, name, headers=headers, body=ctx.body)
    await stored.drain()
    await ctx.check(stored, "PUT", segments, name)
    out = {"ETag": f'"{stored.headers.get("Etag", "").strip(chr(34))}"',
           "Last-Modified": stored.headers.get("Last-Modified", "")}
    if ctx.body.checksum is not None:
        out[f"x-amz-checksum-{ctx.body.checksum.algorithm}"] = ctx.body.checksum.value()
    return reply(200, out, b"")


async def _upload_part_copy(ctx: S3Context, segments: str, name: str, settings: UploadChecksum | None) -> Reply:
    source = await copy_source(ctx)
    src_bucket = source.bucket
    headers: CIMultiDict[str] = CIMultiDict({"X-Copy-From": quote(f"/{src_bucket}/{source.key}"),
                                             "Content-Length": "0", "X-Fresh-Metadata": "true",
                                             "Content-Type": "application/octet-stream"})
    given = ctx.head.headers.get("x-amz-copy-source-range")
    if given is not None:
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", given.strip())
        if m is None or int(m.group(1)) > int(m.group(2)):
            raise S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form "
                          "bytes=first-last where first and last are the zero-based offsets of the first and "
                          "last bytes to copy", ArgumentName="x-amz-source-range", ArgumentValue=given)
        headers["Range"] = given.strip()
    await check_copy_conditions(ctx, source)
    sub = ctx.sub("PUT", segments, name, headers=headers, query=source.query)
    digest = Checksum(settings.algorithm, None, computed=True) if settings is not None else None
    sub.copy_digest = digest  # the part's checksum, over the bytes copied
    copied = await ctx.be.subrequest(sub)
    await copied.drain()
    if copied.status == 404:
        if await ctx.be.container_info(ctx.base, ctx.account, src_bucket) is None:
            raise S3Error("NoSuchBucket", BucketName=src_bucket)
        raise source.missing()
    if copied.status == 416:
        raise S3Error("InvalidRange")
    await ctx.check(copied, "PUT", segments, name)
    doc = Element("CopyPartResult")
    ts = last_modified_of(copied.headers)
    SubElement(doc, "LastModified").text = s3_time(ts if ts is not None else 0.0)
    SubElement(doc, "ETag").text = f'"{copied.headers.get("Etag", "").strip(chr(34))}"'
    if digest is not None:
        SubElement(doc, XML_NAMES[digest.algorithm]).text = digest.value()
    headers_out = {}
    if copied.headers.get("X-Copied-From-Version-Id"):
        headers_out["x-amz-copy-source-version-id"] = copied.headers["X-Copied-From-Version-Id"]
    return xml_reply(doc, headers=headers_out)


# ----------------------------------------------------------------- parts
async def _parts(ctx: S3Context, upload_id: str) -> dict[int, ObjectInfo]:
    """The uploaded parts of an upload, by part number."""
    prefix = f"{ctx.key}/{upload_id}/"
    out: dict[int, ObjectInfo] = {}
    marker = ""
    while True:
        page = await list_entries(ctx, segments_container(ctx.bucket), prefix=prefix, delimiter="",
                                  marker=marker, limit=1000)
        for e in page:
            if isinstance(e, ObjectInfo):
                tail = e.name[len(prefix):]
                if tail.isdigit():
                    out[int(tail)] = e
        if len(page) < 1000:
            return out
        marker = page[-1].name


async def list_parts(ctx: S3Context) -> Reply:
    """ListParts."""
    upload_id = ctx.param("uploadId") or ""
    await _bucket_exists(ctx)
    settings = UploadChecksum.of(await _marker(ctx, upload_id))
    try:
        start = int(ctx.param("part-number-marker") or 0)
        asked = int(ctx.param("max-parts") or ctx.cfg.max_parts_listing)
    except ValueError:
        raise S3Error("InvalidArgument", "Provided part-number-marker or max-parts is not an integer") from None
    if start < 0 or asked < 0:
        raise S3Error("InvalidArgument", "Provided part-number-marker or max-parts is negative")
    limit = min(asked, ctx.cfg.max_parts_listing)
    parts = sorted((n, p) for n, p in (await _parts(ctx, upload_id)).items() if n > start)
    truncated = len(parts) > limit
    parts = parts[:limit]
    doc = Element("ListPartsResult")
    SubElement(doc, "Bucket").text = ctx.bucket
    SubElement(doc, "Key").text = ctx.key
    SubElement(doc, "UploadId").text = upload_id
    _owner(doc, "Initiator", ctx.user_id)
    _owner(doc, "Owner", ctx.user_id)
    SubElement(doc, "StorageClass").text = "STANDARD"
    sums: dict[str, StoredChecksum | None] = {}
    if settings is not None:
        SubElement(doc, "ChecksumAlgorithm").text = settings.algorithm.upper()
        SubElement(doc, "ChecksumType").text = settings.kind
        sums = await segment_checksums(ctx, [info.name for _, info in parts])
    SubElement(doc, "PartNumberMarker").text = str(start)
    SubElement(doc, "NextPartNumberMarker").text = str(parts[-1][0] if parts else start)
    SubElement(doc, "MaxParts").text = str(asked)
    SubElement(doc, "IsTruncated").text = "true" if truncated else "false"
    for number, info in parts:
        p = SubElement(doc, "Part")
        SubElement(p, "PartNumber").text = str(number)
        SubElement(p, "LastModified").text = s3_time(info.timestamp)
        SubElement(p, "ETag").text = f'"{info.etag}"'
        SubElement(p, "Size").text = str(info.size)
        found = sums.get(info.name)
        if found is not None:
            SubElement(p, XML_NAMES[found.algorithm]).text = found.value
    return xml_reply(doc)


async def segment_checksums(ctx: S3Context, names: Iterable[str]) -> dict[str, StoredChecksum | None]:
    """The checksum each part object ``names`` (in the bucket's segments
    container) keeps, by name; None for one gone meanwhile (a completion, an
    abort, the object replaced). Listings carry no system values: each part's
    are read, all in one hand-over to the pool."""
    store = ctx.be.store(ctx.account)
    segments = segments_container(ctx.bucket)

    def read() -> dict[str, StoredChecksum | None]:
        out: dict[str, StoredChecksum | None] = {}
        for name in names:
            try:
                out[name] = stored_checksum(store.head_object(segments, name).system) if store else None
            except SciSwiftError:
                out[name] = None
        return out

    return await ctx.be.run(read)


async def list_uploads(ctx: S3Context) -> Reply:
    """ListMultipartUploads: the markers in the segments container."""
    await _bucket_exists(ctx)
    asked = listing_encoding_asked(ctx)
    key_marker = ctx.param("key-marker") or ""
    id_marker = ctx.param("upload-id-marker") or ""
    prefix = ctx.param("prefix") or ""
    delimiter = ctx.param("delimiter")
    try:
        max_uploads = int(ctx.param("max-uploads") or 1000)
    except ValueError:
        raise S3Error("InvalidArgument", "Provided max-uploads not an integer", ArgumentName="max-uploads") from None
    max_uploads = max(0, min(max_uploads, 1000))
    if key_marker and id_marker:
        marker = f"{key_marker}/{id_marker}"
    elif key_marker and delimiter and key_marker.endswith(delimiter):
        marker = key_marker + "\U0010ffff"  # a common prefix: continue after everything under it
    elif key_marker:
        marker = f"{key_marker}/~"  # after every upload of that key ("~" sorts after upload ids)
    else:
        marker = ""
    # Uploads and common prefixes, in key order; both count toward
    # max-uploads, as S3 counts them.
    entries: list[tuple[str, str, float] | str] = []
    truncated = False
    segments = segments_container(ctx.bucket)
    if max_uploads > 0 and await ctx.be.container_info(ctx.base, ctx.account, segments) is not None:
        while not truncated:
            page = await list_entries(ctx, segments, prefix=prefix, delimiter="", marker=marker, limit=1000)
            if not page:
                break
            for e in page:
                if isinstance(e, Subdir) or _PART.match(e.name) or "/" not in e.name:
                    continue
                key, upload_id = e.name.rsplit("/", 1)
                entry: tuple[str, str, float] | str = (key, upload_id, e.timestamp)
                if delimiter:
                    cut = key.find(delimiter, len(prefix))
                    if cut >= 0:
                        entry = key[: cut + len(delimiter)]
                        if entries and entries[-1] == entry:
                            continue
                if len(entries) == max_uploads:
                    truncated = True  # one more exists
                    break
                entries.append(entry)
            marker = page[-1].name
    uploads = [e for e in entries if isinstance(e, tuple)]
    prefixes = [e for e in entries if isinstance(e, str)]
    if truncated:
        # where the next page starts: the last upload, or the last common
        # prefix (continued after everything under it)
        last = entries[-1]
        next_key, next_id = (last[0], last[1]) if isinstance(last, tuple) else (last, "")
    elif len(uploads) > 1:  # as Swift's s3api: the last upload listed, when more than one is
        next_key, next_id = uploads[-1][0], uploads[-1][1]
    else:
        next_key, next_id = "", ""
    encoding, enc = listing_encoder(asked, [key_marker, prefix, delimiter or "", next_key,
                                            *(e if isinstance(e, str) else e[0] for e in entries)])
    doc = Element("ListMultipartUploadsResult")
    SubElement(doc, "Bucket").text = ctx.bucket
    SubElement(doc, "KeyMarker").text = enc(key_marker)
    SubElement(doc, "UploadIdMarker").text = id_marker
    SubElement(doc, "NextKeyMarker").text = enc(next_key)
    SubElement(doc, "NextUploadIdMarker").text = next_id
    if delimiter is not None:
        SubElement(doc, "Delimiter").text = enc(delimiter)
    if "prefix" in ctx.head.params:
        SubElement(doc, "Prefix").text = enc(prefix)
    SubElement(doc, "MaxUploads").text = str(max_uploads)
    if encoding:
        SubElement(doc, "EncodingType").text = encoding
    SubElement(doc, "IsTruncated").text = "true" if truncated else "false"
    for key, upload_id, ts in uploads:
        u = SubElement(doc, "Upload")
        SubElement(u, "Key").text = enc(key)
        SubElement(u, "UploadId").text = upload_id
        _owner(u, "Initiator", ctx.user_id)
        _owner(u, "Owner", ctx.user_id)
        SubElement(u, "StorageClass").text = "STANDARD"
        SubElement(u, "Initiated").text = s3_time(ts)
    for p in prefixes:
        cp = SubElement(doc, "CommonPrefixes")
        SubElement(cp, "Prefix").text = enc(p)
    return xml_reply(doc)


# -------------------------------------------------------------- complete
@dataclass(frozen=True)
class RequestedPart:
    """One ``<Part>`` of a CompleteMultipartUpload: its number, ETag and the
    checksums it states (``{algorithm: base64 value}``, from ``<ChecksumCRC32>``
    and the like), which must be the uploaded part's."""

    number: int
    etag: str
    checksums: dict[str, str]


_XML_ALGORITHMS = {tag: algorithm for algorithm, tag in XML_NAMES.items()}


def _requested_parts(body: bytes, max_parts: int) -> list[RequestedPart]:
    try:
        doc = parse(body, "CompleteMultipartUpload")
    except XMLError:
        raise S3Error("MalformedXML") from None
    out: list[RequestedPart] = []
    for part in doc.findall("Part"):
        number, etag = child_text(part, "PartNumber"), child_text(part, "ETag")
        if number is None or etag is None:
            raise S3Error("MalformedXML")
        try:
            n = int(number)
        except ValueError:
            raise S3Error("MalformedXML") from None
        if not 1 <= n <= max_parts:
            raise S3Error("InvalidArgument", f"Part number must be an integer between 1 and {max_parts}, "
                          "inclusive", ArgumentName="partNumber", ArgumentValue=number)
        if out and n <= out[-1].number:
            raise S3Error("InvalidPartOrder", UploadId="")
        sums = {_XML_ALGORITHMS[c.tag]: (c.text or "").strip() for c in part if c.tag in _XML_ALGORITHMS}
        out.append(RequestedPart(n, etag.strip().strip('"'), sums))
    if not out:
        raise S3Error("MalformedXML")
    return out


async def _check_part_checksums(ctx: S3Context, segments: str, requested: list[RequestedPart],
                                uploaded: dict[int, ObjectInfo], upload_id: str) -> None:
    """``InvalidPart`` (as S3) for a ``<Part>`` whose stated checksum is not
    the checksum of the part uploaded under that number.

    The checksum a part keeps (stated or computed as it was uploaded) is
    compared without reading data; a part that keeps none of that algorithm
    (uploaded without a checksum, or with another one) is read back and
    hashed, which only a client stating such a checksum pays for."""
    stating = [p for p in requested if p.checksums]
    if not stating:
        return
    kept = await segment_checksums(ctx, [uploaded[p.number].name for p in stating])
    for p in stating:
        info = uploaded[p.number]
        for algorithm, stated in p.checksums.items():
            have = kept.get(info.name)
            if have is not None and have.algorithm == algorithm:
                actual = have.value
            else:
                actual = await _object_checksum(ctx, segments, [info], algorithm, composite=False)
            if stated != actual:
                raise S3Error("InvalidPart", PartNumber=str(p.number), UploadId=upload_id, ETag=p.etag)


def _result(ctx: S3Context, etag: str, headers: dict[str, str] | None = None,
            checksum: StoredChecksum | None = None) -> Reply:
    """CompleteMultipartUpload's document; ``checksum`` is the object's (the
    verified one the request stated, or the one the upload's settings made)."""
    doc = Element("CompleteMultipartUploadResult")
    SubElement(doc, "Location").text = f"{ctx.base.host_url}/{quote(ctx.bucket)}/{quote(ctx.key)}"
    SubElement(doc, "Bucket").text = ctx.bucket
    SubElement(doc, "Key").text = ctx.key
    SubElement(doc, "ETag").text = f'"{etag}"'
    if checksum is not None:
        checksum.add_to(doc)
    return xml_reply(doc, headers=headers)


async def _verify_object_checksum(ctx: S3Context, segments: str, parts: list[ObjectInfo], algorithm: str,
                                  stated: str) -> StoredChecksum:
    """Check the whole-object checksum a CompleteMultipartUpload states
    (``x-amz-checksum-<algorithm>``) against the parts it names; returns the
    object's checksum or raises ``BadDigest``.

    S3 has two kinds: FULL_OBJECT, the checksum of the object's bytes (what
    boto3's upload_file sends when given a checksum, and other SDKs'
    transfer managers), and COMPOSITE, the checksum of the parts' binary
    checksums joined, written ``<value>-<parts>`` (or announced with
    ``x-amz-checksum-type: COMPOSITE``)."""
    value, dash, count = stated.strip().partition("-")
    composite = bool(dash) or ctx.head.headers.get("x-amz-checksum-type", "").upper() == "COMPOSITE"
    if dash and count != str(len(parts)):
        raise S3Error("BadDigest", f"The {algorithm.upper()} you specified did not match the calculated "
                      "checksum.")
    computed = await _object_checksum(ctx, segments, parts, algorithm, composite)
    Checksum(algorithm, value).verify_value(computed.partition("-")[0])
    return StoredChecksum(algorithm, computed)


async def _object_checksum(ctx: S3Context, segments: str, parts: list[ObjectInfo], algorithm: str,
                           composite: bool) -> str:
    """The checksum of the object made of ``parts``: COMPOSITE
    (``<checksum of the parts' checksums>-<parts>``) or of the whole bytes.

    A composite one is made of the checksums the parts keep when each has one
    of ``algorithm`` (those were checked, or computed, as they were
    uploaded): no data is read. Otherwise the parts are read back from the
    store, which only a client that asks for an object checksum pays for
    (S3 warns that a completion may take minutes; ours then takes a read of
    the parts)."""
    if composite:
        sums = await segment_checksums(ctx, [info.name for info in parts])
        kept = [sums.get(info.name) for info in parts]
        if all(k is not None and k.algorithm == algorithm and k.kind == "FULL_OBJECT" for k in kept):
            joined = Checksum(algorithm, None, computed=True)
            for k in kept:
                assert k is not None
                joined.update(base64.b64decode(k.value))
            return f"{joined.value()}-{len(parts)}"
    whole = Checksum(algorithm, None, computed=True)
    joined = Checksum(algorithm, None, computed=True)
    for info in parts:
        got = await ctx.swift("GET", segments, info.name)
        if got.status >= 300:
            await ctx.check(got, "GET", segments, info.name)
        part = Checksum(algorithm, None, computed=True)
        pending: list[bytes] = []
        size = 0
        async for chunk in chunks_of(got.body):
            pending.append(chunk)
            size += len(chunk)
            if size >= HASH_BATCH:
                await ctx.be.run(_update, (part, whole), b"".join(pending))
                pending, size = [], 0
        await ctx.be.run(_update, (part, whole), b"".join(pending))
        joined.update(base64.b64decode(part.value()))
    return f"{joined.value()}-{len(parts)}" if composite else whole.value()


def _update(checksums: tuple[Checksum, ...], data: bytes) -> None:
    for checksum in checksums:
        checksum.update(data)


async def _already_completed(ctx: S3Context, upload_id: str) -> ObjectInfo | None:
    """The object under ``key`` if it is what this upload completed to."""
    store = ctx.be.store(ctx.account)
    if store is None:
        return None
    try:
        info = await ctx.be.run(store.head_object, ctx.bucket, ctx.key)
    except SciSwiftError:  # missing (or unreadable): not completed
        return None
    if info.system.get(S3_UPLOAD_ID) == upload_id and info.system.get(S3_ETAG):
        return info
    return None


async def complete(ctx: S3Context) -> Reply:
    """CompleteMultipartUpload."""
    h = ctx.head.headers
    for name in ("If-Match", "If-Modified-Since", "If-Unmodified-Since"):
        if name in h:
            await ctx.body.drain()
            raise S3Error("NotImplemented", f"{name} is not supported on CompleteMultipartUpload.")
    if "If-None-Match" in h and h["If-None-Match"].strip() != "*":
        await ctx.body.drain()
        raise S3Error("NotImplemented", "Only If-None-Match: * is supported on CompleteMultipartUpload.")
    upload_id = ctx.param("uploadId") or ""
    await _bucket_exists(ctx)
    try:
        marker = await _marker(ctx, upload_id)
    except S3Error as exc:
        if exc.code != "NoSuchUpload":
            raise
        done = await _already_completed(ctx, upload_id)
        if done is None:
            await ctx.body.drain()
            raise
        await ctx.body.drain()
        return _result(ctx, done.system[S3_ETAG], checksum=stored_checksum(done.system))
    body = await bucket_ops.read_small_body(ctx, 64 * ctx.cfg.max_upload_part_num + 4096)
    requested = _requested_parts(body, ctx.cfg.max_upload_part_num)
    uploaded = await _parts(ctx, upload_id)
    segments = segments_container(ctx.bucket)
    entries: list[dict[str, object]] = []
    md5s = b""
    total = 0
    for i, (number, etag) in enumerate((p.number, p.etag) for p in requested):
        info = uploaded.get(number)
        if info is None or info.etag != etag:
            raise S3Error("InvalidPart", PartNumber=str(number), UploadId=upload_id, ETag=etag)
        if i < len(requested) - 1 and info.size < ctx.cfg.min_segment_size:
            raise S3Error("EntityTooSmall", ProposedSize=str(info.size),
                          MinSizeAllowed=str(ctx.cfg.min_segment_size), PartNumber=str(number), ETag=etag)
        entries.append({"name": f"/{segments}/{info.name}", "bytes": info.size, "hash": info.etag,
                        "content_type": info.content_type, "last_modified": iso_timestamp(info.timestamp)})
        md5s += bytes.fromhex(info.etag)
        total += info.size
    await _check_part_checksums(ctx, segments, requested, uploaded, upload_id)
    object_size = h.get("x-amz-mp-object-size")
    if object_size is not None and object_size.strip() != str(total):
        raise S3Error("InvalidRequest", f"The provided 'x-amz-mp-object-size' header value {object_size.strip()} "
                      f"does not match what was computed: {total}")
    stated = stated_checksum(h)
    settings = UploadChecksum.of(marker)
    chosen = [uploaded[p.number] for p in requested]
    checksum: StoredChecksum | None = None
    if stated is not None:
        checksum = await _verify_object_checksum(ctx, segments, chosen, *stated)
    elif settings is not None:
        # the upload asked for a checksum: the object gets the kind it asked for
        checksum = StoredChecksum(settings.algorithm, await _object_checksum(
            ctx, segments, chosen, settings.algorithm, settings.kind == "COMPOSITE"))
    kept = {CONTENT_CHECKSUM_PREFIX + checksum.algorithm: checksum.value} if checksum is not None else {}
    s3_etag = f"{hashlib.md5(md5s).hexdigest()}-{len(requested)}"
    slo_etag = hashlib.md5("".join(str(e["hash"]) for e in entries).encode("ascii")).hexdigest()
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in marker.headers.items():
        lname = name.lower()
        if lname in _KEPT_FROM_MARKER or lname.startswith("x-object-meta-"):
            headers[name] = value
    if "If-None-Match" in h:
        headers["If-None-Match"] = "*"
    previous = await _already_completed_upload(ctx)
    manifest = json.dumps(entries).encode("utf-8")
    written = await write_object(
        ctx.be, ctx.sub("PUT", ctx.bucket, ctx.key, headers=headers), data=manifest,
        extra_system={"x-static-large-object": "True", SLO_ETAG: slo_etag, SLO_SIZE: str(total),
                      S3_ETAG: s3_etag, S3_UPLOAD_ID: upload_id, **kept},
        reply_etag=f'"{slo_etag}"',
    )
    await written.drain()
    await ctx.check(written, "PUT", ctx.bucket, ctx.key)
    used = {p.number for p in requested}
    for number, info in uploaded.items():
        if number not in used:
            gone = await ctx.swift("DELETE", segments, info.name)
            await gone.drain()
    gone = await ctx.swift("DELETE", segments, f"{ctx.key}/{upload_id}")
    await gone.drain()
    if previous is not None and previous != upload_id:
        await _delete_parts(ctx, previous)
    return _result(ctx, s3_etag, version_headers(written), checksum)


async def _already_completed_upload(ctx: S3Context) -> str | None:
    """The upload id the object now under the key was completed from, if any
    (its parts are removed once a new upload replaces it), None when that
    object stays as a version (versioning is enabled, or it is a version
    made current) and so keeps its parts."""
    store = ctx.be.store(ctx.account)
    if store is None or (await bucket_state(ctx, ctx.bucket))[1]:
        return None
    try:
        info = await ctx.be.run(store.head_object, ctx.bucket, ctx.key)
    except SciSwiftError:  # nothing there
        return None
    if info.system.get(object_versioning.VERSIONS_LINK) == "true":
        return None
    return info.system.get(S3_UPLOAD_ID)


async def _delete_parts(ctx: S3Context, upload_id: str) -> None:
    segments = segments_container(ctx.bucket)
    for info in (await _parts(ctx, upload_id)).values():
        gone = await ctx.swift("DELETE", segments, info.name)
        await gone.drain()


# ----------------------------------------------------------------- abort
async def abort(ctx: S3Context) -> Reply:
    """AbortMultipartUpload: the parts and the marker are deleted."""
    upload_id = ctx.param("uploadId") or ""
    await _bucket_exists(ctx)
    await _marker(ctx, upload_id)
    await _delete_parts(ctx, upload_id)
    gone = await ctx.swift("DELETE", segments_container(ctx.bucket), f"{ctx.key}/{upload_id}")
    await gone.drain()
    return Reply(204)
