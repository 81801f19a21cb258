"""Bulk delete (``POST`` or ``DELETE`` with ``?bulk-delete``), as Swift's bulk
middleware, and the result bodies it shares with SLO delete and heartbeating
SLO uploads.

The request body lists ``/container/object`` (or ``/container``) paths, one per
line, percent-encoded; objects are deleted before containers, each as a DELETE
sub-request made as the caller would. The objects of one container go to the
store in one call when a DELETE there only removes the object (the container
keeps no versions), after the caller's write permission is checked once for
the container, as each sub-request would check it: a LocalStore then deletes
them in one index transaction, and packs lose all their records at once
instead of being compacted again and again as they empty (a 960-chunk file,
~500 MB: 2.4-3.0 s and 1.7-2.7 s of server CPU one by one, see docs/server.md).
The reply is 200 with a body (plain text, JSON or XML after the Accept header)
giving ``Number Deleted``, ``Number Not Found``, ``Response Status``,
``Response Body`` and ``Errors``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from multidict import CIMultiDict

from sciswift.errors import InvalidInput, SciSwiftError
from sciswift.server.backend import Backend
from sciswift.server.http import Reply, SwiftError, SwiftRequest, best_match, gather_limited, status_line
from sciswift.server.middleware import object_versioning, versioned_writes
from sciswift.server.writing import writable
from sciswift.store.names import check_object_name

__all__ = ["bulk_delete", "delete_paths", "result_body", "accept_format", "MAX_DELETES", "ACCEPTABLE"]

MAX_DELETES = 10000
MAX_FAILED_DELETES = 1000
MAX_PATH_LENGTH = 256 + 1024 + 2
DELETE_CONCURRENCY = 8
ACCEPTABLE = ("text/plain", "application/json", "application/xml", "text/xml")


def accept_format(req: SwiftRequest, default: str | None = "text/plain") -> str | None:
    """The best of text/plain, application/json, application/xml, text/xml
    for the Accept header (``default`` when there is none or it is invalid)."""
    try:
        return best_match(req.headers.get("Accept"), {a: a for a in ACCEPTABLE}, default)
    except ValueError:
        return default


def result_body(fmt: str | None, data: dict[str, object], errors: list[list[str]], root: str) -> bytes:
    """A bulk-operation result in ``fmt`` (Swift's heartbeat response body)."""
    if fmt == "application/json":
        return json.dumps(dict(data, Errors=errors)).encode("ascii")
    if fmt and fmt.endswith("/xml"):
        out = [f"<{root}>\n"]
        for key in sorted(data):
            tag = key.replace(" ", "_").lower()
            out.append(f"<{tag}>{escape(str(data[key]))}</{tag}>\n")
        out.append("<errors>\n")
        for name, status in errors:
            out.append(f"<object><name>{escape(name)}</name><status>{escape(status)}</status></object>\n")
        out.append(f"</errors>\n</{root}>\n")
        return "".join(out).encode("utf-8")
    lines = [f"{key}: {data[key]}\n" for key in sorted(data)]
    lines.append("Errors:\n")
    lines.extend(f"{name}, {status}\n" for name, status in errors)
    return "".join(lines).encode("utf-8")


async def _read_paths(req: SwiftRequest) -> list[str]:
    if req.body.length is None and req.headers.get("Transfer-Encoding", "").lower() != "chunked":
        raise SwiftError(411)
    data = await req.body.read_all(limit=MAX_DELETES * (MAX_PATH_LENGTH + 2))
    paths = []
    for line in data.split(b"\n"):
        line = line.strip()
        if not line:
            continue
        if len(line) > MAX_PATH_LENGTH * 2:
            raise SwiftError(400, "Invalid File Name")
        paths.append(unquote(line.decode("utf-8", "surrogateescape"), errors="surrogateescape"))
        if len(paths) > MAX_DELETES:
            raise SwiftError(413, f"Maximum Bulk Deletes: {MAX_DELETES} per request")
    return paths


async def delete_paths(
    be: Backend,
    req: SwiftRequest,
    paths: Iterable[str],
    errors_in: dict[str, tuple[int, str]] | None = None,
    queries: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, object], list[list[str]]]:
    """DELETE each ``/container[/object]`` path as the caller (objects first);
    returns the result fields and the error list. ``errors_in`` holds paths
    already known to have failed (status, message); ``queries`` the query of
    some paths' DELETE (a version to delete)."""

    assert req.account is not None
    result: dict[str, object] = {
        "Response Status": status_line(200), "Response Body": "", "Number Deleted": 0, "Number Not Found": 0,
    }
    failed: list[list[str]] = []
    paths = [p for p in paths if p.lstrip("/")]
    for path, (status, message) in (errors_in or {}).items():
        if status == 404:
            result["Number Not Found"] = int(result["Number Not Found"]) + 1  # type: ignore[call-overload]
        else:
            failed.append([quote(path), message])

    async def one(path: str) -> tuple[str, int]:
        # As Swift: only leading slashes go; "c/dir/" names the object "dir/".
        container, _, obj = path.lstrip("/").partition("/")
        sub = req.sub("DELETE", req.account, container, obj or None, query=(queries or {}).get(path))
        try:
            reply = await be.subrequest(sub)
        except SwiftError as exc:
            reply = exc.reply
        await reply.drain()
        return path, reply.status

    objects = [p for p in paths if p.lstrip("/").partition("/")[2]]
    containers = [p for p in paths if not p.lstrip("/").partition("/")[2]]
    together: set[int] = set()
    for container, indexes in _by_container(objects, queries or {}).items():
        names = [objects[i].lstrip("/").partition("/")[2] for i in indexes]
        counts = await _delete_together(be, req, container, names)
        if counts is not None:
            together.update(indexes)
            result["Number Deleted"] = int(result["Number Deleted"]) + counts[0]  # type: ignore[call-overload]
            result["Number Not Found"] = int(result["Number Not Found"]) + counts[1]  # type: ignore[call-overload]
    objects = [p for i, p in enumerate(objects) if i not in together]
    bad_gateway = False
    for group in (objects, containers):
        for path, status in await gather_limited((one(p) for p in group), DELETE_CONCURRENCY):
            if 200 <= status < 300:
                result["Number Deleted"] = int(result["Number Deleted"]) + 1  # type: ignore[call-overload]
            elif status == 404:
                result["Number Not Found"] = int(result["Number Not Found"]) + 1  # type: ignore[call-overload]
            else:
                bad_gateway |= status >= 500
                failed.append([quote(path), status_line(status)])
            if len(failed) >= MAX_FAILED_DELETES:
                result["Response Status"] = status_line(400)
                result["Response Body"] = "Max delete failures exceeded"
                return result, failed
    if failed:
        result["Response Status"] = "502 Bad Gateway" if bad_gateway else status_line(400)
    elif not (result["Number Deleted"] or result["Number Not Found"]):
        result["Response Status"] = status_line(400)
        result["Response Body"] = "Invalid bulk delete."
    return result, failed


