"""Swift's HTTP headers and JSON listings to sciswift's value objects, and back.

Header values travel as UTF-8 bytes (Swift's convention; python-swiftclient does
the same), while Python's HTTP stack decodes incoming ones as Latin-1, so
``header_text`` undoes that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from sciswift.errors import InvalidInput
from sciswift.store.links import HEADER_TARGET, HEADER_TARGET_ACCOUNT
from sciswift.store.types import AccountInfo, ContainerInfo, ObjectInfo, Subdir

__all__ = [
    "OBJECT_SYSTEM_HEADERS",
    "CONTAINER_SYSTEM_HEADERS",
    "ACCOUNT_SYSTEM_HEADERS",
    "READ_ONLY_OBJECT_HEADERS",
    "PUT_ONLY_OBJECT_HEADERS",
    "header_text",
    "meta_headers",
    "system_headers",
    "object_info",
    "container_info",
    "account_info",
    "listing_entry",
    "container_entry",
    "strip_etag",
]

# The object headers Swift keeps besides user metadata (its object server's
# ``allowed_headers``, plus large-object and symlink markers).
OBJECT_SYSTEM_HEADERS = frozenset({
    "content-disposition", "content-encoding", "content-language", "cache-control", "expires",
    "x-delete-at", "x-object-manifest", "x-static-large-object", "x-robots-tag",
    "x-symlink-target", "x-symlink-target-account",
})
# Set by Swift itself; a client sending them is refused, so they are never sent.
READ_ONLY_OBJECT_HEADERS = frozenset({"x-static-large-object"})
# Settable only when an object is created: a POST may not repeat them.
PUT_ONLY_OBJECT_HEADERS = frozenset({"x-symlink-target", "x-symlink-target-account"})

CONTAINER_SYSTEM_HEADERS = frozenset({
    "x-container-read", "x-container-write", "x-container-sync-to", "x-container-sync-key",
    "x-versions-location", "x-history-location", "x-versions-enabled", "x-storage-policy",
})
ACCOUNT_SYSTEM_HEADERS = frozenset({"x-account-access-control"})

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def header_text(value: str) -> str:
    """A received header value as the text that was sent (UTF-8 over the wire)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _wire(value: str) -> bytes:
    return value.encode("utf-8")


def meta_headers(kind: str, metadata: Mapping[str, str] | None, *, removable: bool) -> dict[str, bytes]:
    """``X-<Kind>-Meta-*`` headers for ``metadata``. With ``removable``, a value of
    ``""`` becomes ``X-Remove-<Kind>-Meta-*`` (POST semantics); otherwise empty
    values are left out, as a store never keeps an empty value."""
    out: dict[str, bytes] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not _TOKEN.match(key):
            raise InvalidInput(f"metadata key {key!r} is not a valid HTTP header token", str(key))
        if not isinstance(value, str):
            raise InvalidInput(f"metadata value of {key!r} must be str, not {type(value).__name__}", key)
        if "\r" in value or "\n" in value:
            raise InvalidInput(f"metadata value of {key!r} contains a line break", key)
        if value == "":
            if removable:
                out[f"X-Remove-{kind}-Meta-{key}"] = b"x"
        else:
            out[f"X-{kind}-Meta-{key}"] = _wire(value)
    return out


def system_headers(system: Mapping[str, str] | None, allowed: Iterable[str], subject: str,
                   *, removable: bool) -> dict[str, bytes]:
    """Headers for ``system`` values; keys must be among ``allowed`` (lower case).
    ``""`` means remove: sent as an empty header when ``removable``, else left out."""
    allowed = frozenset(allowed)
    out: dict[str, bytes] = {}
    for key, value in (system or {}).items():
        k = key.lower()
        if k not in allowed:
            raise InvalidInput(
                f"{subject}: system key {key!r} is not one Swift stores "
                f"(allowed: {', '.join(sorted(allowed))})", subject,
            )
        if "\r" in value or "\n" in value:
            raise InvalidInput(f"{subject}: value of {key!r} contains a line break", subject)
        if value != "" or removable:
            out[k] = _wire(value)
    return out


def _split_meta(headers: Mapping[str, str], prefix: str, system_keys: frozenset[str]
                ) -> tuple[dict[str, str], dict[str, str]]:
    meta: dict[str, str] = {}
    system: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low.startswith(prefix):
            meta[low[len(prefix):]] = header_text(value)
        elif low in system_keys:
            system[low] = header_text(value)
    return meta, system


