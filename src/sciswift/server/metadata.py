"""User metadata headers (``X-{Account,Container,Object}-Meta-*``) and Swift's
limits on them, plus the other object headers a store persists.

Limits are those of ``sciswift.store.names`` (Swift's defaults): a name of at
most 128 bytes, a value of at most 256 bytes, at most 90 items and 4096 bytes
in all (names plus values). Lengths are counted in bytes as sent, as Swift
counts them. Account and container POSTs merge into existing metadata, and the
merged result must also stay within the count and size limits.
"""

from __future__ import annotations

from collections.abc import Mapping

from multidict import CIMultiDict

from sciswift.server.http import TEXT_TYPE, SwiftError
from sciswift.store.names import (
    MAX_META_COUNT,
    MAX_META_NAME_LENGTH,
    MAX_META_OVERALL_SIZE,
    MAX_META_VALUE_LENGTH,
)

__all__ = [
    "check_utf8_values",
    "check_metadata",
    "check_merged_metadata",
    "metadata_updates",
    "meta_headers",
    "OBJECT_PERSISTED_HEADERS",
    "MAX_HEADER_SIZE",
]

#: Swift's ``max_header_size``: no header value may be longer.
MAX_HEADER_SIZE = 8192

#: Object headers stored with the object and returned on GET/HEAD (Swift's
#: object-server ``allowed_headers`` plus the large-object markers).
OBJECT_PERSISTED_HEADERS = (
    "content-disposition",
    "content-encoding",
    "content-language",
    "cache-control",
    "expires",
    "x-robots-tag",
    "x-delete-at",
    "x-object-manifest",
    "x-static-large-object",
)


def _blen(s: str) -> int:
    return len(s.encode("utf-8", "surrogateescape"))


def check_metadata(headers: CIMultiDict[str], target: str) -> None:
    """Raise SwiftError(400) with Swift's message if the request's
    ``X-<target>-Meta-*`` headers break a limit."""
    prefix = f"x-{target}-meta-"
    count = size = 0
    for key, value in headers.items():
        if len(value) > MAX_HEADER_SIZE:
            raise SwiftError(400, f"Header value too long: {key[:MAX_META_NAME_LENGTH]}", content_type=TEXT_TYPE)
        lkey = key.lower()
        if not lkey.startswith(prefix):
            continue
        name = key[len(prefix):]
        if not name:
            raise SwiftError(400, "Metadata name cannot be empty", content_type=TEXT_TYPE)
        if target in ("account", "container") and (_invalid_utf8(name) or _invalid_utf8(value)):
            raise SwiftError(400, "Metadata must be valid UTF-8", content_type=TEXT_TYPE)
        count += 1
        size += _blen(name) + _blen(value)
        if _blen(name) > MAX_META_NAME_LENGTH:
            raise SwiftError(400, f"Metadata name too long: {prefix}{name}", content_type=TEXT_TYPE)
        if _blen(value) > MAX_META_VALUE_LENGTH:
            raise SwiftError(
                400, f"Metadata value longer than {MAX_META_VALUE_LENGTH}: {prefix}{name}", content_type=TEXT_TYPE
            )
        if count > MAX_META_COUNT:
            raise SwiftError(400, f"Too many metadata items; max {MAX_META_COUNT}", content_type=TEXT_TYPE)
        if size > MAX_META_OVERALL_SIZE:
            raise SwiftError(400, f"Total metadata too large; max {MAX_META_OVERALL_SIZE}", content_type=TEXT_TYPE)


def check_merged_metadata(existing: Mapping[str, str], updates: Mapping[str, str]) -> None:
    """Raise SwiftError(400) if merging ``updates`` (``""`` removes) into
    ``existing`` metadata would exceed the count or total-size limits, as the
    account and container servers check."""
    merged = dict(existing)
    for k, v in updates.items():
        if v == "":
            merged.pop(k, None)
        else:
            merged[k] = v
    if len(merged) > MAX_META_COUNT:
        raise SwiftError(400, f"Too many metadata items; max {MAX_META_COUNT}", content_type=TEXT_TYPE)
    if sum(_blen(k) + _blen(v) for k, v in merged.items()) > MAX_META_OVERALL_SIZE:
        raise SwiftError(400, f"Total metadata too large; max {MAX_META_OVERALL_SIZE}", content_type=TEXT_TYPE)


def check_utf8_values(values: Mapping[str, str]) -> None:
    """Raise SwiftError(400) if a value about to be stored with an account or
    container (an ACL, a versions location, a sync target) is not valid UTF-8
    or holds NUL: the store keeps text, and such a value would fail the write
    with a 500 (header bytes that are not UTF-8 arrive as surrogate escapes)."""
    for value in values.values():
        if _invalid_utf8(value):
            raise SwiftError(400, "Metadata must be valid UTF-8", content_type=TEXT_TYPE)


def _invalid_utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\x00" in s


def metadata_updates(headers: CIMultiDict[str], target: str) -> dict[str, str]:
    """``{name: value}`` (lower-case names) set by ``X-<target>-Meta-*`` headers;
    ``X-Remove-<target>-Meta-*`` headers give ``""`` (remove)."""
    prefix = f"x-{target}-meta-"
    remove = f"x-remove-{target}-meta-"
    out: dict[str, str] = {}
    for key, value in headers.items():
        lkey = key.lower()
        if lkey.startswith(prefix) and len(lkey) > len(prefix):
            out[lkey[len(prefix):]] = value
        elif lkey.startswith(remove) and len(lkey) > len(remove):
            out[lkey[len(remove):]] = ""
    return out


def meta_headers(metadata: Mapping[str, str], target: str) -> list[tuple[str, str]]:
    """Response headers for stored metadata, title-cased as Swift sends them."""
    prefix = f"X-{target.title()}-Meta-"
    return [(prefix + k.title(), v) for k, v in metadata.items()]
