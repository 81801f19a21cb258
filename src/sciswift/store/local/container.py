"""One LocalStore container directory, as seen by one process.

A ``Container`` owns, for its process: the connection that writes the index, a
small pool of reading connections, this process's intent journal, and the locks
that make "change object files + update their index rows" one atomic step
against every other writer: ``threading.Lock`` among threads, and among
processes an exclusive ``flock`` on the container directory taken before
SQLite's write lock (``BEGIN IMMEDIATE``) and released after the post-commit
steps below.

Where an object is (see ``sciswift.store.local`` for the whole layout): either in
a file of its own, ``objects/HASH``, or as a record of a pack file, ``packs/ID``
(``local.pack``), pointed to by its index row. Invariant: **an object file
exists only while it is the object's current version.** So a reader opens the
object file first and needs no SQL for plain objects; only when there is none
does it look the name up in the index.

How writes stay crash-safe (recovery itself: ``local.recovery``):

- Object files are the truth for plain objects; packed objects are live exactly
  while their index row points at their record. Packs are complete (and synced,
  when durable) before any row points into them, and never change afterwards.
- Before a writer renames or unlinks an object file, or creates a pack, it
  appends the names (and pack IDs) to its journal (``journal/<writer-id>``,
  ``local.journal``; held under ``flock`` for the writer's lifetime;
  fdatasync'd first when durable). The rename and the index update then happen
  inside one index write transaction. A writer killed between the two leaves
  the index stale for the names in its journal only, until recovery reconciles
  them.
- A put that packs a name whose current version is an object file (plain ->
  packed) must remove that file: it is unlinked *after* the index commit, still
  under the directory ``flock``, so no other writer can put a new file there in
  between. Killed before the commit: the old file and old row stand (the pack
  is garbage, removed by recovery: its ID is in the journal). Killed after it:
  the row points at the new record and the old file lingers, older than the
  record, until recovery removes it (readers, which open the file first, see
  the old version until then).
- Packed -> plain (a single put over a packed object) is a plain rename plus a
  row update in one transaction; the pack record becomes dead. Packs with no
  live record left are unlinked after the commit (their IDs journaled first,
  so recovery finishes the job if the writer dies); mostly dead packs are
  compacted (their live records copied to a new pack, rows moved in one
  transaction).
- The journal is also the redo log of durable stores for plain objects: their
  index commits are not fsync'd one by one (``synchronous=NORMAL``); the index
  files are fsync'd before journal entries are dropped (truncation, close,
  after a replay). A transaction that changes packed rows has no file to redo
  from, so a durable store fsyncs the index after it, before the call returns
  and before any old file or pack it made dead is removed.
- Temporary files are named ``tmp/<writer-id>.<n>``; those whose writer holds no
  journal lock any more are orphans of a crashed writer and are removed by
  recovery.
- Durable puts wait for three syncs (``local.syncs``), in an order that keeps
  the rules above: the temporary file's data (``fdatasync``; a put of a body
  in memory runs it on a helper thread, overlapping the journal's) and the
  journal entry (``fdatasync``) both complete before the rename; the
  objects directory's ``fsync`` starts after the renames (on a helper thread,
  while the index is updated) and completes before the put returns. The
  journal and directory syncs are group commits: concurrent puts of this
  process share one call that started after all their changes, and its
  failure fails each of them.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import itertools
import json
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sciswift.errors import ContainerNotEmpty, CorruptData
from sciswift.store.listing import prefix_upper_bound
from sciswift.store.local import recovery as recovery
from sciswift.store.local.fs import (
    O_CLOEXEC,
    drop_cached,
    fsync_dir,
    read_json,
    unlink_quiet,
    write_all,
    write_json_atomic,
)
from sciswift.store.local.index import (
    DELETE,
    LOCATE,
    UPSERT,
    connect,
    ensure_schema,
    info_of_row,
    list_objects,
    locate_many,
    row_of,
    unreferenced,
)
from sciswift.store.local.journal import encode_entries, open_locked
from sciswift.store.local.layout import META_FILE
from sciswift.store.local.pack import (
    PackedRecord,
    PackFiles,
    new_pack_id,
    pack_file_name,
    publish_pack,
    write_records,
)
from sciswift.store.local.recent import recent_packs
from sciswift.store.local.recovery import FsckReport
from sciswift.store.local.syncs import GroupSync, in_background, sync_in_background
from sciswift.store.metarules import merge_metadata
from sciswift.store.types import ContainerInfo, ListingParams, ObjectInfo, Subdir

__all__ = [
    "Container",
    "ContainerGone",
    "FsckReport",
    "Location",
    "StagedPack",
    "PACK_DROP_BEHIND",
    "RECOVERY_INTERVAL",
    "create_index",
    "peek_info",
]

INDEX_FILE = "index.sqlite"
SUBDIRS = ("objects", "packs", "tmp", "journal")
RECOVERY_INTERVAL = 10.0
COMPACT_BELOW = 0.5
"""A pack whose live records fill less than this fraction of it is rewritten."""
PACK_DROP_BEHIND = 1 << 20
"""A durable pack (or a batch's object file) of at least this many bytes leaves
the page cache once synced, as large streamed bodies do (``writer.DROP_BEHIND``,
which says why: fresh page-cache pages are dear on this project's VM): a
batch's object file at once, a pack once the last ``local.recent.KEEP_BYTES``
of packs written after it (read-after-write finds the newest in the cache).
Keeping every pack's pages cost ``bench.convert``'s import (500 MB of ~0.5 MB
chunks in 8 MiB packs) 2.8-2.9 s of server CPU against 1.5 s dropping them.
Small packs (metadata, a few chunks) keep their pages."""
# A journal is truncated once no write of its process is in flight and it has
# grown past this many bytes (a dead writer's journal stays short to replay).
_JOURNAL_TRUNCATE_AT = 64 << 10
_MAX_IDLE_READERS = 4
# Opening an index that SQLite calls damaged is tried this many times (0.5 s in
# all) before it is set aside and rebuilt: the CI-like run of stop 21 saw, with
# four forked writer processes, readers of one process fail with "file is not a
# database" and then miss objects, which a rebuild started by another process's
# one failed open would explain (it moves the live index and its WAL away).
_INDEX_OPEN_TRIES = 5
# link(2) refused because the filesystem has no hard links.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS})
_BIAS_LIMIT = 8
#: Every handle of this process not yet collected, its store's or not: a handle
#: can outlive its store (its own references keep it until the garbage collector
#: runs), and a fork must see it (``handles.close_orphans_before_fork``).
live_handles: weakref.WeakSet[Container] = weakref.WeakSet()


class ContainerGone(Exception):
    """The directory this handle was opened on has been deleted (and perhaps a new
    container of the same name created): reopen by name."""


@dataclass(frozen=True)
class Location:
    """Where the current version of an object is: the ``length`` bytes at ``base``
    of the file ``path`` (an object file: base 0; a pack: its record). ``ident``
    tells versions apart: ``("f", inode, device)`` or ``("p", pack, offset)``."""

    path: str
    base: int
    length: int
    pack: int | None
    ident: tuple[Any, ...]


@dataclass(frozen=True)
class Opened:
    """An open descriptor (owned by the caller) on one version of an object."""

    fd: int
    base: int
    length: int
    ident: tuple[Any, ...]


@dataclass
class StagedPack:
    """A pack written and linked into ``packs/``, not yet (or just) committed."""

    id: int
    path: str
    records: list[PackedRecord]
    committed: bool = False


def object_file_name(name: str) -> str:
    """The file name of object ``name``: a 128-bit BLAKE2b of its UTF-8 bytes in hex."""
    return hashlib.blake2b(name.encode("utf-8"), digest_size=16).hexdigest()


class Container:
    """One container directory, opened by this process (see the module docstring)."""

    def __init__(self, name: str, path: str, durable: bool, writer_id: str, packs: PackFiles) -> None:
        self.name = name
        self.path = path
        self.durable = durable
        self.writer_id = writer_id
        self.meta_path = os.path.join(path, META_FILE)
        self.index_path = os.path.join(path, INDEX_FILE)
        self.objects_dir = os.path.join(path, "objects")
        self.packs_dir = os.path.join(path, "packs")
        self.tmp_dir = os.path.join(path, "tmp")
        self.journal_dir = os.path.join(path, "journal")
        self.quarantine_dir = os.path.join(path, "quarantine")
        self.pid = os.getpid()
        self._pack_files = packs
        # The inter-process write lock: flock on the directory itself.
        self._dir_fd = os.open(self.path, os.O_RDONLY | O_CLOEXEC)
        # The directory's identity, not container.json's: a POST replaces that file
        # (new inode), and a handle wrongly judged stale while in use was retired
        # holding its journal flock, so the fresh handle (same writer id, same
        # journal path) blocked in flock() forever (seen: `sciswift serve` hanging
        # on container PUTs racing object PUTs).
        st = os.fstat(self._dir_fd)
        self._ident = (st.st_ino, st.st_dev)
        # Subdirectories are made when the container is assembled; one found
        # missing is recreated only while the container is verifiably still here
        # (``_ensure_dir``), never blindly: the directory may be moving to trash.
        self._lock = threading.Lock()  # the write lock among this process's threads
        self._mutex = threading.Lock()  # guards the small counters below
        self._readers: list[sqlite3.Connection] = []
        self._readers_out = 0
        self._journal_fd: int | None = None
        self._journal_bytes = 0
        self._inflight = 0
        self._dirty: set[str] = set()  # changed on disk, index update failed
        # Per write transaction (guarded by ``_lock``): see ``write_txn``.
        self._touched: list[str] = []
        self._stale: list[str] = []
        self._freed: set[int] = set()
        self._on_commit: list[Callable[[], object]] = []
        self._on_rollback: list[Callable[[], object]] = []
        self._packs_changed = False
        # > 0 while recent reads mostly found packed objects (see ``open_current``).
        self._packed_bias = 0
        self._counter = itertools.count()
        self._closed = False
        # Durable mode: the syncs every put needs after its own change, shared
        # by the puts of concurrent threads (``local.syncs``).
        self._journal_sync = GroupSync(self._sync_journal)
        self._objects_sync = GroupSync(lambda: fsync_dir(self.objects_dir))
        self.last_recovery = 0.0
        try:
            self._wconn = self._open_index()
            self.recover()
        except BaseException:
            self._closed = True
            os.close(self._dir_fd)
            if hasattr(self, "_wconn"):
                self._wconn.close()
            raise
        live_handles.add(self)

    @property
    def closed(self) -> bool:
        """Closed, or abandoned in a forked child."""
        return self._closed

    # ------------------------------------------------------------ identity
    def is_current(self) -> bool:
        """True while ``path`` is still the directory this handle opened."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (st.st_ino, st.st_dev) == self._ident

    def subject(self, name: str) -> str:
        return f"{self.name}/{name}"

    def _ensure_dir(self, path: str) -> None:
        """Recreate a missing subdirectory, or ContainerGone if the container left."""
        if not self.is_current():
            raise ContainerGone(self.name)
        os.makedirs(path, exist_ok=True)

    def object_path(self, name: str) -> str:
        # One flat directory: ext4 and XFS index large directories (htree, B+tree),
        # while fan-out subdirectories cost a mkdir each on a new container (measured:
        # 172 mkdirs for 256 objects doubled the time to write a fresh 64 MiB array).
        return f"{self.objects_dir}/{object_file_name(name)}"

    def pack_path(self, pack: int) -> str:
        return f"{self.packs_dir}/{pack_file_name(pack)}"

    # --------------------------------------------------------------- index
    def _open_index(self) -> sqlite3.Connection:
        for attempt in range(_INDEX_OPEN_TRIES):
            try:
                return self._open_index_once()
            except sqlite3.DatabaseError as e:
                if "malformed" not in str(e) and "not a database" not in str(e):
                    raise
            # Setting a live index aside would pull it from under every other
            # process using it: only an index that stays unreadable is damaged.
            if attempt + 1 < _INDEX_OPEN_TRIES:
                time.sleep(0.05 * (attempt + 1))
        # A damaged index (possible after a power loss with durable=False) is
        # set aside and rebuilt from the object and pack files.
        os.makedirs(self.quarantine_dir, exist_ok=True)
        stamp = f"{time.time():.0f}-{uuid.uuid4().hex[:8]}"
        for suffix in ("", "-wal", "-shm"):
            try:
                os.rename(self.index_path + suffix, os.path.join(self.quarantine_dir, f"index-{stamp}.sqlite{suffix}"))
            except FileNotFoundError:
                pass
        return self._open_index_once()

    def _open_index_once(self) -> sqlite3.Connection:
        conn = connect(self.index_path, self.durable)
        try:
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX)  # a rebuild may remove stale files
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if ensure_schema(conn):
                        recovery.fill_index(self, conn)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            finally:
                fcntl.flock(self._dir_fd, fcntl.LOCK_UN)
            if conn.execute("SELECT deleted FROM stats").fetchone()[0]:
                raise ContainerGone(self.name)
        except BaseException:
            conn.close()
            raise
        return conn

    def open_current(self, name: str) -> Opened:
        """An open descriptor (the caller closes it) on the current version of
        ``name``. FileNotFoundError if there is none; ContainerGone if this handle
        is closed.

        The object file is tried first (no SQL for plain objects). Without one,
        the index says where the record is. Races with writers are settled by
        looking again: a row that says "object file" while there is none is a
        delete in progress, or a put that has just replaced a packed version with
        a file (so the file is tried once more); a pack that vanished after the
        lookup was collected because the object changed since.

        While most recent reads found packed objects, the index is asked first
        instead (a failed ``open`` costs ~4 µs). Either order is correct: a row
        that points into a pack is the committed version, and one that does not
        sends the reader to the object file.
        """
        path = self.object_path(name)
        file_row_seen = False
        missing_pack: tuple[int, int] | None = None
        try_file = self._packed_bias <= 0
        while True:
            if try_file:
                opened = _open_file(path)
                if opened is not None:
                    self._packed_bias = max(self._packed_bias - 1, -_BIAS_LIMIT)
                    return opened
            rows = self._lookup(LOCATE, (name,))
            if not rows or rows[0][0] is None:
                if not try_file:  # the index was asked first: now the file decides
                    try_file = True
                    if rows:
                        continue
                    opened = _open_file(path)
                    if opened is None:
                        raise FileNotFoundError(path)
                    return opened
                if not rows or file_row_seen:
                    raise FileNotFoundError(path)
                file_row_seen = True
                continue
            pack, off, length = rows[0]
            try:
                fd, _st = self._pack_files.open(self.pack_path(pack))
            except FileNotFoundError:
                if missing_pack == (pack, off):
                    raise CorruptData(
                        f"object {self.subject(name)} is in pack {self.pack_path(pack)}, which is missing",
                        self.subject(name),
                    ) from None
                missing_pack = (pack, off)
                continue
            self._packed_bias = min(self._packed_bias + 1, _BIAS_LIMIT)
            return Opened(fd, off, length, ("p", pack, off))

    def prefers_index(self) -> bool:
        """True while most recent reads found packed objects (see ``open_current``)."""
        return self._packed_bias > 0

    def packed_rows(self, names: Sequence[str]) -> dict[int, list[tuple[str, int, int]]]:
        """``{pack: [(name, offset, length), ...]}`` (in offset order) for those of
        ``names`` whose index rows point into packs: one query for all."""
        if len(names) == 1:
            # One row is its own snapshot: no transaction around it (a third of
            # the cost of a small read of one chunk went to BEGIN, the flag
            # check and COMMIT). A container flagged deleted has no rows.
            rows = self._lookup(LOCATE, (names[0],))
            found = {names[0]: rows[0]} if rows else {}
        else:
            with self.read_txn() as conn:
                found = locate_many(conn, names)
        groups: dict[int, list[tuple[str, int, int]]] = {}
        for name, (pack, off, length) in found.items():
            if pack is not None:
                groups.setdefault(pack, []).append((name, off, length))
        for records in groups.values():
            records.sort(key=lambda r: r[1])
        if groups:
            self._packed_bias = min(self._packed_bias + 1, _BIAS_LIMIT)
        return groups

    def packed_under(self, prefix: str, limit: int) -> list[tuple[str, int, int, int]]:
        """``(name, pack, offset, length)`` of up to ``limit`` packed objects whose
        names start with ``prefix`` (a non-empty prefix), in name order: one
        query (its own snapshot)."""
        upper = prefix_upper_bound(prefix)
        if upper is None:
            return []
        rows = self._lookup(
            "SELECT name, pack, pack_off, pack_len FROM objects WHERE name >= ? AND name < ? AND pack IS NOT NULL "
            "ORDER BY name LIMIT ?", (prefix, upper, limit),
        )
        return [(name, pack, off, length) for name, pack, off, length in rows]

    def indexed_info(self, name: str) -> ObjectInfo | None:
        """What the index says of ``name`` (None if it has no row)."""
        rows = self._lookup(
            "SELECT name, size, etag, timestamp, content_type, meta FROM objects WHERE name = ?", (name,)
        )
        return info_of_row(rows[0]) if rows else None

    def locate(self, conn: sqlite3.Connection, name: str) -> Location | None:
        """Where the current version of ``name`` is (under the write lock), or None."""
        path = self.object_path(name)
        try:
            st = os.lstat(path)
            return Location(path, 0, st.st_size, None, ("f", st.st_ino, st.st_dev))
        except FileNotFoundError:
            pass
        row = conn.execute(LOCATE, (name,)).fetchone()
        if row is None or row[0] is None:
            return None
        pack, off, length = row
        return Location(self.pack_path(pack), off, length, pack, ("p", pack, off))

    # -------------------------------------------------------- transactions
    @contextmanager
    def write_txn(
        self, report: FsckReport | None = None, shrunk: set[int] | None = None
    ) -> Iterator[sqlite3.Connection]:
        """The container's write lock, as an index write transaction.

        Everything that renames or unlinks object files runs inside one, so the
        index update commits in the same order as the file operations. The body
        calls ``touch(name)`` before changing a file: if the transaction then
        fails, those names are reconciled from the disk at the next one. It may
        also queue work for after the commit (still under the lock): object files
        made stale by packing (``_stale``), packs whose rows it changed
        (``_freed``: removed if no row points into them any more; those still
        in use are added to ``shrunk``, candidates for compaction), and callbacks
        (``_on_commit``). File changes made through ``replace_file`` and
        ``remove_file`` are undone if the transaction fails (a full disk refusing
        the index commit leaves the object as the index says it is).
        ContainerGone if the container has been deleted.
        """
        with self._lock:
            if self._closed:
                raise ContainerGone(self.name)
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX)
            try:
                conn = self._wconn
                conn.execute("BEGIN IMMEDIATE")
                self._touched, self._stale, self._freed, self._on_commit = [], [], set(), []
                self._on_rollback = []
                self._packs_changed = False
                healed: list[str] = []
                try:
                    if conn.execute("SELECT deleted FROM stats").fetchone()[0]:
                        raise ContainerGone(self.name)
                    if self._dirty:
                        healed = list(self._dirty)
                        for name in healed:
                            recovery.reconcile(self, conn, name)
                    yield conn
                    dead = unreferenced(conn, self._freed) if self._freed else []
                    if shrunk is not None:
                        shrunk.update(self._freed.difference(dead))
                    if dead:
                        # Journaled (no fsync: only space is at stake) so that
                        # recovery removes them if we die before we do.
                        self._note(encode_entries((), dead))
                    conn.execute("COMMIT")
                except BaseException:
                    try:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                    finally:
                        self._undo_files()
                        self._dirty.update(self._touched)
                    raise
                finally:
                    self._touched = []
                self._dirty.difference_update(healed)
                for callback in self._on_commit:
                    callback()
                self._after_commit(dead, report)
            finally:
                fcntl.flock(self._dir_fd, fcntl.LOCK_UN)

    def _after_commit(self, dead: list[int], report: FsckReport | None) -> None:
        stale, self._stale = self._stale, []
        try:
            if self.durable and (self._packs_changed or stale or dead):
                # No file can redo a packed row: the commit goes to disk before the
                # old versions it replaced do.
                self.sync_index()
        except BaseException:
            self._dirty.update(stale)
            raise
        for name in stale:
            try:
                os.unlink(self.object_path(name))
            except FileNotFoundError:
                pass
            except OSError:
                self._dirty.add(name)
        if self.durable and stale:
            fsync_dir(self.objects_dir)
        for pack in dead:
            self.remove_pack(pack, report)

    def remove_pack(self, pack: int, report: FsckReport | None) -> None:
        path = self.pack_path(pack)
        self._pack_files.forget(path)
        if unlink_quiet(path) and report is not None:
            report.packs_removed += 1

    def touch(self, name: str) -> None:
        """Inside ``write_txn``: ``name``'s file is about to change."""
        self._touched.append(name)

    def _keep_aside(self, final: str, *, move: bool) -> str | None:
        """Inside ``write_txn``: the current file at ``final`` gets a second name
        in ``tmp/`` (moved there with ``move``, else hard-linked), which puts it
        back if the transaction fails and is unlinked once it commits (recovery
        removes it if we die: a dead writer's temp file). None if there is no
        file."""
        aside = f"{self.tmp_dir}/{self.writer_id}.{next(self._counter)}"
        try:
            (os.rename if move else os.link)(final, aside)
        except FileNotFoundError:
            return None
        self._on_commit.append(lambda: unlink_quiet(aside))
        return aside

    def replace_file(self, tmp: str, final: str) -> None:
        """Inside ``write_txn``: rename ``tmp`` over ``final``, undone if the
        transaction fails (the old file, or none, is put back). The hard link
        and its unlink cost ~30 µs per overwrite (1 KiB puts, non-durable, on
        ext4: 300 -> 330 µs; durable ~700 µs either way)."""
        try:
            aside = self._keep_aside(final, move=False)
        except OSError as e:
            if e.errno not in _NO_HARD_LINKS:
                raise
            # A filesystem without hard links: the rename cannot be undone.
            self._rename_into(tmp, final)
            return
        self._on_rollback.append(
            (lambda: os.rename(aside, final)) if aside is not None else (lambda: unlink_quiet(final))
        )
        self._rename_into(tmp, final)

    def remove_file(self, final: str) -> bool:
        """Inside ``write_txn``: remove ``final`` (False if there was none), undone
        if the transaction fails."""
        aside = self._keep_aside(final, move=True)
        if aside is None:
            return False
        self._on_rollback.append(lambda: os.rename(aside, final))
        return True

    def _undo_files(self) -> None:
        """After a rollback: put back the files the transaction changed."""
        undo, self._on_rollback = self._on_rollback, []
        for step in reversed(undo):
            try:
                step()
            except OSError:
                pass  # the name is marked dirty: reconciled from the files next time

    def _checkout(self) -> sqlite3.Connection | None:
        with self._mutex:
            if self._closed:
                raise ContainerGone(self.name)
            self._readers_out += 1
            return self._readers.pop() if self._readers else None

    def _checkin(self, conn: sqlite3.Connection | None) -> None:
        with self._mutex:
            self._readers_out -= 1
            if conn is not None:
                if self._closed or len(self._readers) >= _MAX_IDLE_READERS:
                    conn.close()
                else:
                    self._readers.append(conn)

    @contextmanager
    def read_txn(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection inside a read transaction (one snapshot)."""
        conn = self._checkout()
        try:
            if conn is None:
                conn = connect(self.index_path, self.durable)
            conn.execute("BEGIN")
            try:
                if conn.execute("SELECT deleted FROM stats").fetchone()[0]:
                    raise ContainerGone(self.name)
                yield conn
            finally:
                conn.execute("COMMIT")
        finally:
            self._checkin(conn)

    def _lookup(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """One query on a pooled connection (its own snapshot; no flag check: a
        container flagged deleted has no rows)."""
        conn = self._checkout()
        try:
            if conn is None:
                conn = connect(self.index_path, self.durable)
            return conn.execute(sql, args).fetchall()
        finally:
            self._checkin(conn)

    # ------------------------------------------------------------- journal
    def _journal(self) -> int:
        fd = self._journal_fd
        if fd is not None:
            return fd
        if self._closed:
            raise ContainerGone(self.name)
        with self._mutex:
            if self._journal_fd is None:
                self._journal_fd = open_locked(
                    os.path.join(self.journal_dir, self.writer_id),
                    lambda: self._ensure_dir(self.journal_dir),
                    self.durable,
                )
            return self._journal_fd

    def journal_begin(self, names: Iterable[str], packs: Iterable[int] = ()) -> None:
        """Record that ``names`` are about to change on disk and ``packs`` to be
        created (before any of it happens). Pair with ``journal_end``."""
        self._journal()
        data = encode_entries(names, packs)
        with self._mutex:
            self._inflight += 1
        try:
            self._note(data)
            if self.durable:
                self._journal_sync.sync()
        except BaseException:
            self.journal_end()
            raise

    def _note(self, data: bytes) -> None:
        write_all(self._journal(), [data])
        with self._mutex:
            self._journal_bytes += len(data)

    def _sync_journal(self) -> None:
        fd = self._journal_fd
        if fd is None:  # closed under us (the store closing)
            raise ContainerGone(self.name)
        os.fdatasync(fd)

    def journal_end(self) -> None:
        """The change recorded by the matching ``journal_begin`` is in the index."""
        with self._mutex:
            self._inflight -= 1
            if (
                self._inflight == 0
                and not self._dirty
                and self._journal_bytes > _JOURNAL_TRUNCATE_AT
                and self._journal_fd is not None
            ):
                self.sync_index()
                os.ftruncate(self._journal_fd, 0)
                self._journal_bytes = 0

    def sync_index(self) -> None:
        """Durable mode: put every committed index transaction on disk. Commits use
        ``synchronous=NORMAL`` (no fsync each), so this must run before journal
        entries that could redo them are dropped."""
        if not self.durable:
            return
        # Only the WAL: committed transactions are there, or already checkpointed
        # into the database file, which SQLite syncs at each checkpoint. The
        # database file itself must never be opened here: closing any descriptor
        # of a file drops every POSIX lock the process holds on it, SQLite's
        # included, and another process could then reset the WAL under a reader
        # of ours (seen: SQLITE_IOERR_SHORT_READ under concurrent durable writers).
        # SQLite takes no locks on the WAL file.
        try:
            fd = os.open(self.index_path + "-wal", os.O_RDONLY | O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------- writing
    def new_temp(self) -> tuple[int, str]:
        """A new temporary file (fd, path) in this container's ``tmp`` directory."""
        self._journal()  # a temp file is only ever owned by a live (locked) journal
        path = f"{self.tmp_dir}/{self.writer_id}.{next(self._counter)}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_CLOEXEC, 0o666)
        except FileNotFoundError:
            self._ensure_dir(self.tmp_dir)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_CLOEXEC, 0o666)
        return fd, path

    def _fill_temp(self, fill: Callable[[int], object], drop_behind: int = 0) -> str:
        """A new temporary file written by ``fill(fd)`` and synced when durable;
        removed again if anything fails. A durable file of at least
        ``drop_behind`` bytes (0: never) then leaves the page cache
        (``PACK_DROP_BEHIND``)."""
        fd, path = self.new_temp()
        try:
            fill(fd)
            if self.durable:
                # fdatasync: the body and what finds it (size, blocks) on disk;
                # timestamps may lag (nothing reads them).
                os.fdatasync(fd)
                if drop_behind and os.fstat(fd).st_size >= drop_behind:
                    drop_cached(fd, 0, 0)
        except BaseException:
            os.close(fd)
            unlink_quiet(path)
            raise
        os.close(fd)
        return path

    def write_temp(self, buffers: Sequence[bytes | memoryview], drop_behind: int = 0) -> str:
        """A new temporary file holding ``buffers`` (``_fill_temp``)."""
        return self._fill_temp(lambda fd: write_all(fd, buffers), drop_behind)

    def write_temp_syncing(self, buffers: Sequence[bytes | memoryview]) -> tuple[str, Future[None] | None]:
        """A new temporary file holding ``buffers``, and (when durable) its sync,
        started in the background: pass it to ``commit``, which overlaps it with
        the journal's (``local.syncs``)."""
        if not self.durable:
            return self.write_temp(buffers), None
        fd, path = self.new_temp()
        try:
            write_all(fd, buffers)
        except BaseException:
            os.close(fd)
            unlink_quiet(path)
            raise
        try:
            return path, sync_in_background(fd)  # which closes fd
        except BaseException:
            unlink_quiet(path)
            raise

    def clone_temp(self, src: Opened, size: int, trailer: bytes) -> str:
        """A new temporary file holding the first ``size`` bytes of the record
        ``src`` (copied in the kernel where possible) followed by ``trailer``."""
        return self._fill_temp(lambda fd: _copy_body(src.fd, src.base, fd, size, trailer))

    def stage_packs(
        self, ids: Sequence[int], groups: Sequence[Sequence[tuple[str, ObjectInfo, Any, bytes | None]]]
    ) -> list[StagedPack]:
        """Write each group of ``(name, info, body, trailer)`` as a pack and link it
        into ``packs/`` under the matching ID of ``ids`` (which the caller has
        journaled: recovery finds the packs of a writer that dies before its
        commit). Synced, with the directory, when durable."""
        staged: list[StagedPack] = []
        try:
            for pack, items in zip(ids, groups):
                records: list[PackedRecord] = []
                tmp = self._fill_temp(lambda fd, i=items, r=records: r.extend(write_records(fd, i)))  # type: ignore[misc]
                try:
                    pack = self._publish(tmp, pack)
                except BaseException:
                    unlink_quiet(tmp)
                    raise
                staged.append(StagedPack(pack, self.pack_path(pack), records))
                self._drop_behind_later(staged[-1].path)
            if self.durable:
                fsync_dir(self.packs_dir)
        except BaseException:
            for p in staged:
                unlink_quiet(p.path)
            raise
        return staged

    def _drop_behind_later(self, path: str) -> None:
        """A durable pack of ``PACK_DROP_BEHIND`` bytes or more joins the
        process's recent packs, whose oldest leave the page cache (``local.recent``)."""
        if not self.durable:
            return
        try:
            size = os.stat(path).st_size
        except OSError:
            return
        if size >= PACK_DROP_BEHIND:
            recent_packs.add(path, size)

    def _publish(self, tmp: str, pack: int) -> int:
        """Link the finished pack ``tmp`` into ``packs/`` as ``pack`` or, if that ID
        is taken, as a fresh one (journaled first); returns the ID used."""
        while True:
            try:
                if publish_pack(tmp, self.packs_dir, pack):
                    return pack
            except FileNotFoundError:
                if not os.path.exists(tmp):
                    raise
                self._ensure_dir(self.packs_dir)  # a container made before packs existed
                if self.durable:
                    fsync_dir(self.path)
                continue
            pack = new_pack_id()
            self.journal_begin((), [pack])
            self.journal_end()

    def _rename_into(self, tmp: str, final: str) -> None:
        try:
            os.rename(tmp, final)
        except FileNotFoundError:
            if not os.path.exists(tmp):
                raise
            os.makedirs(os.path.dirname(final), exist_ok=True)
            if self.durable:
                fsync_dir(self.objects_dir)
            os.rename(tmp, final)

    def commit(
        self,
        items: Sequence[tuple[str, str, ObjectInfo]],
        check: Callable[[str, Location | None], None] | None = None,
        packs: Sequence[StagedPack] = (),
        synced: Future[None] | None = None,
    ) -> None:
        """Move each ``(name, temp_path, info)`` into place, point the rows of the
        records of ``packs`` at them, and index it all, as one step for all other
        writers. ``check(name, current_location)`` runs under the lock first for
        each of ``items`` and may raise to refuse (nothing is then changed).
        ``synced``: the background sync of the temp files (``write_temp_syncing``),
        awaited once the names are journaled, before any rename; its error is
        raised and nothing is changed.

        Names that had an object file and are now packed lose that file right
        after the commit (still under the lock); packs left without a live record
        are removed. Sets ``committed`` on each of ``packs`` once the index commit
        is done (a failure after that must not remove them).
        """
        packed = [(p.id, r) for p in packs for r in p.records]
        names = [n for n, _, _ in items] + [r.name for _, r in packed]
        shrunk: set[int] = set()
        self.journal_begin(names, [p.id for p in packs])
        try:
            if synced is not None:
                synced.result()  # the temp files' data on disk before they are renamed
            with self.write_txn(shrunk=shrunk) as conn:
                if packs:
                    recovery.heal_dead_writers(self, conn)
                if check is not None:
                    for name, _, _ in items:
                        check(name, self.locate(conn, name))
                before = locate_many(conn, names)
                for name, tmp, _ in items:
                    self.touch(name)
                    self.replace_file(tmp, self.object_path(name))
                if self.durable and items:
                    # Started now, it runs while the index is updated (the
                    # commit below does not wait for the disk): the renames
                    # are made, and a sync that starts after them covers them.
                    dir_synced = in_background(self._objects_sync.sync)
                rows = [row_of(info) for _, _, info in items]
                rows += [row_of(r.info, pack, r.offset, r.length) for pack, r in packed]
                conn.executemany(UPSERT, rows)
                packed_names = {r.name for _, r in packed}
                for name, (old_pack, _, _) in before.items():
                    if old_pack is not None:
                        self._freed.add(old_pack)
                    elif name in packed_names:
                        self._stale.append(name)
                self._packs_changed = bool(packs or self._freed)
                self._on_commit.append(lambda: _mark_committed(packs))
            if self.durable and items:
                dir_synced.result()
        finally:
            self.journal_end()
        self.compact(shrunk)

    def delete(self, names: Sequence[str]) -> list[bool]:
        """Remove the objects ``names``; for each, whether it existed."""
        existed: list[bool] = []
        unlinked = False
        shrunk: set[int] = set()
        self.journal_begin(names)
        try:
            with self.write_txn(shrunk=shrunk) as conn:
                before = locate_many(conn, names)
                done: set[str] = set()
                for name in names:
                    self.touch(name)
                    if self.remove_file(self.object_path(name)):
                        existed.append(True)
                        unlinked = True
                    else:
                        existed.append(name not in done and before.get(name, (None,))[0] is not None)
                    done.add(name)
                conn.executemany(DELETE, [(n,) for n in done])
                self._freed.update(p for p, _, _ in before.values() if p is not None)
                self._packs_changed = bool(self._freed)
            if self.durable and unlinked:
                self._objects_sync.sync()
        finally:
            self.journal_end()
        self.compact(shrunk)
        return existed

    def compact(self, packs: Iterable[int]) -> None:
        """Rewrite each of ``packs`` whose live records fill less than
        ``COMPACT_BELOW`` of it: the live records are copied, unchanged, into a
        new pack, rows that still point at them are moved there in one
        transaction, and the old pack dies (space is freed, and its dead records
        can no longer come back in an index rebuild). Readers are as safe as
        across any other collection: one that finds the old pack gone looks
        the name up again. A pack that changed or went meanwhile is skipped,
        and so is one cut short on disk (compaction is only an optimisation:
        its damaged records are left for reads and fsck to find; records are
        copied with their checksums, so damage in them stays detectable)."""
        for pack in packs:
            try:
                self._compact_one(pack)
            except (FileNotFoundError, ContainerGone, CorruptData):
                continue

    def _compact_one(self, pack: int) -> None:
        live = self._lookup(
            "SELECT name, pack_off, pack_len FROM objects WHERE pack = ? ORDER BY pack_off", (pack,)
        )
        if not live:
            return
        src = os.open(self.pack_path(pack), os.O_RDONLY | O_CLOEXEC)
        try:
            if sum(length for _, _, length in live) >= os.fstat(src).st_size * COMPACT_BELOW:
                return
            new = new_pack_id()
            self.journal_begin((), [new])
            try:
                moves: list[tuple[int, int, str, int, int]] = []

                def fill(fd: int) -> None:
                    pos = 0
                    for name, off, length in live:
                        _copy_range(src, off, fd, pos, length)
                        moves.append((new, pos, name, pack, off))
                        pos += length

                tmp = self._fill_temp(fill)
                try:
                    new = self._publish(tmp, new)
                except BaseException:
                    unlink_quiet(tmp)
                    raise
                self._drop_behind_later(self.pack_path(new))
                if self.durable:
                    fsync_dir(self.packs_dir)
                with self.write_txn() as conn:
                    conn.executemany(
                        "UPDATE objects SET pack = ?, pack_off = ? WHERE name = ? AND pack = ? AND pack_off = ?",
                        [(new, *m[1:]) for m in moves],
                    )
                    # The old pack dies if every record moved; the new one if none did.
                    self._freed.update((pack, new))
                    self._packs_changed = True
            finally:
                self.journal_end()
        finally:
            os.close(src)

    # ------------------------------------------------------ container meta
    def read_meta(self) -> dict[str, Any]:
        try:
            meta = read_json(self.meta_path)
            if not isinstance(meta.get("metadata"), dict) or not isinstance(meta.get("system"), dict):
                raise ValueError("missing metadata or system")
            return meta
        except FileNotFoundError:
            raise ContainerGone(self.name) from None
        except (ValueError, AttributeError) as e:
            raise CorruptData(f"container {self.name!r}: {self.meta_path} is unreadable ({e})", self.name) from None

    def post_meta(self, metadata: Mapping[str, str] | None, system: Mapping[str, str] | None) -> None:
        """Merge container metadata (under the write lock, replaced by rename)."""
        with self.write_txn():
            meta = self.read_meta()
            merge_metadata(meta["metadata"], metadata)
            merge_metadata(meta["system"], system)
            write_json_atomic(self.meta_path, self.meta_path + ".tmp", meta, self.durable)

    def info(self) -> ContainerInfo:
        meta = self.read_meta()
        with self.read_txn() as conn:
            count, used = conn.execute("SELECT object_count, bytes_used FROM stats").fetchone()
        return _container_info(self.name, meta, count, used)

    def list(self, params: ListingParams) -> list[ObjectInfo | Subdir]:
        with self.read_txn() as conn:
            return list_objects(conn, params)

    def mark_deleted(self) -> None:
        """Flag the container deleted; ContainerNotEmpty if it holds objects.

        After this commits, every process's writers and readers of this directory
        see ContainerGone; the caller then moves the directory away.
        """
        with self.write_txn() as conn:
            count = conn.execute("SELECT object_count FROM stats").fetchone()[0]
            if count == 0:
                # The files are the truth: an unindexed file (a crash we have not
                # recovered yet) still makes the container non-empty.
                for _path, info in recovery.scan_files(self):
                    recovery.reconcile(self, conn, info.name)
                    count += 1
            if count:
                raise ContainerNotEmpty(f"container {self.name!r} holds {count} objects", self.name)
            conn.execute("UPDATE stats SET deleted = 1")

    # ------------------------------------------------------------ recovery
    def recover(self, *, all_journals: bool = False, report: FsckReport | None = None) -> None:
        """Replay the journals of dead writers (``_local_recovery.recover``)."""
        recovery.recover(self, all_journals=all_journals, report=report)

    def fsck(self, deep: bool = False) -> FsckReport:
        """Check and repair this container (``_local_recovery.fsck``)."""
        return recovery.fsck(self, deep)

    def release(self, *packs: int) -> None:
        """Inside ``write_txn``: rows that pointed into ``packs`` changed (each is
        removed after the commit if no row points into it any more)."""
        self._freed.update(packs)
        self._packs_changed = True

    # ------------------------------------------------------------- closing
    def try_close(self) -> bool:
        """Close if nothing is in flight; False (and still open) otherwise."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            with self._mutex:
                if self._inflight or self._dirty or self._readers_out:
                    return False
            self._close_locked()
            return True
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._closed:
            return
        with self._mutex:
            self._closed = True
            readers, self._readers = self._readers, []
            clean = not self._inflight and not self._dirty
            fd, self._journal_fd = self._journal_fd, None
        for conn in readers:
            conn.close()
        self._wconn.close()
        os.close(self._dir_fd)
        self._dir_fd = -1  # a later abandon_after_fork must not close the number again
        if fd is not None:
            if clean:
                self.sync_index()
                unlink_quiet(os.path.join(self.journal_dir, self.writer_id))
            os.close(fd)

    def abandon_after_fork(self) -> None:
        """In a forked child: drop this handle without touching what the parent
        shares (SQLite must not close inherited connections; the journal lock
        stays the parent's, as does the directory lock: closing our copy of the
        descriptor does not release it)."""
        self._closed = True
        for fd in (self._journal_fd, self._dir_fd):
            if fd is not None and fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._journal_fd = None
        self._dir_fd = -1


def _open_file(path: str) -> Opened | None:
    """The object file at ``path``, opened, or None if there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    except FileNotFoundError:
        return None
    st = os.fstat(fd)
    return Opened(fd, 0, st.st_size, ("f", st.st_ino, st.st_dev))


