"""Static large objects: ``?multipart-manifest=put|get|delete``, as Swift's slo
middleware.

PUT takes a JSON list of segments (``{"path", "etag", "size_bytes", "range"}``
or inline ``{"data": base64}``), checks each object segment with a HEAD made as
the caller (existence, size, ETag, range), and stores Swift's manifest format
(``name``, ``bytes``, ``hash``, ``content_type``, ``last_modified``, ``range``,
``sub_slo``) as an object marked ``X-Static-Large-Object: True``, with the SLO's
ETag and size kept as system values. The SLO ETag is the MD5 of the segment
ETags concatenated (``etag:range;`` for ranged segments, the MD5 of the bytes
for data segments), sent quoted.

GET/HEAD assemble the segments (ranges, multipart ranges and ``part-number``
supported; nested SLOs are read through their own GET). ``multipart-manifest=get``
returns the stored manifest, ``&format=raw`` converts it back to the PUT format.
DELETE with ``multipart-manifest=delete`` removes the segments (recursively)
and then the manifest, answering like a bulk delete.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from multidict import CIMultiDict

from sciswift.errors import SciSwiftError
from sciswift.server import bulk
from sciswift.server.backend import Backend
from sciswift.server.conditional import check_conditions, normalize_etag
from sciswift.server.http import (
    REASONS,
    TEXT_TYPE,
    Reply,
    ReplyBody,
    SwiftError,
    SwiftRequest,
    env_flag,
    error,
    error_log,
    gather_limited,
    status_line,
)
from sciswift.server.middleware.namespace import home_account
from sciswift.server.objects import SLO_ETAG, SLO_SIZE, is_slo, object_headers, ranged_reply, serves_own_bytes
from sciswift.server.ranges import content_range, parse_ranges, resolve_ranges
from sciswift.server.segments import Piece, slo_level, split_segment_path, stream_pieces, validated_stream
from sciswift.server.writing import write_object
from sciswift.store.types import ObjectInfo

__all__ = [
    "put", "get_or_head", "delete", "listing_extras", "segment_pieces", "segment_heads", "slo_etag_of",
    "MAX_MANIFEST_SEGMENTS", "MAX_MANIFEST_SIZE",
]

MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
YIELD_FREQUENCY = 10
HEAD_CONCURRENCY = 8
_KEYS = {"path": {"etag", "size_bytes", "range"}, "data": set()}


def listing_extras(info: ObjectInfo) -> dict[str, Any]:
    """What a container listing shows for an SLO manifest: the SLO's size as
    ``bytes`` and its quoted ETag as ``slo_etag``."""
    out: dict[str, Any] = {}
    if is_slo(info):
        try:
            out["bytes"] = int(info.system[SLO_SIZE])
        except (KeyError, ValueError):
            pass
        if info.system.get(SLO_ETAG):
            out["slo_etag"] = f'"{info.system[SLO_ETAG]}"'
    return out


# ------------------------------------------------------------------ PUT
def _strict_b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    stripped = "".join(value.split())
    return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)


def parse_manifest(body: bytes, account: str, container: str, obj: str) -> list[dict[str, Any]]:
    """The validated segment list of a manifest PUT body; raises SwiftError(400)
    listing every problem, as Swift's ``parse_and_validate_input``."""
    try:
        parsed = json.loads(body)
    except ValueError:
        raise SwiftError(400, "Manifest must be valid JSON.\n") from None
    if not isinstance(parsed, list):
        raise SwiftError(400, "Manifest must be a list.\n")
    errors: list[str] = []
    own_path = f"/{container}/{obj}"
    for i, seg in enumerate(parsed):
        if not isinstance(seg, dict):
            errors.append(f"Index {i}: not a JSON object")
            continue
        kind = next((k for k in _KEYS if k in seg), None)
        if kind is None:
            errors.append(f"Index {i}: expected keys to include one of 'path' or 'data'")
            continue
        extra = sorted(k for k in seg if k not in _KEYS[kind] | {kind})
        if extra:
            errors.append(f"Index {i}: extraneous keys " + ", ".join(json.dumps(k) for k in extra))
            continue
        if kind == "data":
            try:
                data = _strict_b64(seg["data"])
            except (ValueError, binascii.Error):
                errors.append(f"Index {i}: data must be valid base64")
                continue
            if not data:
                errors.append(f"Index {i}: too small; each segment must be at least 1 byte.")
                continue
            seg["data"] = base64.b64encode(data).decode("ascii")
            continue
        path = seg["path"]
        if not isinstance(path, str):
            errors.append(f'Index {i}: "path" must be a string')
            continue
        if not (seg.get("etag") is None or isinstance(seg["etag"], str)):
            errors.append(f'Index {i}: "etag" must be a string or null (if provided)')
            continue
        if "/" not in path.strip("/"):
            errors.append(f"Index {i}: path does not refer to an object. Path must be of the form /container/object.")
            continue
        size = seg.get("size_bytes")
        if size is not None:
            try:
                size = int(size)
            except (TypeError, ValueError):
                errors.append(f"Index {i}: invalid size_bytes")
                continue
            seg["size_bytes"] = size
            if size < 1 and i != len(parsed) - 1:
                errors.append(f"Index {i}: too small; each segment must be at least 1 byte.")
                continue
        if "/" + path.lstrip("/") == own_path:
            errors.append(f"Index {i}: manifest must not include itself as a segment")
            continue
        if seg.get("range"):
            ranges = parse_ranges(f"bytes={seg['range']}") if isinstance(seg["range"], str) else None
            if ranges is None:
                errors.append(f"Index {i}: invalid range")
                continue
            if len(ranges) > 1:
                errors.append(f"Index {i}: multiple ranges (only one allowed)")
                continue
            if size is not None and len(resolve_ranges(ranges, size)) != 1:
                errors.append(f"Index {i}: unsatisfiable range")
                continue
            seg["range"] = ranges
        else:
            seg.pop("range", None)
    if parsed and all("data" in s for s in parsed):
        errors.append("Inline data segments require at least one object-backed segment.")
    if errors:
        raise SwiftError(400, "".join(e + "\n" for e in errors), content_type=TEXT_TYPE)
    return parsed


