"""Swift listing semantics over any name-ordered source, shared by the backends.

Swift sorts names by their UTF-8 bytes (which is also SQLite's BINARY collation);
``utf8_key`` is that order as a Python sort key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from sciswift.store.types import ListingParams, Subdir

T = TypeVar("T")

__all__ = ["utf8_key", "apply_listing", "prefix_upper_bound"]


def utf8_key(name: str) -> bytes:
    """Sort key giving Swift's order (UTF-8 bytes) for a name."""
    return name.encode("utf-8", "surrogatepass")


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest name greater than every name starting with ``prefix``.

    None when no such bound exists (empty prefix). Works in code-point order, which
    equals UTF-8 byte order.
    """
    if not prefix:
        return None
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return prefix_upper_bound(prefix[:-1])
    nxt = last + 1
    if 0xD800 <= nxt <= 0xDFFF:  # skip the surrogate block: not valid in UTF-8
        nxt = 0xE000
    return prefix[:-1] + chr(nxt)


def apply_listing(
    items: Iterable[T],
    name_of: Callable[[T], str],
    params: ListingParams,
) -> list[T | Subdir]:
    """Filter and page ``items`` the way Swift's listings do.

    ``items`` must already be in UTF-8 byte order of their names (ascending), or
    descending when ``params.reverse`` is set. The result holds items and Subdir
    roll-ups, at most ``params.limit`` entries in all.
    """
    entries = _iter_listing(items, name_of, params)
    return list(entries)


def _iter_listing(
    items: Iterable[T], name_of: Callable[[T], str], p: ListingParams
) -> Iterator[T | Subdir]:
    limit = p.limit
    if limit is not None and limit <= 0:
        return
    count = 0
    last_subdir: str | None = None
    for item in items:
        name = name_of(item)
        if p.prefix and not name.startswith(p.prefix):
            continue
        if p.reverse:
            if p.marker and not name < p.marker:
                continue
            if p.end_marker and not name > p.end_marker:
                continue
        else:
            if p.marker and not name > p.marker:
                continue
            if p.end_marker and not name < p.end_marker:
                continue
        if p.delimiter:
            cut = name.find(p.delimiter, len(p.prefix))
            if cut >= 0:
                sub = name[: cut + len(p.delimiter)]
                if sub == last_subdir:
                    continue
                # Swift never reports a subdir at or before the marker.
                if p.marker and not p.reverse and sub <= p.marker:
                    continue
                last_subdir = sub
                yield Subdir(sub)
                count += 1
                if limit is not None and count >= limit:
                    return
                continue
        yield item
        count += 1
        if limit is not None and count >= limit:
            return
