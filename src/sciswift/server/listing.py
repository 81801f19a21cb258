"""Account and container listings: query parameters and the three formats.

Parameters follow Swift: ``prefix``, ``delimiter`` (any length), ``marker``,
``end_marker``, ``reverse`` (Swift's true values), ``limit`` (at most 10000;
more is 412 ``Maximum limit is 10000``; a non-integer is ignored) and, for
containers, ``path`` (the direct children of a pseudo-directory: prefix
``path/`` with ``/`` as delimiter, deeper names left out rather than rolled
up). The format comes from ``format=json|xml|plain`` or the Accept header.

Output matches Swift byte for byte where clients look: text is one name per
line; JSON object entries are ``bytes, hash, name, content_type,
last_modified`` (plus ``slo_etag`` for static large objects) and subdirs
``{"subdir": ...}``; XML is ``<container name=..><object><name>..`` with the
``<?xml version="1.0" encoding="UTF-8"?>`` declaration.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from sciswift.server.http import TEXT_TYPE, SwiftError, SwiftRequest, best_match, env_flag
from sciswift.server.times import iso_timestamp
from sciswift.store.base import Store
from sciswift.store.names import CONTAINER_LISTING_LIMIT
from sciswift.store.types import ContainerInfo, ListingParams, ObjectInfo, Subdir

__all__ = [
    "ListingRequest",
    "parse_listing",
    "listing_format",
    "render_containers",
    "render_objects",
    "list_path",
    "CONTENT_TYPES",
]

CONTENT_TYPES = {
    "text": "text/plain; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
}


def listing_format(req: SwiftRequest) -> str:
    """``text``, ``json`` or ``xml``: from ``?format=`` or the Accept header.
    Raises SwiftError(406) when Accept allows none of them."""
    fmt = req.param("format")
    if fmt:
        fmt = fmt.lower()
        return fmt if fmt in ("json", "xml") else "text"
    offers = {"text/plain": "text", "application/json": "json", "application/xml": "xml", "text/xml": "xml"}
    try:
        best = best_match(req.headers.get("Accept"), offers, "text")
    except ValueError:
        raise SwiftError(400, "Invalid Accept header") from None
    if best is None:
        raise SwiftError(406)
    return best


@dataclass(frozen=True)
class ListingRequest:
    """What a GET on an account or container asks for."""

    params: ListingParams
    path: str | None
    fmt: str


def _param(req: SwiftRequest, name: str) -> str | None:
    value = req.param(name)
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SwiftError(400, f'"{name}" parameter not valid UTF-8', content_type=TEXT_TYPE) from None
    return value


def parse_listing(req: SwiftRequest, limit_max: int = CONTAINER_LISTING_LIMIT) -> ListingRequest:
    """The listing parameters of ``req``, validated as Swift does."""
    limit = limit_max
    given = _param(req, "limit")
    if given and given.isdigit():
        limit = int(given)
        if limit > limit_max:
            raise SwiftError(412, f"Maximum limit is {limit_max}")
    params = ListingParams(
        prefix=_param(req, "prefix") or "",
        delimiter=_param(req, "delimiter") or "",
        marker=_param(req, "marker") or "",
        end_marker=_param(req, "end_marker") or "",
        limit=limit,
        reverse=env_flag(_param(req, "reverse")),
    )
    return ListingRequest(params=params, path=_param(req, "path"), fmt=listing_format(req))


def list_path(store: Store, container: str, path: str, params: ListingParams) -> list[ObjectInfo | Subdir]:
    """Swift's ``path=`` listing: objects directly under ``path/`` (including
    ``path/sub/`` directory markers), never names nested deeper, never subdirs.
    Deeper subtrees are skipped with a marker jump rather than read."""
    prefix = path.rstrip("/") + "/" if path else ""
    limit = params.limit if params.limit is not None else CONTAINER_LISTING_LIMIT
    out: list[ObjectInfo | Subdir] = []
    # In a reversed listing ``marker`` is the (exclusive) upper bound and
    # pages continue downwards from it.
    marker, end_marker = params.marker, params.end_marker
    while len(out) < limit:
        want = limit - len(out) + 1
        page = store.list_objects(
            container,
            ListingParams(prefix=prefix, marker=marker, end_marker=end_marker, limit=want, reverse=params.reverse),
        )
        if not page:
            break
        jumped = False
        for entry in page:
            name = entry.name
            marker = name
            if name == prefix or name == path:
                continue
            cut = name.find("/", len(prefix))
            if cut >= 0 and len(name) > cut + 1:
                # a name nested deeper: skip its whole subtree (but not the
                # "sub/" marker object itself, which is a direct child)
                marker = name[: cut + 1] + ("\x00" if params.reverse else "\U0010ffff")
                jumped = True
                break
            out.append(entry)
            if len(out) >= limit:
                break
        if not jumped and len(page) < want:
            break
    return out


# ------------------------------------------------------------- rendering
def _xml(doc: Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(doc, encoding="unicode").encode("utf-8")


def _text(names: Sequence[str]) -> bytes:
    return "".join(n + "\n" for n in names).encode("utf-8", "surrogateescape")


def container_record(
    c: ContainerInfo, modified: Callable[[ContainerInfo], float], policy: Callable[[ContainerInfo], str]
) -> dict[str, Any]:
    return {
        "name": c.name,
        "count": c.object_count,
        "bytes": c.bytes_used,
        "last_modified": iso_timestamp(modified(c)),
        "storage_policy": policy(c),
    }


def render_containers(
    entries: Sequence[ContainerInfo | Subdir],
    fmt: str,
    account: str,
    modified: Callable[[ContainerInfo], float],
    policy: Callable[[ContainerInfo], str],
) -> bytes:
    """An account listing body in ``fmt``."""
    if fmt == "text":
        return _text([e.name for e in entries])
    if fmt == "json":
        records = [
            {"subdir": e.name} if isinstance(e, Subdir) else container_record(e, modified, policy)
            for e in entries
        ]
        return json.dumps(records).encode("utf-8")
    doc = Element("account", name=account)
    doc.text = "\n"
    for e in entries:
        if isinstance(e, Subdir):
            sub = SubElement(doc, "subdir", name=e.name)
        else:
            sub = SubElement(doc, "container")
            rec = container_record(e, modified, policy)
            for key in ("name", "count", "bytes", "last_modified", "storage_policy"):
                SubElement(sub, key).text = str(rec[key])
        sub.tail = "\n"
    return _xml(doc)


def render_objects(
    entries: Sequence[ObjectInfo | Subdir],
    fmt: str,
    container: str,
    record: Callable[[ObjectInfo], dict[str, Any]],
) -> bytes:
    """A container listing body in ``fmt``; ``record`` makes an object's JSON
    entry (the server adds large-object sizes and etags)."""
    if fmt == "text":
        return _text([e.name for e in entries])
    if fmt == "json":
        return json.dumps([{"subdir": e.name} if isinstance(e, Subdir) else record(e) for e in entries]).encode(
            "utf-8", "surrogateescape"
        )
    doc = Element("container", name=container)
    for e in entries:
        if isinstance(e, Subdir):
            sub = SubElement(doc, "subdir", name=e.name)
            SubElement(sub, "name").text = e.name
        else:
            sub = SubElement(doc, "object")
            rec = record(e)
            for key in ("name", "hash", "bytes", "content_type", "last_modified"):
                SubElement(sub, key).text = str(rec[key])
    return _xml(doc)