def _iso_from_http(value: str | None) -> str:
    try:
        return parsedate_to_datetime(value or "").strftime("%Y-%m-%dT%H:%M:%S.%f")
    except (TypeError, ValueError):
        return "1970-01-01T00:00:00.000000"


def _validate(seg: dict[str, Any], head: Reply, last: bool, problems: list[list[str]]) -> tuple[int, dict[str, Any]]:
    """Check one segment against its HEAD; returns its length and the entry to
    store (problems are appended)."""
    path = seg["path"]
    if not head.ok:
        problems.append([quote(path), status_line(head.status)])
        return 0, {}
    size = head.content_length or 0
    length = size
    stored_range = None
    if seg.get("range"):
        spans = resolve_ranges(seg["range"], size)
        if not spans:
            problems.append([quote(path), "Unsatisfiable Range"])
        elif spans != [(0, size)]:
            start, stop = spans[0]
            stored_range = f"{start}-{stop - 1}"
            length = stop - start
    if length < 1 and not last:
        problems.append([quote(path), "Too small; each segment must be at least 1 byte."])
    if seg.get("size_bytes") is not None and seg["size_bytes"] != size:
        problems.append([quote(path), "Size Mismatch"])
    etag = normalize_etag(head.headers.get("Etag")) or ""
    if seg.get("etag") is not None and normalize_etag(seg["etag"]) != etag:
        problems.append([quote(path), "Etag Mismatch"])
    entry: dict[str, Any] = {
        "name": "/" + path.lstrip("/"),
        "bytes": size,
        "hash": etag,
        "content_type": head.headers.get("Content-Type", "application/octet-stream"),
        "last_modified": _iso_from_http(head.headers.get("Last-Modified")),
    }
    if stored_range:
        entry["range"] = stored_range
    if env_flag(head.headers.get("X-Static-Large-Object")):
        entry["sub_slo"] = True
    return length, entry


