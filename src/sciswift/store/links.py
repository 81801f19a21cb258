"""Symbolic links as object stores keep them: Swift's symlinks.

A link is a zero-byte object whose system values name its target
``container/object`` (URL-quoted, as Swift keeps it) and, for a link into
another account, that account. Through the Swift API a GET of the link answers
the target's GET (``sciswift serve``'s and Swift's symlink middleware); the
stores themselves never follow links.

Two spellings of those values reach ``ObjectInfo.system``: SwiftStore's are the
request headers a client sends and reads (``X-Symlink-Target``, from ``HEAD
?symlink=get`` or a listing's ``symlink_path``); stores holding the objects
themselves (LocalStore, MemoryStore) keep what ``sciswift serve`` stores
(``X-Object-Sysmeta-Symlink-Target``). ``link_target`` reads either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import quote, unquote

from sciswift.store.types import ObjectInfo

__all__ = [
    "LINK_CONTENT_TYPE", "SYSMETA_TARGET", "SYSMETA_TARGET_ACCOUNT", "HEADER_TARGET", "HEADER_TARGET_ACCOUNT",
    "LinkTarget", "link_target", "sysmeta_link", "quoted_target",
]

#: The content type Swift gives a link stored without one.
LINK_CONTENT_TYPE = "application/symlink"
#: System values of a link in stores that hold objects themselves (what
#: ``sciswift serve`` stores; Swift's ``X-Object-Sysmeta-Symlink-*``).
SYSMETA_TARGET = "x-object-sysmeta-symlink-target"
SYSMETA_TARGET_ACCOUNT = "x-object-sysmeta-symlink-target-account"
#: The same, as a Swift API client sends and reads them.
HEADER_TARGET = "x-symlink-target"
HEADER_TARGET_ACCOUNT = "x-symlink-target-account"


class LinkTarget(NamedTuple):
    """Where a link points (unquoted); ``account`` None: the link's own account."""

    container: str
    name: str
    account: str | None = None


def link_target(info: ObjectInfo) -> LinkTarget | None:
    """The target of ``info`` if it is a symbolic link, else None."""
    system = info.system
    raw = system.get(HEADER_TARGET) or system.get(SYSMETA_TARGET)
    if not raw:
        return None
    container, _, name = unquote(raw, errors="surrogateescape").lstrip("/").partition("/")
    account = system.get(HEADER_TARGET_ACCOUNT) or system.get(SYSMETA_TARGET_ACCOUNT)
    return LinkTarget(container, name, unquote(account, errors="surrogateescape") if account else None)


def quoted_target(container: str, name: str) -> str:
    """``container/name`` URL-quoted, as a link's target is sent and kept."""
    return quote(f"{container}/{name}", safe="/", errors="surrogateescape")


def sysmeta_link(container: str, name: str) -> Mapping[str, str]:
    """The system values of a link to ``container/name`` in the link's account,
    as a store holding objects itself keeps them."""
    return {SYSMETA_TARGET: quoted_target(container, name)}
