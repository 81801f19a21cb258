"""Swift's rules for metadata, in one place for every backend and the server.

Metadata keys are case-insensitive in Swift (they travel as HTTP headers), so
stores keep them lower-cased. The three ways metadata changes:

- **merge** (account and container POST, and system values on object POST): each
  key given replaces its value; a value of ``""`` removes the key.
- **replace** (object POST): the user metadata is exactly what the request
  gives; empty values are dropped, not kept.
- **copy** (COPY, ``X-Copy-From``): the copy starts from the source's metadata
  (nothing with ``X-Fresh-Metadata``), then the request's values apply as a
  merge; system values start from the source's (minus what the backend says a
  copy must not carry) and merge the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["lower_keys", "merge_metadata", "replaced_metadata", "copied_metadata"]


def lower_keys(values: Mapping[str, str] | None) -> dict[str, str]:
    """``values`` with lower-cased keys (a new dict)."""
    return {k.lower(): v for k, v in (values or {}).items()}


def merge_metadata(target: dict[str, str], updates: Mapping[str, str] | None) -> dict[str, str]:
    """Merge ``updates`` into ``target`` in place (keys lower-cased, ``""``
    removes) and return it."""
    for k, v in (updates or {}).items():
        if v == "":
            target.pop(k.lower(), None)
        else:
            target[k.lower()] = v
    return target


def replaced_metadata(values: Mapping[str, str] | None) -> dict[str, str]:
    """The user metadata an object POST leaves: exactly ``values``, lower-cased,
    without empty values."""
    return {k.lower(): v for k, v in (values or {}).items() if v != ""}


def copied_metadata(
    source: Mapping[str, str],
    updates: Mapping[str, str] | None,
    *,
    fresh: bool = False,
    not_copied: Iterable[str] = (),
) -> dict[str, str]:
    """The metadata of a copy: ``source``'s (none if ``fresh``; without the keys
    in ``not_copied``) merged with ``updates``, empty values dropped."""
    skip = {k.lower() for k in not_copied}
    out = {} if fresh else {k: v for k, v in source.items() if k not in skip}
    return merge_metadata(out, updates)
