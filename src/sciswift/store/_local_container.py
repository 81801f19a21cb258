"""One LocalStore container directory, as seen by one process.

A ``Container`` owns, for its process: the connection that writes the index, a
small pool of reading connections, this process's intent journal, and the lock
that makes "rename an object file into place + update its index row" one atomic
step against every other writer (threads: ``threading.Lock``; processes: SQLite's
write lock, taken with ``BEGIN IMMEDIATE``).

Crash safety (see ``sciswift.store.local`` for the whole layout):

- Object files are the truth; the index is derived from them.
- Before a writer renames or unlinks an object file it appends the object's name
  to its journal (``journal/<writer-id>``, held under ``flock`` for the writer's
  lifetime; fdatasync'd first when durable). The rename and the index update then happen inside one index write
  transaction. A writer killed between the two leaves the index stale for the
  names in its journal only; the next process to open the container (or any
  process, at most ``RECOVERY_INTERVAL`` seconds later, or ``fsck``) finds the
  journal unlocked, takes the write lock, and re-reads those names' files into
  the index. Re-reading is idempotent, so replaying entries that did commit is
  harmless.
- The journal is also the redo log of durable stores: their index commits are
  not fsync'd one by one (``synchronous=NORMAL``); the index files are fsync'd
  before journal entries are dropped (truncation, close, after a replay).
- Temporary files are named ``tmp/<writer-id>.<n>``; those whose writer holds no
  journal lock any more are orphans of a crashed writer and are removed by the
  same recovery.
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sciswift.errors import ContainerNotEmpty, CorruptData
from sciswift.store._local_format import LAZY_ETAG, body_md5, read_info
from sciswift.store._local_fs import O_CLOEXEC, fsync_dir, read_json, write_all, write_json_atomic
from sciswift.store._local_index import (
    DELETE,
    UPSERT,
    connect,
    ensure_schema,
    list_objects,
    row_of,
)
from sciswift.store.types import ContainerInfo, ListingParams, ObjectInfo, Subdir

__all__ = [
    "Container",
    "ContainerGone",
    "FsckReport",
    "RECOVERY_INTERVAL",
    "create_index",
    "merge_meta",
    "peek_info",
]

META_FILE = "container.json"
INDEX_FILE = "index.sqlite"
RECOVERY_INTERVAL = 10.0
# A journal is truncated once no write of its process is in flight and it has
# grown past this many bytes (a dead writer's journal stays short to replay).
_JOURNAL_TRUNCATE_AT = 64 << 10
_MAX_IDLE_READERS = 4


class ContainerGone(Exception):
    """The directory this handle was opened on has been deleted (and perhaps a new
    container of the same name created): reopen by name."""


@dataclass
class FsckReport:
    """What ``fsck`` checked and repaired."""

    containers: int = 0
    objects: int = 0
    index_repaired: list[str] = field(default_factory=list)
    journals_replayed: int = 0
    temp_removed: int = 0
    quarantined: list[str] = field(default_factory=list)

    def merge(self, other: FsckReport) -> None:
        self.containers += other.containers
        self.objects += other.objects
        self.index_repaired += other.index_repaired
        self.journals_replayed += other.journals_replayed
        self.temp_removed += other.temp_removed
        self.quarantined += other.quarantined


def merge_meta(target: dict[str, str], updates: Mapping[str, str] | None) -> None:
    """Swift's metadata merge: keys lower-cased, a value of ``""`` removes the key."""
    for k, v in (updates or {}).items():
        if v == "":
            target.pop(k.lower(), None)
        else:
            target[k.lower()] = v


def object_file_name(name: str) -> str:
    """The file name of object ``name``: a 128-bit BLAKE2b of its UTF-8 bytes in hex."""
    return hashlib.blake2b(name.encode("utf-8"), digest_size=16).hexdigest()


