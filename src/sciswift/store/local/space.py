"""A full disk, as LocalStore reports it: :class:`~sciswift.errors.InsufficientStorage`
(HTTP 507) naming what could not be stored.

The kernel says "full" as ``OSError`` ``ENOSPC`` (``EDQUOT`` over a quota). SQLite
says it as ``SQLITE_FULL`` ("database or disk is full") when a page of the
database or its WAL cannot be written, but as a bare ``SQLITE_IOERR`` ("disk I/O
error", the errno lost) when the failed write was to its shared-memory file or
while it creates a new database. An I/O error is therefore taken for a full disk
only while the filesystem really has next to no room left (``FULL_BELOW``); any
other I/O error stays what it is (a 500 and a log line on the server).

LocalStore's writes are atomic (temp file or staging directory, then a rename,
then one index transaction, whose file changes are undone if its commit fails),
so a write refused this way leaves nothing behind; a batch written in several
transactions (``put_many_filled`` on a durable store) keeps the ones that
committed before the disk filled up.
"""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sciswift.errors import InsufficientStorage

__all__ = ["FULL_BELOW", "is_full", "insufficient_storage", "full_disk_as", "reports_full_disk"]

#: A SQLite I/O error is a full disk when less than this many bytes are free.
FULL_BELOW = 4 << 20

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_SQLITE_FULL = 13
_SQLITE_IOERR = 10

F = TypeVar("F", bound=Callable[..., Any])


def _free_bytes(path: str) -> int | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def is_full(exc: BaseException, root: str) -> bool:
    """True if ``exc`` means the filesystem holding ``root`` has no room."""
    if isinstance(exc, InsufficientStorage):
        return True
    if isinstance(exc, OSError):
        return exc.errno in _FULL_ERRNOS
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:  # Python < 3.11 has no codes: SQLite's message then
            return "disk is full" in str(exc)
        if code & 0xFF == _SQLITE_FULL:
            return True
        if code & 0xFF == _SQLITE_IOERR:
            free = _free_bytes(root)
            return free is not None and free < FULL_BELOW
    return False


def insufficient_storage(exc: BaseException, subject: str, root: str, verb: str = "store") -> InsufficientStorage:
    """The InsufficientStorage for ``exc``, which refused to ``verb`` ``subject``."""
    if isinstance(exc, InsufficientStorage):
        return exc
    return InsufficientStorage(
        f"not enough space to {verb} {subject}: the disk holding {root} is full ({exc}). "
        "Free space there (or delete objects) and try again.",
        subject,
    )


@contextmanager
def full_disk_as(subject: str, root: str, verb: str = "store") -> Iterator[None]:
    """Inside: a full disk under ``root`` raises InsufficientStorage naming ``subject``."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        if not is_full(exc, root):
            raise
        raise insufficient_storage(exc, subject, root, verb) from exc


def _subject(args: tuple[Any, ...], which: slice, batch: bool) -> str:
    if batch:  # (container, names or {name: body}): the first name and how many more
        names = list(args[1]) if len(args) > 1 and isinstance(args[1], (Mapping, Sequence)) else []
        more = f" and {len(names) - 1} more" if len(names) > 1 else ""
        return f"{args[0]}/{names[0]}{more}" if names else str(args[0])
    return "/".join(str(a) for a in args[which])


def reports_full_disk(names: int | slice, verb: str = "store", *, batch: bool = False) -> Callable[[F], F]:
    """Decorate a LocalStore method so that a full disk raises InsufficientStorage
    naming the subject: the method's first ``names`` positional arguments (or
    those of the slice) joined by ``/``; 0: the store itself, by its root; with
    ``batch``, the container and the first of the names its second argument holds.
    ``verb`` says what could not be done (opening a container that no handle
    of this process has open needs room too: SQLite's shared-memory file)."""
    which = names if isinstance(names, slice) else slice(0, names)

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (OSError, sqlite3.Error) as exc:
                root: str = self.root
                if not is_full(exc, root):
                    raise
                raise insufficient_storage(exc, _subject(args, which, batch) or root, root, verb) from exc

        return cast(F, wrapper)

    return decorate
