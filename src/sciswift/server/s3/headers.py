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
- Headers asking for what the store cannot do (server-side encryption,
  object tags, object lock, website redirects) are refused rather than
  dropped (:func:`unsupported_feature`).
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

__all__ = ["swift_object_headers", "s3_object_headers", "content_md5_etag", "unsupported_feature", "META_PREFIX"]

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


#: Header prefixes of server-side encryption (SSE-S3, SSE-KMS, SSE-C, and a
#: copy source's SSE-C key).
_SSE = ("x-amz-server-side-encryption", "x-amz-copy-source-server-side-encryption")
#: Object lock settings on a write: retention, legal hold, event hold ...
_OBJECT_LOCK = "x-amz-object-lock-"


def unsupported_feature(s3: CIMultiDict[str]) -> S3Error | None:
    """The refusal of a request whose headers ask for something this store
    cannot honour, or None. Dropping such a header would tell the client its
    data is encrypted, tagged or locked when it is not, so it is refused
    before the operation runs, as Swift's s3api refuses encryption, tags and
    redirects:

    - server-side encryption of any kind: ``NotImplemented`` (objects are
      stored as sent; an SSE-C object would even read back without its key);
    - a non-empty ``x-amz-tagging``: ``NotImplemented`` (GetObjectTagging
      answers every object's empty tag set, which stays true);
    - ``x-amz-website-redirect-location``: ``NotImplemented``;
    - ACL grant headers (``x-amz-grant-*``), on any request: ``NotImplemented``
      (only canned ACLs map onto Swift container ACLs; a grant dropped would
      leave a bucket private that its owner believes shared, or the reverse);
    - an append (``x-amz-write-offset-bytes``): ``NotImplemented`` (a PUT
      that ignored it replaced the object with the appended bytes);
    - object lock settings (retention, legal hold, event hold) on a write:
      ``InvalidRequest``,
      S3's answer for a bucket without Object Lock (no bucket here has it:
      GetObjectLockConfiguration says so), and a bucket created with
      ``x-amz-bucket-object-lock-enabled: true``: ``NotImplemented``.
    """
    for name in s3:
        lname = name.lower()
        if lname.startswith(_SSE):
            return S3Error("NotImplemented", "Server-side encryption is not supported by this server.",
                           Header=lname)
        if lname.startswith(_OBJECT_LOCK):
            return S3Error("InvalidRequest", "Bucket is missing Object Lock Configuration")
        if lname == "x-amz-write-offset-bytes":
            return S3Error("NotImplemented", "Appends (x-amz-write-offset-bytes) are not implemented by this "
                           "server.", Header=lname)
        if lname.startswith("x-amz-grant-"):
            return S3Error("NotImplemented", "ACL grant headers are not supported by this server; use a canned ACL "
                           "(x-amz-acl).", Header=lname)
    if s3.get("x-amz-tagging", "").strip():
        return S3Error("NotImplemented", "Object tagging is not supported by this server.", Header="x-amz-tagging")
    if "x-amz-website-redirect-location" in s3:
        return S3Error("NotImplemented", "Website redirects are not supported by this server.",
                       Header="x-amz-website-redirect-location")
    if s3.get("x-amz-bucket-object-lock-enabled", "").strip().lower() == "true":
        return S3Error("NotImplemented", "Object Lock is not supported by this server.",
                       Header="x-amz-bucket-object-lock-enabled")
    return None
