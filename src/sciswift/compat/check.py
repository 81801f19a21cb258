"""Reaching every mount's store before the program runs (``sciswift run --check``).

For each mount: resolve the target, reach the store (for ``swift://``:
authenticate and HEAD the account), and look at the container. A missing
container is fine (files create it); an unreachable endpoint, refused
credentials or an unusable directory is a failure that names the mount, the URL
and what went wrong.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sciswift.compat.mounts import Mount, MountTable
from sciswift.errors import NotFound, SciSwiftError

__all__ = ["MountStatus", "check_mount", "check_all"]


@dataclass(frozen=True)
class MountStatus:
    """Outcome for one mount: ``ok`` and a one-line ``message`` for people."""

    mount: Mount
    ok: bool
    message: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.mount.point} -> {self.mount.target}: {self.message}"


def check_mount(mount: Mount) -> MountStatus:
    """Reach ``mount``'s store; never raises for store problems."""
    from sciswift.store.url import parse_location

    try:
        location = parse_location(mount.target)
        store = location.store
        root = getattr(store, "root", None)
        if root is not None and not os.access(root, os.W_OK):
            return MountStatus(mount, False, f"directory {root} is not writable")
        store.account_info()
        try:
            info = store.head_container(location.container)
            what = f"container {location.container!r} exists ({info.object_count} objects)"
        except NotFound:
            what = f"container {location.container!r} does not exist yet (files create it)"
    except (SciSwiftError, OSError) as e:
        return MountStatus(mount, False, f"{type(e).__name__}: {e}")
    kind = type(store).__name__
    note = "; memory:// is private to each process" if mount.target.startswith("memory://") else ""
    return MountStatus(mount, True, f"{kind} reachable, {what}{note}")


def check_all(table: MountTable) -> list[MountStatus]:
    """``check_mount`` for every mount, longest mount point first."""
    return [check_mount(m) for m in table]
