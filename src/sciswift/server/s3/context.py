"""One S3 request being served, and the Swift sub-requests it makes.

An S3 operation becomes one or more Swift API sub-requests on the caller's
account (``AUTH_<account>``), made with the caller's identity, so TempAuth's
rules and container ACLs decide exactly as they do for Swift clients, and
every Swift feature (atomic writes, quotas, expiry, ranges, large objects)
applies. :meth:`S3Context.check` turns a Swift refusal into S3's error, as
Swift's s3api maps them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from multidict import MultiDict

from sciswift.server.backend import Backend
from sciswift.server.http import Body, BytesBody, Reply, SwiftRequest
from sciswift.server.s3.auth import Authenticated
from sciswift.server.s3.config import S3Config
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.names import SEGMENTS_SUFFIX
from sciswift.server.s3.payload import S3Body
from sciswift.server.s3.request import S3Head

__all__ = ["S3Context", "error_for"]


@dataclass
class S3Context:
    """What a handler needs: the backend, the request, who sent it, its body."""

    be: Backend
    cfg: S3Config
    head: S3Head
    auth: Authenticated
    base: SwiftRequest
    body: S3Body
    tid: str

    @property
    def account(self) -> str:
        """The caller's Swift account (``AUTH_<account>``)."""
        assert self.base.account is not None
        return self.base.account

    @property
    def user_id(self) -> str:
        """The owner S3 shows: ``account:user``, as s3api with TempAuth."""
        return self.auth.access_key

    @property
    def bucket(self) -> str:
        assert self.head.bucket is not None
        return self.head.bucket

    @property
    def key(self) -> str:
        assert self.head.key is not None
        return self.head.key

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.head.params.get(name, default)

    def sub(
        self,
        method: str,
        container: str | None = None,
        obj: str | None = None,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        query: Mapping[str, str] | None = None,
        body: Body | None = None,
    ) -> SwiftRequest:
        return self.base.sub(method, self.account, container, obj, headers=headers,
                             query=MultiDict(query or {}), body=body if body is not None else BytesBody())

    async def swift(
        self,
        method: str,
        container: str | None = None,
        obj: str | None = None,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        query: Mapping[str, str] | None = None,
        body: Body | None = None,
    ) -> Reply:
        """The Swift reply to a sub-request (errors not translated)."""
        return await self.be.subrequest(self.sub(method, container, obj, headers=headers, query=query, body=body))

    async def check(self, reply: Reply, method: str, container: str | None, obj: str | None) -> Reply:
        """``reply`` if it is a success, else the S3Error it means (raised)."""
        if reply.status < 300 or reply.status == 304:
            return reply
        text = (await reply.read()).decode("utf-8", "replace") if reply.body is not None else ""
        raise await error_for(self, reply.status, text, method, container, obj)


async def error_for(ctx: S3Context, status: int, text: str, method: str, container: str | None,
                    obj: str | None) -> S3Error:
    """The S3 error a Swift status means for ``method`` on a container/object
    (Swift s3api's tables)."""
    if status == 401:
        return S3Error("SignatureDoesNotMatch")
    if status == 403:
        return S3Error("AccessDenied")
    if container is not None and obj is None:
        if status == 404:
            return S3Error("NoSuchBucket", BucketName=container)
        if status == 409 and method == "DELETE":
            return S3Error("BucketNotEmpty", BucketName=container)
    elif container is not None and obj is not None:
        if status == 404:
            if method == "PUT":
                return S3Error("NoSuchBucket", BucketName=container)
            if method != "DELETE" and not container.endswith(SEGMENTS_SUFFIX) and \
                    await ctx.be.container_info(ctx.base, ctx.account, container) is None:
                return S3Error("NoSuchBucket", BucketName=container)
            return S3Error("NoSuchKey", Key=obj)
        if status == 412:
            return S3Error("PreconditionFailed")
        if status == 422:
            return S3Error("BadDigest")
        if status == 413:
            if "quota" in text.lower():
                return S3Error("EntityTooLarge", text.strip())
            return S3Error("EntityTooLarge")
        if status == 411:
            return S3Error("MissingContentLength")
        if status in (408, 499):
            return S3Error("RequestTimeout")
        if status == 416:
            return S3Error("InvalidRange")
    if status == 400:
        message = text.strip()
        if "X-Delete-At" in message:
            return S3Error("InvalidArgument", message, ArgumentName="X-Delete-At",
                           ArgumentValue=ctx.head.headers.get("X-Delete-At", ""))
        if "X-Delete-After" in message:
            return S3Error("InvalidArgument", message, ArgumentName="X-Delete-After",
                           ArgumentValue=ctx.head.headers.get("X-Delete-After", ""))
        return S3Error("InvalidRequest", message or None)
    if status == 409:
        return S3Error("ServiceUnavailable")
    if status in (503, 507):
        return S3Error("ServiceUnavailable")
    return S3Error("InternalError", f"unexpected status {status} from the store")
