"""LocalStore: a Store in a directory on disk, the embedded default backend.

The package holds the store (``store``: the public API, one account), and the
parts it is made of, each behind its own seam:

- ``handles``: open container handles, their cache and the one retry on a
  stale handle (a container deleted or recreated by another process);
- ``containers``: container directories: names, creation, deletion;
- ``batch``: batched reads and writes of many objects (packs, scratch buffers);
- ``container``: one container's files and index (the crash-safety protocol),
  with ``index``, ``journal``, ``recovery``, ``pack`` and ``writer``;
- ``format``, ``sums``: the on-disk record format and its per-block checksums;
- ``quarantine``, ``audit``: damaged records set aside, and the read-only audit;
- ``fs``: filesystem helpers (atomic JSON, fsync of directories).

The layout on disk and the atomicity contract are in ``store``'s docstring.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sciswift.store.local.store import (
        RESERVED_PREFIX,
        AuditProgress,
        AuditReport,
        Finding,
        FsckReport,
        LocalStore,
    )

__all__ = ["LocalStore", "FsckReport", "AuditReport", "AuditProgress", "Finding", "RESERVED_PREFIX"]


def __getattr__(name: str) -> Any:
    # Lazy, so that ``local.layout`` (names on disk, needed by store.url) loads
    # without the store, SQLite and the rest.
    if name in __all__:
        from sciswift.store.local import store

        return getattr(store, name)
    raise AttributeError(f"module 'sciswift.store.local' has no attribute {name!r}")
