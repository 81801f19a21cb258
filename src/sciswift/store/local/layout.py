"""Names on disk: which directories of a LocalStore root are containers.

A container is a directory of the root named as the container, holding
``container.json``; a name longer than a file name may be (Swift allows 256
bytes, most filesystems 255) gets the directory ``.sciswift-long-<sha256>`` with
the name in its file ``container-name``. Names starting with ``.sciswift-`` are
the store's own (the root marker, account metadata, containers being made or
deleted), so such container names are refused.
"""

from __future__ import annotations

import hashlib
import os
import stat

from sciswift.errors import InvalidInput, InvalidName, NotFound
from sciswift.store.names import check_container_name

__all__ = [
    "ROOT_MARKER",
    "META_FILE",
    "RESERVED_PREFIX",
    "ACCOUNT_FILE",
    "NEW_PREFIX",
    "TRASH_PREFIX",
    "LONG_PREFIX",
    "NAME_FILE",
    "dir_name",
    "long_name",
    "container_path",
    "container_names",
    "check_container_dir",
    "missing_container",
]

#: The file that makes a directory of the root a container.
META_FILE = "container.json"
#: The file that marks a directory as a store root (``mark_root=True``), so
#: paths below it resolve to that store (``sciswift.store.url``).
ROOT_MARKER = ".sciswift-store"
RESERVED_PREFIX = ".sciswift-"
"""Names in a store root starting with this belong to the store itself."""
ACCOUNT_FILE = ".sciswift-account.json"
NEW_PREFIX = ".sciswift-new-"
TRASH_PREFIX = ".sciswift-trash-"
LONG_PREFIX = ".sciswift-long-"
NAME_FILE = "container-name"
_NAME_MAX = 255


def missing_container(container: str) -> NotFound:
    return NotFound(f"container {container!r} does not exist", container)


def dir_name(container: str) -> str:
    """The directory (under the root) of the valid container name ``container``."""
    raw = container.encode("utf-8")
    if len(raw) <= _NAME_MAX:
        return container
    return LONG_PREFIX + hashlib.sha256(raw).hexdigest()


def long_name(path: str, directory: str) -> str | None:
    """The container name kept in the long-name directory ``path``; None if it is
    not a complete container of ours (being made, or not ours at all)."""
    try:
        with open(os.path.join(path, NAME_FILE), encoding="utf-8") as f:
            name = f.read()
        if dir_name(check_container_name(name)) != directory or not os.path.isfile(os.path.join(path, META_FILE)):
            return None
    except (OSError, UnicodeDecodeError, InvalidInput):
        return None
    return name


def container_path(root: str, container: str) -> str:
    """The directory of ``container`` under ``root`` (InvalidName for a name
    the store cannot take)."""
    check_container_name(container)
    if container.startswith(RESERVED_PREFIX):
        raise InvalidName(f"container name {container!r} is reserved (prefix {RESERVED_PREFIX!r})", container)
    return os.path.join(root, dir_name(container))


def check_container_dir(real_root: str, container: str, path: str) -> None:
    """NotFound unless ``path`` is the complete container directory of
    ``container``; InvalidInput if it is a symbolic link or leads out of the root
    (nothing outside the root is ever read or written)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise missing_container(container) from None
    if stat.S_ISLNK(st.st_mode):
        raise InvalidInput(
            f"container {container!r} is a symbolic link ({path}); LocalStore only uses real directories "
            "inside its root",
            container,
        )
    if not stat.S_ISDIR(st.st_mode) or not os.path.isfile(os.path.join(path, META_FILE)):
        raise missing_container(container)
    if os.path.realpath(path) != os.path.join(real_root, dir_name(container)):
        raise InvalidInput(f"container {container!r} resolves outside {os.path.dirname(path)}", container)


def container_names(root: str) -> list[str]:
    """The names of the complete containers under ``root``, unsorted."""
    names = []
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        raise NotFound(f"LocalStore root {root} does not exist", root) from None
    for e in entries:
        if e.name.startswith(LONG_PREFIX):
            name = long_name(e.path, e.name)
            if name is not None:
                names.append(name)
            continue
        if e.name.startswith(RESERVED_PREFIX):
            continue
        try:
            check_container_name(e.name)
            if not e.is_dir(follow_symlinks=False):
                continue
        except (InvalidInput, OSError):
            continue
        if os.path.isfile(os.path.join(e.path, META_FILE)):
            names.append(e.name)
    return names