def slo_etag_of(entries: list[dict[str, Any]]) -> str:
    h = hashlib.md5()
    for e in entries:
        if "data" in e:
            part = hashlib.md5(base64.b64decode(e["data"])).hexdigest()
        elif e.get("range"):
            part = f"{e['hash']}:{e['range']};"
        else:
            part = e["hash"]
        h.update(part.encode("ascii", "surrogateescape"))
    return h.hexdigest()


async def put(be: Backend, req: SwiftRequest) -> Reply:
    """PUT ``?multipart-manifest=put``."""

    account, container, obj = req.account, req.container, req.obj
    assert account is not None and container is not None and obj is not None
    if req.headers.get("X-Copy-From"):
        raise SwiftError(405, "Multipart Manifest PUTs cannot be COPY requests")
    if req.body.length is None:
        if req.headers.get("Transfer-Encoding", "").lower() != "chunked":
            raise SwiftError(411)
    elif req.body.length > MAX_MANIFEST_SIZE:
        raise SwiftError(413, f"Manifest File > {MAX_MANIFEST_SIZE} bytes")
    body = await req.body.read_all(limit=MAX_MANIFEST_SIZE)
    segments = parse_manifest(body, account, container, obj)
    paths = list(dict.fromkeys(s["path"] for s in segments if "path" in s))
    if len([s for s in segments if "path" in s]) > MAX_MANIFEST_SEGMENTS:
        raise SwiftError(413, f"Number of object-backed segments must be <= {MAX_MANIFEST_SEGMENTS}")
    fmt = bulk.accept_format(req) or "text/plain"
    heartbeat = env_flag(req.param("heartbeat"))

    async def head(path: str) -> Reply:
        c, o = path.lstrip("/").split("/", 1)
        try:
            reply = await be.subrequest(req.sub("HEAD", account, c, o))
        except SwiftError as exc:
            reply = exc.reply
        await reply.drain()
        return reply

    async def finish() -> tuple[Reply, dict[str, object], list[list[str]]]:

        heads = await segment_heads(be, account, paths, head)
        problems: list[list[str]] = []
        entries: list[dict[str, Any]] = []
        total = 0
        for i, seg in enumerate(segments):
            if "data" in seg:
                entries.append({"data": seg["data"]})
                total += len(base64.b64decode(seg["data"]))
                continue
            length, entry = _validate(seg, heads[seg["path"]], i == len(segments) - 1, problems)
            total += length
            entries.append(entry)
        if problems:
            return Reply(400), {"Response Status": status_line(400)}, problems
        slo_etag = slo_etag_of(entries)
        client_etag = normalize_etag(req.headers.get("Etag"))
        if client_etag and client_etag != slo_etag:
            return Reply(422), {"Response Status": status_line(422)}, []
        manifest = json.dumps(entries).encode("utf-8")
        reply = await write_object(
            be, req, data=manifest, extra_system={
                "x-static-large-object": "True", SLO_ETAG: slo_etag, SLO_SIZE: str(total),
            }, reply_etag=f'"{slo_etag}"',
        )
        result: dict[str, object] = {"Response Status": status_line(reply.status)}
        if reply.ok:
            result["Etag"] = reply.headers["Etag"]
            result["Last Modified"] = reply.headers["Last-Modified"]
        return reply, result, []

    if not heartbeat:
        reply, result, problems = await finish()
        if reply.status == 400:
            return Reply(400, CIMultiDict({"Content-Type": fmt}), bulk.result_body(fmt, {}, problems, "upload"))
        if reply.status == 422:
            return error(422)
        return reply

    async def beat() -> AsyncIterator[bytes]:
        task = asyncio.ensure_future(finish())
        while True:
            done, _ = await asyncio.wait({task}, timeout=YIELD_FREQUENCY)
            if done:
                break
            yield b" "
        try:
            reply, result, problems = task.result()
            if reply.status in (400, 422):
                # Swift reports the bare status text for its own refusals
                result["Response Body"] = "\n".join(REASONS.get(reply.status, ("", "")))
            else:
                result["Response Body"] = (await reply.read()).decode("utf-8", "replace")
        except SwiftError as exc:
            problems = []
            result = {"Response Status": status_line(exc.status)}
            body = exc.reply.body
            result["Response Body"] = body.decode("utf-8", "replace") if isinstance(body, bytes) else ""
        yield b"\r\n\r\n" + bulk.result_body(fmt, result, problems, "upload")

    return Reply(202, CIMultiDict({"Content-Type": fmt}), bulk.heartbeat_body(b" ", beat()))