def strip_etag(value: str | None) -> str:
    """An ETag without the quotes Swift puts around large-object ETags."""
    return (value or "").strip().strip('"').lower()


def _timestamp(headers: Mapping[str, str]) -> float:
    ts = headers.get("X-Timestamp") or headers.get("X-Put-Timestamp")
    if ts:
        try:
            return float(ts.split("_", 1)[0])
        except ValueError:
            pass
    lm = headers.get("Last-Modified")
    if lm:
        try:
            return parsedate_to_datetime(lm).timestamp()
        except (TypeError, ValueError):
            pass
    return 0.0


def object_info(name: str, headers: Mapping[str, str], size: int | None = None) -> ObjectInfo:
    """ObjectInfo from the headers of a HEAD or GET (``size`` overrides Content-Length,
    which a ranged GET does not give for the whole object)."""
    meta, system = _split_meta(headers, "x-object-meta-", OBJECT_SYSTEM_HEADERS)
    return ObjectInfo(
        name=name,
        size=int(headers.get("Content-Length", 0)) if size is None else size,
        etag=strip_etag(headers.get("Etag")),
        timestamp=_timestamp(headers),
        content_type=header_text(headers.get("Content-Type") or "application/octet-stream"),
        metadata=meta,
        system=system,
    )


def container_info(name: str, headers: Mapping[str, str]) -> ContainerInfo:
    meta, system = _split_meta(headers, "x-container-meta-", CONTAINER_SYSTEM_HEADERS)
    return ContainerInfo(
        name=name,
        object_count=int(headers.get("X-Container-Object-Count", 0)),
        bytes_used=int(headers.get("X-Container-Bytes-Used", 0)),
        timestamp=_timestamp(headers),
        metadata=meta,
        system=system,
    )


def account_info(headers: Mapping[str, str]) -> AccountInfo:
    meta, system = _split_meta(headers, "x-account-meta-", ACCOUNT_SYSTEM_HEADERS)
    return AccountInfo(
        container_count=int(headers.get("X-Account-Container-Count", 0)),
        object_count=int(headers.get("X-Account-Object-Count", 0)),
        bytes_used=int(headers.get("X-Account-Bytes-Used", 0)),
        timestamp=_timestamp(headers),
        metadata=meta,
        system=system,
    )


def _listing_time(value: str | None) -> float:
    # Listings give UTC without a zone: "2024-05-01T12:00:00.123456".
    if not value:
        return 0.0
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def listing_entry(item: Mapping[str, Any], own_account: str | None = None) -> ObjectInfo | Subdir:
    """One entry of a JSON container listing; ``own_account``: the listing's
    account (unquoted), which a link into it does not name (see ``_link_system``)."""
    if "subdir" in item:
        return Subdir(item["subdir"])
    # A static large object lists its manifest's hash; slo_etag is what HEAD reports.
    etag = item.get("slo_etag") or item.get("hash") or ""
    meta = item.get("metadata")  # sciswift serve's listings, when asked (?with_metadata=true)
    link = item.get("symlink_path")
    return ObjectInfo(
        name=item["name"],
        size=int(item.get("bytes", 0)),
        etag=strip_etag(etag),
        timestamp=_listing_time(item.get("last_modified")),
        content_type=item.get("content_type") or "application/octet-stream",
        metadata={str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {},
        system=_link_system(link, own_account) if isinstance(link, str) else {},
    )


def _link_system(path: str, own_account: str | None) -> dict[str, str]:
    """A listed link's target as ``HEAD ?symlink=get`` gives it (``X-Symlink-Target``,
    and ``-Account`` for another account than ``own_account``), from its
    ``symlink_path`` (``/v1/<account>/<container>/<object>``, quoted)."""
    parts = path.lstrip("/").split("/", 2)
    if len(parts) < 3 or "/" not in parts[2]:
        return {}
    _version, account, target = parts
    out = {HEADER_TARGET: target}
    if own_account is None or unquote(account, errors="surrogateescape") != own_account:
        out[HEADER_TARGET_ACCOUNT] = account
    return out


def container_entry(item: Mapping[str, Any]) -> ContainerInfo | Subdir:
    """One entry of a JSON account listing."""
    if "subdir" in item:
        return Subdir(item["subdir"])
    return ContainerInfo(
        name=item["name"],
        object_count=int(item.get("count", 0)),
        bytes_used=int(item.get("bytes", 0)),
        timestamp=_listing_time(item.get("last_modified")),
    )