def _mark_committed(packs: Sequence[StagedPack]) -> None:
    for p in packs:
        p.committed = True


def _copy_body(src_fd: int, src_base: int, fd: int, size: int, trailer: bytes) -> None:
    _copy_range(src_fd, src_base, fd, 0, size)
    os.pwrite(fd, trailer, size)


def _copy_range(src_fd: int, src_off: int, fd: int, dst_off: int, size: int) -> None:
    """Copy ``size`` bytes (in the kernel where the filesystem allows)."""
    pos = 0
    while pos < size:
        try:
            n = os.copy_file_range(src_fd, fd, size - pos, src_off + pos, dst_off + pos)
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            n = 0
        if n == 0:  # not supported here, or the source is shorter than expected
            block = os.pread(src_fd, min(8 << 20, size - pos), src_off + pos)
            if not block:
                raise CorruptData(f"object file shrank while being copied ({pos} of {size} bytes)")
            n = os.pwrite(fd, block, dst_off + pos)
        pos += n


def _container_info(name: str, meta: dict[str, Any], count: int, used: int) -> ContainerInfo:
    return ContainerInfo(
        name=name,
        object_count=count,
        bytes_used=used,
        timestamp=meta["created"],
        metadata=dict(meta["metadata"]),
        system=dict(meta["system"]),
    )


def peek_info(name: str, path: str) -> ContainerInfo | None:
    """A container's info read without opening a handle (no recovery, no writer
    connection: ~3x cheaper, for account totals and container listings over many
    containers). None if it is gone or flagged deleted. Totals may lag behind a
    writer that crashed in a container nobody has opened since, as Swift's
    account totals lag behind its containers."""
    try:
        with open(os.path.join(path, META_FILE), "rb") as f:
            meta = json.loads(f.read())
        conn = sqlite3.connect(f"file:{os.path.join(path, INDEX_FILE)}?mode=ro", uri=True, timeout=60.0)
    except FileNotFoundError:
        return None
    try:
        count, used, deleted = conn.execute("SELECT object_count, bytes_used, deleted FROM stats").fetchone()
    finally:
        conn.close()
    return None if deleted else _container_info(name, meta, count, used)


def create_index(path: str, durable: bool) -> None:
    """Create an empty index at ``path`` (in a container being assembled)."""
    conn = connect(path, durable)
    try:
        conn.execute("BEGIN IMMEDIATE")
        ensure_schema(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
