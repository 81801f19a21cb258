"""Container directories: creation and deletion, atomic against every other
thread and process using the root.

A container is created in a private directory (``.sciswift-new-*``: its
``container.json``, an empty index, its subdirectories) and renamed into place,
so nobody ever sees half a container. Deletion flags it deleted in its index
(refused while it holds objects), renames it to ``.sciswift-trash-*`` and removes
that; a deleter that dies between the two leaves a flagged container, which the
next create of the name or ``fsck`` finishes deleting.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time
import uuid
from collections.abc import Mapping

from sciswift.errors import Conflict, NotFound
from sciswift.store.local.container import INDEX_FILE, META_FILE, SUBDIRS, create_index
from sciswift.store.local.fs import fsync_dir, write_json_atomic
from sciswift.store.local.handles import ContainerHandles
from sciswift.store.local.layout import (
    NAME_FILE,
    NEW_PREFIX,
    TRASH_PREFIX,
    check_container_dir,
    container_names,
    container_path,
)
from sciswift.store.metarules import merge_metadata

__all__ = ["ContainerDirs", "STALE_NEW_DIR_SECONDS"]

#: An assembling directory older than this is a leftover of a crashed create.
STALE_NEW_DIR_SECONDS = 3600.0


class ContainerDirs:
    """The life cycle of the container directories under ``handles.root``."""

    def __init__(self, handles: ContainerHandles) -> None:
        self.handles = handles
        self.root = handles.root
        self.durable = handles.durable

    def create(
        self, container: str, metadata: Mapping[str, str] | None, system: Mapping[str, str] | None
    ) -> bool:
        """Create ``container``, or update the metadata of an existing one
        (False). Conflict if something else is in the way."""
        path = container_path(self.root, container)
        for _ in range(200):
            try:
                self.handles.retrying(container, lambda c: c.post_meta(metadata, system))
                return False
            except NotFound:
                pass
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                st = None
            if st is not None:
                if stat.S_ISLNK(st.st_mode):
                    check_container_dir(self.handles.real_root, container, path)  # raises with the reason
                if not stat.S_ISDIR(st.st_mode):
                    raise Conflict(f"{path} exists and is not a container directory", container)
                if os.path.isfile(os.path.join(path, META_FILE)):
                    # Being deleted by someone else right now: wait for it to go.
                    time.sleep(0.005)
                    continue
                if os.listdir(path):
                    raise Conflict(f"{path} exists and is not a sciswift container", container)
            if self._assemble(container, path, metadata, system):
                return True
        # A container flagged deleted whose deleter died before moving it away.
        self.finish_delete(container, path)
        return self.create(container, metadata, system)

    def _assemble(
        self, container: str, path: str, metadata: Mapping[str, str] | None, system: Mapping[str, str] | None
    ) -> bool:
        """Build the container in a private directory, then rename it into place.
        False if ``path`` appeared meanwhile."""
        staging = os.path.join(self.root, f"{NEW_PREFIX}{uuid.uuid4().hex}")
        os.mkdir(staging)
        try:
            for sub in SUBDIRS:
                os.mkdir(os.path.join(staging, sub))
            meta = {"created": time.time(), "metadata": merge_metadata({}, metadata),
                    "system": merge_metadata({}, system)}
            if os.path.basename(path) != container:
                with open(os.path.join(staging, NAME_FILE), "w", encoding="utf-8") as f:
                    f.write(container)
            meta_path = os.path.join(staging, META_FILE)
            write_json_atomic(meta_path, meta_path + ".tmp", meta, self.durable)
            create_index(os.path.join(staging, INDEX_FILE), self.durable)
            if self.durable:
                fsync_dir(staging)
            try:
                # rename(2) replaces an empty directory, so an empty directory the
                # user made at ``path`` is adopted; anything else makes it fail.
                os.rename(staging, path)
            except OSError as e:
                if e.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                    return False
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if self.durable:
            fsync_dir(self.root)
        return True

    def delete(self, container: str) -> None:
        """Delete an empty container (ContainerNotEmpty otherwise)."""
        path = container_path(self.root, container)
        self.handles.retrying(container, lambda c: c.mark_deleted())
        self.finish_delete(container, path)

    def finish_delete(self, container: str, path: str) -> None:
        """Move a container flagged deleted out of the way and remove it."""
        self.handles.drop(container)
        self.handles.pack_files.sweep(under=path + os.sep)
        trash = os.path.join(self.root, f"{TRASH_PREFIX}{uuid.uuid4().hex}")
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return
        if self.durable:
            fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)

    def leftovers(self, include_fresh_trash: bool = True) -> list[str]:
        """Paths of interrupted creations (older than STALE_NEW_DIR_SECONDS) and
        deletions (any age, unless ``include_fresh_trash`` is False: one may be
        under way right now). ``fsck`` removes them, ``audit`` reports them."""
        now = time.time()
        out = []
        for e in os.scandir(self.root):
            if e.name.startswith(TRASH_PREFIX) and include_fresh_trash:
                out.append(e.path)
            elif e.name.startswith((NEW_PREFIX, TRASH_PREFIX)):
                try:
                    if now - e.stat(follow_symlinks=False).st_mtime > STALE_NEW_DIR_SECONDS:
                        out.append(e.path)
                except FileNotFoundError:
                    pass
        return out

    def fsck_root(self) -> None:
        """Finish interrupted creations and deletions under the root."""
        for path in self.leftovers():
            shutil.rmtree(path, ignore_errors=True)
        for name in container_names(self.root):
            try:
                self.handles.get(name)
            except NotFound:
                # Flagged deleted but never moved away: its deleter died.
                self.finish_delete(name, container_path(self.root, name))
