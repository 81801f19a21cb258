"""Conditional GET/HEAD: If-Match, If-None-Match, If-Modified-Since,
If-Unmodified-Since, evaluated in swob's order.

1. If-None-Match lists the ETag (or ``*``): 304.
2. If-Match does not list it (and is not ``*``): 412.
3. If-Modified-Since is not older than Last-Modified: 304.
4. If-Unmodified-Since is older than Last-Modified: 412.

ETags compare without quotes, so ``"abc"`` matches ``abc``. Dates use
Last-Modified at one-second resolution, as sent. Unparseable dates are ignored.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from multidict import CIMultiDict

from sciswift.server.times import last_modified_seconds

__all__ = ["etag_set", "check_conditions", "normalize_etag"]


def normalize_etag(tag: str | None) -> str | None:
    """An ETag without its surrounding quotes."""
    if tag is None:
        return None
    if len(tag) >= 2 and tag[0] == '"' and tag[-1] == '"':
        return tag[1:-1]
    return tag


def etag_set(value: str) -> set[str]:
    """The ETags listed in an If-Match / If-None-Match header (unquoted)."""
    return {normalize_etag(t.strip()) or "" for t in value.split(",") if t.strip()}


def _matches(tags: set[str], etag: str) -> bool:
    return "*" in tags or (normalize_etag(etag) or "") in tags


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def check_conditions(headers: CIMultiDict[str], etag: str | None, timestamp: float | None) -> int | None:
    """304 or 412 if the request's conditions are not met by an object with
    ``etag`` last modified at ``timestamp``; None when they are."""
    inm = headers.get("If-None-Match")
    if etag is not None and inm is not None and _matches(etag_set(inm), etag):
        return 304
    im = headers.get("If-Match")
    if etag is not None and im is not None and not _matches(etag_set(im), etag):
        return 412
    if timestamp is not None:
        last_modified = last_modified_seconds(timestamp)
        ims = _date(headers.get("If-Modified-Since"))
        if ims is not None and last_modified <= ims:
            return 304
        ius = _date(headers.get("If-Unmodified-Since"))
        if ius is not None and last_modified > ius:
            return 412
    return None