async def segment_heads(be: Backend, account: str, paths: list[str],
                         head: Callable[[str], Awaitable[Reply]]) -> dict[str, Reply]:
    """The HEAD reply of every segment path, as ``head`` (a sub-request with
    the caller's identity) gives it.

    Only the first segment of each container is asked through the server:
    once that HEAD succeeded, the caller may read that container (Swift has
    no per-object ACLs), and the container's other segments are looked up
    in the store in one pool call. Those that are plain objects get the
    headers an object HEAD gives; any other (missing, expired, a symlink, a
    large object) goes through ``head`` too. 66 segments (a 1 GiB file of
    16 MiB segments): 18-20 ms for the manifest PUT with a sub-request each,
    each one a pass through the server and a pool hop."""
    by_container: dict[str, list[str]] = {}
    for path in paths:
        by_container.setdefault(path.lstrip("/").split("/", 1)[0], []).append(path)
    firsts = [group[0] for group in by_container.values()]
    heads = dict(zip(firsts, await gather_limited((head(p) for p in firsts), HEAD_CONCURRENCY)))
    store = be.store(account)
    rest = [p for group in by_container.values() if heads[group[0]].ok for p in group[1:]]
    if store is not None and rest:
        def look_up() -> list[ObjectInfo | None]:
            found: list[ObjectInfo | None] = []
            for path in rest:
                c, o = path.lstrip("/").split("/", 1)
                try:
                    found.append(store.head_object(c, o))
                except SciSwiftError:  # missing, a bad name, damage: the sub-request says
                    found.append(None)
            return found

        for path, info in zip(rest, await be.run(look_up)):
            if info is not None and serves_own_bytes(info):
                heads[path] = Reply(200, object_headers(info), None, content_length=info.size)
    todo = [p for p in paths if p not in heads]
    heads.update(zip(todo, await gather_limited((head(p) for p in todo), HEAD_CONCURRENCY)))
    return heads


# -------------------------------------------------------------- GET/HEAD
def _segment_length(seg: dict[str, Any]) -> int:
    if "data" in seg:
        return len(base64.b64decode(seg["data"]))
    if seg.get("range"):
        a, b = (int(x) for x in seg["range"].split("-"))
        return b - a + 1
    return int(seg["bytes"])


def segment_pieces(segments: list[dict[str, Any]], start: int, stop: int) -> list[Piece]:
    pieces: list[Piece] = []
    offset = 0
    for seg in segments:
        length = _segment_length(seg)
        seg_start, seg_stop = offset, offset + length
        offset = seg_stop
        if seg_stop <= start or seg_start >= stop or length == 0:
            continue
        lo, hi = max(start, seg_start) - seg_start, min(stop, seg_stop) - seg_start
        if "data" in seg:
            pieces.append(Piece(data=base64.b64decode(seg["data"])[lo:hi]))
            continue
        base = int(seg["range"].split("-")[0]) if seg.get("range") else 0
        whole = not seg.get("range") and lo == 0 and hi == int(seg["bytes"])
        pieces.append(Piece(path=seg["name"], first=base + lo, last=base + hi - 1, whole=whole,
                            etag=seg.get("hash"), raw=not seg.get("sub_slo")))
    return pieces


