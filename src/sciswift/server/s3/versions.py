"""S3 object versions on the Swift API's object versioning, as Swift's s3api
maps them.

- A bucket's versioning state is its container's ``X-Versions-Enabled``
  (PutBucketVersioning ``Enabled``/``Suspended`` sets it; see
  :mod:`.bucket`). Versions are the Swift API's: ids are the times they were
  written (``1733480000.12345``); ``null`` is the object written while
  versioning was never enabled or suspended. As with s3api, a ``null`` object
  later displaced by a versioned write is kept under the id of the time it
  was written.
- ``versionId`` on GET/HEAD/DELETE/CopyObject/UploadPartCopy is Swift's
  ``version-id``; the replies' ``X-Object-Version-Id`` is ``x-amz-version-id``.
- DELETE without a version in a bucket whose versioning is enabled writes a
  delete marker (``x-amz-delete-marker: true``); removing the current version
  (or the delete marker on top) makes the newest remaining version current
  again, as in S3 (s3api's restore-on-delete).
- ListObjectVersions is the Swift API's versions listing, read from the
  store as the other S3 listings are (so a multipart object shows its S3
  ETag), with S3's paging: ``key-marker``/``version-id-marker``, and a key
  marker that is a common prefix continues after everything under it.

This module holds the pieces shared by the object, delete and listing
operations (ListObjectVersions itself is in :mod:`.listing`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from sciswift.server.http import Reply
from sciswift.server.middleware import object_versioning
from sciswift.server.s3.context import S3Context
from sciswift.server.s3.errors import S3Error

__all__ = [
    "DELETE_MARKER", "check_version_id", "bucket_state", "asked_version", "latest_delete_marker", "restore_latest", "has_versions",
    "version_headers",
]

DELETE_MARKER = object_versioning.DELETE_MARKER
_VERSION_ID = re.compile(r"^\d{1,10}(\.\d{1,5})?$")


def check_version_id(value: str, name: str = "versionId") -> str:
    """``value`` if it is a version id this server can hold (``null`` or a
    Swift version id), else ``InvalidArgument``."""
    if value == "null" or _VERSION_ID.match(value):
        return value
    raise S3Error("InvalidArgument", "Invalid version id specified", ArgumentName=name, ArgumentValue=value)


async def bucket_state(ctx: S3Context, bucket: str) -> tuple[bool, bool]:
    """(versions may exist: versioning was ever enabled, writes make versions now)."""
    cinfo = await ctx.be.container_info(ctx.base, ctx.account, bucket)
    return object_versioning.versioned(ctx.be, cinfo), object_versioning.enabled_for(ctx.be, cinfo)


async def asked_version(ctx: S3Context, query: dict[str, str]) -> str | None:
    """The ``versionId`` a read asks for (None: the current one), checked and
    put in ``query`` as the Swift read's ``version-id``. A version other than
    ``null`` in a bucket that never kept versions is ``NoSuchVersion``."""
    version = ctx.param("versionId")
    if version is None:
        return None
    check_version_id(version)
    if version != "null" and not (await bucket_state(ctx, ctx.bucket))[0]:
        raise S3Error("NoSuchVersion", Key=ctx.key, VersionId=version)
    query["version-id"] = version
    return version


def version_headers(swift: Reply) -> dict[str, str]:
    """``x-amz-version-id`` of the version a Swift write made (none when it
    made none: a bucket never versioned, or suspended)."""
    version = swift.headers.get("X-Object-Version-Id")
    return {"x-amz-version-id": version} if version else {}


async def _latest(ctx: S3Context, bucket: str, key: str) -> dict[str, Any] | None:
    """The newest version of ``key`` (its Swift versions-listing record)."""
    reply = await ctx.swift("GET", bucket, query={"versions": "", "format": "json", "prefix": key, "limit": "1"})
    if reply.status != 200:
        await reply.drain()
        return None
    for item in json.loads(await reply.read() or b"[]"):
        if item.get("name") == key:
            return dict(item)
    return None


async def latest_delete_marker(ctx: S3Context, bucket: str, key: str) -> str | None:
    """The version id of the delete marker on top of ``key``, if one is."""
    latest = await _latest(ctx, bucket, key)
    if latest is None or latest.get("content_type") != DELETE_MARKER:
        return None
    return str(latest.get("version_id"))


async def restore_latest(ctx: S3Context, bucket: str, key: str) -> None:
    """After a version of ``key`` was deleted: when no current object remains,
    the newest remaining version becomes current (a delete marker on top
    leaves the key deleted), as S3 does."""
    head = await ctx.swift("HEAD", bucket, key, query={"symlink": "get"})
    await head.drain()
    if head.status != 404:
        return
    latest = await _latest(ctx, bucket, key)
    if latest is None or latest.get("content_type") == DELETE_MARKER or latest.get("version_id") in (None, "null"):
        return
    made = await ctx.swift("PUT", bucket, key, query={"version-id": str(latest["version_id"])},
                           headers={"Content-Length": "0"})
    # a version deleted meanwhile (404), or the bucket: nothing left to restore
    await made.drain()


async def has_versions(ctx: S3Context, bucket: str) -> bool:
    """Whether any version or delete marker of any key remains."""
    reply = await ctx.swift("GET", bucket, query={"versions": "", "format": "json", "limit": "1"})
    if reply.status != 200:
        await reply.drain()
        return False
    return bool(json.loads(await reply.read() or b"[]"))
