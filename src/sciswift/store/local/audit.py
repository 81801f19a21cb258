"""A read-only audit of LocalStore containers (``sciswift fsck`` without ``--repair``).

It looks at every record of a container the way reads and ``fsck`` would, and
changes nothing: no container handle is opened (opening one replays dead
writers' journals), the index is opened read-only, and dead writers' journals
are only probed (their lock taken and released at once). What it reports:

- **damaged**: records that fail their checks (truncated, unreadable metadata,
  a missing pack, and with ``deep`` body bytes that do not match their block
  digests or MD5 ETag). ``LocalStore.fsck`` quarantines these; a read does too.
- **quarantined**: objects already quarantined (a stub in place of their data:
  ``sciswift.store.local.quarantine``), until they are put again or deleted.
- **repairable**: what ``LocalStore.fsck`` (and the next writer) repairs without
  losing data: index entries out of date, journals of writers that died,
  their temporary files, packs no entry points into.

While other processes write to the container, a finding about the index or
temporary files may be a write in progress: names and packs in live writers'
journals are left out, the rest is a snapshot.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Protocol

from sciswift.errors import CorruptData
from sciswift.store.local.container import INDEX_FILE, object_file_name
from sciswift.store.local.format import Damaged, Record, check_span, read_record
from sciswift.store.local.fs import O_CLOEXEC
from sciswift.store.local.index import agrees, row_of
from sciswift.store.local.journal import Entries, probe, read_entries, read_entries_at
from sciswift.store.local.pack import pack_file_name

__all__ = ["AuditReport", "AuditProgress", "Finding", "audit_container", "count_records"]


class AuditProgress(Protocol):
    """Where an audit reports its progress (a progress bar)."""

    def start(self, container: str, records: int) -> None:
        """Container ``container`` is next, with about ``records`` records."""

    def advance(self, nbytes: int) -> None:
        """One more record looked at, ``nbytes`` of its body checked (0 unless deep)."""


class _Quiet:
    def start(self, container: str, records: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass


@dataclass(frozen=True)
class Finding:
    """One problem: what it is about (``container/object``, or a path) and what is
    wrong; ``container`` and ``name`` say which object, when that is known."""

    subject: str
    what: str
    container: str | None = None
    name: str | None = None


@dataclass
class AuditReport:
    """What an audit looked at and found (see the module docstring)."""

    containers: int = 0
    #: records looked at (object files and packed records)
    objects: int = 0
    #: body bytes compared with their checksums (deep only)
    bytes_checked: int = 0
    #: bodies with nothing to check them against (deep only: version-1 records
    #: of batched puts, whose ETag was never computed)
    unchecked: int = 0
    damaged: list[Finding] = field(default_factory=list)
    quarantined: list[Finding] = field(default_factory=list)
    repairable: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """No damaged and no quarantined object (repairable findings lose no data)."""
        return not self.damaged and not self.quarantined

    def merge(self, other: AuditReport) -> None:
        self.containers += other.containers
        self.objects += other.objects
        self.bytes_checked += other.bytes_checked
        self.unchecked += other.unchecked
        self.damaged += other.damaged
        self.quarantined += other.quarantined
        self.repairable += other.repairable


def count_records(path: str) -> int:
    """How many records an audit of the container directory ``path`` looks at
    (for a progress bar): index entries of packed objects plus object files."""
    rows = _read_index(os.path.join(path, INDEX_FILE))
    files = _listdir(os.path.join(path, "objects"))
    return len(files) + sum(1 for r in (rows or {}).values() if r[6] is not None)


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def _read_index(path: str) -> dict[str, tuple[Any, ...]] | None:
    """Every row of the index at ``path``, read without writing anything; None if
    it cannot be read.

    While the index is in use (its ``-wal`` file exists) it is opened read-only
    through SQLite's WAL; otherwise as an immutable file, because a read-only
    connection would still create ``-wal`` and ``-shm`` files. If the index
    changed while it was read that way, it is read again through the WAL."""
    for _ in range(3):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        idle = not os.path.exists(path + "-wal")
        mode = "immutable=1" if idle else "mode=ro"
        try:
            conn = sqlite3.connect(f"file:{path}?{mode}", uri=True, timeout=60.0)
            try:
                rows = {r[0]: tuple(r) for r in conn.execute(
                    "SELECT name, size, etag, timestamp, content_type, meta, pack, pack_off, pack_len FROM objects")}
            finally:
                conn.close()
        except sqlite3.Error:
            rows = None
        if not idle:
            return rows
        after = os.stat(path)
        if (after.st_mtime_ns, after.st_size) == (st.st_mtime_ns, st.st_size) and not os.path.exists(path + "-wal"):
            return rows
    return None


def _journals(path: str, report: AuditReport) -> tuple[Entries, set[str]]:
    """What every journal says is in flight, and the IDs of the live writers."""
    in_flight = Entries()
    live: set[str] = set()
    jdir = os.path.join(path, "journal")
    for jid in _listdir(jdir):
        jpath = os.path.join(jdir, jid)
        fd = probe(jpath)
        if fd is None:
            live.add(jid)
            in_flight.update(read_entries_at(jpath))
            continue
        try:
            entries = read_entries(fd)
        finally:
            os.close(fd)
        in_flight.update(entries)
        if entries.names or entries.packs:
            report.repairable.append(Finding(
                jpath, f"journal of a writer that died: {len(entries.names)} object(s) and "
                f"{len(entries.packs)} pack(s) to reconcile"))
    return in_flight, live


def _check_record(fd: int, rec: Record, container: str, deep: bool, report: AuditReport) -> int:
    """Check a record's body if ``deep``; the bytes checked. A stub is noted."""
    subject = f"{container}/{rec.info.name}"
    if rec.note is not None:
        report.quarantined.append(Finding(subject, f"{rec.note.get('why', '?')} (damaged copy: "
                                                   f"{rec.note.get('copy', '?')})", container, rec.info.name))
        return 0
    if not deep:
        return 0
    if not rec.block and not rec.md5_checkable:
        report.unchecked += 1
        return 0
    check_span(fd, rec, 0, rec.body_len, subject)
    report.bytes_checked += rec.body_len
    return rec.body_len


