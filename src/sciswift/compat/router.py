"""Where an ``h5py.File`` name goes: sciswift.h5py (mounted paths and store URLs)
or the real h5py (everything else), and opening it there with errors that name
the mount.

The active mount table is process-wide (``configure``); by default it is read from
``SCISWIFT_MOUNTS`` at first use.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sciswift.compat.mounts import Mount, MountTable, is_store_url
from sciswift.errors import InvalidInput, PermissionDenied, StoreUnavailable, Unauthenticated

__all__ = ["configure", "mount_table", "route", "mounted_url", "open_routed", "MountError"]

_lock = threading.Lock()
_table: MountTable | None = None


class MountError(OSError):
    """A mounted store could not be used: names the mount, the URL and the cause.
    An OSError, as h5py raises for files it cannot open."""


def configure(table: MountTable | None) -> None:
    """Make ``table`` the process's mount table (None: read SCISWIFT_MOUNTS again)."""
    global _table
    with _lock:
        _table = table


def mount_table() -> MountTable:
    """The active mount table. InvalidInput if SCISWIFT_MOUNTS is malformed."""
    global _table
    with _lock:
        if _table is None:
            _table = MountTable.from_environment()
        return _table


def _name_of(name: Any) -> str | None:
    """The file name as str, or None for things that are not names (file-like
    objects, h5py FileIDs), which stay with the real h5py."""
    if isinstance(name, str):
        return name
    if isinstance(name, bytes):
        return os.fsdecode(name)
    if isinstance(name, os.PathLike):
        return os.fsdecode(os.fspath(name))
    return None


def route(name: Any) -> tuple[Mount | None, str] | None:
    """``(mount, url)`` if ``name`` belongs to sciswift (mount is None for a store
    URL given directly), None if it belongs to the real h5py."""
    text = _name_of(name)
    if text is None:
        return None
    if is_store_url(text):
        return None, text
    found = mount_table().find(text)
    return found


def mounted_url(path: str) -> str | None:
    """The store URL of a plain path under a mount, None for other paths (and for
    URLs, which sciswift opens as they are)."""
    if is_store_url(path):
        return None
    found = mount_table().find(path)
    return None if found is None else found[1]


_CONNECTION_ERRORS = (StoreUnavailable, Unauthenticated, PermissionDenied)


def _store_cause(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, _CONNECTION_ERRORS):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def open_routed(mount: Mount | None, url: str, name: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``sciswift.h5py.File(url, *args, **kwargs)`` for the program's ``name``.

    Errors opening the file pass through unchanged (FileNotFoundError,
    FileExistsError, ValueError ... as h5py raises them), except a store that
    cannot be reached or refuses the credentials: that becomes a MountError
    saying which mount, which URL and what failed.
    """
    from sciswift.h5 import File

    driver = kwargs.get("driver", args[1] if len(args) > 1 else None)
    if driver == "mpio":
        raise ValueError(
            f"h5py.File({_name_of(name)!r}, driver='mpio'): collective parallel HDF5 is not available for files "
            f"in object stores ({url}); open the file with the default driver in each process instead, "
            "sciswift takes concurrent writers of disjoint regions without MPI-IO"
        )
    kwargs.pop("comm", None)
    kwargs.pop("info", None)
    try:
        return File(url, *args, **kwargs)
    except (OSError, InvalidInput) as e:
        cause = _store_cause(e)
        if cause is None:
            raise
        where = f"mount {mount} " if mount is not None else ""
        raise MountError(
            f"sciswift: {where}cannot open {_name_of(name)!r} as {url}: {type(cause).__name__}: {cause}"
        ) from e
