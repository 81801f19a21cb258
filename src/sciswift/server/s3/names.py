"""Bucket names, the segments container, times and ETags as S3 shows them."""

from __future__ import annotations

import math
import re
import time

__all__ = [
    "valid_bucket_name",
    "segments_container",
    "SEGMENTS_SUFFIX",
    "s3_time",
    "quoted",
    "S3_ETAG",
    "S3_UPLOAD_ID",
]

#: Multipart parts live in ``<bucket>+segments`` (Swift s3api's layout), so
#: Swift clients reading the finished object find its segments where s3api
#: would put them. ``+`` is not valid in a bucket name: S3 never lists it.
SEGMENTS_SUFFIX = "+segments"
#: Object system values of a completed multipart upload (s3api's sysmeta names).
S3_ETAG = "x-object-sysmeta-s3api-etag"
S3_UPLOAD_ID = "x-object-sysmeta-s3api-upload-id"

_IP = re.compile(r"^(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}"
                 r"([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])$")


def valid_bucket_name(name: str, dns_compliant: bool) -> bool:
    """S3's bucket naming rules (with ``dns_compliant`` False, capitals and
    ``_`` are allowed and names may be 255 long, as Swift s3api's option)."""
    chars = r"[-.a-z0-9]" if dns_compliant else r"[-.a-zA-Z0-9_]"
    if not 3 <= len(name) <= (63 if dns_compliant else 255) or not name[0].isalnum() or not name.isascii():
        return False
    if dns_compliant and (".-" in name or "-." in name or ".." in name or not name[-1].isalnum()):
        return False
    if name.endswith(".") or _IP.match(name):
        return False
    return re.fullmatch(chars + "*", name) is not None


def segments_container(bucket: str) -> str:
    return bucket + SEGMENTS_SUFFIX


def s3_time(timestamp: float) -> str:
    """``2026-12-06T10:11:12.000Z``: S3's time, rounded up to the second like
    Last-Modified, so a listing's time and a HEAD's agree."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(math.ceil(round(timestamp, 5))))


def quoted(etag: str) -> str:
    etag = etag.strip()
    return etag if etag.startswith('"') else f'"{etag}"'
