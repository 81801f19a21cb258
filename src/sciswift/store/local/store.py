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
        quarantine/                damaged records set aside (HASH.TIME-RANDOM), never removed by sciswift

- ``HASH`` is the 32-hex-digit BLAKE2b-128 of the object name's UTF-8 bytes, in one
  flat directory (filesystems index large directories; fan-out subdirectories cost
  a mkdir each). The name itself is stored inside the file and checked on every read.
- An object record is the body, then the XXH3-64 digest of each 64 KiB block of
  it, then the object's metadata as JSON, then a 16-byte footer (magic, version,
  metadata length, CRC-32); see ``sciswift.store.local.format`` (format version
  2; version-1 records, without block digests, are still read). An object file
  is one record, so body and metadata are replaced together by one ``rename``.
- Every read checks the body bytes it returns against their block digests
  (a version-1 record: a whole read against its MD5 ETag). A record that fails
  its checks is never returned: the object is quarantined (the record set
  aside in ``quarantine/``, a stub record with no body put in its place, a
  warning logged on ``sciswift.store``) and reads raise ``Quarantined``, never
  ``NotFound``, until it is put again or deleted; see
  ``sciswift.store.local.quarantine``. ``audit`` checks a store without
  changing it, ``fsck`` repairs (``sciswift fsck``).
