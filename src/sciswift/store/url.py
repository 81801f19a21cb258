"""From a URL or path to a Store, a container and a prefix.

Addressing (see docs/layout.md):

- ``swift://CONTAINER/PREFIX``: an account reached with python-swiftclient's
  environment (``ST_AUTH``/``ST_USER``/``ST_KEY``, or ``OS_*`` for Keystone);
  keyword arguments override the environment.
- ``s3://BUCKET/PREFIX``: an S3 endpoint reached with the AWS environment
  (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, and
  ``AWS_ENDPOINT_URL`` for another endpoint than AWS, e.g. ``sciswift serve``);
  keyword arguments override the environment.
- ``memory://CONTAINER/PREFIX``: the process-wide MemoryStore.
- ``file:///PATH`` or a plain path: LocalStore. If an ancestor directory of PATH is
  a marked store root (``sciswift serve``'s account directories, or any LocalStore
  created with ``mark_root=True``), the first component below it is the container
  and the rest the prefix. Otherwise PATH's parent is the store root and PATH's
  last component is the container: a local "file" is a whole container, so
  ``/data/run1.h5`` is the directory ``/data/run1.h5``. Such LocalStores are not
  durable by default (no fsync per object; see LocalStore).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sciswift.errors import InvalidInput
from sciswift.store.base import Store
from sciswift.store.local.layout import META_FILE, ROOT_MARKER

__all__ = ["Location", "parse_location", "open_store", "ROOT_MARKER", "find_marked_root"]

"""File whose presence marks a directory as a LocalStore root (one account)."""


@dataclass(frozen=True)
class Location:
    """A place in a store: ``container`` and an object-name ``prefix`` in it.

    ``prefix`` has no leading or trailing slash; ``""`` means the whole container.
    ``display`` is the URL or path the user gave, for messages.
    """

    store: Store
    container: str
    prefix: str
    display: str

    def key(self, name: str) -> str:
        """The object name of ``name`` relative to this location."""
        return f"{self.prefix}/{name}" if self.prefix else name


def _split_container(path: str, display: str) -> tuple[str, str]:
    parts = path.strip("/").split("/", 1)
    if not parts[0]:
        raise InvalidInput(f"{display!r} names no container", display)
    return parts[0], (parts[1].strip("/") if len(parts) > 1 else "")


def find_marked_root(path: Path) -> Path | None:
    """The nearest proper ancestor of ``path`` that is a marked LocalStore root."""
    for parent in path.parents:
        if (parent / ROOT_MARKER).is_file():
            return parent
    return None


def is_url(name: str) -> bool:
    """True if ``name`` uses one of sciswift's URL schemes."""
    return isinstance(name, str) and name.split("://", 1)[0] in ("swift", "s3", "memory", "file") and "://" in name


def parse_location(target: str | os.PathLike[str], **options: Any) -> Location:
    """Resolve a URL or path to a Location, opening (not creating) its store.

    ``options`` go to the backend constructor (credentials for SwiftStore, for
    instance). Nothing is created in the store by resolving.
    """
    display = os.fspath(target)
    if isinstance(display, bytes):
        display = os.fsdecode(display)
    scheme, sep, rest = display.partition("://")
    if sep and scheme == "memory":
        from sciswift.store.memory import MemoryStore

        container, prefix = _split_container(unquote(rest), display)
        return Location(MemoryStore.named(options.get("name", "")), container, prefix, display)
    if sep and scheme == "swift":
        from sciswift.store.swift import SwiftStore

        container, prefix = _split_container(unquote(rest), display)
        return Location(SwiftStore.from_environment(**options), container, prefix, display)
    if sep and scheme == "s3":
        from sciswift.store.s3 import S3Store

        container, prefix = _split_container(unquote(rest), display)
        return Location(S3Store.from_environment(**options), container, prefix, display)
    if sep and scheme == "file":
        path = unquote(urlsplit(display).path)
    elif sep and "/" not in scheme:
        raise InvalidInput(
            f"unknown URL scheme {scheme!r} in {display!r}: use swift://, s3://, file://, memory:// or a path",
            display,
        )
    else:
        path = display
    return _local_location(Path(os.path.abspath(path)), display, options)


def _local_location(path: Path, display: str, options: dict[str, Any]) -> Location:
    from sciswift.store.local import LocalStore

    # Files opened by path behave like h5py's: atomic writes, but no fsync per
    # object (h5py does not fsync either); File.flush() syncs. Pass durable=True
    # for the server's guarantees.
    options = {"durable": False, **options}

    root = find_marked_root(path)
    if root is not None:
        rel = path.relative_to(root).as_posix()
        container, prefix = _split_container(rel, display)
    else:
        if path.parent == path:
            raise InvalidInput(f"{display!r} is a filesystem root, not a file", display)
        root, container, prefix = path.parent, path.name, ""
        if _foreign_zarr_dir(path):
            # A Zarr hierarchy another tool wrote as plain files: read it in place.
            from sciswift.store.directory import DirectoryStore

            return Location(DirectoryStore(root), container, prefix, display)
    return Location(LocalStore(root, **options), container, prefix, display)


def _foreign_zarr_dir(path: Path) -> bool:
    from sciswift.store.directory import looks_like_zarr_dir

    return not (path / META_FILE).is_file() and looks_like_zarr_dir(path)


def open_store(url: str | os.PathLike[str], **options: Any) -> Store:
    """The Store (account) a URL names: ``swift://``, ``s3://`` and ``memory://``
    give the account whatever follows; a path or ``file://`` URL is itself the LocalStore
    root directory."""
    display = os.fspath(url)
    if isinstance(display, bytes):
        display = os.fsdecode(display)
    scheme, sep, _ = display.partition("://")
    if sep and scheme in ("swift", "s3", "memory"):
        return parse_location(f"{scheme}://_", **options).store
    from sciswift.store.local import LocalStore

    path = unquote(urlsplit(display).path) if scheme == "file" and sep else display
    return LocalStore(Path(os.path.abspath(path)), **options)
