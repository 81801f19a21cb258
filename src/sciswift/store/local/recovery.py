"""Recovery, repair and rebuild of a LocalStore container's index.

Runs over one ``Container`` (``local.container``), under its write lock:

- ``recover``: the journals of dead writers (unlocked: see ``local.journal``) name
  what they were changing; those names are reconciled, the packs they created or
  were removing are removed if no row points into them, and their temporary
  files are deleted. Runs when a container is opened, every ``RECOVERY_INTERVAL``
  seconds in a process using it, and from ``fsck``; a batched put reconciles the
  dead writers' names first too (``heal_dead_writers``), so an object file a
  crashed writer left unindexed is not mistaken for absent.
- ``reconcile``: one name's truth. The candidates are its object file, if valid,
  and the pack record its row points at, if valid; the newer one (by the
  timestamp in its metadata) wins. A record that is gone or damaged loses; an
  object file that loses is removed (it is the old version a packer killed
  between its commit and its unlinks left behind: an object file must always be
  current). Idempotent, so replaying entries that did commit is harmless. The
  timestamps come from ``time.time()`` of the writers: a clock stepped back by
  more than the time between two puts of one name could pick the older one.
- ``fsck``: every object file and every packed row against the index; rows whose
  record is damaged are dropped (or repointed, when walking the pack finds the
  record elsewhere), packs that no row points into and no live writer is about
  to commit are removed.
- ``fill_index``: a new (lost or damaged) index is filled from the disk: every
  object file, and for every other name the newest record found in any pack.
  Packs record no deletions, so an object deleted (or overwritten by a file that
  was deleted since) comes back if a record of it survives in a pack that still
  holds a live record of another object. Packs whose records all died are
  removed at once and mostly dead packs are compacted, which bounds this; a
  durable store's index is never lost to a power loss (WAL, synced commits), so
  in practice this concerns non-durable stores after a power loss, and indexes
  deleted by hand.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sciswift.errors import CorruptData
from sciswift.store.local.format import LAZY_ETAG, Damaged, check_span, read_record
from sciswift.store.local.fs import O_CLOEXEC, fsync_dir, unlink_quiet
from sciswift.store.local.index import DELETE, UPSERT, agrees, info_of_row, row_of
from sciswift.store.local.journal import Entries, probe, read_entries, read_entries_at
from sciswift.store.local.pack import pack_file_name, scan_pack
from sciswift.store.local.quarantine import set_aside_file, set_aside_record, stub_temp
from sciswift.store.types import ObjectInfo

if TYPE_CHECKING:
    from sciswift.store.local.container import Container

__all__ = ["FsckReport", "fill_index", "fsck", "heal_dead_writers", "recover", "reconcile", "scan_files"]


@dataclass
class FsckReport:
    """What ``fsck`` checked and repaired."""

    containers: int = 0
    objects: int = 0
    index_repaired: list[str] = field(default_factory=list)
    journals_replayed: int = 0
    temp_removed: int = 0
    quarantined: list[str] = field(default_factory=list)
    #: packed records that failed their check (their rows were dropped; the pack
    #: file stays while other records of it are live)
    damaged: list[str] = field(default_factory=list)
    #: pack files removed because no index row pointed into them any more
    packs_removed: int = 0

    def merge(self, other: FsckReport) -> None:
        self.containers += other.containers
        self.objects += other.objects
        self.index_repaired += other.index_repaired
        self.journals_replayed += other.journals_replayed
        self.temp_removed += other.temp_removed
        self.quarantined += other.quarantined
        self.damaged += other.damaged
        self.packs_removed += other.packs_removed


def fill_index(c: Container, conn: sqlite3.Connection, report: FsckReport | None = None) -> None:
    """Index every object file and, for the other names, the newest pack record
    (see the module docstring for what this can and cannot restore)."""
    newest: dict[str, tuple[ObjectInfo, int, int, int]] = {}
    for pack, path in list_packs(c):
        try:
            fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            for off, length, info in scan_pack(fd, os.fstat(fd).st_size, path):
                have = newest.get(info.name)
                if have is None or info.timestamp > have[0].timestamp:
                    newest[info.name] = (info, pack, off, length)
        except CorruptData as e:
            if report is not None:
                report.damaged.append(f"{path}: {e}")
        finally:
            os.close(fd)
    rows = []
    for path, info in scan_files(c, report):
        packed = newest.pop(info.name, None)
        if packed is not None and packed[0].timestamp > info.timestamp:
            unlink_quiet(path)  # an old version a crashed packer left behind
            rows.append(row_of(*packed))
        else:
            rows.append(row_of(info))
    rows += [row_of(*packed) for packed in newest.values()]
    conn.executemany(UPSERT, rows)


def list_packs(c: Container) -> list[tuple[int, str]]:
    try:
        files = sorted(os.listdir(c.packs_dir))
    except FileNotFoundError:
        return []
    out = []
    for fname in files:
        try:
            pack = int(fname, 16)
        except ValueError:
            continue
        if pack_file_name(pack) == fname:
            out.append((pack, os.path.join(c.packs_dir, fname)))
    return out


@dataclass(frozen=True)
class Lost:
    """A damaged version of an object found by a check: what was wrong, where it
    was set aside (relative to the container directory; "" if nothing was left
    to keep) and what its own metadata said, if it could be read."""

    why: str
    copy: str
    info: ObjectInfo | None = None


def scan_files(c: Container, report: FsckReport | None = None, deep: bool = False,
               lost: dict[str, Lost] | None = None) -> Iterator[tuple[str, ObjectInfo]]:
    """Every valid object file with its info. Damaged ones are moved into
    ``quarantine/`` (and noted in ``lost`` by file name, when given: the caller
    knows which object each file name stands for and puts stubs in their place);
    files of a record version this sciswift cannot read are left alone."""
    try:
        files = sorted(os.listdir(c.objects_dir))
    except FileNotFoundError:
        return
    for fname in files:
        path = os.path.join(c.objects_dir, fname)
        if os.path.isdir(path):
            continue
        try:
            info = read_file_info(c, path, None, deep)
            if os.path.basename(c.object_path(info.name)) != fname:
                raise Damaged(f"object file {path} holds {info.name!r}", path)
        except FileNotFoundError:
            continue
        except Damaged as e:
            meta = _readable_info(c, path)
            copy = quarantine(c, path, report)
            if lost is not None and copy is not None:
                lost[fname] = Lost(e.why, copy, meta)
            continue
        except CorruptData:
            continue
        if report is not None:
            report.objects += 1
        yield path, info


def _readable_info(c: Container, path: str, name: str | None = None) -> ObjectInfo | None:
    """The metadata of a record whose body failed its check, if it can be read."""
    try:
        return read_file_info(c, path, name)
    except (OSError, CorruptData):
        return None


def read_file_info(c: Container, path: str, name: str | None, deep: bool = False, base: int = 0,
                    length: int | None = None) -> ObjectInfo:
    """The info of the record ``[base, base + length)`` of ``path`` (default: the
    whole file); with ``deep`` its body is checked against its block digests (or,
    without any, its MD5 ETag if known): Damaged if it does not match."""
    fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    try:
        subject = c.subject(name) if name is not None else path
        if length is None:
            length = os.fstat(fd).st_size
        rec = read_record(fd, length, name, subject, base)
        if deep and rec.note is None:
            check_span(fd, rec, 0, rec.body_len, c.subject(rec.info.name))
        return rec.info
    finally:
        os.close(fd)


def quarantine(c: Container, path: str, report: FsckReport | None) -> str | None:
    """Move the damaged object file ``path`` into ``quarantine/``; its path there
    relative to the container directory (None if it was gone)."""
    rel = set_aside_file(c, path)
    if rel is not None and report is not None:
        report.quarantined.append(os.path.join(c.path, rel))
    return rel


def _set_aside_packed(c: Container, name: str, pack: int, off: int, length: int, report: FsckReport | None) -> str:
    """Copy the damaged record of ``name`` out of ``pack`` into ``quarantine/``
    (what is left of it); "" if the pack is gone."""
    try:
        fd = os.open(c.pack_path(pack), os.O_RDONLY | O_CLOEXEC)
    except FileNotFoundError:
        return ""
    try:
        rel = set_aside_record(c, _file_name(c, name), fd, off, length, False)
    finally:
        os.close(fd)
    if report is not None:
        report.quarantined.append(os.path.join(c.path, rel))
    return rel


def reconcile(c: Container, conn: sqlite3.Connection, name: str, report: FsckReport | None = None, deep: bool = False,
              lost: Lost | None = None) -> None:
    """Make the index row of ``name`` match the disk (caller holds the write lock).

    The object file and the record the row points at are the candidates; the
    newer one (by metadata timestamp) wins, and an object file that loses is
    removed (the old version a crashed packer left behind: the invariant is
    that an object file is always current). A candidate found damaged is set
    aside in ``quarantine/``; if it would have won (or ``lost`` says the object
    file was already set aside, by fsck's scan), a quarantine stub takes the
    object's place, so the name reads as Quarantined and never as missing. A
    file of a record version this sciswift cannot read is left alone.
    """
    path = c.object_path(name)
    # (timestamp, is the file, info, damage): the newest wins, a pack record on a tie.
    cands: list[tuple[float, bool, ObjectInfo | None, Lost | None]] = []
    plain: ObjectInfo | None = None
    try:
        plain = read_file_info(c, path, name, deep)
        cands.append((plain.timestamp, True, plain, None))
    except FileNotFoundError:
        pass
    except Damaged as e:
        meta = _readable_info(c, path, name)
        copy = quarantine(c, path, report)
        if copy is not None:
            lost = Lost(e.why, copy, meta)
    except CorruptData:
        return
    if lost is not None:
        cands.append((lost.info.timestamp if lost.info else float("-inf"), True, lost.info, lost))
    row = conn.execute(f"SELECT {_ROW_COLUMNS} FROM objects WHERE name = ?", (name,)).fetchone()
    pack, off, length = row[6:9] if row is not None else (None, None, None)
    if pack is not None:
        try:
            packed = read_file_info(c, c.pack_path(pack), name, deep, off or 0, length)
            cands.append((packed.timestamp, False, packed, None))
        except (FileNotFoundError, CorruptData) as e:
            found = find_in_pack(c, pack, name, deep) if isinstance(e, CorruptData) else None
            if found is not None:
                packed, off, length = found
                cands.append((packed.timestamp, False, packed, None))
            else:
                why = (f"its pack {c.pack_path(pack)} is missing" if isinstance(e, FileNotFoundError)
                       else getattr(e, "why", str(e)))
                if report is not None:
                    report.damaged.append(f"{c.subject(name)} ({c.pack_path(pack)} at {off}): {why}")
                copy = _set_aside_packed(c, name, pack, off or 0, length or 0, report)
                known = info_of_row(row[:6])
                cands.append((known.timestamp, False, known, Lost(why, copy, known)))
    if not cands:
        conn.execute(DELETE, (name,))
    else:
        _ts, is_file, info, damage = max(cands, key=lambda cand: (cand[0], cand[1]))
        if damage is not None:
            stub_info = info or (info_of_row(row[:6]) if row is not None else ObjectInfo(name, 0, LAZY_ETAG, 0.0))
            tmp, stub = stub_temp(c, stub_info, damage.why, damage.copy)
            c.touch(name)
            os.rename(tmp, path)
            if c.durable:
                fsync_dir(c.objects_dir)
            conn.execute(UPSERT, row_of(stub))
        elif is_file:
            assert info is not None
            _upsert(conn, row_of(info), row)
        else:
            assert info is not None
            if plain is not None:
                unlink_quiet(path)
            _upsert(conn, row_of(info, pack, off, length), row)
            return
    if pack is not None:
        c.release(pack)


_ROW_COLUMNS = "name, size, etag, timestamp, content_type, meta, pack, pack_off, pack_len"


def _upsert(conn: sqlite3.Connection, new: tuple[Any, ...], row: tuple[Any, ...] | None) -> None:
    """Make ``new`` (derived from a record) the row, unless ``row`` already
    says the same (keeping an ETag recorded since: ``index.agrees``)."""
    if row is None or not agrees(new, tuple(row)):
        conn.execute(UPSERT, new)


def _file_name(c: Container, name: str) -> str:
    return os.path.basename(c.object_path(name))


def find_in_pack(c: Container, pack: int, name: str, deep: bool) -> tuple[ObjectInfo, int, int] | None:
    """The newest valid record of ``name`` in ``pack`` found by walking it (for a
    row whose offset is wrong), or None."""
    path = c.pack_path(pack)
    best: tuple[ObjectInfo, int, int] | None = None
    try:
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        for off, length, info in scan_pack(fd, os.fstat(fd).st_size, path):
            if info.name == name and (best is None or info.timestamp > best[0].timestamp):
                if deep:
                    try:
                        rec = read_record(fd, length, name, c.subject(name), off)
                        if rec.note is None:
                            check_span(fd, rec, 0, rec.body_len, c.subject(name))
                    except CorruptData:
                        continue
                best = (info, off, length)
    except CorruptData:
        pass  # the records before a damaged one cannot be found
    finally:
        os.close(fd)
    return best


def recover(c: Container, *, all_journals: bool = False, report: FsckReport | None = None) -> None:
    """Replay the journals of dead writers, remove their temporary files and
    the packs they created that no row points into.

    With ``all_journals`` the names of live writers are re-checked too (what
    fsck does; harmless since reconciling is idempotent; their packs are
    left alone, they may be about to be committed).
    """
    c.last_recovery = time.monotonic()
    # Temp files are listed before journals: a temp file's writer created its
    # journal before it, so a live owner is always in the journal listing.
    try:
        temps = os.listdir(c.tmp_dir)
        journals = os.listdir(c.journal_dir)
    except FileNotFoundError:
        return
    live = {c.writer_id}
    dead: list[tuple[str, int]] = []
    names: set[str] = set()
    dead_packs: set[int] = set()
    for jid in journals:
        path = os.path.join(c.journal_dir, jid)
        if jid == c.writer_id:
            if all_journals:
                names |= read_entries_at(path).names
            continue
        try:
            fd = probe(path)
        except FileNotFoundError:
            continue
        if fd is None:
            live.add(jid)
            if all_journals:
                names |= read_entries_at(path).names
            continue
        dead.append((jid, fd))
        entries = read_entries(fd)
        names |= entries.names
        dead_packs |= entries.packs
    try:
        if names or dead_packs:
            repair(c, names, report, dead_packs)
            c.sync_index()
        for jid, _fd in dead:
            unlink_quiet(os.path.join(c.journal_dir, jid))
        if report is not None:
            report.journals_replayed += len(dead)
    finally:
        for _jid, fd in dead:
            os.close(fd)
    for t in temps:
        if t.partition(".")[0] not in live:
            if unlink_quiet(os.path.join(c.tmp_dir, t)) and report is not None:
                report.temp_removed += 1


def heal_dead_writers(c: Container, conn: sqlite3.Connection) -> None:
    """Inside a write transaction about to pack names: reconcile the names of
    dead writers' journals first, so an object file a crashed writer left
    unindexed is not mistaken for absent (and left standing over the new
    packed version). The journals themselves are left to ``recover``."""
    try:
        journals = os.listdir(c.journal_dir)
    except FileNotFoundError:
        return
    for jid in journals:
        if jid == c.writer_id:
            continue
        try:
            fd = probe(os.path.join(c.journal_dir, jid))
        except FileNotFoundError:
            continue
        if fd is None:
            continue
        try:
            names = read_entries(fd).names
        finally:
            os.close(fd)
        for name in sorted(names):
            reconcile(c, conn, name)
        c.last_recovery = 0.0  # the next use of this handle runs ``recover``


def repair(c: Container, names: Iterable[str], report: FsckReport | None, packs: Iterable[int] = (), deep: bool = False,
           lost: Mapping[str, Lost] | None = None) -> None:
    """Reconcile ``names`` under the write lock, reporting rows that changed;
    then remove those of ``packs`` (and of the packs rows pointed into before)
    that no row points into. ``lost`` names objects whose files were already
    set aside as damaged."""
    with c.write_txn(report) as conn:
        for name in sorted(names):
            before = conn.execute("SELECT * FROM objects WHERE name = ?", (name,)).fetchone()
            reconcile(c, conn, name, report, deep, (lost or {}).get(name))
            after = conn.execute("SELECT * FROM objects WHERE name = ?", (name,)).fetchone()
            if before != after and report is not None:
                report.index_repaired.append(c.subject(name))
        c.release(*packs)


def fsck(c: Container, deep: bool = False) -> FsckReport:
    """Recover journals, then compare every object file and every packed row
    with the index and repair the index; remove packs no row points into.
    ``deep`` also re-hashes every body against its ETag."""
    report = FsckReport(containers=1)
    c.recover(all_journals=True, report=report)
    # Packs are listed before journals are read: a writer journals a pack
    # before creating it, so an uncommitted pack found here is in a journal.
    listed = list_packs(c)
    in_flight = Entries()
    try:
        for jid in os.listdir(c.journal_dir):
            in_flight.update(read_entries_at(os.path.join(c.journal_dir, jid)))
    except FileNotFoundError:
        pass
    damaged_files: dict[str, Lost] = {}
    on_disk = {info.name: row_of(info) for _p, info in scan_files(c, report, deep, damaged_files)}
    with c.read_txn() as conn:
        indexed = {r[0]: tuple(r) for r in conn.execute("SELECT * FROM objects")}
    # Damaged files set aside by the scan: the index says whose they were.
    by_file = {_file_name(c, n): n for n in indexed}
    lost = {by_file[f]: v for f, v in damaged_files.items() if f in by_file}
    lost.update((v.info.name, v) for f, v in damaged_files.items()
                if f not in by_file and v.info is not None and _file_name(c, v.info.name) == f)
    suspects = {n for n, r in on_disk.items() if not agrees(r, indexed.get(n))} | set(lost)
    by_pack: dict[int, list[tuple[Any, ...]]] = {}
    for name, row in indexed.items():
        if row[6] is None:
            if name not in on_disk:
                suspects.add(name)
        else:
            by_pack.setdefault(row[6], []).append(row)
    for pack, rows in by_pack.items():
        suspects |= check_pack_rows(c, pack, rows, report, deep)
    if suspects:
        repair(c, suspects, report, deep=deep, lost=lost)
    with c.read_txn() as conn:
        referenced = {r[0] for r in conn.execute("SELECT DISTINCT pack FROM objects WHERE pack IS NOT NULL")}
    for pack, _path in listed:
        if pack not in referenced and pack not in in_flight.packs:
            c.remove_pack(pack, report)
    stale_tmp = c.meta_path + ".tmp"
    unlink_quiet(stale_tmp)
    return report


def check_pack_rows(c: Container, pack: int, rows: Sequence[tuple[Any, ...]], report: FsckReport, deep: bool
) -> set[str]:
    """Names among ``rows`` (pointing into ``pack``) whose record is missing,
    damaged or not what the row says."""
    path = c.pack_path(pack)
    try:
        fd = os.open(path, os.O_RDONLY | O_CLOEXEC)
    except FileNotFoundError:
        return {row[0] for row in rows}
    bad: set[str] = set()
    try:
        for row in rows:
            name, off, length = row[0], row[7], row[8]
            report.objects += 1
            try:
                rec = read_record(fd, length, name, c.subject(name), off)
                info = rec.info
                if deep and rec.note is None:
                    check_span(fd, rec, 0, rec.body_len, c.subject(name))
            except CorruptData:
                bad.add(name)
                continue
            if not agrees(row_of(info, pack, off, length), row):
                bad.add(name)
    finally:
        os.close(fd)
    return bad
