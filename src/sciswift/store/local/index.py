"""The SQLite index of one LocalStore container: listings and totals.

It holds one row per object (``objects``, keyed by name in SQLite's BINARY
collation, which for UTF-8 text is Swift's byte order) and one row of totals
(``stats``) that triggers keep equal to ``COUNT(*)`` and ``SUM(size)``.
``stats.deleted`` is set, in the same database, by the process that deletes the
container, so writers of other processes that still hold a connection see it.

A row's ``pack``, ``pack_off``, ``pack_len`` say where a packed object's record is
(``packs/ID``, see ``local.pack``); they are NULL for an object stored in a file of
its own. For those rows the index is derived data, rebuilt from the files; for
packed objects it is the only record of which pack records are live (see
``local.container`` for what a rebuild can restore).

Schema versions: 1 had no pack columns; opening a version-1 index adds them
(``ALTER TABLE``), which leaves every existing row a plain file's.

Listings are range queries on the primary key: a page costs O(page) rows read,
whatever the size of the container; with a delimiter, each rolled-up subdir is
skipped in one jump (a new query starting past it), as Swift's container server
does.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence

from sciswift.store.listing import prefix_upper_bound
from sciswift.store.local.format import LAZY_ETAG
from sciswift.store.types import ListingParams, ObjectInfo, Subdir

__all__ = [
    "SCHEMA_VERSION",
    "connect",
    "ensure_schema",
    "UPSERT",
    "DELETE",
    "row_of",
    "agrees",
    "RECORD_ETAG",
    "info_of_row",
    "list_objects",
    "LOCATE",
    "locate_many",
    "unreferenced",
    "Row",
]

SCHEMA_VERSION = 2

# One statement per item: executescript() would first commit the caller's transaction.
_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS objects (
        name TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        timestamp REAL NOT NULL,
        content_type TEXT NOT NULL,
        meta TEXT,
        pack INTEGER,
        pack_off INTEGER,
        pack_len INTEGER
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS stats (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        object_count INTEGER NOT NULL,
        bytes_used INTEGER NOT NULL,
        deleted INTEGER NOT NULL
    )""",
    "INSERT OR IGNORE INTO stats VALUES (0, 0, 0, 0)",
    """CREATE TRIGGER IF NOT EXISTS objects_insert AFTER INSERT ON objects BEGIN
        UPDATE stats SET object_count = object_count + 1, bytes_used = bytes_used + new.size;
    END""",
    """CREATE TRIGGER IF NOT EXISTS objects_delete AFTER DELETE ON objects BEGIN
        UPDATE stats SET object_count = object_count - 1, bytes_used = bytes_used - old.size;
    END""",
    """CREATE TRIGGER IF NOT EXISTS objects_update AFTER UPDATE OF size ON objects BEGIN
        UPDATE stats SET bytes_used = bytes_used - old.size + new.size;
    END""",
]
_PACK_COLUMNS = [("pack", "INTEGER"), ("pack_off", "INTEGER"), ("pack_len", "INTEGER")]
# Reference counting of packs: is any row still pointing into this one?
_PACK_INDEX = "CREATE INDEX IF NOT EXISTS objects_by_pack ON objects(pack) WHERE pack IS NOT NULL"

_COLUMNS = "name, size, etag, timestamp, content_type, meta"
_ALL_COLUMNS = f"{_COLUMNS}, pack, pack_off, pack_len"

UPSERT = (
    f"INSERT INTO objects ({_ALL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(name) DO UPDATE SET size = excluded.size, etag = excluded.etag, "
    "timestamp = excluded.timestamp, content_type = excluded.content_type, meta = excluded.meta, "
    "pack = excluded.pack, pack_off = excluded.pack_off, pack_len = excluded.pack_len"
)
DELETE = "DELETE FROM objects WHERE name = ?"
LOCATE = "SELECT pack, pack_off, pack_len FROM objects WHERE name = ?"
"""``(pack, offset, length)`` of an object: pack is None for a file of its own."""

