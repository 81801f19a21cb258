"""LocalStore: a Store in a directory on disk, the embedded default backend.

One LocalStore is one account: its ``root`` directory. Containers are
subdirectories of it; an object is a file inside one, named by a hash of the
object name (object names are arbitrary Swift names, never used as paths), or a
record in a pack file shared by the small objects of one batched put.

On-disk layout
==============

::

    ROOT/
      .sciswift-store              marker: ROOT is a store root (only with mark_root=True)
      .sciswift-account.json       account metadata (only once post_account was called)
      CONTAINER/                   one directory per container, named as the container
        container.json             {"created": t, "metadata": {...}, "system": {...}}
        index.sqlite (-wal, -shm)  SQLite index: listings, totals, where packed objects are
        objects/HASH               one file per object stored on its own (format below)
        packs/ID                   the small objects of one put_many, back to back
        tmp/WRITER.N               files being written, renamed or linked into place
        journal/WRITER             intent journal of one live writer (see crash safety)
        quarantine/                files that failed a check, set aside by recovery/fsck

- ``HASH`` is the 32-hex-digit BLAKE2b-128 of the object name's UTF-8 bytes, in one
  flat directory (filesystems index large directories; fan-out subdirectories cost
  a mkdir each). The name itself is stored inside the file and checked on every read.
- An object record is the body, then the object's metadata as JSON, then a 16-byte
  footer (magic, version, metadata length, CRC-32); see
  ``sciswift.store._local_format``. An object file is one record, so body and
  metadata are replaced together by one ``rename``.
- ``put_many`` (the HDF5 engine's chunk and metadata writes) stores objects up to
  ``PACK_MAX_OBJECT`` (8 MiB) as records of pack files of up to ``PACK_LIMIT``
  (64 MiB): one file creation per pack instead of one per object, which is the
  dominant cost of a small put on ext4 (15-20 µs on a quiet filesystem, 200-900 µs
  after many deletions nearby). Packs are written once and never changed; see
  ``sciswift.store._local_pack``. ``put_many_filled`` packs the same way with
  bodies produced one at a time into a scratch buffer, and ``read_many_into``
  reads bodies into a buffer the caller gives (uncompressed HDF5 chunks: no
  memory per object, as HDF5 moves chunks). Every other put (``put_object``,
  conditional puts, POST, copies, the streaming writer) writes an object file.
- Invariant: an object file exists only while it is the object's current
  version. A read opens ``objects/HASH`` first (no SQL for plain objects), and only
  when there is none asks the index where the record is; packs are read through
  descriptors cached per store (``dup`` instead of ``open``).
- A directory of ROOT is a container iff it holds ``container.json``; a container
  name longer than a file name may be (Swift allows 256 bytes, ext4 255) lives in
  ``.sciswift-long-SHA256`` with the name in its file ``container-name``. Names starting
  with ``.sciswift-`` are reserved for the store's own files in ROOT (new containers
  are assembled in ``.sciswift-new-*`` and renamed into place, deleted ones are
  renamed to ``.sciswift-trash-*`` before removal), so such container names are
  refused. A container that is a symbolic link is refused: nothing outside ROOT is
  ever read or written.
- ``index.sqlite`` (WAL mode, one per container as Swift keeps one database per
  container) has a table ``objects(name PRIMARY KEY, size, etag, timestamp,
  content_type, meta, pack, pack_off, pack_len)`` in BINARY collation (UTF-8 byte
  order, Swift's order), an index on ``pack`` (reference counting of packs) and a
  one-row ``stats(object_count, bytes_used, deleted)`` kept by triggers. A missing
  or damaged index is rebuilt when the container is opened, from the object files
  and the newest record of every other name found in the packs (what that can
  and cannot restore: ``sciswift.store._local_container``). An index of schema
  version 1 (before packs) gains the pack columns when opened.

Atomicity and crash safety
==========================

- A put writes ``tmp/WRITER.N`` (MD5 computed in the same pass; fsync'd when
  ``durable``), then renames it over ``objects/HASH``: readers and a crash at any
  moment see the old object or the new one, whole. An open reader keeps its file, so
  an overwrite or delete during a read does not disturb it; the same holds for a
  reader of a packed object, which holds the pack open.
- A batched put writes its packs completely (fsync'd with their directory when
  durable) before one index transaction points the rows at their records; a row
  is the only thing that makes a pack record live. Objects it packs that had
  files lose them right after that commit, still under the write lock. A pack
  with no live record left is unlinked; one mostly dead is compacted.
- File changes and their index update run inside one SQLite write transaction,
  under the container's write lock (a thread lock, an ``flock`` on the container
  directory, then SQLite's lock: shared by threads and processes). CREATE and
  IfMatch check the current version inside it, so they are atomic against every
  writer.
- Before changing files or creating a pack, a writer appends the names (and pack
  IDs) to its journal ``journal/WRITER`` (held under ``flock`` while the writer
  lives). A writer killed mid-way leaves only those names' index rows stale (a
  listing may show the old size/ETag, or miss or keep the object, while GET and
  HEAD are already right, or, for a packer killed after its commit, still show
  the old version). Whoever next opens the container, any process still using it
  (it re-checks every ``RECOVERY_INTERVAL`` seconds), the next batched put, or
  ``fsck``, sees the unlocked journal, reconciles those names (the newer of the
  object file and the row's pack record wins) and removes the dead writer's
  temporary files and unreferenced packs. After that, every object is its old
  or its new version, never missing, never mixed.
- ``durable=True`` (the server's setting): the temporary file or pack, the journal
  entry and the directory are fsync'd before a put returns, so a completed put
  survives power loss. The index commit of a plain put is not fsync'd by itself
  (the journal entry can redo it from the file; the index is fsync'd before
  journal entries are dropped), which keeps its fsyncs outside the container's
  write lock; a commit that changes packed rows, which no file can redo, is
  fsync'd before the call returns (and before the files it replaced go).
- ``durable=False`` (local HDF5 files, like h5py itself): no fsync at all, still
  atomic renames and commits; ``sync()`` flushes everything written so far. After
  a power loss (not a process crash) a non-durable store may lose recent writes,
  and a damaged index is rebuilt from the files on open.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import sqlite3
import stat
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from sciswift.errors import (
    AlreadyExists,
    Conflict,
    CorruptData,
    InvalidInput,
    InvalidName,
    NotFound,
    PreconditionFailed,
)
from sciswift.store._local_container import (
    INDEX_FILE,
    META_FILE,
    RECOVERY_INTERVAL,
    SUBDIRS,
    Container,
    ContainerGone,
    FsckReport,
    Location,
    Opened,
    StagedPack,
    create_index,
    merge_meta,
    peek_info,
)
from sciswift.store._local_format import (
    LAZY_ETAG,
    WHOLE_READ_LIMIT,
    FileReader,
    body_md5,
    encode_trailer,
    pread_exact,
    read_info,
    read_whole,
    read_whole_into,
)
from sciswift.store._local_fs import O_CLOEXEC, fsync_dir, read_json, syncfs, write_json_atomic
from sciswift.store._local_pack import PACK_MAX_OBJECT, Filled, PackFiles, new_pack_id, plan_packs
from sciswift.store._local_space import reports_full_disk
from sciswift.store._local_writer import LocalWriter, lower_keys, verify_etag
from sciswift.store.base import ObjectReader, ObjectWriter, PutData, Store, iter_chunks
from sciswift.store.listing import apply_listing, utf8_key
from sciswift.store.names import check_container_name, check_object_name
from sciswift.store.types import (
    CREATE,
    OVERWRITE,
    AccountInfo,
    ByteRange,
    ContainerInfo,
    IfMatch,
    ListingParams,
    ObjectInfo,
    PutMode,
    Subdir,
)
from sciswift.store.url import ROOT_MARKER

__all__ = ["LocalStore", "FsckReport", "RESERVED_PREFIX"]

RESERVED_PREFIX = ".sciswift-"
"""Names in a store root starting with this belong to the store itself."""
ACCOUNT_FILE = ".sciswift-account.json"
_NEW_PREFIX = ".sciswift-new-"
_TRASH_PREFIX = ".sciswift-trash-"
# Swift allows 256-byte container names, most filesystems 255-byte file names:
# a longer name gets the directory _LONG_PREFIX + sha256(name), and the name
# itself is kept in _NAME_FILE inside (written once, at creation).
_NAME_MAX = 255
_LONG_PREFIX = ".sciswift-long-"
_NAME_FILE = "container-name"
# Open container handles kept per store; idle ones beyond this are closed.
_MAX_OPEN_CONTAINERS = 256
# An assembling directory older than this is a leftover of a crashed create.
_STALE_NEW_DIR_SECONDS = 3600.0

T = TypeVar("T")

_stores: weakref.WeakSet[LocalStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_stores):
        store._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _subject(container: str, name: str) -> str:
    return f"{container}/{name}"


def _missing_object(container: str, name: str) -> NotFound:
    return NotFound(f"object {container}/{name} does not exist", _subject(container, name))


def _missing_container(container: str) -> NotFound:
    return NotFound(f"container {container!r} does not exist", container)


class _Changed(Exception):
    """The object changed between reading it and committing a rewrite of it."""


class LocalStore(Store):
    """A Store in the directory ``root`` (one account; see the module docstring).

    ``create``: create ``root`` if missing (else NotFound naming it). ``durable``:
    fsync every write (True) or none (False, with ``sync()`` on demand).
    ``mark_root``: write the ``ROOT_MARKER`` file, so paths below ``root`` resolve to
    this store (``sciswift.store.url``).

    Thread-safe, and safe with other processes using the same directory.
    """

    is_local = True
    supports_ranges = True
    supports_conditional_put = True

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        create: bool = True,
        durable: bool = True,
        mark_root: bool = False,
    ) -> None:
        path = os.path.abspath(os.fspath(root))
        if not os.path.isdir(path):
            if os.path.lexists(path):
                raise InvalidInput(f"LocalStore root {path} exists and is not a directory", path)
            if not create:
                raise NotFound(f"LocalStore root {path} does not exist", path)
            os.makedirs(path, exist_ok=True)
        self.root = path
        self._real_root = os.path.realpath(path)
        self.url = Path(path).as_uri()
        self.durable = durable
        self._lazy_etags: dict[tuple[int, int, int, int, int], str] = {}
        self._pack_files = PackFiles()
        if mark_root:
            self._write_marker()
        self._writer_id = uuid.uuid4().hex
        self._states: dict[str, Container] = {}
        self._states_lock = threading.Lock()
        self._opening_lock = threading.Lock()
        self._retired: list[Container] = []  # stale handles still in use somewhere
        self._closed = False
        _stores.add(self)

    def __repr__(self) -> str:
        return f"LocalStore({self.root!r}, durable={self.durable})"

    def __reduce__(self) -> tuple[Any, ...]:
        # By address: another process opens the same directory (store.pickling).
        from sciswift.store.pickling import reopen_local_store

        return reopen_local_store, (self.root, self.durable)

    def _write_marker(self) -> None:
        marker = os.path.join(self.root, ROOT_MARKER)
        if os.path.isfile(marker):
            return
        tmp = f"{marker}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("sciswift LocalStore root (one account); see sciswift.store.local\n")
            if self.durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, marker)
        if self.durable:
            fsync_dir(self.root)

    def _reset_after_fork(self) -> None:
        # The child must not reuse the parent's writer id, journal or SQLite
        # connections; the old handles are kept referenced (never closed) so that
        # SQLite does not release or checkpoint anything the parent still uses.
        old = [*self._states.values(), *self._retired]
        _abandoned.extend(old)
        for c in old:
            c.abandon_after_fork()
        self._pack_files.abandon_after_fork()
        self._pack_files = PackFiles()
        self._states = {}
        self._states_lock = threading.Lock()
        self._opening_lock = threading.Lock()
        self._retired = []
        self._writer_id = uuid.uuid4().hex

    # ------------------------------------------------------------ containers
    def _container_path(self, container: str) -> str:
        check_container_name(container)
        if container.startswith(RESERVED_PREFIX):
            raise InvalidName(
                f"container name {container!r} is reserved (prefix {RESERVED_PREFIX!r})", container
            )
        return os.path.join(self.root, _dir_name(container))

    @reports_full_disk(1, "open container")
    def _container(self, container: str) -> Container:
        """The open handle of an existing container (NotFound otherwise)."""
        c = self._states.get(container)
        if c is not None:
            if c.is_current() and c.pid == os.getpid():
                if time.monotonic() - c.last_recovery > RECOVERY_INTERVAL:
                    c.recover()
                    self._pack_files.sweep()
                return c
            self._forget(container, c)
        path = self._container_path(container)
        if self._retired:
            with self._states_lock:
                self._retired = [r for r in self._retired if not r.try_close()]
        # One opener at a time: threads racing to open the same container would
        # otherwise each build a handle (and its connections) only to drop it.
        with self._opening_lock:
            existing = self._states.get(container)
            if existing is not None and existing.is_current():
                return existing
            self._check_dir(container, path)
            try:
                c = Container(container, path, self.durable, self._writer_id, self._pack_files)
            except (FileNotFoundError, ContainerGone):
                raise _missing_container(container) from None
            with self._states_lock:
                if self._closed:
                    c.close()
                    raise InvalidInput(f"{self!r} is closed", self.root)
                self._states[container] = c
                if len(self._states) > _MAX_OPEN_CONTAINERS:
                    self._evict_locked(keep=container)
        return c

    def _check_dir(self, container: str, path: str) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise _missing_container(container) from None
        if stat.S_ISLNK(st.st_mode):
            raise InvalidInput(
                f"container {container!r} is a symbolic link ({path}); LocalStore only uses "
                "real directories inside its root",
                container,
            )
        if not stat.S_ISDIR(st.st_mode) or not os.path.isfile(os.path.join(path, META_FILE)):
            raise _missing_container(container)
        if os.path.realpath(path) != os.path.join(self._real_root, _dir_name(container)):
            raise InvalidInput(f"container {container!r} resolves outside {self.root}", container)

    def _evict_locked(self, keep: str) -> None:
        for name, c in list(self._states.items()):
            if len(self._states) <= _MAX_OPEN_CONTAINERS // 2:
                return
            if name != keep and c.try_close():
                del self._states[name]

    def _forget(self, container: str, c: Container) -> None:
        """Drop a stale handle; one still in use is closed later (``_container``)."""
        with self._states_lock:
            if self._states.get(container) is c:
                del self._states[container]
            if not c.try_close():
                self._retired.append(c)

    def _retrying(self, container: str, op: Callable[[Container], T]) -> T:
        """Run ``op`` on the container's handle; if the handle turns out stale (the
        container was deleted, maybe recreated, by another process), once more on
        a fresh one."""
        for _attempt in range(2):
            c = self._container(container)
            try:
                return op(c)
            except ContainerGone:
                self._forget(container, c)
        raise _missing_container(container)

    def _container_names(self) -> list[str]:
        names = []
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            raise NotFound(f"LocalStore root {self.root} does not exist", self.root) from None
        for e in entries:
            if e.name.startswith(_LONG_PREFIX):
                long_name = _long_name(e.path, e.name)
                if long_name is not None:
                    names.append(long_name)
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

    @reports_full_disk(1)
    def create_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> bool:
        path = self._container_path(container)
        for _ in range(200):
            try:
                self._retrying(container, lambda c: c.post_meta(metadata, system))
                return False
            except NotFound:
                pass
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                st = None
            if st is not None:
                if stat.S_ISLNK(st.st_mode):
                    self._check_dir(container, path)  # raises with the reason
                if not stat.S_ISDIR(st.st_mode):
                    raise Conflict(f"{path} exists and is not a container directory", container)
                if os.path.isfile(os.path.join(path, META_FILE)):
                    # Being deleted by someone else right now: wait for it to go.
                    time.sleep(0.005)
                    continue
                if os.listdir(path):
                    raise Conflict(f"{path} exists and is not a sciswift container", container)
            if self._assemble_container(container, path, metadata, system):
                return True
        # A container flagged deleted whose deleter died before moving it away.
        self._finish_delete(container, path)
        return self.create_container(container, metadata, system)

    def _assemble_container(
        self,
        container: str,
        path: str,
        metadata: Mapping[str, str] | None,
        system: Mapping[str, str] | None,
    ) -> bool:
        """Build the container in a private directory, then rename it into place
        (atomic: nobody sees a half-made container). False if ``path`` appeared
        meanwhile."""
        staging = os.path.join(self.root, f"{_NEW_PREFIX}{uuid.uuid4().hex}")
        os.mkdir(staging)
        try:
            for sub in SUBDIRS:
                os.mkdir(os.path.join(staging, sub))
            meta = {"created": time.time(), "metadata": {}, "system": {}}
            merge_meta(meta["metadata"], metadata)  # type: ignore[arg-type]
            merge_meta(meta["system"], system)  # type: ignore[arg-type]
            if os.path.basename(path) != container:
                with open(os.path.join(staging, _NAME_FILE), "w", encoding="utf-8") as f:
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

    @reports_full_disk(1)
    def delete_container(self, container: str) -> None:
        path = self._container_path(container)
        self._retrying(container, lambda c: c.mark_deleted())
        self._finish_delete(container, path)

    def _finish_delete(self, container: str, path: str) -> None:
        c = self._states.get(container)
        if c is not None:
            self._forget(container, c)
            c.close()
        self._pack_files.sweep(under=path + os.sep)
        trash = os.path.join(self.root, f"{_TRASH_PREFIX}{uuid.uuid4().hex}")
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return
        if self.durable:
            fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)

    def head_container(self, container: str) -> ContainerInfo:
        return self._retrying(container, lambda c: c.info())

    @reports_full_disk(1)
    def post_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> None:
        self._retrying(container, lambda c: c.post_meta(metadata, system))

    def list_objects(
        self, container: str, params: ListingParams = ListingParams()
    ) -> list[ObjectInfo | Subdir]:
        entries = self._retrying(container, lambda c: c.list(params))
        if any(isinstance(e, ObjectInfo) and e.etag == LAZY_ETAG for e in entries):
            entries = [self._settle_listed(container, e) for e in entries]
        return entries

    def iter_names(self, container: str, prefix: str = "", *, page_size: int = 10000) -> Iterator[str]:
        # Straight from the index: names need no ETag, so lazy ones stay lazy.
        marker = ""
        while True:
            params = ListingParams(prefix=prefix, marker=marker, limit=page_size)
            page: list[ObjectInfo | Subdir] = self._retrying(container, lambda c, p=params: c.list(p))  # type: ignore[misc]
            for entry in page:
                yield entry.name
            if len(page) < page_size:
                return
            marker = page[-1].name

    def _settle_listed(self, container: str, entry: ObjectInfo | Subdir) -> ObjectInfo | Subdir:
        """A listing entry with its lazy ETag computed from the file (when the file
        is still the version listed; otherwise the entry is returned as it is)."""
        if not isinstance(entry, ObjectInfo) or entry.etag != LAZY_ETAG:
            return entry
        try:
            op, subject = self._open(container, entry.name)
        except NotFound:
            return entry
        try:
            info = read_info(op.fd, op.length, entry.name, subject, op.base)
            if info.timestamp != entry.timestamp or info.etag != LAZY_ETAG:
                return entry if info.etag == LAZY_ETAG else replace(entry, etag=info.etag)
            return replace(entry, etag=self._settled(op, info).etag)
        finally:
            os.close(op.fd)

    # --------------------------------------------------------------- account
    def _account_path(self) -> str:
        return os.path.join(self.root, ACCOUNT_FILE)

    def _read_account(self) -> dict[str, Any]:
        try:
            acct = read_json(self._account_path())
            if not isinstance(acct.get("metadata"), dict) or not isinstance(acct.get("system"), dict):
                raise ValueError("missing metadata or system")
            return acct  # type: ignore[no-any-return]
        except FileNotFoundError:
            return {"created": os.stat(self.root).st_ctime, "metadata": {}, "system": {}}
        except (ValueError, AttributeError) as e:
            path = self._account_path()
            raise CorruptData(f"account metadata {path} is unreadable ({e})", path) from None

    def account_info(self) -> AccountInfo:
        acct = self._read_account()
        count = objects = used = 0
        for name in self._container_names():
            info = self._container_info(name)
            if info is not None:
                count += 1
                objects += info.object_count
                used += info.bytes_used
        return AccountInfo(
            container_count=count,
            object_count=objects,
            bytes_used=used,
            timestamp=acct["created"],
            metadata=dict(acct["metadata"]),
            system=dict(acct["system"]),
        )

    @reports_full_disk(0)
    def post_account(
        self, metadata: Mapping[str, str] | None = None, system: Mapping[str, str] | None = None
    ) -> None:
        # flock on the root directory itself serialises read-modify-write of the
        # account file across threads and processes without adding a lock file.
        fd = os.open(self.root, os.O_RDONLY | O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            acct = self._read_account()
            merge_meta(acct["metadata"], metadata)
            merge_meta(acct["system"], system)
            path = self._account_path()
            write_json_atomic(path, path + ".tmp", acct, self.durable)
        finally:
            os.close(fd)

    def list_containers(self, params: ListingParams = ListingParams()) -> list[ContainerInfo | Subdir]:
        names = sorted(self._container_names(), key=utf8_key, reverse=params.reverse)
        out: list[ContainerInfo | Subdir] = []
        for entry in apply_listing(names, lambda n: n, params):
            if isinstance(entry, Subdir):
                out.append(entry)
                continue
            info = self._container_info(entry)
            if info is not None:  # else deleted since the directory was listed
                out.append(info)
        return out

    def _container_info(self, container: str) -> ContainerInfo | None:
        """Info of a listed container: from its open handle if this store has one,
        else peeked at without opening one; None if it is gone."""
        try:
            if container not in self._states:
                try:
                    return peek_info(container, self._container_path(container))
                except (sqlite3.Error, ValueError, KeyError, TypeError):
                    pass  # an index that needs opening (damaged, old): open it properly
            return self.head_container(container)
        except NotFound:
            return None

    # --------------------------------------------------------------- objects
    def _open(self, container: str, name: str) -> tuple[Opened, str]:
        """An open descriptor on the object's current version (its file, or its
        record in a pack), and the object's subject. The caller closes it."""
        check_object_name(name)
        subject = _subject(container, name)
        c = self._states.get(container)
        if c is None or c.pid != os.getpid():
            c = self._container(container)
        try:
            return c.open_current(name), subject
        except ContainerGone:
            pass
        except FileNotFoundError:
            if c.is_current():
                raise _missing_object(container, name) from None
        # The handle was stale (container deleted or replaced, or closed): look again.
        self._forget(container, c)
        c = self._container(container)
        try:
            return c.open_current(name), subject
        except (FileNotFoundError, ContainerGone):
            raise _missing_object(container, name) from None

    def head_object(self, container: str, name: str) -> ObjectInfo:
        op, subject = self._open(container, name)
        try:
            return self._settled(op, read_info(op.fd, op.length, name, subject, op.base))
        finally:
            os.close(op.fd)

    def _settled(self, op: Opened, info: ObjectInfo) -> ObjectInfo:
        """``info`` with its ETag computed if it was left for later (``put_many`` on a
        non-durable store). Object and pack files are never changed in place, only
        replaced, so a computed ETag is remembered per file identity and offset."""
        if info.etag != LAZY_ETAG:
            return info
        st = os.fstat(op.fd)
        key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, op.base)
        etag = self._lazy_etags.get(key)
        if etag is None:
            etag = body_md5(op.fd, info.size, op.base)
            if len(self._lazy_etags) > 100_000:
                self._lazy_etags.clear()
            self._lazy_etags[key] = etag
        return replace(info, etag=etag)

    def get_object(self, container: str, name: str, byte_range: ByteRange | None = None) -> bytes:
        op, subject = self._open(container, name)
        try:
            return _read_body(op, name, subject, byte_range)
        finally:
            os.close(op.fd)

    def open_object(
        self, container: str, name: str, byte_range: ByteRange | None = None
    ) -> ObjectReader:
        op, subject = self._open(container, name)
        try:
            info = self._settled(op, read_info(op.fd, op.length, name, subject, op.base))
            start, stop = (byte_range or ByteRange()).resolve(info.size)
        except BaseException:
            os.close(op.fd)
            raise
        return FileReader(op.fd, info, start, stop, op.base)

    def get_many(
        self, container: str, names: Sequence[str], *, max_workers: int = 16
    ) -> dict[str, bytes]:
        # Sequential on purpose: a cached small read costs ~10 µs of system calls,
        # less than handing it to a thread. Packed objects are looked up with one
        # query for all and read pack by pack (one descriptor each).
        out: dict[str, bytes] = {}
        for name in names:
            check_object_name(name)
        try:
            c = self._container(container)
        except NotFound:
            return out
        def take(name: str, op: Opened) -> bool:
            out[name] = _read_body(op, name, c.subject(name))
            return True

        for name in self._read_each(c, names, take):  # a race with a writer, or no such object: the careful way
            try:
                out[name] = self.get_object(container, name)
            except NotFound:
                pass
        return out

    def read_many_into(
        self, container: str, names: Sequence[str], buf: memoryview, consume: Callable[[str], None]
    ) -> list[str]:
        """For each of ``names`` whose body is exactly ``len(buf)`` bytes, read the
        body into ``buf`` and call ``consume(name)`` before the next read reuses it;
        returns the other names (missing, or of another size), for ``get_many``.

        One scratch buffer for every object instead of a new ``bytes`` each, as
        HDF5 reads chunks; see ``put_many_filled`` for why that matters."""
        for name in names:
            check_object_name(name)
        try:
            c = self._container(container)
        except NotFound:
            return list(names)

        def take(name: str, op: Opened) -> bool:
            if read_whole_into(op.fd, op.length, name, c.subject(name), op.base, buf) is None:
                return False
            consume(name)
            return True

        return self._read_each(c, names, take)

    def _read_each(self, c: Container, names: Sequence[str], take: Callable[[str, Opened], bool]) -> list[str]:
        """Call ``take(name, record)`` for each of ``names`` found as an object file
        or a pack record (packed ones looked up with one query, read pack by pack);
        returns the names not found or not taken, for the careful way."""
        if c.prefers_index():
            return self._each_file(c, self._each_packed(c, names, take), take)
        return self._each_packed(c, self._each_file(c, names, take), take)

    def _each_file(self, c: Container, names: Sequence[str], take: Callable[[str, Opened], bool]) -> list[str]:
        left = []
        for name in names:
            try:
                fd = os.open(c.object_path(name), os.O_RDONLY | O_CLOEXEC)
            except FileNotFoundError:
                left.append(name)
                continue
            try:
                if not take(name, Opened(fd, 0, os.fstat(fd).st_size, ())):
                    left.append(name)
            finally:
                os.close(fd)
        return left

    def _each_packed(self, c: Container, names: Sequence[str], take: Callable[[str, Opened], bool]) -> list[str]:
        try:
            groups = c.packed_rows(names)
        except ContainerGone:
            return list(names)
        done: set[str] = set()
        for pack, records in groups.items():
            try:
                fd, _st = self._pack_files.open(c.pack_path(pack))
            except FileNotFoundError:
                continue  # collected since the lookup: those names are read the careful way
            try:
                for name, off, length in records:
                    if take(name, Opened(fd, off, length, ())):
                        done.add(name)
            finally:
                os.close(fd)
        return [n for n in names if n not in done]

    # ----------------------------------------------------------------- puts
    def _mode_check(self, container: str, mode: PutMode) -> Callable[[str, Location | None], None] | None:
        if mode == OVERWRITE:
            return None
        if mode == CREATE:

            def create_only(name: str, current: Location | None) -> None:
                if current is not None:
                    raise AlreadyExists(f"object {container}/{name} already exists", _subject(container, name))

            return create_only
        if isinstance(mode, IfMatch):
            want = mode.etag.strip('"').lower()

            def if_match(name: str, current: Location | None) -> None:
                subject = _subject(container, name)
                if current is None:
                    raise PreconditionFailed(f"object {subject} does not exist, so has no ETag {mode.etag}", subject)
                fd = os.open(current.path, os.O_RDONLY | O_CLOEXEC)
                try:
                    op = Opened(fd, current.base, current.length, current.ident)
                    info = self._settled(op, read_info(fd, current.length, name, subject, current.base))
                finally:
                    os.close(fd)
                if info.etag != want:
                    raise PreconditionFailed(f"object {subject} does not have ETag {mode.etag}", subject)

            return if_match
        raise InvalidInput(f"unknown put mode {mode!r}")

    def _commit(
        self,
        c: Container,
        items: Sequence[tuple[str, str, ObjectInfo]],
        check: Callable[[str, Location | None], None] | None,
        packs: Sequence[StagedPack] = (),
    ) -> None:
        """Commit temp files and staged packs, retrying once on a fresh handle if
        ours was stale. Temp files and packs left uncommitted (refused, failed)
        are removed."""
        try:
            try:
                c.commit(items, check, packs)
            except ContainerGone:
                self._forget(c.name, c)
                fresh = self._container(c.name)
                staged = [tmp for _, tmp, _ in items] + [p.path for p in packs]
                if not all(os.path.exists(path) for path in staged):
                    raise _missing_container(c.name) from None
                fresh.commit(items, check, packs)
        except BaseException:
            for _, tmp, _ in items:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
            for p in packs:
                if not p.committed:
                    try:
                        os.unlink(p.path)
                    except FileNotFoundError:
                        pass
            raise

    @reports_full_disk(2)
    def put_object(
        self,
        container: str,
        name: str,
        data: PutData,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
        mode: PutMode = OVERWRITE,
        etag: str | None = None,
    ) -> ObjectInfo:
        check_container_name(container)
        check_object_name(name)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            writer = self.open_writer(
                container, name, content_type=content_type, metadata=metadata,
                system=system, mode=mode, etag=etag,
            )
            try:
                for block in iter_chunks(data):
                    writer.write(block)
            except BaseException:
                writer.abort()
                raise
            return writer.commit()
        if not isinstance(data, bytes):
            data = memoryview(data).cast("B")  # len() in bytes, without copying
        c = self._container(container)
        check = self._mode_check(container, mode)
        digest = hashlib.md5(data).hexdigest()
        verify_etag(etag, digest, container, name)
        info = ObjectInfo(
            name=name,
            size=len(data),
            etag=digest,
            timestamp=time.time(),
            content_type=content_type or "application/octet-stream",
            metadata=lower_keys(metadata),
            system=lower_keys(system),
        )
        tmp = self._write_temp(c, [data, encode_trailer(info)])
        self._commit(c, [(name, tmp, info)], check)
        return info

    def _stage(self, c: Container, make: Callable[..., T], *args: Any) -> T:
        """A temp file made by ``make(c, *args)``, on a fresh handle if ``c`` was
        stale (the path is the same: commit reopens the handle by name too)."""
        try:
            return make(c, *args)
        except ContainerGone:
            self._forget(c.name, c)
            return make(self._container(c.name), *args)

    def _write_temp(self, c: Container, buffers: Sequence[bytes | memoryview]) -> str:
        return self._stage(c, Container.write_temp, buffers)

    @reports_full_disk(2)
    def open_writer(
        self,
        container: str,
        name: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
        mode: PutMode = OVERWRITE,
        etag: str | None = None,
    ) -> ObjectWriter:
        check_container_name(container)
        check_object_name(name)
        return LocalWriter(
            self, self._container(container), name,
            content_type=content_type, metadata=metadata, system=system, mode=mode, etag=etag,
        )

    @reports_full_disk(1, batch=True)
    def put_many(
        self,
        container: str,
        items: Mapping[str, bytes],
        *,
        max_workers: int = 16,
        content_types: Mapping[str, str] | None = None,
    ) -> None:
        """Store many objects: each atomically, all indexed in one transaction (the
        batch as a whole is not atomic: a crash may leave some stored).

        Objects up to ``PACK_MAX_OBJECT`` bytes are written together into pack
        files (one file creation per ~64 MiB instead of one per object); larger
        ones get files of their own."""
        check_container_name(container)
        for name in items:
            check_object_name(name)
        if not items:
            self._container(container)
            return
        now = time.time()
        small: list[tuple[str, ObjectInfo, bytes | memoryview, bytes]] = []
        large: list[tuple[str, ObjectInfo, bytes | memoryview, bytes]] = []
        for name, data in items.items():
            # A batch on a non-durable store (the HDF5 engine's chunk writes) leaves
            # the MD5 for later: it costs ~1.5 ms per MiB, more than the write.
            digest = hashlib.md5(data).hexdigest() if self.durable else LAZY_ETAG
            body: bytes | memoryview = data if isinstance(data, bytes) else memoryview(data).cast("B")
            info = ObjectInfo(name, len(body), digest, now)
            if content_types and name in content_types:
                info = replace(info, content_type=content_types[name])
            (small if len(body) <= PACK_MAX_OBJECT else large).append((name, info, body, encode_trailer(info)))
        self._put_packed(container, large, plan_packs(small))

    def _put_packed(
        self,
        container: str,
        large: Sequence[tuple[str, ObjectInfo, bytes | memoryview, bytes]],
        groups: Sequence[Sequence[tuple[str, ObjectInfo, Any, bytes]]],
    ) -> None:
        for _attempt in range(2):
            c = self._container(container)
            try:
                self._put_batch(c, large, groups)
                return
            except ContainerGone:
                # Our handle was closed under us (the container deleted, or the
                # store closing): once more on a fresh one, which says which.
                self._forget(container, c)
        raise _missing_container(container)

    @reports_full_disk(1, batch=True)
    def put_many_filled(
        self, container: str, names: Sequence[str], size: int, fill: Callable[[str, memoryview], None]
    ) -> None:
        """Store ``names``, each ``size`` bytes that ``fill(name, buf)`` writes into
        ``buf`` when its turn comes, as ``put_many`` would store them (each object
        atomic, the batch not). ``buf`` is one scratch buffer for all of them, so no
        memory is held per object: the HDF5 engine writes uncompressed chunks this
        way (as HDF5 does). On the project's VM, a process that held a copy of
        every chunk of a write (and a new buffer per chunk read) sooner or later
        found its fresh pages very slow to touch, for good: ``bench.h5``'s 64 MiB
        ``bulk`` took 19-28 ms per write and 13-20 per read, then 86-170 ms for
        both, in about half the processes. With scratch buffers, 4 processes x 8
        repetitions all took 20-29 ms and 14-15 ms (h5py: 23 and 13)."""
        check_container_name(container)
        for name in names:
            check_object_name(name)
        if not names:
            self._container(container)
            return
        if self.durable or size > PACK_MAX_OBJECT:
            # Bodies are needed whole here (the MD5 goes into each record before
            # it is written, or each becomes a file): a few MiB at a time.
            step = max(1, (8 << 20) // max(size, 1))
            for i in range(0, len(names), step):
                batch: dict[str, bytes] = {}
                for name in names[i:i + step]:
                    buf = bytearray(size)
                    fill(name, memoryview(buf))
                    batch[name] = bytes(buf)
                self.put_many(container, batch)
            return
        now = time.time()
        items = []
        for name in names:
            info = ObjectInfo(name, size, LAZY_ETAG, now)
            items.append((name, info, Filled(size, name, fill), encode_trailer(info)))
        self._put_packed(container, [], plan_packs(items))

    def _put_batch(
        self,
        c: Container,
        large: Sequence[tuple[str, ObjectInfo, bytes | memoryview, bytes]],
        groups: Sequence[Sequence[tuple[str, ObjectInfo, bytes | memoryview, bytes]]],
    ) -> None:
        """Write ``large`` as object files and ``groups`` as packs, and commit them."""
        ids = [new_pack_id() for _ in groups]
        # The pack IDs go into the journal before the packs exist, so recovery
        # finds the packs of a writer that dies before committing them.
        c.journal_begin((), ids)
        try:
            staged: list[tuple[str, str, ObjectInfo]] = []
            try:
                for name, info, body, trailer in large:
                    staged.append((name, c.write_temp([body, trailer]), info))
                packs = c.stage_packs(ids, groups)
            except BaseException:
                for _, tmp, _ in staged:
                    os.unlink(tmp)
                raise
            self._commit(c, staged, None, packs)
        finally:
            c.journal_end()

    @reports_full_disk(2)
    def delete_object(self, container: str, name: str) -> None:
        check_object_name(name)
        [existed] = self._retrying(container, lambda c: c.delete([name]))
        if not existed:
            raise _missing_object(container, name)

    @reports_full_disk(1)
    def delete_many(
        self, container: str, names: Iterable[str], *, max_workers: int = 16
    ) -> int:
        names = list(names)
        for name in names:
            check_object_name(name)
        if not names:
            return 0
        return sum(self._retrying(container, lambda c: c.delete(names)))

    @reports_full_disk(2)
    def post_object(
        self,
        container: str,
        name: str,
        *,
        metadata: Mapping[str, str],
        content_type: str | None = None,
        system: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Swift POST: see ``Store.post_object``. The body is copied (in the kernel
        where the filesystem allows) into a new file with the new metadata, which
        replaces the old file only if the object did not change meanwhile."""
        for _ in range(100):
            op, subject = self._open(container, name)
            try:
                info = self._settled(op, read_info(op.fd, op.length, name, subject, op.base))
                sysmeta = dict(info.system)
                merge_meta(sysmeta, system)
                new = replace(
                    info,
                    timestamp=time.time(),
                    content_type=content_type or info.content_type,
                    metadata={k.lower(): v for k, v in metadata.items() if v != ""},
                    system=sysmeta,
                )
                c = self._container(container)
                tmp = self._stage(c, Container.clone_temp, op, info.size, encode_trailer(new))
            finally:
                os.close(op.fd)
            try:
                self._commit(c, [(name, tmp, new)], _same_version(op.ident))
                return new
            except _Changed:
                continue
        raise PreconditionFailed(f"object {container}/{name} kept changing during POST", _subject(container, name))

    @reports_full_disk(slice(2, 4))
    def copy_object(
        self,
        src_container: str,
        src_name: str,
        dst_container: str,
        dst_name: str,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        system: Mapping[str, str] | None = None,
        fresh_metadata: bool = False,
        mode: PutMode = OVERWRITE,
    ) -> ObjectInfo:
        """Copy within this store (``Store.copy_object`` semantics). The body is
        copied in the kernel where possible and keeps the source's ETag, which
        describes the same bytes, so no MD5 pass is made."""
        check_container_name(dst_container)
        check_object_name(dst_name)
        op, subject = self._open(src_container, src_name)
        try:
            src = self._settled(op, read_info(op.fd, op.length, src_name, subject, op.base))
            meta = {} if fresh_metadata else dict(src.metadata)
            meta.update(lower_keys(metadata))
            sysmeta = dict(src.system)
            sysmeta.update(lower_keys(system))
            info = ObjectInfo(
                name=dst_name,
                size=src.size,
                etag=src.etag,
                timestamp=time.time(),
                content_type=content_type or src.content_type,
                metadata={k: v for k, v in meta.items() if v != ""},
                system={k: v for k, v in sysmeta.items() if v != ""},
            )
            dst = self._container(dst_container)
            check = self._mode_check(dst_container, mode)
            tmp = self._stage(dst, Container.clone_temp, op, src.size, encode_trailer(info))
        finally:
            os.close(op.fd)
        self._commit(dst, [(dst_name, tmp, info)], check)
        return info

    # ------------------------------------------------------------ maintenance
    def sync(self) -> None:
        """Make everything written so far durable (for ``durable=False`` stores):
        one ``syncfs`` of the filesystem holding the root."""
        syncfs(self.root)

    def fsck(self, container: str | None = None, *, deep: bool = False) -> FsckReport:
        """Check and repair one container (or all): replay dead writers' journals,
        remove orphan temporary files, re-index object files whose index rows are
        missing or wrong, drop rows without files, and quarantine unreadable files
        (``quarantine/``). ``deep`` also re-hashes every body against its ETag.
        Without a container, also finishes interrupted container creations and
        deletions in the root."""
        report = FsckReport()
        if container is None:
            self._fsck_root()
            names = self._container_names()
        else:
            names = [container]
        for name in names:
            report.merge(self._retrying(name, lambda c: c.fsck(deep)))
        return report

    def _fsck_root(self) -> None:
        now = time.time()
        for e in os.scandir(self.root):
            if e.name.startswith(_TRASH_PREFIX):
                shutil.rmtree(e.path, ignore_errors=True)
            elif e.name.startswith(_NEW_PREFIX):
                try:
                    if now - e.stat(follow_symlinks=False).st_mtime > _STALE_NEW_DIR_SECONDS:
                        shutil.rmtree(e.path, ignore_errors=True)
                except FileNotFoundError:
                    pass
        for name in self._container_names():
            try:
                self._container(name)
            except NotFound:
                # Flagged deleted but never moved away: its deleter died.
                self._finish_delete(name, self._container_path(name))

    def close(self) -> None:
        with self._states_lock:
            self._closed = True
            states, self._states = [*self._states.values(), *self._retired], {}
            self._retired = []
        for c in states:
            c.close()
        self._pack_files.close()


_abandoned: list[Container] = []


def _same_version(ident: tuple[Any, ...]) -> Callable[[str, Location | None], None]:
    """A commit check: the object is still the version ``ident`` (the same file,
    or the same pack record)."""

    def check(name: str, current: Location | None) -> None:
        if current is None or current.ident != ident:
            raise _Changed

    return check


def _read_body(op: Opened, name: str, subject: str, byte_range: ByteRange | None = None) -> bytes:
    """The body (or ``byte_range`` of it) of the object record ``op`` holds."""
    if byte_range is None and op.length <= WHOLE_READ_LIMIT:
        return read_whole(op.fd, op.length, name, subject, op.base)[1]
    info = read_info(op.fd, op.length, name, subject, op.base)
    start, stop = (byte_range or ByteRange()).resolve(info.size)
    data = pread_exact(op.fd, stop - start, op.base + start)
    if len(data) != stop - start:
        raise CorruptData(f"object {subject} is shorter on disk than its metadata says", subject)
    return data


def _dir_name(container: str) -> str:
    """The directory (under the root) of the valid container name ``container``."""
    raw = container.encode("utf-8")
    if len(raw) <= _NAME_MAX:
        return container
    return _LONG_PREFIX + hashlib.sha256(raw).hexdigest()


def _long_name(path: str, dir_name: str) -> str | None:
    """The container name kept in the long-name directory ``path``; None if it is
    not a complete container of ours (being made, or not ours at all)."""
    try:
        with open(os.path.join(path, _NAME_FILE), encoding="utf-8") as f:
            name = f.read()
        if _dir_name(check_container_name(name)) != dir_name or not os.path.isfile(os.path.join(path, META_FILE)):
            return None
    except (OSError, UnicodeDecodeError, InvalidInput):
        return None
    return name
