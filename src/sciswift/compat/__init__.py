"""Running unmodified h5py programs against object stores (the router).

Inside ``sciswift run --mount /scratch/run1=swift://wind/run1 -- python prog.py``
(or ``python -m sciswift.run``, or after ``install()``), ``h5py.File`` opens
mounted paths and ``swift://``, ``file://`` and ``memory://`` URLs through
sciswift.h5py, and every other name through the real h5py; ``isinstance`` checks
against ``h5py.Group``, ``h5py.Dataset`` ... accept objects of both sides.
``import sciswift.h5py as h5py`` remains the direct way, with no routing.

Modules: ``mounts`` (the mount table and its syntax), ``router`` (which side a
name goes to; errors naming the mount), ``bridge`` (the names programs see),
``hook`` (the import hook and the environment carrying it to child processes),
``check`` (reaching every mount up front). See docs/compat.md.
"""

from __future__ import annotations

from sciswift.compat.mounts import ENV_VAR, SEPARATOR, Mount, MountTable, is_store_url
from sciswift.compat.router import MountError, configure, mount_table, route

__all__ = [
    "ENV_VAR",
    "SEPARATOR",
    "Mount",
    "MountError",
    "MountTable",
    "configure",
    "install",
    "is_store_url",
    "mount_table",
    "route",
    "uninstall",
]


def install(table: MountTable | None = None) -> None:
    """Route h5py in this process (see ``sciswift.compat.hook.install``)."""
    from sciswift.compat.hook import install as _install

    _install(table)


def uninstall() -> None:
    """Undo ``install`` (see ``sciswift.compat.hook.uninstall``)."""
    from sciswift.compat.hook import uninstall as _uninstall

    _uninstall()