Row = tuple[str, int, str, float, str, "str | None", "int | None", "int | None", "int | None"]
# SQLite's default limit on ? parameters is 32766 (999 before 3.32): stay below both.
_IN_CHUNK = 900


def connect(path: str, durable: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal.

    ``durable`` selects ``synchronous=NORMAL``: commits are not fsync'd one by one
    (the container's journals can redo them after a power loss, see
    ``local.container``) but the database is never damaged. Otherwise ``OFF``: no
    fsync at all; a power loss may damage the index, which is then rebuilt.
    """
    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    try:
        # WAL is persistent, so this is normally a no-op read. Switching a new
        # database needs an exclusive lock, for which SQLite's busy handler does
        # not wait: retry here (the switch happens once per container).
        deadline = time.monotonic() + 60.0
        while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.001)
        conn.execute(f"PRAGMA synchronous={'NORMAL' if durable else 'OFF'}")
    except BaseException:
        conn.close()
        raise
    return conn


def ensure_schema(conn: sqlite3.Connection) -> bool:
    """Create the tables if needed, or bring an older index to this version,
    inside the caller's write transaction.

    Returns True if the index was new (the caller must then fill it from the
    object and pack files).
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return False
    for statement in _SCHEMA:
        conn.execute(statement)
    have = {r[1] for r in conn.execute("PRAGMA table_info(objects)")}
    for column, kind in _PACK_COLUMNS:
        if column not in have:
            conn.execute(f"ALTER TABLE objects ADD COLUMN {column} {kind}")
    conn.execute(_PACK_INDEX)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return version == 0


def row_of(info: ObjectInfo, pack: int | None = None, offset: int | None = None, length: int | None = None) -> Row:
    """The index row of an object (in a file of its own, or the record of
    ``length`` bytes at ``offset`` of pack ``pack``)."""
    meta = None
    if info.metadata or info.system:
        meta = json.dumps({"m": info.metadata, "y": info.system}, separators=(",", ":"))
    return (info.name, info.size, info.etag, info.timestamp, info.content_type, meta, pack, offset, length)


#: UPDATE of the ETag a batched put left for later (``local.settle``): only on
#: the row of the version it was computed from, and only while still empty.
RECORD_ETAG = "UPDATE objects SET etag = ? WHERE name = ? AND timestamp = ? AND size = ? AND etag = ''"


def agrees(from_record: Row, indexed: Row | None) -> bool:
    """Whether ``indexed`` (a row of the index) says what ``from_record`` (the
    row made from the record it points to) says. The one difference allowed is
    the ETag a batched put left for later (empty in the record): the row may
    hold it, computed since (``local.settle``)."""
    if indexed is None or from_record == indexed:
        return indexed is not None
    return from_record[2] == LAZY_ETAG and from_record[:2] == indexed[:2] and from_record[3:] == indexed[3:]


def locate_many(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, tuple[int | None, int | None, int | None]]:
    """``{name: (pack, offset, length)}`` of those of ``names`` that have a row."""
    out: dict[str, tuple[int | None, int | None, int | None]] = {}
    for i in range(0, len(names), _IN_CHUNK):
        part = names[i : i + _IN_CHUNK]
        marks = ",".join("?" * len(part))
        for name, pack, off, length in conn.execute(
            f"SELECT name, pack, pack_off, pack_len FROM objects WHERE name IN ({marks})", part
        ):
            out[name] = (pack, off, length)
    return out


def unreferenced(conn: sqlite3.Connection, packs: Iterable[int]) -> list[int]:
    """Those of ``packs`` that no row points into any more."""
    return [
        p for p in set(packs)
        if conn.execute("SELECT 1 FROM objects WHERE pack = ? LIMIT 1", (p,)).fetchone() is None
    ]


def info_of_row(row: tuple[str, int, str, float, str, str | None]) -> ObjectInfo:
    """The ObjectInfo an index row (its first six columns) describes."""
    name, size, etag, timestamp, content_type, meta = row
    if meta is None:
        return ObjectInfo(name, size, etag, timestamp, content_type)
    m = json.loads(meta)
    return ObjectInfo(name, size, etag, timestamp, content_type, m["m"], m["y"])


class _Bound:
    """One end of a name range: ``name > value`` or ``name >= value`` (or the upper
    versions), or no bound at all when ``value`` is None."""

    __slots__ = ("value", "inclusive")

    def __init__(self, value: str | None, inclusive: bool) -> None:
        self.value = value
        self.inclusive = inclusive


def _tighter(a: _Bound, b: _Bound, lower: bool) -> _Bound:
    """The more restrictive of two lower (or upper) bounds."""
    if a.value is None:
        return b
    if b.value is None:
        return a
    if a.value != b.value:
        return a if (a.value > b.value) == lower else b
    return a if not a.inclusive else b


def _query(
    conn: sqlite3.Connection, lower: _Bound, upper: _Bound, reverse: bool, limit: int | None
) -> Iterator[Row]:
    where: list[str] = []
    args: list[object] = []
    if lower.value is not None:
        where.append("name >= ?" if lower.inclusive else "name > ?")
        args.append(lower.value)
    if upper.value is not None:
        where.append("name <= ?" if upper.inclusive else "name < ?")
        args.append(upper.value)
    sql = f"SELECT {_COLUMNS} FROM objects"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY name DESC" if reverse else " ORDER BY name"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return conn.execute(sql, args)


def list_objects(conn: sqlite3.Connection, p: ListingParams) -> list[ObjectInfo | Subdir]:
    """One listing page, with exactly the semantics of ``sciswift.store.listing``.

    Runs as range queries: rows outside ``marker``/``end_marker``/``prefix`` are never
    read, and a rolled-up subdir costs one extra query that starts past it.
    """
    if p.limit is not None and p.limit <= 0:
        return []
    prefix_end = prefix_upper_bound(p.prefix)
    prefix_lo = _Bound(p.prefix or None, True)
    prefix_hi = _Bound(prefix_end, False)
    if p.reverse:
        upper = _tighter(_Bound(p.marker or None, False), prefix_hi, lower=False)
        lower = _tighter(_Bound(p.end_marker or None, False), prefix_lo, lower=True)
    else:
        lower = _tighter(_Bound(p.marker or None, False), prefix_lo, lower=True)
        upper = _tighter(_Bound(p.end_marker or None, False), prefix_hi, lower=False)
    out: list[ObjectInfo | Subdir] = []
    delim = p.delimiter
    plen = len(p.prefix)
    while True:
        remaining = None if p.limit is None else p.limit - len(out)
        if remaining == 0:
            return out
        if lower.value is not None and upper.value is not None and lower.value > upper.value:
            return out
        jumped = False
        for row in _query(conn, lower, upper, p.reverse, remaining):
            name = row[0]
            if p.prefix and not name.startswith(p.prefix):
                # Only reachable for a prefix of U+10FFFF characters, which has no
                # upper bound to put in the query.
                continue
            if delim:
                cut = name.find(delim, plen)
                if cut >= 0:
                    sub = name[: cut + len(delim)]
                    # Swift never reports a subdir at or before the marker.
                    if not (p.marker and not p.reverse and sub <= p.marker):
                        out.append(Subdir(sub))
                    # Skip every name under ``sub`` with one new query.
                    if p.reverse:
                        upper = _Bound(sub, False)
                    else:
                        nxt = prefix_upper_bound(sub)
                        if nxt is None:
                            return out
                        lower = _Bound(nxt, True)
                    jumped = True
                    break
            out.append(info_of_row(row))  # type: ignore[arg-type]
            if remaining is not None and len(out) >= p.limit:  # type: ignore[operator]
                return out
        if not jumped:
            return out
