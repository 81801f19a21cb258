"""Form posts: a browser uploads files into a container with an HTML form
signed by the container's owner, as Swift's formpost.

A ``POST`` of ``multipart/form-data`` to ``/v1/account/container[/prefix]``
holds the form's fields (``redirect``, ``max_file_size``, ``max_file_count``,
``expires``, ``signature``, optionally ``x_delete_at``/``x_delete_after``,
``content-type``, ``content-encoding``) and then its files. Each file is
stored as ``<prefix><filename>`` by a PUT made within the signed container
only. The signature is the HMAC of
``path\\nredirect\\nmax_file_size\\nmax_file_count\\nexpires`` under one of the
account's or the container's temp-URL keys (hex, or ``digest:base64``).

Fields after the first file are not seen (the body is streamed, never held).
The answer is ``201 Created`` text (or the failing PUT's status and body), or
with ``redirect`` a ``303 See Other`` to ``redirect?status=..&message=..``.
A bad form is ``400 FormPost: <reason>``; a bad or expired signature ``401``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import quote

from multidict import CIMultiDict

from sciswift.server.auth import Identity, Scope
from sciswift.server.backend import Backend
from sciswift.server.http import IterBody, Reply, SwiftRequest, error, status_line
from sciswift.server.middleware import signatures
from sciswift.server.middleware.multipart import MultipartError, MultipartReader, Part, content_disposition
from sciswift.server.middleware.types import Next

__all__ = ["handle", "USER"]

#: The user a form's uploads run as.
USER = ".wsgi.formpost"
#: The longest field value kept (longer ones are cut, as Swift does).
MAX_VALUE_LENGTH = 4096


class FormInvalid(Exception):
    """400: the form is malformed."""


class FormUnauthorized(Exception):
    """401: the signature does not allow this upload."""


async def handle(be: Backend, req: SwiftRequest, app: Next) -> Reply:
    """Turn a signed form post into uploads; other requests go on to ``app``."""
    if req.method != "POST":
        return await app(req)
    kind, params = content_disposition(req.headers.get("Content-Type", ""))
    if kind != "multipart/form-data" or "boundary" not in params:
        return await app(req)
    try:
        return await _translate(be, req, params["boundary"])
    except MultipartError as exc:
        return error(400, f"FormPost: {exc}", content_type="text/plain")
    except FormInvalid as exc:
        return error(400, f"FormPost: {exc}", content_type="text/plain")
    except FormUnauthorized as exc:
        return error(401, f"FormPost: {str(exc).title()}")


async def _keys(be: Backend, req: SwiftRequest) -> list[str]:
    if req.account is None or req.container is None or req.version not in ("v1", "v1.0"):
        return []
    keys: list[str] = []
    ainfo = await be.account_info(req, req.account)
    if ainfo is not None:
        keys += signatures.keys_from(ainfo.metadata)
    cinfo = await be.container_info(req, req.account, req.container)
    if cinfo is not None:
        keys += signatures.keys_from(cinfo.metadata)
    return keys


async def _value(part: Part) -> str:
    data = b""
    while len(data) < MAX_VALUE_LENGTH:
        chunk = await part.read(MAX_VALUE_LENGTH - len(data))
        if not chunk:
            break
        data += chunk
    await part.drain()
    return data.decode("utf-8", "replace")


async def _translate(be: Backend, req: SwiftRequest, boundary: str) -> Reply:
    keys = await _keys(be, req)
    reader = MultipartReader(req.body, boundary)
    attributes: dict[str, str] = {}
    status, message = 0, ""
    result: Reply | None = None
    files = 0
    while (part := await reader.next_part()) is not None:
        disposition, attrs = content_disposition(part.headers.get("Content-Disposition", ""))
        if disposition == "form-data" and attrs.get("filename"):
            files += 1
            try:
                if files > int(attributes.get("max_file_count") or 0):
                    status, message = 400, "max file count exceeded"
                    await part.drain()
                    break
            except ValueError:
                raise FormInvalid("max_file_count not an integer") from None
            file_attributes = dict(attributes, filename=attrs["filename"] or "filename")
            if "content-type" not in attributes and part.headers.get("Content-Type") is not None:
                file_attributes["content-type"] = part.headers["Content-Type"] or "application/octet-stream"
            if "content-encoding" not in attributes and part.headers.get("Content-Encoding") is not None:
                file_attributes["content-encoding"] = part.headers["Content-Encoding"]
            result = await _upload(be, req, file_attributes, part, keys)
            status = result.status
            await part.drain()
            if not result.ok:
                break
        else:
            value = await _value(part)
            if "name" in attrs:
                attributes[attrs["name"].lower()] = value.rstrip("\r\n-")  # as Swift: any trailing CR, LF, dash
    # the rest of the body (fields or files after a refusal) is not needed
    while not reader.finished and (part := await reader.next_part()) is not None:
        await part.drain()
    if not status:
        status, message = 400, "no files to process"
    headers: CIMultiDict[str] = CIMultiDict()
    if result is not None:
        for k, v in result.headers.items():
            if k.lower().startswith("access-control"):
                headers[k] = v
    redirect = attributes.get("redirect")
    if not redirect:
        text = status_line(status) + (f"\r\nFormPost: {message.title()}" if message else "")
        body = text.encode("utf-8")
        if result is not None and not result.ok:
            body = await result.read() or body
        headers["Content-Type"] = "text/plain"
        return Reply(status, headers, body)
    redirect += "&" if "?" in redirect else "?"
    redirect += f"status={quote(str(status))}&message={quote(message)}"
    headers["Location"] = redirect
    page = f'<html><body><p><a href="{redirect}">Click to continue...</a></p></body></html>'
    headers["Content-Type"] = "text/html; charset=UTF-8"
    return Reply(303, headers, page.encode("utf-8"))


async def _upload(be: Backend, req: SwiftRequest, attributes: dict[str, str], part: Part, keys: list[str]) -> Reply:
    """PUT one file of the form, once its signature is checked."""
    if not keys:
        raise FormUnauthorized("invalid signature")
    try:
        max_file_size = int(attributes.get("max_file_size") or 0)
    except ValueError:
        raise FormInvalid("max_file_size not an integer") from None
    headers: CIMultiDict[str] = CIMultiDict({"Transfer-Encoding": "chunked"})
    if "x_delete_at" in attributes:
        try:
            headers["X-Delete-At"] = str(int(attributes["x_delete_at"]))
        except ValueError:
            raise FormInvalid("x_delete_at not an integer: Unix timestamp required.") from None
    if "x_delete_after" in attributes:
        try:
            headers["X-Delete-After"] = str(int(attributes["x_delete_after"]))
        except ValueError:
            raise FormInvalid("x_delete_after not an integer: Number of seconds required.") from None
    if "content-type" in attributes:
        headers["Content-Type"] = attributes["content-type"] or "application/octet-stream"
    if "content-encoding" in attributes:
        headers["Content-Encoding"] = attributes["content-encoding"]
    try:
        if int(attributes.get("expires") or 0) < time.time():
            raise FormUnauthorized("form expired")
    except ValueError:
        raise FormInvalid("expired not an integer") from None
    message = "\n".join([
        req.path, attributes.get("redirect") or "", attributes.get("max_file_size") or "0",
        attributes.get("max_file_count") or "0", attributes.get("expires") or "0",
    ])
    try:
        algorithm, signature = signatures.split_signature(attributes.get("signature", ""))
    except ValueError:
        raise FormUnauthorized("invalid signature") from None
    if algorithm not in be.config.middleware.formpost.allowed_digests:
        raise FormUnauthorized("invalid signature")
    if not signatures.matches(signature, [signatures.hmac_hex(k, message, algorithm) for k in keys]):
        raise FormUnauthorized("invalid signature")
    assert req.account is not None and req.container is not None
    prefix = req.obj or ""
    name = prefix + (attributes["filename"] or "filename")
    exceeded = False

    async def capped() -> AsyncIterator[bytes]:
        nonlocal exceeded
        got = 0
        while chunk := await part.read():
            got += len(chunk)
            if got > max_file_size:
                exceeded = True
                raise FormInvalid("max_file_size exceeded")
            yield chunk

    sub = req.sub("PUT", req.account, req.container, name, headers=headers, body=IterBody(capped(), None))
    sub.identity = Identity(user=USER, groups=frozenset(), scope=Scope(req.account, req.container))
    reply = await be.subrequest(sub)  # a file over max_file_size raises FormInvalid from its body
    if exceeded:
        raise FormInvalid("max_file_size exceeded")
    body = await reply.read()
    return Reply(reply.status, reply.headers, body)
