"""Reading a file without letting it name other files.

A file can point outside itself: an external link names another file, a virtual
dataset names its source files, and an HDF5 dataset with external raw storage
names files on the reading machine's disk. A program opening its own files
follows them, as h5py does. A server reading a file for a client must not: the
names are chosen by whoever wrote the file, so following them would read, with
the server's rights, files and objects the client may not read (another
account's objects, the server's own configuration).

``confined()`` marks the current thread (context) as such a reader: while it is
active, opening a file by name (``sciswift.h5.File``) raises
:class:`FileNotFoundError` (an external link then reads as a dangling one), and
the HDF5 plugin refuses datasets whose values live in other files. Nor does
such a reader write: format plugins keep the indexes they build in memory
instead of storing them beside the object (``StoredObject.save_sidecar``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["confined", "is_confined", "refuse_named_file"]

_CONFINED: ContextVar[bool] = ContextVar("sciswift_confined", default=False)


@contextlib.contextmanager
def confined() -> Iterator[None]:
    """Within the block, files may not reach other files by name, nor write."""
    token = _CONFINED.set(True)
    try:
        yield
    finally:
        _CONFINED.reset(token)


def is_confined() -> bool:
    """True within :func:`confined`."""
    return _CONFINED.get()


def refuse_named_file(name: str) -> None:
    """Raise FileNotFoundError for opening ``name`` within :func:`confined`."""
    if _CONFINED.get():
        raise FileNotFoundError(2, "a file read for a client may not open other files by name", name)