class Container:
    """One container directory, opened by this process (see the module docstring)."""

    def __init__(self, name: str, path: str, durable: bool, writer_id: str) -> None:
        self.name = name
        self.path = path
        self.durable = durable
        self.writer_id = writer_id
        self.meta_path = os.path.join(path, META_FILE)
        self.index_path = os.path.join(path, INDEX_FILE)
        self.objects_dir = os.path.join(path, "objects")
        self.tmp_dir = os.path.join(path, "tmp")
        self.journal_dir = os.path.join(path, "journal")
        self.quarantine_dir = os.path.join(path, "quarantine")
        self.pid = os.getpid()
        # The directory's identity, not container.json's: a POST replaces that file
        # (new inode), and a handle wrongly judged stale while in use was retired
        # holding its journal flock, so the fresh handle (same writer id, same
        # journal path) blocked in flock() forever (seen: `sciswift serve` hanging
        # on container PUTs racing object PUTs).
        st = os.stat(self.path)
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
        self._touched: list[str] = []
        self._counter = itertools.count()
        self._closed = False
        self.last_recovery = 0.0
        self._wconn = self._open_index()
        self.recover()

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

    # --------------------------------------------------------------- index
    def _open_index(self) -> sqlite3.Connection:
        try:
            return self._open_index_once()
        except sqlite3.DatabaseError as e:
            if "malformed" not in str(e) and "not a database" not in str(e):
                raise
        # A damaged index (possible after a power loss with durable=False) is
        # set aside and rebuilt from the object files, which are the truth.
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
            conn.execute("BEGIN IMMEDIATE")
            try:
                if ensure_schema(conn):
                    self._fill_index(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if conn.execute("SELECT deleted FROM stats").fetchone()[0]:
                raise ContainerGone(self.name)
        except BaseException:
            conn.close()
            raise
        return conn

    def _fill_index(self, conn: sqlite3.Connection, report: FsckReport | None = None) -> None:
        for _path, info in self._scan_files(report):
            conn.execute(UPSERT, row_of(info))

    def _scan_files(self, report: FsckReport | None = None, deep: bool = False) -> Iterator[tuple[str, ObjectInfo]]:
        """Every valid object file with its info; invalid ones are quarantined."""
        try:
            files = sorted(os.listdir(self.objects_dir))
        except FileNotFoundError:
            return
        for fname in files:
            path = os.path.join(self.objects_dir, fname)
            if os.path.isdir(path):
                continue
            try:
                info = self._read_file_info(path, None, deep)
                if object_file_name(info.name) != fname:
                    raise CorruptData(f"object file {path} holds {info.name!r}", path)
            except FileNotFoundError:
                continue
            except CorruptData:
                self._quarantine(path, report)
                continue
            if report is not None:
                report.objects += 1
            yield path, info

    def _read_file_info(self, path: str, name: str | None, deep: bool = False) -> ObjectInfo:
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
        try:
            subject = self.subject(name) if name is not None else path
            info = read_info(fd, os.fstat(fd).st_size, name, subject)
            if deep and info.etag != LAZY_ETAG and body_md5(fd, info.size) != info.etag:
                raise CorruptData(f"object {self.subject(info.name)} body does not match its ETag", path)
            return info
        finally:
            os.close(fd)

    def _quarantine(self, path: str, report: FsckReport | None) -> None:
        os.makedirs(self.quarantine_dir, exist_ok=True)
        dest = os.path.join(self.quarantine_dir, f"{os.path.basename(path)}.{uuid.uuid4().hex[:8]}")
        try:
            os.rename(path, dest)
        except FileNotFoundError:
            return
        if report is not None:
            report.quarantined.append(dest)

    def reconcile(self, conn: sqlite3.Connection, name: str, report: FsckReport | None = None) -> None:
        """Make the index row of ``name`` match its file (caller holds the write lock)."""
        path = self.object_path(name)
        try:
            info = self._read_file_info(path, name)
        except FileNotFoundError:
            conn.execute(DELETE, (name,))
            return
        except CorruptData:
            self._quarantine(path, report)
            conn.execute(DELETE, (name,))
            return
        conn.execute(UPSERT, row_of(info))

    @contextmanager
    def write_txn(self) -> Iterator[sqlite3.Connection]:
        """The container's write lock, as an index write transaction.

        Everything that renames or unlinks object files runs inside one, so the
        index update commits in the same order as the file operations. The body
        calls ``touch(name)`` before changing a file: if the transaction then
        fails, those names are reconciled from their files at the next one.
        ContainerGone if the container has been deleted.
        """
        with self._lock:
            if self._closed:
                raise ContainerGone(self.name)
            conn = self._wconn
            conn.execute("BEGIN IMMEDIATE")
            self._touched = []
            healed: list[str] = []
            try:
                if conn.execute("SELECT deleted FROM stats").fetchone()[0]:
                    raise ContainerGone(self.name)
                if self._dirty:
                    healed = list(self._dirty)
                    for name in healed:
                        self.reconcile(conn, name)
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._dirty.update(self._touched)
                raise
            finally:
                self._touched = []
            self._dirty.difference_update(healed)

    def touch(self, name: str) -> None:
        """Inside ``write_txn``: ``name``'s file is about to change."""
        self._touched.append(name)

    @contextmanager
    def read_txn(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection inside a read transaction (one snapshot)."""
        with self._mutex:
            conn = self._readers.pop() if self._readers else None
            self._readers_out += 1
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
            with self._mutex:
                self._readers_out -= 1
                if conn is not None:
                    if self._closed or len(self._readers) >= _MAX_IDLE_READERS:
                        conn.close()
                    else:
                        self._readers.append(conn)

    # ------------------------------------------------------------- journal
    def _journal(self) -> int:
        fd = self._journal_fd
        if fd is not None:
            return fd
        if self._closed:
            raise ContainerGone(self.name)
        with self._mutex:
            if self._journal_fd is None:
                self._journal_fd = self._create_journal()
            return self._journal_fd

    def _create_journal(self) -> int:
        path = os.path.join(self.journal_dir, self.writer_id)
        while True:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | O_CLOEXEC, 0o666)
            except FileNotFoundError:
                self._ensure_dir(self.journal_dir)
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)
            # Another process's recovery may have unlinked the file between our
            # open and our lock (it looked unlocked, hence dead): start again.
            try:
                st = os.stat(path)
            except FileNotFoundError:
                os.close(fd)
                continue
            fst = os.fstat(fd)
            if (st.st_ino, st.st_dev) == (fst.st_ino, fst.st_dev):
                if self.durable:
                    fsync_dir(self.journal_dir)
                return fd
            os.close(fd)

    def journal_begin(self, names: Iterable[str]) -> None:
        """Record that ``names`` are about to change on disk (before any rename)."""
        fd = self._journal()
        data = "".join(json.dumps(n) + "\n" for n in names).encode("ascii")
        with self._mutex:
            self._inflight += 1
        try:
            write_all(fd, [data])
            if self.durable:
                os.fdatasync(fd)
        except BaseException:
            self.journal_end()
            raise
        with self._mutex:
            self._journal_bytes += len(data)

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
                self._sync_index()
                os.ftruncate(self._journal_fd, 0)
                self._journal_bytes = 0

    def _sync_index(self) -> None:
        """Durable mode: put every committed index transaction on disk. Commits use
        ``synchronous=NORMAL`` (no fsync each), so this must run before journal
        entries that could redo them are dropped."""
        if not self.durable:
            return
        for path in (self.index_path + "-wal", self.index_path):
            try:
                fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
            except FileNotFoundError:
                continue
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

    def _fill_temp(self, fill: Callable[[int], object]) -> str:
        """A new temporary file written by ``fill(fd)`` and synced when durable;
        removed again if anything fails."""
        fd, path = self.new_temp()
        try:
            fill(fd)
            if self.durable:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_quiet(path)
            raise
        os.close(fd)
        return path

    def write_temp(self, buffers: Sequence[bytes | memoryview]) -> str:
        """A new temporary file holding ``buffers``."""
        return self._fill_temp(lambda fd: write_all(fd, buffers))

    def clone_temp(self, src_fd: int, size: int, trailer: bytes) -> str:
        """A new temporary file holding the first ``size`` bytes of ``src_fd``
        (copied in the kernel where possible) followed by ``trailer``."""
        return self._fill_temp(lambda fd: _copy_body(src_fd, fd, size, trailer))

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
        check: Callable[[str, str], None] | None = None,
    ) -> None:
        """Move each ``(name, temp_path, info)`` into place and index it, as one
        step for all other writers. ``check(name, final_path)`` runs under the lock
        first and may raise to refuse (nothing is then changed)."""
        names = [n for n, _, _ in items]
        self.journal_begin(names)
        try:
            with self.write_txn() as conn:
                if check is not None:
                    for name, _, _ in items:
                        check(name, self.object_path(name))
                for name, tmp, _ in items:
                    self.touch(name)
                    self._rename_into(tmp, self.object_path(name))
                conn.executemany(UPSERT, [row_of(info) for _, _, info in items])
            if self.durable:
                for d in {os.path.dirname(self.object_path(n)) for n in names}:
                    fsync_dir(d)
        finally:
            self.journal_end()

    def delete(self, names: Sequence[str]) -> list[bool]:
        """Remove the objects ``names``; for each, whether it existed."""
        existed: list[bool] = []
        self.journal_begin(names)
        try:
            with self.write_txn() as conn:
                for name in names:
                    self.touch(name)
                    try:
                        os.unlink(self.object_path(name))
                        existed.append(True)
                    except FileNotFoundError:
                        existed.append(False)
                    conn.execute(DELETE, (name,))
            if self.durable:
                for d in {os.path.dirname(self.object_path(n)) for n, e in zip(names, existed) if e}:
                    fsync_dir(d)
        finally:
            self.journal_end()
        return existed

    # ------------------------------------------------------ container meta
    def read_meta(self) -> dict[str, Any]:
        try:
            meta = read_json(self.meta_path)
            if not isinstance(meta.get("metadata"), dict) or not isinstance(meta.get("system"), dict):
                raise ValueError("missing metadata or system")
            return meta  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise ContainerGone(self.name) from None
        except (ValueError, AttributeError) as e:
            raise CorruptData(f"container {self.name!r}: {self.meta_path} is unreadable ({e})", self.name) from None

    def post_meta(self, metadata: Mapping[str, str] | None, system: Mapping[str, str] | None) -> None:
        """Merge container metadata (under the write lock, replaced by rename)."""
        with self.write_txn():
            meta = self.read_meta()
            merge_meta(meta["metadata"], metadata)
            merge_meta(meta["system"], system)
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
                for _path, info in self._scan_files():
                    self.reconcile(conn, info.name)
                    count += 1
            if count:
                raise ContainerNotEmpty(f"container {self.name!r} holds {count} objects", self.name)
            conn.execute("UPDATE stats SET deleted = 1")

    # ------------------------------------------------------------ recovery
    def recover(self, *, all_journals: bool = False, report: FsckReport | None = None) -> None:
        """Replay the journals of dead writers and remove their temporary files.

        With ``all_journals`` the entries of live writers are re-checked too (what
        fsck does; harmless since reconciling is idempotent).
        """
        self.last_recovery = time.monotonic()
        # Temp files are listed before journals: a temp file's writer created its
        # journal before it, so a live owner is always in the journal listing.
        try:
            temps = os.listdir(self.tmp_dir)
            journals = os.listdir(self.journal_dir)
        except FileNotFoundError:
            return
        live = {self.writer_id}
        dead: list[tuple[str, int]] = []
        names: set[str] = set()
        for jid in journals:
            if jid == self.writer_id:
                if all_journals:
                    names |= _read_journal(os.path.join(self.journal_dir, jid))
                continue
            try:
                fd = os.open(os.path.join(self.journal_dir, jid), os.O_RDONLY | O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                live.add(jid)
                if all_journals:
                    names |= _read_journal_fd(fd)
                os.close(fd)
                continue
            dead.append((jid, fd))
            names |= _read_journal_fd(fd)
        try:
            if names:
                self._repair(names, report)
                self._sync_index()
            for jid, _fd in dead:
                _unlink_quiet(os.path.join(self.journal_dir, jid))
            if report is not None:
                report.journals_replayed += len(dead)
        finally:
            for _jid, fd in dead:
                os.close(fd)
        for t in temps:
            if t.partition(".")[0] not in live:
                if _unlink_quiet(os.path.join(self.tmp_dir, t)) and report is not None:
                    report.temp_removed += 1

    def _repair(self, names: Iterable[str], report: FsckReport | None) -> None:
        """Reconcile ``names`` under the write lock, reporting rows that changed."""
        with self.write_txn() as conn:
            for name in names:
                before = conn.execute("SELECT * FROM objects WHERE name = ?", (name,)).fetchone()
                self.reconcile(conn, name, report)
                after = conn.execute("SELECT * FROM objects WHERE name = ?", (name,)).fetchone()
                if before != after and report is not None:
                    report.index_repaired.append(self.subject(name))

    def fsck(self, deep: bool = False) -> FsckReport:
        """Recover journals, then compare every object file with the index and
        repair the index; ``deep`` also re-hashes every body against its ETag."""
        report = FsckReport(containers=1)
        self.recover(all_journals=True, report=report)
        on_disk = {info.name: row_of(info) for _p, info in self._scan_files(report, deep)}
        with self.read_txn() as conn:
            indexed = {r[0]: tuple(r) for r in conn.execute("SELECT * FROM objects")}
        suspects = {n for n, r in on_disk.items() if indexed.get(n) != r}
        suspects |= indexed.keys() - on_disk.keys()
        if suspects:
            self._repair(suspects, report)
        stale_tmp = os.path.join(self.path, META_FILE + ".tmp")
        _unlink_quiet(stale_tmp)
        return report

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
        self._closed = True
        with self._mutex:
            readers, self._readers = self._readers, []
            clean = not self._inflight and not self._dirty
            fd, self._journal_fd = self._journal_fd, None
        for conn in readers:
            conn.close()
        self._wconn.close()
        if fd is not None:
            if clean:
                self._sync_index()
                _unlink_quiet(os.path.join(self.journal_dir, self.writer_id))
            os.close(fd)

    def abandon_after_fork(self) -> None:
        """In a forked child: drop this handle without touching what the parent
        shares (SQLite must not close inherited connections; the journal lock
        stays the parent's)."""
        self._closed = True
        if self._journal_fd is not None:
            try:
                os.close(self._journal_fd)
            except OSError:
                pass
            self._journal_fd = None


def _copy_body(src_fd: int, fd: int, size: int, trailer: bytes) -> None:
    pos = 0
    while pos < size:
        try:
            n = os.copy_file_range(src_fd, fd, size - pos, pos, pos)
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            n = 0
        if n == 0:  # not supported here, or the source is shorter than expected
            block = os.pread(src_fd, min(8 << 20, size - pos), pos)
            if not block:
                raise CorruptData(f"object file shrank while being copied ({pos} of {size} bytes)")
            n = os.pwrite(fd, block, pos)
        pos += n
    os.pwrite(fd, trailer, size)


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


def _read_journal(path: str) -> set[str]:
    try:
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    except FileNotFoundError:
        return set()
    try:
        return _read_journal_fd(fd)
    finally:
        os.close(fd)


def _read_journal_fd(fd: int) -> set[str]:
    chunks = []
    pos = 0
    while True:
        block = os.pread(fd, 1 << 20, pos)
        if not block:
            break
        chunks.append(block)
        pos += len(block)
    names: set[str] = set()
    for line in b"".join(chunks).split(b"\n"):
        try:
            name = json.loads(line)
        except ValueError:
            continue  # the torn last line of a writer killed mid-append (no rename followed)
        if isinstance(name, str):
            names.add(name)
    return names


def _unlink_quiet(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
