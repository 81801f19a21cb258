"""The S3 API on the Swift API's port, as OpenStack Swift's s3api middleware
offers it with TempAuth.

A request carrying S3 authentication (an ``Authorization: AWS ...`` or
``AWS4-HMAC-SHA256 ...`` header, or a presigned URL's parameters) is an S3
request; every other request is the Swift API's, untouched. An S3 request
is served in four steps:

1. its head is parsed (path-style ``/<bucket>/<key>``; :mod:`.request`);
2. its signature is checked against TempAuth's users (:mod:`.auth`): the
   access key is ``account:user``, the secret the user's key;
3. its operation (:mod:`.router`) runs as Swift sub-requests on the user's
   account with the user's identity (:mod:`.context`), so a bucket *is* a
   container and an object *is* an object: what one API writes, the other
   reads, and TempAuth's rules and container ACLs apply unchanged;
4. its reply, or S3 error document (:mod:`.errors`), gets S3's
   ``x-amz-request-id``/``x-amz-id-2`` (the transaction id).

The package: ``request``, ``auth``, ``payload`` (body hashes, aws-chunked,
checksums), ``xml`` (safe parsing), ``errors``, ``headers``, ``names``,
``context``, ``router`` and one module per family of operations
(``listing``, ``bucket``, ``obj``, ``multipart``, ``multidelete``).
"""

from __future__ import annotations

import logging

from sciswift.errors import SciSwiftError
from sciswift.server.auth import Identity
from sciswift.server.backend import Backend
from sciswift.server.config import RESELLER_PREFIXES
from sciswift.server.http import Reply, SwiftError, SwiftRequest
from sciswift.server.s3.auth import authenticate
from sciswift.server.s3.config import S3Config
from sciswift.server.s3.context import S3Context, error_for
from sciswift.server.s3.errors import S3Error
from sciswift.server.s3.payload import S3Body, checksum_from_headers
from sciswift.server.s3.request import S3Head, looks_like_s3, parse_head
from sciswift.server.s3.router import route
from sciswift.server.wire import Request

__all__ = ["S3Api", "S3Config", "S3Error", "looks_like_s3"]

log = logging.getLogger("sciswift.server")


class S3Api:
    """The S3 front of one worker: ``claims`` says whether a request is S3's;
    ``handle`` answers it."""

    def __init__(self, backend: Backend, config: S3Config | None = None) -> None:
        self.be = backend
        self.config = config or S3Config(
            region=getattr(backend.config, "s3_region", "us-east-1"),
            storage_domains=getattr(backend.config, "s3_storage_domains", S3Config.storage_domains),
        )

    @staticmethod
    def claims(request: Request) -> bool:
        return looks_like_s3(request.head)

    async def handle(self, request: Request, tid: str) -> tuple[SwiftRequest | None, Reply]:
        """The reply to an S3 request, and the Swift request standing for it
        (for the access log; None when it never got that far)."""
        head: S3Head | None = None
        base: SwiftRequest | None = None
        try:
            try:
                head = parse_head(request.head, self.config.storage_domains)
            except (ValueError, UnicodeDecodeError):
                raise S3Error("InvalidURI", URI=request.head.target[:1024]) from None
            signed = authenticate(head, self.be.auth.users, region=self.config.region, skew=self.config.skew)
            user = signed.user
            account = f"{RESELLER_PREFIXES[0]}{user.account}"
            peer = request.peer
            base = SwiftRequest(
                method=head.method,
                path=f"/v1/{account}",
                query=SwiftRequest.parse_query(""),
                headers=head.headers,
                body=S3Body(
                    request.body,
                    payload_hash=signed.payload_hash,
                    signer=signed.signer,
                    decoded_length=_int(head.headers.get("x-amz-decoded-content-length")),
                    checksum=None if _completes_upload(head) else checksum_from_headers(head.headers),
                    run=self.be.run,
                ),
                account=account,
                identity=Identity(user=user.account_user, groups=frozenset(self.be.auth.groups_of(user))),
                remote_addr=peer[0] if isinstance(peer, tuple) else "-",
                host_url=f"{request.scheme}://{head.headers.get('Host') or request.host}",
                trans_id=tid,
            )
            assert isinstance(base.body, S3Body)
            ctx = S3Context(self.be, self.config, head, signed, base, base.body, tid)
            reply = await route(ctx)(ctx)
        except S3Error as exc:
            reply = exc.reply(tid)
        except SwiftError as exc:
            reply = await self._from_swift(exc.reply, head, base, tid)
        except SciSwiftError as exc:
            log.warning("%s: S3 %s %s: %s", tid, request.head.method, request.head.target, exc)
            reply = S3Error("InternalError").reply(tid)
        reply.headers["x-amz-request-id"] = tid
        reply.headers["x-amz-id-2"] = tid
        return base, reply

    @staticmethod
    def form_upload_refusal(method: str, content_type: str | None, tid: str) -> Reply | None:
        """S3's answer to a browser-form upload, or None for another request.

        POST Object sends ``multipart/form-data`` to ``/<bucket>`` with its
        signature among the form's fields, so it carries no S3 header and
        reaches the Swift API, whose answer would be a plain-text 412 "Bad
        URL". The caller asks only for a path that means nothing to the
        Swift API (no account); the answer is S3's ``NotImplemented``
        document naming the operation (the form is not read)."""
        if method != "POST" or not (content_type or "").lower().startswith("multipart/form-data"):
            return None
        reply = S3Error("NotImplemented", "PostObject (an upload from an HTML form) is not implemented by this "
                        "server; use PutObject or a presigned PUT URL.").reply(tid)
        reply.headers["x-amz-request-id"] = tid
        reply.headers["x-amz-id-2"] = tid
        return reply

    async def _from_swift(self, swift: Reply, head: S3Head | None, base: SwiftRequest | None, tid: str) -> Reply:
        """An S3 error for a Swift error raised inside an operation."""
        text = (await swift.read()).decode("utf-8", "replace")
        if head is None or base is None:
            return S3Error("InternalError").reply(tid)
        ctx = S3Context(self.be, self.config, head, None, base, base.body, tid)  # type: ignore[arg-type]
        err = await error_for(ctx, swift.status, text, head.method, head.bucket, head.key)
        return err.reply(tid)


def _completes_upload(head: S3Head) -> bool:
    """Whether ``head`` is a CompleteMultipartUpload, whose ``x-amz-checksum-*``
    headers state the checksum of the whole object it completes (S3's
    FULL_OBJECT or COMPOSITE checksum), not of its XML body: the operation
    checks them (:func:`multipart.complete`)."""
    return head.method == "POST" and head.key is not None and "uploadId" in head.params


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        raise S3Error("InvalidArgument", ArgumentName="x-amz-decoded-content-length", ArgumentValue=value) from None
    if n < 0:
        raise S3Error("InvalidArgument", ArgumentName="x-amz-decoded-content-length", ArgumentValue=value)
    return n