async def _load(be: Backend, req: SwiftRequest) -> list[dict[str, Any]]:
    store = be.store(req.account or "")
    assert store is not None and req.container is not None and req.obj is not None
    try:
        data = await be.run(store.get_object, req.container, req.obj)
        segments = json.loads(data)
        if not isinstance(segments, list):
            raise ValueError("not a list")
    except ValueError:
        raise SwiftError(500, "Unable to load SLO manifest") from None
    return segments


def _raw_manifest(segments: list[dict[str, Any]]) -> bytes:
    out = []
    for seg in segments:
        if "data" in seg:
            out.append(seg)
            continue
        raw = {k: v for k, v in seg.items() if k not in ("content_type", "last_modified", "sub_slo")}
        raw["path"] = raw.pop("name", None)
        raw["size_bytes"] = raw.pop("bytes", None)
        raw["etag"] = raw.pop("hash", None)
        out.append(raw)
    return json.dumps(out, sort_keys=True).encode("utf-8")


def _part_number(req: SwiftRequest) -> int | None:
    value = req.param("part-number")
    if value is None:
        return None
    try:
        n = int(value)
        if n <= 0:
            raise ValueError
    except ValueError:
        raise SwiftError(400, "Part number must be an integer greater than 0") from None
    return n


async def get_or_head(be: Backend, req: SwiftRequest, info: ObjectInfo, manifest_get: bool) -> Reply:
    """GET/HEAD of an SLO manifest object."""
    assert req.account is not None
    account = home_account(req.account)  # a kept version's segments are its account's
    if manifest_get:
        return await _manifest_reply(be, req, info)
    part = _part_number(req)
    slo_etag = info.system.get(SLO_ETAG)
    try:
        size = int(info.system.get(SLO_SIZE, ""))
    except ValueError:
        size = -1
    segments: list[dict[str, Any]] | None = None
    if req.method == "GET" or part is not None or not slo_etag or size < 0:
        segments = await _load(be, req)
        if not slo_etag or size < 0:
            slo_etag = slo_etag_of(segments)
            size = sum(_segment_length(s) for s in segments)
        depth = be.config.slo.max_nesting_depth
        if req.method == "GET" and slo_level(req) >= depth and any(s.get("sub_slo") for s in segments):
            # Swift's plain 409 page (its functional tests compare it); the reason
            # goes to the log.
            error_log.info("%s: while processing manifest %r, max recursion depth (%d) was exceeded",
                           req.trans_id, req.path, depth)
            raise SwiftError(409)
    headers = object_headers(info)
    headers["Etag"] = f'"{slo_etag}"'
    headers["X-Manifest-Etag"] = info.etag
    headers["X-Static-Large-Object"] = "True"

    limits = be.config.slo

    def pieces(start: int, stop: int) -> list[Piece]:
        assert segments is not None
        return segment_pieces(segments, start, stop)

    async def body(start: int, stop: int) -> ReplyBody:
        return await validated_stream(be, req, account, pieces(start, stop), limits)

    def fetch(start: int, stop: int) -> AsyncIterator[bytes]:
        return stream_pieces(be, req, account, pieces(start, stop), limits=limits)

    if part is None:
        return await ranged_reply(req, headers, size, fetch, etag=slo_etag, timestamp=info.timestamp,
                                  whole=lambda: body(0, size), single=body)
    assert segments is not None
    headers["X-Parts-Count"] = str(len(segments))
    cond = check_conditions(req.headers, slo_etag, info.timestamp)
    if cond is not None:
        return Reply(cond, headers, None, content_length=0)
    if part > len(segments):
        headers["Content-Range"] = f"bytes */{size}"
        text = b"" if req.method == "HEAD" else b"The requested part number is not satisfiable"
        return Reply(416, headers, text)
    start = sum(_segment_length(s) for s in segments[: part - 1])
    stop = start + _segment_length(segments[part - 1])
    headers["Content-Range"] = content_range(start, stop, size)
    if req.method == "HEAD":
        return Reply(206, headers, None, content_length=stop - start)
    return Reply(206, headers, await body(start, stop), content_length=stop - start)