def _by_container(objects: list[str], queries: dict[str, dict[str, str]]) -> dict[str, list[int]]:
    """The object paths that may be deleted together, as indexes into
    ``objects`` by container (two or more per container): those without a query
    of their own, naming an object the store accepts (the others go one by one,
    and get their own errors). A path listed twice is there twice, as it would
    be one by one (deleted, then not found)."""
    groups: dict[str, list[int]] = {}
    for i, path in enumerate(objects):
        if path in queries:
            continue
        container, _, name = path.lstrip("/").partition("/")
        try:
            check_object_name(name)
        except InvalidInput:
            continue
        groups.setdefault(container, []).append(i)
    return {c: group for c, group in groups.items() if len(group) > 1}


async def _delete_together(be: Backend, req: SwiftRequest, container: str, names: list[str]) -> tuple[int, int] | None:
    """DELETE ``names`` (of one ``container``) as the caller, in one store call:
    (deleted, not found); None when they must go one by one: the caller may not
    write there or the container is missing (each DELETE gets its own reply),
    a DELETE there does more than remove the object (versioned containers), or
    the store failed (each DELETE reports its own error). The write permission
    is the container's, the same for every object in it (``Auth.authorize``)."""
    assert req.account is not None
    target = await writable(be, req.sub("DELETE", req.account, container, names[0]))
    if isinstance(target, Reply):
        return None
    store, cinfo = target
    if object_versioning.enabled_for(be, cinfo) or versioned_writes.location(be, cinfo) is not None:
        return None
    try:
        deleted = await be.run(store.delete_many, container, names)
    except SciSwiftError:
        return None
    return deleted, len(names) - deleted


async def bulk_delete(be: Backend, req: SwiftRequest) -> Reply:
    """``?bulk-delete``: 200 with a result body in the Accept format."""
    fmt = accept_format(req)
    if fmt is None:
        return Reply(406)
    ctype = req.headers.get("Content-Type")
    try:
        if ctype and not ctype.startswith("text/plain"):
            raise SwiftError(406)
        paths = await _read_paths(req)
        result, failed = await delete_paths(be, req, paths)
    except SwiftError as exc:
        body = exc.reply.body
        result = {"Response Status": status_line(exc.status), "Number Deleted": 0, "Number Not Found": 0,
                  "Response Body": body.decode("utf-8", "replace") if isinstance(body, bytes) else ""}
        failed = []
    prefix = b'<?xml version="1.0" encoding="UTF-8"?>\n' if fmt.endswith("/xml") else b""
    return Reply(200, CIMultiDict({"Content-Type": fmt}), prefix + result_body(fmt, result, failed, "delete"))


async def heartbeat_body(first: bytes, work: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """A heartbeating body: ``first`` at once, then whatever ``work`` yields."""
    yield first
    async for chunk in work:
        yield chunk
