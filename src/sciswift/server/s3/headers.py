"""Headers between the two APIs: an S3 request's into a Swift sub-request's,
and a Swift object reply's into S3's.

- ``x-amz-meta-<name>`` is ``X-Object-Meta-<name>``, with ``_`` kept as
  ``=5F`` (HTTP header names fold ``_`` into ``-`` in many servers; s3api
  stores them the same way, so either API reads what the other wrote). Names
  with characters AWS ignores (``" ),/;<=>?@[\\]{}``) are dropped.
- The object headers Swift persists (Content-Type/-Encoding/-Disposition/
  -Language, Cache-Control, Expires, X-Robots-Tag) and X-Delete-At/-After pass
  through; ``aws-chunked`` is removed from Content-Encoding.
- ``Content-MD5`` becomes Swift's ``Etag`` check (``InvalidDigest`` if it is
  not a base64 MD5).
- On the way back, ``X-Delete-At`` becomes ``x-amz-expiration`` as s3api
  shows it, ``X-Object-Version-Id`` becomes ``x-amz-version-id``, ETags are
  quoted, and Swift-only headers are dropped.
"""

from __future__ import annotations

import base64
import binascii
from email.utils import formatdate

from multidict import CIMultiDict

from sciswift.server.s3.errors import S3Error

__all__ = ["swift_object_headers", "s3_object_headers", "content_md5_etag", "META_PREFIX"]

META_PREFIX = "x-amz-meta-"
_IGNORED_META_CHARS = set(' "),/;<=>?@[\\]{}')
PASSED = (
    "content-type", "content-disposition", "content-language", "cache-control", "expires",
    "x-robots-tag", "x-delete-at", "x-delete-after",
)
_REPLY_KEPT = (
    "content-type", "content-length", "content-range", "last-modified", "accept-ranges",
    "content-encoding", "content-disposition", "content-language", "cache-control", "expires",
    "x-robots-tag",
)


def content_md5_etag(value: str) -> str:
    """The hex MD5 a ``Content-MD5`` header states."""
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise S3Error("InvalidDigest", ContentMD5=value) from None
    if len(digest) != 16:
        raise S3Error("InvalidDigest", ContentMD5=value)
    return digest.hex()


def swift_object_headers(s3: CIMultiDict[str], *, metadata: bool = True) -> CIMultiDict[str]:
    """The Swift headers that store what an S3 PUT (or initiate) says about
    the object."""
    out: CIMultiDict[str] = CIMultiDict()
    for name in PASSED:
        value = s3.get(name)
        if value is not None:
            out[name] = value
    encoding = ", ".join(e.strip() for e in s3.get("Content-Encoding", "").split(",")
                         if e.strip() and e.strip().lower() != "aws-chunked")
    if encoding:
        out["Content-Encoding"] = encoding
    if metadata:
        for name, value in s3.items():
            lname = name.lower()
            if not lname.startswith(META_PREFIX) or _IGNORED_META_CHARS & set(lname):
                continue
            key = "X-Object-Meta-" + lname[len(META_PREFIX):].replace("_", "=5F")
            if key in out:
                out[key] = out[key] + "," + value
            else:
                out[key] = value
    return out


def s3_object_headers(swift: CIMultiDict[str], etag: str | None) -> CIMultiDict[str]:
    """The S3 reply headers for a Swift object reply's (``etag`` is the S3
    ETag, unquoted)."""
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in swift.items():
        lname = name.lower()
        if lname in _REPLY_KEPT:
            out[name] = value
        elif lname.startswith("x-object-meta-"):
            out[META_PREFIX + lname[len("x-object-meta-"):].replace("=5f", "_")] = value
        elif lname == "x-delete-at":
            try:
                when = formatdate(int(value), usegmt=True)
            except ValueError:
                continue
            out["x-amz-expiration"] = f'expiry-date="{when}", rule-id="swift-object-expiration"'
        elif lname == "x-parts-count":
            out["x-amz-mp-parts-count"] = value
        elif lname == "x-object-version-id":
            out["x-amz-version-id"] = value
    if etag is not None:
        out["ETag"] = f'"{etag}"'
    return out
