"""Validation of container and object names, with Swift's limits.

Every backend calls these before touching anything, so a bad name never reaches a
filesystem path or a URL. The limits are Swift's defaults (``swift.conf``
``[swift-constraints]``).
"""

from __future__ import annotations

from sciswift.errors import InvalidName

__all__ = [
    "MAX_CONTAINER_NAME_LENGTH",
    "MAX_OBJECT_NAME_LENGTH",
    "MAX_META_NAME_LENGTH",
    "MAX_META_VALUE_LENGTH",
    "MAX_META_COUNT",
    "MAX_META_OVERALL_SIZE",
    "MAX_FILE_SIZE",
    "CONTAINER_LISTING_LIMIT",
    "ACCOUNT_LISTING_LIMIT",
    "check_container_name",
    "check_object_name",
    "utf8_len",
]

MAX_CONTAINER_NAME_LENGTH = 256
MAX_OBJECT_NAME_LENGTH = 1024
MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096
MAX_FILE_SIZE = 5 * 1024**3 + 2
CONTAINER_LISTING_LIMIT = 10000
ACCOUNT_LISTING_LIMIT = 10000


def utf8_len(s: str) -> int:
    """Length of ``s`` in UTF-8 bytes (the unit of Swift's limits)."""
    return len(s.encode("utf-8", "surrogatepass"))


def _check_text(kind: str, name: str) -> None:
    if not isinstance(name, str):
        raise InvalidName(f"{kind} name must be str, not {type(name).__name__}", repr(name))
    if not name:
        raise InvalidName(f"{kind} name is empty", name)
    if "\x00" in name:
        raise InvalidName(f"{kind} name {name!r} contains NUL", name)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidName(f"{kind} name {name!r} is not valid UTF-8", name) from None


def check_container_name(name: str) -> str:
    """Return ``name`` if it is a valid container name, else raise InvalidName.

    Valid: non-empty UTF-8 without NUL or ``/``, at most 256 bytes, and not ``.``
    or ``..`` (which would name a directory other than the container's own).
    """
    _check_text("container", name)
    if "/" in name:
        raise InvalidName(f"container name {name!r} contains '/'", name)
    if name in (".", ".."):
        raise InvalidName(f"container name {name!r} is not allowed", name)
    if utf8_len(name) > MAX_CONTAINER_NAME_LENGTH:
        raise InvalidName(
            f"container name is {utf8_len(name)} bytes, longer than {MAX_CONTAINER_NAME_LENGTH}",
            name[:64] + "...",
        )
    return name


def check_object_name(name: str) -> str:
    """Return ``name`` if it is a valid object name, else raise InvalidName.

    Valid: non-empty UTF-8 without NUL, at most 1024 bytes. Object names are never
    used as filesystem paths by sciswift, so ``/``, ``.`` and ``..`` segments are
    allowed as in Swift.
    """
    _check_text("object", name)
    if utf8_len(name) > MAX_OBJECT_NAME_LENGTH:
        raise InvalidName(
            f"object name is {utf8_len(name)} bytes, longer than {MAX_OBJECT_NAME_LENGTH}",
            name[:64] + "...",
        )
    return name
