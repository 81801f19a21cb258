"""Stores travel to other processes by address, not by state.

A store holds what cannot leave its process (sockets, SQLite handles, locks,
thread pools), so ``pickle`` sends what is needed to open the same account again
(dask workers, ``multiprocessing``, ``concurrent.futures.ProcessPoolExecutor``):

- ``LocalStore``: its root directory and durability. The other process opens the
  same directory (it must see the same filesystem); the root is not created.
- ``SwiftStore``: its credentials and tuning. The credentials are carried as the
  store was given them (from the environment or as arguments), secrets included,
  so a worker without the environment reaches the same account; the pickle is
  therefore as secret as the key itself. ``repr`` never shows a secret.
- ``DirectoryStore``: its root (plain attributes, pickled as they are).
- ``MemoryStore``: refused with a TypeError naming the store. Its objects live in
  one process's memory; a copy in another process would be an empty store of the
  same name, silently. Copies in the same process (``copy.copy``) are the store
  itself.

Each unpickling makes a new store object (files opened on it close it with them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from sciswift.store.local import LocalStore
    from sciswift.store.swift import SwiftCredentials, SwiftStore

__all__ = ["reopen_local_store", "reopen_swift_store", "refuse_memory_store"]


def reopen_local_store(root: str, durable: bool) -> LocalStore:
    """The LocalStore at ``root`` (NotFound if the directory is gone)."""
    from sciswift.store.local import LocalStore

    return LocalStore(root, create=False, durable=durable)


def reopen_swift_store(credentials: SwiftCredentials, tuning: dict[str, Any]) -> SwiftStore:
    """A SwiftStore for the account ``credentials`` reach, tuned as the original."""
    from sciswift.store.swift import SwiftStore

    return SwiftStore(credentials=credentials, **tuning)


def refuse_memory_store(url: str) -> NoReturn:
    """The TypeError pickling a MemoryStore raises."""
    raise TypeError(
        f"cannot pickle the MemoryStore {url}: its objects live in this process's memory, and another "
        "process (a dask worker, multiprocessing) would see an empty store. Use a LocalStore path, "
        "file:// or swift:// for data shared between processes, or a threaded scheduler"
    )