- ``put_many`` (the HDF5 engine's chunk and metadata writes) stores objects up to
  ``PACK_MAX_OBJECT`` (8 MiB) as records of pack files of up to ``PACK_LIMIT``
  (64 MiB): one file creation per pack instead of one per object, which is the
  dominant cost of a small put on ext4 (15-20 µs on a quiet filesystem, 200-900 µs
  after many deletions nearby). Packs are written once and never changed; see
  ``sciswift.store.local.pack``. ``put_many_filled`` packs the same way with
  bodies produced one at a time into a scratch buffer, and ``read_many_into``
  reads bodies into a buffer the caller gives (uncompressed HDF5 chunks: no
  memory per object, as HDF5 moves chunks); ``read_parts_into`` reads parts of
  bodies (the blocks holding them, checked) into a scratch buffer, and with the
  caller's ``ReadHints`` reads a packed object again straight from the pack
  record it was found in (packs never change), without asking the index.
  Every other put (``put_object``, conditional puts, POST, copies, the
  streaming writer) writes an object file.
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
  and cannot restore: ``sciswift.store.local.container``). An index of schema
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
  survives power loss (concurrent puts share the journal and directory syncs,
  and a put's syncs overlap where their order allows: ``local.syncs``). The
  index commit of a plain put is not fsync'd by itself
  (the journal entry can redo it from the file; the index is fsync'd before
  journal entries are dropped), which keeps its fsyncs outside the container's
  write lock; a commit that changes packed rows, which no file can redo, is
  fsync'd before the call returns (and before the files it replaced go).
- ``durable=False`` (local HDF5 files, like h5py itself): no fsync at all, still
  atomic renames and commits; ``sync()`` flushes everything written so far. After
  a power loss (not a process crash) a non-durable store may lose recent writes,
  and a damaged index is rebuilt from the files on open.
- ETags: a put computes the body's MD5 as it writes (``put_object``, writers);
  ``put_many`` leaves it out of the records (on a durable store, of bodies of
  64 KiB and more) unless the caller gave one to check, and it is computed from
  the stored bytes when first asked for (``local.settle``: on a durable store,
  a background thread also computes them once the store is idle and records
  them in the index).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from sciswift.errors import (
    AlreadyExists,
    CorruptData,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Quarantined,
    SciSwiftError,
)
from sciswift.store.base import ObjectReader, ObjectWriter, PutData, Store, iter_chunks
from sciswift.store.listing import apply_listing, utf8_key
from sciswift.store.local.audit import AuditProgress, AuditReport, Finding, audit_container
from sciswift.store.local.batch import BatchIO
from sciswift.store.local.container import (
    META_FILE,
    Container,
    ContainerGone,
    FsckReport,
    Location,
    Opened,
    StagedPack,
    object_file_name,
    peek_info,
)
from sciswift.store.local.containers import ContainerDirs
from sciswift.store.local.format import (
    LAZY_ETAG,
    Damaged,
    FileReader,
    Record,
    body_md5,
    encode_trailer,
    live,
    quarantined_error,
    read_body,
    read_record,
)
from sciswift.store.local.fs import O_CLOEXEC, fsync_dir, read_json, syncfs, unlink_quiet, write_json_atomic
from sciswift.store.local.handles import ContainerHandles, abandon_inherited, close_orphans_before_fork
from sciswift.store.local.index import RECORD_ETAG
from sciswift.store.local.layout import (
    ACCOUNT_FILE,
    RESERVED_PREFIX,
    ROOT_MARKER,
    container_names,
    container_path,
    missing_container,
)
from sciswift.store.local.pack import PackFiles
from sciswift.store.local.quarantine import describe_record, log, set_aside_record, stub_temp
from sciswift.store.local.settle import EtagSettler, Known
from sciswift.store.local.space import reports_full_disk
from sciswift.store.local.sums import sums_size
from sciswift.store.local.writer import LocalWriter, verify_etag
from sciswift.store.metarules import copied_metadata, lower_keys, merge_metadata, replaced_metadata
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

__all__ = ["LocalStore", "FsckReport", "AuditReport", "AuditProgress", "Finding", "RESERVED_PREFIX"]

#: A listing with at least this many ETags still to work out (objects of a batch
#: the settler has not reached) works them out on up to ``_LISTED_THREADS``
#: threads: reads and MD5 release the GIL.
_LISTED_AT_ONCE_MIN = 8
_LISTED_THREADS = 4

T = TypeVar("T")

_stores: weakref.WeakSet[LocalStore] = weakref.WeakSet()


def _before_fork() -> None:
    # A child must not inherit an open SQLite connection: SQLite keeps its lock
    # bookkeeping per process, so a child opening the same index would believe it
    # holds the parent's locks (POSIX locks are not inherited) and another process
    # could reset the WAL under its reads (seen: SQLITE_IOERR_SHORT_READ with
    # multiprocessing's "fork" and a parent that had used the store). Idle handles
    # are closed here; the parent reopens them on its next use.
    stores = list(_stores)
    for store in stores:
        store._handles.close_idle()
    close_orphans_before_fork({id(c) for store in stores for c in store._handles.held()})


def _after_fork_in_child() -> None:
    for store in list(_stores):
        store._reset_after_fork()
    abandon_inherited()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def _subject(container: str, name: str) -> str:
    return f"{container}/{name}"


def _missing_object(container: str, name: str) -> NotFound:
    return NotFound(f"object {container}/{name} does not exist", _subject(container, name))



class _Changed(Exception):
    """The object changed between reading it and committing a rewrite of it."""


class LocalStore(BatchIO, Store):
    """A Store in the directory ``root`` (one account; see the module docstring).

    ``create``: create ``root`` if missing (else NotFound naming it). ``durable``:
    fsync every write (True) or none (False, with ``sync()`` on demand).
    ``mark_root``: write the ``ROOT_MARKER`` file, so paths below ``root`` resolve to
    this store (``sciswift.store.url``).

    Thread-safe, and safe with other processes using the same directory.
    """

    is_local = True
    listing_metadata = True  # the index keeps each object's metadata
    supports_ranges = True
    supports_conditional_put = True
    supports_read_into = True
    supports_read_parts = True
    supports_put_filled = True
    keeps_links = True

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
            if not create:
                if os.path.lexists(path):
                    raise InvalidInput(f"LocalStore root {path} exists and is not a directory", path)
                raise NotFound(f"LocalStore root {path} does not exist", path)
            # Not "exists? then create": other processes may be creating the same
            # root at this moment (the ranks of one program opening their files).
            try:
                os.makedirs(path, exist_ok=True)
            except FileExistsError:
                raise InvalidInput(f"LocalStore root {path} exists and is not a directory", path) from None
        self.root = path
        self.url = Path(path).as_uri()
        self.durable = durable
        self._lazy_etags: dict[tuple[int, int, int, int, int], str] = {}
        # Durable stores (a server's) compute the ETags batched puts leave for
        # later in the background and keep them in the index (local.settle).
        self._settler = self._new_settler()
        self._pack_files = PackFiles()
        if mark_root:
            self._write_marker()
        self._handles = ContainerHandles(path, durable, self._pack_files, f"LocalStore({path!r})")
        self._dirs = ContainerDirs(self._handles)
        _stores.add(self)

    def __repr__(self) -> str:
        return f"LocalStore({self.root!r}, durable={self.durable})"

    def __reduce__(self) -> tuple[Any, ...]:
        # By address: another process opens the same directory (it must see the
        # same filesystem); the root is not created there.
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

    def _new_settler(self) -> EtagSettler | None:
        return EtagSettler(self._compute_etags, self.record_etags) if self.durable else None

    def _reset_after_fork(self) -> None:
        # The child must not reuse the parent's writer id, journal, SQLite
        # connections or pack descriptors (see ContainerHandles.reset_after_fork),
        # nor the settler (its lock may have been held by a thread the child lacks).
        self._settler = self._new_settler()
        self._handles.reset_after_fork()
        self._pack_files.abandon_after_fork()
        self._pack_files = PackFiles()
        self._handles.pack_files = self._pack_files

    # ------------------------------------------------------------ containers
    @reports_full_disk(1)
    def create_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> bool:
        return self._dirs.create(container, metadata, system)

    @reports_full_disk(1)
    def delete_container(self, container: str) -> None:
        self._dirs.delete(container)

    def head_container(self, container: str) -> ContainerInfo:
        return self._handles.retrying(container, lambda c: c.info())

    @reports_full_disk(1)
    def post_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> None:
        self._handles.retrying(container, lambda c: c.post_meta(metadata, system))

    def list_objects(
        self, container: str, params: ListingParams = ListingParams()
    ) -> list[ObjectInfo | Subdir]:
        if self._settler is not None:
            self._settler.busy()
        entries = self._handles.retrying(container, lambda c: c.list(params))
        lazy = sum(1 for e in entries if isinstance(e, ObjectInfo) and e.etag == LAZY_ETAG)
        if lazy >= _LISTED_AT_ONCE_MIN and (os.cpu_count() or 1) > 1:
            with ThreadPoolExecutor(min(_LISTED_THREADS, os.cpu_count() or 1),
                                    thread_name_prefix="sciswift-listed") as pool:
                entries = list(pool.map(lambda e: self._settle_listed(container, e), entries))
        elif lazy:
            entries = [self._settle_listed(container, e) for e in entries]
        return entries

    def iter_names(self, container: str, prefix: str = "", *, page_size: int = 10000) -> Iterator[str]:
        # Straight from the index: names need no ETag, so lazy ones stay lazy.
        marker = ""
        while True:
            params = ListingParams(prefix=prefix, marker=marker, limit=page_size)
            page: list[ObjectInfo | Subdir] = self._handles.retrying(container, lambda c, p=params: c.list(p))  # type: ignore[misc]
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
            rec = read_record(op.fd, op.length, entry.name, subject, op.base)
            info = rec.info
            if info.timestamp != entry.timestamp or info.etag != LAZY_ETAG:
                return entry if info.etag == LAZY_ETAG else replace(entry, etag=info.etag)
            if rec.note is not None:
                return entry  # a quarantine stub of a body whose MD5 was never computed
            return replace(entry, etag=self._settled(container, op, info, rec, subject).etag)
        except CorruptData:
            return entry  # damaged: a listing shows what the index knows (reads say what is wrong)
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
            return acct
        except FileNotFoundError:
            return {"created": os.stat(self.root).st_ctime, "metadata": {}, "system": {}}
        except (ValueError, AttributeError) as e:
            path = self._account_path()
            raise CorruptData(f"account metadata {path} is unreadable ({e})", path) from None

    def account_info(self) -> AccountInfo:
        acct = self._read_account()
        count = objects = used = 0
        for name in container_names(self.root):
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
            merge_metadata(acct["metadata"], metadata)
            merge_metadata(acct["system"], system)
            path = self._account_path()
            write_json_atomic(path, path + ".tmp", acct, self.durable)
        finally:
            os.close(fd)

    def list_containers(self, params: ListingParams = ListingParams()) -> list[ContainerInfo | Subdir]:
        names = sorted(container_names(self.root), key=utf8_key, reverse=params.reverse)
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
            if not self._handles.is_open(container):
                try:
                    return peek_info(container, container_path(self.root, container))
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
        if self._settler is not None:
            self._settler.busy()
        c = self._handles.cached(container) or self._handles.get(container)
        try:
            return c.open_current(name), subject
        except ContainerGone:
            pass
        except FileNotFoundError:
            if c.is_current():
                raise _missing_object(container, name) from None
        # The handle was stale (container deleted or replaced, or closed): look again.
        self._handles.forget(container, c)
        c = self._handles.get(container)
        try:
            return c.open_current(name), subject
        except (FileNotFoundError, ContainerGone):
            raise _missing_object(container, name) from None

    def head_object(self, container: str, name: str) -> ObjectInfo:
        op, subject = self._open(container, name)
        try:
            return self._live_record(container, name, op, subject).info
        finally:
            os.close(op.fd)

    def _live_record(self, container: str, name: str, op: Opened, subject: str, settle: bool = True) -> Record:
        """The record ``op`` holds, its ETag settled (unless not ``settle``);
        Quarantined for a quarantine stub, and a damaged record is quarantined
        (``_quarantine``)."""
        try:
            rec = live(read_record(op.fd, op.length, name, subject, op.base), subject)
            if settle and rec.info.etag == LAZY_ETAG:
                rec = rec._replace(info=self._settled(container, op, rec.info, rec, subject))
            return rec
        except Damaged as e:
            raise self._quarantine(container, name, op, e) from None

    def _quarantine(self, container: str, name: str, op: Opened, error: Damaged,
                    info: ObjectInfo | None = None) -> CorruptData:
        """Quarantine the damaged version ``op`` of ``name`` (see
        ``sciswift.store.local.quarantine``) and return the error to raise:
        Quarantined naming the object once its stub is in place; ``error`` itself
        if the version was replaced meanwhile or setting it aside failed (then
        the next read finds the damage again: never silent)."""
        subject = _subject(container, name)
        copy: str | None = None
        try:
            c = self._handles.get(container)
            where = describe_record(c, name, op.ident)
            if info is None:
                try:
                    info = read_record(op.fd, op.length, name, subject, op.base).info
                except CorruptData:
                    info = c.indexed_info(name) or ObjectInfo(name, 0, LAZY_ETAG, 0.0)
            copy = set_aside_record(c, object_file_name(name), op.fd, op.base, op.length, op.ident[:1] == ("f",))
            tmp, stub = self._stage(c, stub_temp, info, error.why, copy)
            self._commit(c, [(name, tmp, stub)], _same_version(op.ident))
        except _Changed:
            # Put, deleted or quarantined (by another reader) meanwhile: the damaged
            # version is not current any more, nothing to mark here.
            if copy is not None:
                unlink_quiet(os.path.join(c.path, copy))
            return self._quarantined_now(container, name) or error
        except (OSError, SciSwiftError) as e:
            # (A full or read-only disk.) Every read keeps failing the same way,
            # without leaving a copy behind each time.
            if copy is not None:
                unlink_quiet(os.path.join(c.path, copy))
            log.error("object %s is damaged (%s) and could not be quarantined: %s", subject, error.why, e)
            return error
        log.warning("quarantined object %s: %s; the damaged record (%s) is kept as %s", subject,
                    error.why, where, os.path.join(c.path, copy))
        return Quarantined(
            f"{error.message}; the object is quarantined (the damaged record is kept as {copy} in the "
            "container's directory): reads fail until it is put again or deleted",
            subject,
        )

    def _quarantined_now(self, container: str, name: str) -> Quarantined | None:
        """The error reads of ``name`` raise if its current version is a
        quarantine stub, else None."""
        try:
            op, subject = self._open(container, name)
        except (NotFound, CorruptData):
            return None
        try:
            rec = read_record(op.fd, op.length, name, subject, op.base)
            return quarantined_error(rec, subject) if rec.note is not None else None
        except CorruptData:
            return None
        finally:
            os.close(op.fd)

    def _settled(self, container: str, op: Opened, info: ObjectInfo, rec: Record | None = None,
                 subject: str = "", record: bool = True) -> ObjectInfo:
        """``info`` with its ETag if it was left for later (``put_many``: see
        ``local.settle``): remembered here, or recorded in the index, or else
        computed from the body, which is checked against ``rec``'s block digests
        on the way (Damaged on a mismatch). Object and pack files are never
        changed in place, only replaced, so a computed ETag is remembered per
        file identity and offset, and recorded in the index for the version's
        row (by the settler, in the background, unless not ``record``)."""
        if info.etag != LAZY_ETAG:
            return info
        st = os.fstat(op.fd)
        key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, op.base)
        etag = self._lazy_etags.get(key)
        if etag is None:
            etag = self._recorded_etag(container, info)
            if etag is None:
                etag = body_md5(op.fd, info.size, op.base, rec, subject or info.name)
                if record and self._settler is not None:
                    self._settler.known(container, [(info.name, info.timestamp, info.size, etag)])
            if len(self._lazy_etags) > 100_000:
                self._lazy_etags.clear()
            self._lazy_etags[key] = etag
        return replace(info, etag=etag)

    def _recorded_etag(self, container: str, info: ObjectInfo) -> str | None:
        """The ETag the index holds for the version ``info`` describes, if recorded."""
        try:
            row = self._handles.get(container).indexed_info(info.name)
        except (NotFound, ContainerGone):
            return None
        if row is None or row.etag == LAZY_ETAG or (row.timestamp, row.size) != (info.timestamp, info.size):
            return None
        return row.etag

    def _compute_etags(self, container: str, names: list[str]) -> list[Known]:
        """The ETags of those of ``names`` whose current version has none yet,
        computed (``local.settle``; a damaged body is quarantined, as a read
        would)."""
        found: list[Known] = []
        for name in names:
            try:
                op, subject = self._open(container, name)
            except (NotFound, CorruptData):
                continue
            try:
                rec = read_record(op.fd, op.length, name, subject, op.base)
                if rec.info.etag != LAZY_ETAG or rec.note is not None:
                    continue
                info = self._settled(container, op, rec.info, rec, subject, record=False)  # returned instead
                found.append((name, info.timestamp, info.size, info.etag))
            except Damaged as e:
                self._quarantine(container, name, op, e)
            except CorruptData:
                continue
            finally:
                os.close(op.fd)
        return found

    def record_etags(self, container: str, known: Sequence[Known]) -> None:
        """Write computed ETags into the index rows of their versions (those
        rows that still have none: ``index.RECORD_ETAG``)."""
        rows = [(etag, name, ts, size) for name, ts, size, etag in known]

        def update(c: Container) -> None:
            with c.write_txn() as conn:
                conn.executemany(RECORD_ETAG, rows)

        try:
            self._handles.retrying(container, update)
        except NotFound:
            pass  # the container is gone, and its objects with it

    def get_object(self, container: str, name: str, byte_range: ByteRange | None = None) -> bytes:
        """See ``Store.get_object``. The bytes are checked against the record's
        block digests (see ``sciswift.store.local.format``); damage quarantines
        the object and raises Quarantined, as does a read of a quarantined one."""
        op, subject = self._open(container, name)
        try:
            try:
                return read_body(op.fd, op.length, op.base, name, subject, byte_range)
            except Damaged as e:
                raise self._quarantine(container, name, op, e) from None
        finally:
            os.close(op.fd)

    def open_object(
        self, container: str, name: str, byte_range: ByteRange | None = None, *, need_etag: bool = True
    ) -> ObjectReader:
        """See ``Store.open_object``. The reader returns only checked bytes; on
        damage it quarantines the object and raises Quarantined instead of
        returning the damaged block (``FileReader``)."""
        op, subject = self._open(container, name)
        try:
            rec = self._live_record(container, name, op, subject, settle=need_etag)
            start, stop = (byte_range or ByteRange()).resolve(rec.info.size)
            return FileReader(op.fd, rec, start, stop, subject,
                              on_damage=lambda e: self._quarantine(container, name, op, e, rec.info))
        except BaseException:
            os.close(op.fd)
            raise

    # ----------------------------------------------------------------- puts
    def _mode_check(self, container: str, mode: PutMode) -> Callable[[str, Location | None], None] | None:
        if mode == OVERWRITE:
            return None
        if mode == CREATE:

            def create_only(name: str, current: Location | None) -> None:
                if current is not None and not _is_stub(current, name, _subject(container, name)):
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
                    rec = read_record(fd, current.length, name, subject, current.base)
                    if rec.note is not None:
                        raise PreconditionFailed(f"object {subject} is quarantined, so has no ETag {mode.etag}",
                                                 subject)
                    info = self._settled(container, op, rec.info, rec, subject)
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
        synced: Future[None] | None = None,
    ) -> None:
        """Commit temp files and staged packs (on a fresh handle if ``c`` was
        stale: staged files are found by path, so they survive the switch).
        Temp files and packs left uncommitted (refused, failed) are removed.
        ``synced``: the temp files' background sync (``Container.commit``)."""
        if self._settler is not None:
            self._settler.busy()
        staged = [tmp for _, tmp, _ in items] + [p.path for p in packs]

        def commit(handle: Container) -> None:
            if handle is not c and not all(os.path.exists(path) for path in staged):
                raise missing_container(c.name)  # deleted with the container under us
            handle.commit(items, check, packs, synced)

        try:
            self._handles.fresh(c, commit)
        except BaseException:
            for _, tmp, _ in items:
                unlink_quiet(tmp)
            for p in packs:
                if not p.committed:
                    unlink_quiet(p.path)
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
        c = self._handles.get(container)
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
        # The temp file's sync overlaps the journal's (``local.syncs``).
        tmp, synced = self._stage(c, Container.write_temp_syncing, [data, encode_trailer(info, data)])
        self._commit(c, [(name, tmp, info)], check, synced=synced)
        return info

    def _stage(self, c: Container, make: Callable[..., T], *args: Any) -> T:
        """A temp file made by ``make(c, *args)``, on a fresh handle if ``c`` was
        stale (the path is the same: commit reopens the handle by name too)."""
        return self._handles.fresh(c, lambda handle: make(handle, *args))

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
        c = self._handles.get(container)
        check = self._mode_check(container, mode)
        fd, path = self._stage(c, Container.new_temp)
        return LocalWriter(
            container, name, fd, path, root=self.root, durable=self.durable,
            commit=lambda items: self._commit(c, items, check),
            content_type=content_type, metadata=metadata, system=system, etag=etag,
        )

    @reports_full_disk(2)
    def delete_object(self, container: str, name: str) -> None:
        check_object_name(name)
        [existed] = self._handles.retrying(container, lambda c: c.delete([name]))
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
        return sum(self._handles.retrying(container, lambda c: c.delete(names)))

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
                rec = self._live_record(container, name, op, subject)
                info = rec.info
                new = replace(
                    info,
                    timestamp=time.time(),
                    content_type=content_type or info.content_type,
                    metadata=replaced_metadata(metadata),
                    system=merge_metadata(dict(info.system), system),
                )
                c = self._handles.get(container)
                tmp = self._stage(c, Container.clone_temp, op, info.size, _trailer_like(op, rec, new))
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
            rec = self._live_record(src_container, src_name, op, subject)
            src = rec.info
            info = ObjectInfo(
                name=dst_name,
                size=src.size,
                etag=src.etag,
                timestamp=time.time(),
                content_type=content_type or src.content_type,
                metadata=copied_metadata(src.metadata, metadata, fresh=fresh_metadata),
                system=copied_metadata(src.system, system),
            )
            dst = self._handles.get(dst_container)
            check = self._mode_check(dst_container, mode)
            tmp = self._stage(dst, Container.clone_temp, op, src.size, _trailer_like(op, rec, info))
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
        missing or wrong, drop rows without files, and quarantine damaged records
        (set aside in ``quarantine/``, a stub in their place: the object then
        reads as Quarantined, see ``sciswift.store.local.quarantine``). ``deep``
        also checks every body against its block digests (or, for records
        written before those existed, its MD5 ETag). Without a container, also
        finishes interrupted container creations and deletions in the root.
        ``audit`` reports the same without changing anything."""
        report = FsckReport()
        if container is None:
            self._dirs.fsck_root()
            names = container_names(self.root)
        else:
            names = [container]
        for name in names:
            report.merge(self._handles.retrying(name, lambda c: c.fsck(deep)))
        return report

    def audit(self, container: str | None = None, *, deep: bool = False,
              progress: AuditProgress | None = None) -> AuditReport:
        """Check one container (or all) and report, changing nothing: damaged
        records (with ``deep``, every body against its block digests or MD5 ETag),
        quarantined objects, and what ``fsck`` would repair. Safe while other
        processes use the store (see ``sciswift.store.local.audit``)."""
        report = AuditReport()
        names = [container] if container is not None else container_names(self.root)
        for name in names:
            path = container_path(self.root, name)
            if not os.path.isfile(os.path.join(path, META_FILE)):
                raise missing_container(name)
            report.merge(audit_container(name, path, deep, progress))
        if container is None:
            for path in self._dirs.leftovers(include_fresh_trash=False):
                report.repairable.append(Finding(path, "left over by an interrupted container creation or deletion"))
        return report

    def close(self) -> None:
        if self._settler is not None:
            self._settler.close()
        self._handles.close()
        self._pack_files.close()


def _same_version(ident: tuple[Any, ...]) -> Callable[[str, Location | None], None]:
    """A commit check: the object is still the version ``ident`` (the same file,
    or the same pack record)."""

    def check(name: str, current: Location | None) -> None:
        if current is None or current.ident != ident:
            raise _Changed

    return check


def _trailer_like(op: Opened, rec: Record, info: ObjectInfo) -> bytes:
    """The trailer of a new record of ``info`` whose body is a copy of ``rec``'s
    (POST, copy): the same block digests, read from ``op``, so damage copied in
    the kernel stays detectable in the copy."""
    n = sums_size(rec.body_len, rec.block)
    sums = os.pread(op.fd, n, rec.sums_at) if n else b""
    if len(sums) != n:
        raise Damaged(f"object {info.name}: block checksums cut short on disk", info.name)
    return encode_trailer(info, sums=sums, block=rec.block)


def _is_stub(current: Location, name: str, subject: str) -> bool:
    """True if the current version at ``current`` is a quarantine stub."""
    try:
        fd = os.open(current.path, os.O_RDONLY | O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        return read_record(fd, current.length, name, subject, current.base).note is not None
    except CorruptData:
        return False
    finally:
        os.close(fd)


def reopen_local_store(root: str, durable: bool) -> LocalStore:
    """The LocalStore at ``root`` in another process (unpickling; NotFound if the
    directory is gone)."""
    return LocalStore(root, create=False, durable=durable)
