"""Server-side copy: ``COPY`` with ``Destination`` (and ``Destination-Account``),
and ``PUT`` with ``X-Copy-From`` (and ``X-Copy-From-Account``), as Swift's copy
middleware.

The source is read with a GET sub-request made as the caller (so its read ACL
applies; ``Range`` and ``part-number`` select part of it; a large object is
copied as the bytes it assembles unless ``multipart-manifest=get`` asks for the
manifest itself), then written with a PUT sub-request as the caller (so the
destination's write ACL applies). The copy keeps the source's metadata and
persisted headers, updated by those of the request, or only the request's with
``X-Fresh-Metadata: true``. A copy of the source's whole bytes keeps the
checksums of its bytes (``content_checksums``) as system values, or, when the
request carries a ``copy_digest`` (S3's CopyObject asking for a new
checksum), the values that digest computes over the bytes copied. The 201 reply names the source in
``X-Copied-From``, ``X-Copied-From-Account`` and ``X-Copied-From-Last-Modified``.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from multidict import CIMultiDict

from sciswift.server.backend import Backend
from sciswift.server.http import TEXT_TYPE, IterBody, Reply, SwiftError, SwiftRequest, env_flag
from sciswift.server.objects import content_checksums, reply_chunks
from sciswift.store.names import MAX_FILE_SIZE

__all__ = ["handle_copy", "put_copy_from"]

#: Source reply headers never copied onto the new object.
_NOT_COPIED = {
    "x-static-large-object", "x-object-manifest", "etag", "content-type", "x-timestamp",
    "content-length", "content-range", "accept-ranges", "last-modified", "x-manifest-etag",
    "x-parts-count", "x-trans-id", "x-openstack-request-id", "date", "content-location",
}


def _check_path_header(value: str, header: str) -> tuple[str, str]:
    container, sep, obj = unquote(value, errors="surrogateescape").lstrip("/").partition("/")
    if not container or not sep or not obj:
        raise SwiftError(412, f"{header} header must be of the form <container name>/<object name>")
    return container, obj


def _check_account(value: str) -> str:
    account = unquote(value, errors="surrogateescape")
    if not account or "/" in account:
        raise SwiftError(412, f"Account name cannot contain slashes: {account!r}" if account else
                         "Account name cannot be empty")
    return account


async def handle_copy(be: Backend, req: SwiftRequest) -> Reply:
    """``COPY /account/container/object`` with ``Destination: container/object``."""

    if not req.headers.get("Destination"):
        raise SwiftError(412, "Destination header required")
    assert req.account is not None
    dest_account = req.account
    headers = CIMultiDict(req.headers)
    if "Destination-Account" in headers:
        dest_account = _check_account(headers.pop("Destination-Account"))
        headers["X-Copy-From-Account"] = quote(req.account)
    dest_container, dest_obj = _check_path_header(headers.pop("Destination"), "Destination")
    headers["X-Copy-From"] = quote(f"/{req.container}/{req.obj}")
    headers["Content-Length"] = "0"
    headers.popall("Transfer-Encoding", None)
    sub = req.sub("PUT", dest_account, dest_container, dest_obj, headers=headers, query=req.query)
    sub.depth = req.depth  # the same client request, moved to its destination
    return await be.subrequest(sub)


async def put_copy_from(be: Backend, req: SwiftRequest) -> Reply:
    """``PUT`` with ``X-Copy-From``: read the source, write the destination."""

    cl = req.headers.get("Content-Length")
    if (cl and cl != "0") or req.headers.get("Transfer-Encoding"):
        raise SwiftError(400, "Copy requests require a zero byte body", content_type=TEXT_TYPE)
    assert req.account is not None
    src_account = req.account
    if req.headers.get("X-Copy-From-Account"):
        src_account = _check_account(req.headers["X-Copy-From-Account"])
    src_container, src_obj = _check_path_header(req.headers["X-Copy-From"], "X-Copy-From")

    src_headers: dict[str, str] = {}
    for h in ("Range", "Referer"):
        if h in req.headers:
            src_headers[h] = req.headers[h]
    src_query = {
        k: v for k, v in req.query.items() if k in ("multipart-manifest", "part-number", "symlink", "version-id")
    }
    manifest_copy = src_query.get("multipart-manifest") == "get"
    if manifest_copy:
        src_query["format"] = "raw"
    source = await be.subrequest(
        req.sub("GET", src_account, src_container, src_obj, headers=src_headers, query=src_query)
    )
    if source.status >= 300:
        return source
    if source.content_length is None or source.content_length > MAX_FILE_SIZE:
        await source.drain()
        return Reply(413)

    sink_headers: CIMultiDict[str] = CIMultiDict()
    if env_flag(req.headers.get("X-Fresh-Metadata")):
        sink_headers.update(req.headers)
    else:
        for k, v in source.headers.items():
            if k.lower() not in _NOT_COPIED:
                sink_headers[k] = v
        for k in set(req.headers.keys()):
            sink_headers.popall(k, None)
        sink_headers.extend(req.headers)
    for h in ("X-Copy-From", "X-Copy-From-Account", "Transfer-Encoding", "Range"):
        sink_headers.popall(h, None)
    sink_query = {k: v for k, v in req.query.items() if k not in ("multipart-manifest", "version-id")}
    src_is_slo = env_flag(source.headers.get("X-Static-Large-Object"))
    if manifest_copy:
        if src_is_slo:
            sink_query["multipart-manifest"] = "put"
        if "X-Object-Manifest" in source.headers:
            sink_headers["X-Object-Manifest"] = source.headers["X-Object-Manifest"]
    vouched = None
    if source.status == 200 and not src_is_slo and ("X-Object-Manifest" not in source.headers or manifest_copy):
        sink_headers["Etag"] = source.headers.get("Etag", "").strip('"')
        # The source's bytes are checked as they are read (against their block
        # digests) and its ETag is their MD5: the writer need not hash them again.
        if "X-Object-Manifest" not in source.headers:
            vouched = sink_headers["Etag"] or None
    if not req.headers.get("Content-Type"):
        sink_headers["Content-Type"] = source.headers.get("Content-Type", "application/octet-stream")
    sink_headers["Content-Length"] = str(source.content_length)

    # A copy of the source's whole bytes keeps their checksums (system values,
    # read from the very version copied, so they match), unless the request
    # computes its own; a range, a part or a manifest copy is other bytes.
    whole = source.status == 200 and not manifest_copy and "part-number" not in src_query
    carried = content_checksums(source.stored) if whole and source.stored is not None else {}
    digest = req.copy_digest
    body = IterBody(reply_chunks(source), source.content_length, vouched_md5=vouched,
                    system=carried if digest is None else None, digest=digest)
    sink = req.sub("PUT", req.account, req.container, req.obj, headers=sink_headers, query=sink_query, body=body)
    sink.depth = req.depth
    try:
        reply = await be.subrequest(sink)
    finally:
        await source.drain()
    if reply.ok:
        reply.headers["X-Copied-From-Account"] = quote(src_account)
        reply.headers["X-Copied-From"] = quote(f"{src_container}/{src_obj}")
        if "Last-Modified" in source.headers:
            reply.headers["X-Copied-From-Last-Modified"] = source.headers["Last-Modified"]
        if "X-Object-Version-Id" in source.headers:  # the version read, as Swift's copy says
            reply.headers["X-Copied-From-Version-Id"] = source.headers["X-Object-Version-Id"]
        for k, v in sink_headers.items():
            if k.lower().startswith("x-object-meta-") or k.lower() == "x-delete-at":
                reply.headers[k] = v
    return reply