def audit_container(name: str, path: str, deep: bool = False, progress: AuditProgress | None = None) -> AuditReport:
    """Audit the container ``name`` in directory ``path`` without changing it."""
    report = AuditReport(containers=1)
    progress = progress or _Quiet()
    progress.start(name, count_records(path))
    tick = progress.advance
    in_flight, live = _journals(path, report)
    index_path = os.path.join(path, INDEX_FILE)
    rows = _read_index(index_path)
    if rows is None:
        report.repairable.append(Finding(index_path, "index missing or unreadable: it is rebuilt from the "
                                                     "object and pack files when the container is next opened"))
        rows = {}
    by_file = {object_file_name(n): n for n in rows}
    objects_dir = os.path.join(path, "objects")
    files = _listdir(objects_dir)
    for fname in files:
        fpath = os.path.join(objects_dir, fname)
        owner = by_file.get(fname)
        subject = f"{name}/{owner}" if owner is not None else fpath
        try:
            fd = os.open(fpath, os.O_RDONLY | O_CLOEXEC)
        except (FileNotFoundError, IsADirectoryError):
            continue
        checked = 0
        report.objects += 1
        try:
            rec = read_record(fd, os.fstat(fd).st_size, None, subject)
            if object_file_name(rec.info.name) != fname:
                raise Damaged(f"{fpath} holds object {rec.info.name!r}", subject, f"holds object {rec.info.name!r}")
            owner, subject = rec.info.name, f"{name}/{rec.info.name}"
            checked = _check_record(fd, rec, name, deep, report)
            if not agrees(row_of(rec.info), rows.get(owner)) and owner not in in_flight.names:
                report.repairable.append(Finding(subject, "index entry missing or out of date", name, owner))
        except Damaged as e:
            report.damaged.append(Finding(subject, f"{e.why} ({fpath})", name if owner else None, owner))
        except CorruptData as e:
            report.damaged.append(Finding(subject, f"{e.message} ({fpath})", name if owner else None, owner))
        finally:
            os.close(fd)
        tick(checked)
    present = set(files)
    packs: dict[int, list[tuple[Any, ...]]] = {}
    for oname, row in rows.items():
        if row[6] is not None:
            packs.setdefault(row[6], []).append(row)
        elif object_file_name(oname) not in present and oname not in in_flight.names:
            report.repairable.append(Finding(f"{name}/{oname}", "index entry without an object file (deleted?)",
                                             name, oname))
    packs_dir = os.path.join(path, "packs")
    for pack, prows in sorted(packs.items()):
        _audit_pack(name, os.path.join(packs_dir, pack_file_name(pack)), pack, prows, deep, report, tick)
    for fname in _listdir(packs_dir):
        try:
            pack = int(fname, 16)
        except ValueError:
            continue
        if pack_file_name(pack) == fname and pack not in packs and pack not in in_flight.packs:
            report.repairable.append(Finding(os.path.join(packs_dir, fname), "pack no index entry points into"))
    tmp_dir = os.path.join(path, "tmp")
    for t in _listdir(tmp_dir):
        if t.partition(".")[0] not in live:
            report.repairable.append(Finding(os.path.join(tmp_dir, t), "temporary file of a writer that died"))
    return report


def _audit_pack(name: str, ppath: str, pack: int, rows: list[tuple[Any, ...]], deep: bool, report: AuditReport,
                tick: Any) -> None:
    try:
        fd = os.open(ppath, os.O_RDONLY | O_CLOEXEC)
    except FileNotFoundError:
        for row in rows:
            report.objects += 1
            report.damaged.append(Finding(f"{name}/{row[0]}", f"its pack {ppath} is missing", name, row[0]))
            tick(0)
        return
    try:
        for row in sorted(rows, key=lambda r: r[7]):
            oname, off, length = row[0], row[7], row[8]
            subject = f"{name}/{oname}"
            report.objects += 1
            checked = 0
            try:
                rec = read_record(fd, length, oname, subject, off)
                checked = _check_record(fd, rec, name, deep, report)
                if not agrees(row_of(rec.info, pack, off, length), row):
                    report.repairable.append(Finding(subject, "index entry out of date", name, oname))
            except Damaged as e:
                report.damaged.append(Finding(subject, f"{e.why} ({ppath} at offset {off})", name, oname))
            except CorruptData as e:
                report.damaged.append(Finding(subject, f"{e.message} ({ppath} at offset {off})", name, oname))
            tick(checked)
    finally:
        os.close(fd)