async def _manifest_reply(be: Backend, req: SwiftRequest, info: ObjectInfo) -> Reply:
    headers = object_headers(info)
    if req.method == "HEAD" and req.param("format") != "raw":
        headers["Content-Type"] = "application/json; charset=utf-8"
        return await ranged_reply(req, headers, info.size, _no_body, etag=info.etag, timestamp=info.timestamp)
    segments = await _load(be, req)
    if req.param("format") == "raw":
        data = _raw_manifest(segments)
        etag = hashlib.md5(data).hexdigest()
        headers["Etag"] = etag
    else:
        store = be.store(req.account or "")
        assert store is not None and req.container is not None and req.obj is not None
        data = await be.run(store.get_object, req.container, req.obj)
        etag = info.etag
        headers["Content-Type"] = "application/json; charset=utf-8"

    async def fetch(start: int, stop: int) -> AsyncIterator[bytes]:
        yield data[start:stop]

    return await ranged_reply(req, headers, len(data), fetch, etag=etag, timestamp=info.timestamp)


async def _no_body(start: int, stop: int) -> AsyncIterator[bytes]:
    if False:  # pragma: no cover - HEAD never reads
        yield b""


# ---------------------------------------------------------------- DELETE
async def delete(be: Backend, req: SwiftRequest) -> Reply:
    """DELETE ``?multipart-manifest=delete``: segments, then the manifest."""

    assert req.account is not None and req.container is not None and req.obj is not None
    fmt = bulk.accept_format(req, default=None)
    to_delete: list[str] = []
    known_errors: dict[str, tuple[int, str]] = {}
    own = f"/{req.container}/{req.obj}"
    pending: list[tuple[str, bool]] = [(own, True)]
    # a version of a versioned object (?version-id) is read and deleted as that version
    version = {"version-id": req.query["version-id"]} if "version-id" in req.query else {}
    while pending:
        if len(pending) > MAX_MANIFEST_SEGMENTS * 10:
            raise SwiftError(400, "Too many buffered slo segments to delete.")
        name, is_manifest = pending.pop(0)
        if not is_manifest:
            to_delete.append(name)
            continue
        c, o = split_segment_path(name)
        query = {"multipart-manifest": "get", **(version if name == own else {})}
        reply = await be.subrequest(req.sub("GET", req.account, c, o, query=query))
        if reply.ok and env_flag(reply.headers.get("X-Static-Large-Object")):
            try:
                segments = json.loads(await reply.read())
            except ValueError:
                known_errors[name] = (500, "Unable to load SLO manifest")
                continue
            pending.extend((s["name"], bool(s.get("sub_slo"))) for s in segments if "data" not in s)
            pending.append((name, False))
        else:
            await reply.drain()
            if reply.ok:
                known_errors[name] = (400, "Not an SLO manifest")
            elif reply.status == 404:
                known_errors[name] = (404, "SLO manifest not found")
            elif reply.status == 401:
                known_errors[name] = (401, "401 Unauthorized")
            else:
                known_errors[name] = (reply.status, status_line(reply.status))
    result, failed = await bulk.delete_paths(be, req, to_delete, known_errors, {own: version} if version else None)
    h: CIMultiDict[str] = CIMultiDict({"Content-Type": fmt or "text/plain"})
    return Reply(200, h, bulk.result_body(fmt, result, failed, "delete"))
