"""Paths in the mount and the objects they stand for.

Objects are files and ``/`` in their names makes directories, as the ``swift``
CLI shows pseudo-folders: the object ``a/b/c.h5`` is the file ``c.h5`` in the
directory ``a/b``. An empty directory made by ``mkdir`` is a zero-byte marker
object ``a/b/`` (Swift's convention, ``Content-Type: application/directory``).
When the mount's URL names an account, containers are the top-level directories.

A prefix holding ``zarr.json`` is a file written by sciswift in the native layout;
it is shown as one read-only file of that name (``NATIVE``), served by the HDF5
view (``sciswift.mount.native``), not as the directory of its chunk objects,
unless it was made as a directory (``mkdir``'s marker object): then it is a
Zarr store written through a file system, and stays a directory.

What the store said is remembered for ``ttl`` seconds (listings and lookups).
Opening a file always asks the store again (close-to-open; see
``sciswift.mount.fs``).

A symbolic link is a Swift symlink (``sciswift.store.links``) whose target is
in the mount: it shows the target's path relative to the link's directory. A
link out of the mount (another container or account) is shown as the file it
leads to, found by a HEAD that follows it.

A file's time is its own modification time where the object carries one
(``X-Object-Meta-Mtime``, see ``sciswift.mount.mtime``), which Swift's listings
do not show (those of ``sciswift serve`` and of local stores do:
``Store.listing_metadata``): a file known only from such a listing is completed
by a HEAD when its attributes are asked for, together with the next
``HEAD_AHEAD`` such files of that listing, concurrently (``ls -l`` asks for them
in turn: one round of HEADs per ``HEAD_AHEAD`` files instead of one each; ``ls``
alone asks for none).
"""

from __future__ import annotations

import posixpath
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum
from urllib.parse import unquote

from sciswift.errors import NotFound
from sciswift.mount.errors import FSError
from sciswift.mount.filemode import parse_mode
from sciswift.mount.mtime import parse_mtime
from sciswift.store import ContainerInfo, ListingParams, ObjectInfo, Store, Subdir
from sciswift.store.large import content_etag, content_size
from sciswift.store.links import LinkTarget, link_target

__all__ = ["Kind", "Entry", "Namespace", "DIR_MARKER_TYPE", "LINK_TEXT_KEY"]

DIR_MARKER_TYPE = "application/directory"
#: A link's metadata keeps the text it was made with (URL-quoted), which
#: ``readlink`` then shows while it names the link's target: ``rsync -a`` and
#: ``tar`` compare texts, and ``../d/f`` and ``f`` differ for them.
LINK_TEXT_KEY = "link-text"
NATIVE_MARKER = "zarr.json"
_PAGE = 10000
#: Files of a listing completed by HEADs at once (see the module docstring).
HEAD_AHEAD = 16


class Kind(Enum):
    FILE = "file"
    DIR = "dir"
    NATIVE = "native"
    LINK = "link"


@dataclass(frozen=True, slots=True)
class Entry:
    """What a path is: its kind and, for files, size, time and ETag."""

    kind: Kind
    size: int = 0
    mtime: float = 0.0  # the store's time (seconds)
    etag: str = ""
    #: The file's own time (ns) where its object carries one, else None.
    own_mtime_ns: int | None = None
    #: False for a file seen in a listing only (no metadata: its own time unknown).
    complete: bool = True
    #: A link's target, relative to the link's directory.
    target: str = ""
    #: The file's own permission bits where its object carries them, else None.
    own_mode: int | None = None

    def time_ns(self) -> int:
        """The modification time to show, in ns."""
        return self.own_mtime_ns if self.own_mtime_ns is not None else int(self.mtime * 1e9)


ROOT = Entry(Kind.DIR)


class Namespace:
    """The mapping from mount paths to ``(container, object name)`` and the
    remembered answers of the store. ``container`` None: the mount shows an account."""

    def __init__(self, store: Store, container: str | None, prefix: str, ttl: float = 1.0,
                 own_times: bool = True) -> None:
        self.store = store
        #: Files show their own times (False: the store's; see the module docstring).
        self.own_times = own_times
        self.container = container
        self.prefix = prefix.strip("/")
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Entry | None]] = {}
        self._listings: dict[str, tuple[float, dict[str, Entry]]] = {}
        self._order: dict[str, tuple[list[str], dict[str, int]]] = {}  # each listing's names, in order
        self._heading: dict[str, Future[Entry | None]] = {}  # completions under way
        #: Files unlinked while open: their objects stay until the last close,
        #: but the paths show nothing (``hide``).
        self._hidden: set[str] = set()
        self._heads: dict[str, tuple[float, ObjectInfo]] = {}  # HEAD answers of lookups
        # As many threads as HEAD_AHEAD: a round of completions is one round trip.
        self._pool = ThreadPoolExecutor(HEAD_AHEAD, thread_name_prefix="sciswift-ns")

    def own_time(self, metadata: dict[str, str]) -> int | None:
        """The file time ``metadata`` gives (ns), if files show their own times."""
        return parse_mtime(metadata) if self.own_times else None

    def file_entry(self, path: str, info: ObjectInfo, listed: bool = False) -> Entry:
        """The entry of object ``info`` at ``path``; ``listed``: it comes from a
        listing (no metadata)."""
        link = link_target(info)
        if link is not None:
            text = self.link_text(path, link, info.metadata)
            if text is not None:
                # (A listing without metadata lacks the text it was made with.)
                return Entry(Kind.LINK, 0, info.timestamp, info.etag, complete=not listed, target=text)
            # Out of the mount: the file it leads to, once a HEAD has followed it.
            return replace(file_entry(info), complete=False)
        entry = file_entry(info)
        if entry.kind is not Kind.FILE:
            return entry
        if listed:
            return replace(entry, complete=False) if self.own_times else entry
        return entry if self.own_times else replace(entry, own_mtime_ns=None)

    # ------------------------------------------------------------ addressing
    @staticmethod
    def split(path: str) -> list[str]:
        return [p for p in path.split("/") if p]

    def locate(self, path: str) -> tuple[str, str]:
        """``(container, key)`` of ``path``; key ``""`` is a container's root.
        ENOENT for the account root, which has no container."""
        parts = self.split(path)
        if self.container is None:
            if not parts:
                raise FSError(2, "the account root is not in a container")
            container, parts = parts[0], parts[1:]
        else:
            container = self.container
            if self.prefix:
                parts = [self.prefix, *parts]
        return container, "/".join(parts)

    def path_of(self, container: str, key: str) -> str | None:
        """The mount path of ``container/key`` (``locate``'s inverse), None where
        it is not in the mount or no path can name it."""
        if self.container is None:
            key = f"{container}/{key}"
        elif container != self.container:
            return None
        elif self.prefix:
            if not key.startswith(self.prefix + "/"):
                return None
            key = key[len(self.prefix) + 1:]
        parts = key.rstrip("/").split("/")
        if not all(_valid(p) for p in parts):
            return None
        return "/" + "/".join(parts)

    def link_text(self, path: str, link: LinkTarget, metadata: Mapping[str, str] | None = None) -> str | None:
        """What the link at ``path`` to ``link`` shows: the text it was made
        with (``LINK_TEXT_KEY`` of its ``metadata``) while that names its
        target from ``path``, else the target's path relative to the link's
        directory; None for a target out of the mount."""
        if link.account is not None or not link.name:
            return None
        where = self.path_of(link.container, link.name)
        if where is None:
            return None
        kept = (metadata or {}).get(LINK_TEXT_KEY)
        if kept:
            text = unquote(kept, errors="surrogateescape")
            if self.resolve(path, text) == where:
                return text
        return posixpath.relpath(where, posixpath.dirname(path) or "/")

    @staticmethod
    def resolve(path: str, text: str) -> str | None:
        """The mount path a link at ``path`` showing ``text`` (relative, or
        absolute from the mount's top) leads to, by name (``..`` takes away the
        name before it); None for one above the top or the top itself."""
        parts = [] if text.startswith("/") else Namespace.split(posixpath.dirname(path))
        for part in text.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    return None
                parts.pop()
            else:
                parts.append(part)
        return "/" + "/".join(parts) if parts else None

    def is_container_path(self, path: str) -> bool:
        return self.container is None and len(self.split(path)) == 1

    # ------------------------------------------------------------ remembered answers
    def note(self, path: str, entry: Entry | None) -> None:
        """Remember what ``path`` is (None: nothing) and fix its parent's listing."""
        now = time.monotonic()
        parent, _, name = path.rstrip("/").rpartition("/")
        parent = parent or "/"
        with self._lock:
            if entry is not None:
                self._hidden.discard(path)
            self._entries[path] = (now, entry)
            listing = self._listings.get(parent)
            if listing is not None:
                if entry is None:
                    listing[1].pop(name, None)
                else:
                    listing[1][name] = entry

    def hide(self, path: str) -> None:
        """Show nothing at ``path`` (until ``unhide`` or a new entry is noted)."""
        with self._lock:
            self._hidden.add(path)
        self.note(path, None)

    def unhide(self, path: str) -> None:
        with self._lock:
            self._hidden.discard(path)

    def forget(self, path: str) -> None:
        """Drop what is remembered about ``path`` and everything under it."""
        with self._lock:
            under = path.rstrip("/") + "/"
            # (the HEADs too: an open right after a rename onto ``path`` took the
            # HEAD of what the name held before it, and read that)
            for table in (self._entries, self._listings, self._order, self._heads):
                for p in [p for p in table if p == path or p.startswith(under)]:
                    del table[p]
            parent = path.rstrip("/").rpartition("/")[0] or "/"
            self._listings.pop(parent, None)
            self._order.pop(parent, None)

    # ------------------------------------------------------------ lookups
    def lookup(self, path: str) -> Entry:
        """What ``path`` is; FSError(ENOENT) if nothing."""
        if path == "/":
            return ROOT
        now = time.monotonic()
        parent, _, name = path.rpartition("/")
        parent = parent or "/"
        completing: Future[Entry | None] | None = None
        with self._lock:
            if path in self._hidden:
                raise FSError(2)
            hit = self._entries.get(path)
            if hit is not None and now - hit[0] < self.ttl:
                if hit[1] is None:
                    raise FSError(2)
                return hit[1]
            listing = self._listings.get(parent)
            if listing is not None and now - listing[0] < self.ttl:
                entry = listing[1].get(name)
                if entry is None:
                    raise FSError(2)
                if entry.complete:
                    return entry
                completing = self._complete(parent, name, listing[1])
        if completing is not None:
            found = completing.result()
        else:
            found = self._ask(path)
            self.note(path, found)
        if found is None:
            raise FSError(2)
        return found

    def _complete(self, parent: str, name: str, listing: dict[str, Entry]) -> Future[Entry | None]:
        """The entry of the listed file ``name`` with its own time: HEADs of it
        and of the next ``HEAD_AHEAD - 1`` incomplete files of ``listing`` (in
        its order), started now unless under way. Called with the lock held."""
        names, index = self._order.get(parent) or ([name], {name: 0})
        ahead = [name]
        for n in names[index.get(name, len(names)) + 1:]:
            if len(ahead) >= HEAD_AHEAD:
                break
            listed = listing.get(n)
            if listed is not None and not listed.complete:
                ahead.append(n)
        futures = {}
        for n in ahead:
            path = f"{parent.rstrip('/')}/{n}"
            fut = self._heading.get(path)
            if fut is None:
                fut = self._heading[path] = self._pool.submit(self._head_listed, path)
            futures[n] = fut
        return futures[name]

    def _head_listed(self, path: str) -> Entry | None:
        try:
            # The HEAD is kept for an open that follows at once (``fresh_head``):
            # a program listing a directory and opening its files makes one HEAD
            # per file, not two.
            entry = self._ask(path)
            self.note(path, entry)
            return entry
        finally:
            with self._lock:
                self._heading.pop(path, None)

    def _ask(self, path: str) -> Entry | None:
        if self.is_container_path(path):
            try:
                cinfo = self.store.head_container(self.split(path)[0])
            except NotFound:
                return None
            return Entry(Kind.DIR, 0, cinfo.timestamp)
        container, key = self.locate(path)
        try:
            info = self.store.head_link(container, key)
            entry = self.file_entry(path, info)
            if entry.kind is Kind.LINK:
                return entry
            if link_target(info) is not None:  # a link out of the mount: what it leads to
                info = self.store.head_object(container, key)
                entry = self.file_entry(path, info)
        except NotFound:
            pass
        else:
            now = time.monotonic()
            with self._lock:
                if len(self._heads) > 1024:  # stats never followed by an open
                    for p in [p for p, (t, _) in self._heads.items() if now - t > 1.0]:
                        del self._heads[p]
                self._heads[path] = (now, info)
            return entry
        page = self.store.list_objects(container, ListingParams(prefix=key + "/", limit=1))
        if not page:
            return None
        return self._dir_entry(container, key)

    def fresh_head(self, path: str, max_age: float = 0.25) -> ObjectInfo | None:
        """The HEAD answer a lookup of ``path`` got less than ``max_age`` seconds
        ago (taken once: the open that follows the kernel's lookup uses it
        instead of asking again)."""
        with self._lock:
            hit = self._heads.pop(path, None)
        if hit is None or time.monotonic() - hit[0] > max_age:
            return None
        return hit[1]

    def _dir_entry(self, container: str, key: str) -> Entry:
        """The entry of a prefix with objects below it: a native file (shown with
        the time its root document was stored) or a directory.

        A prefix holding ``zarr.json`` is a native file unless it was made as a
        directory (its marker object ``key/``, which ``mkdir`` stores and
        ``sciswift.h5py`` never does): a Zarr store written through a mount
        (zarr-python, ``xarray.to_zarr``, ``cp -r`` or ``rsync`` of one) makes
        its directories first, and turned into a read-only file as soon as its
        root ``zarr.json`` was listed, so every later write into it failed with
        ENOTDIR."""
        try:
            marker = self.store.head_object(container, f"{key}/{NATIVE_MARKER}")
        except NotFound:
            return Entry(Kind.DIR)
        try:
            made = self.store.head_object(container, f"{key}/")
        except NotFound:
            return Entry(Kind.NATIVE, 0, marker.timestamp)
        if made.content_type == DIR_MARKER_TYPE:
            return Entry(Kind.DIR, 0, made.timestamp)
        return Entry(Kind.NATIVE, 0, marker.timestamp)

    def listdir(self, path: str) -> dict[str, Entry]:
        """The entries of directory ``path`` (from the store, or remembered)."""
        now = time.monotonic()
        with self._lock:
            listing = self._listings.get(path)
            if listing is not None and now - listing[0] < self.ttl:
                return dict(listing[1])
        entries = dict(self._list(path))
        with self._lock:
            under = path.rstrip("/") + "/"
            for hidden in self._hidden:
                if hidden.startswith(under) and "/" not in hidden[len(under):]:
                    entries.pop(hidden[len(under):], None)
            names = list(entries)
            self._listings[path] = (time.monotonic(), entries)
            self._order[path] = (names, {n: i for i, n in enumerate(names)})
        return dict(entries)

    def _list(self, path: str) -> Iterator[tuple[str, Entry]]:
        if self.container is None and path == "/":
            marker = ""
            while True:
                containers = self.store.list_containers(ListingParams(marker=marker, limit=_PAGE))
                for c in containers:
                    if isinstance(c, ContainerInfo):
                        yield c.name, Entry(Kind.DIR, 0, c.timestamp)
                if len(containers) < _PAGE:
                    return
                marker = containers[-1].name
        container, key = self.locate(path)
        prefix = f"{key}/" if key else ""
        files: dict[str, Entry] = {}
        dirs: list[str] = []
        marker = ""
        # Where listings carry metadata (sciswift serve, local stores), listed files
        # are complete: their own times come with them, no HEADs.
        with_meta = self.own_times and self.store.listing_metadata
        while True:
            page = self.store.list_objects(container, ListingParams(prefix=prefix, delimiter="/", marker=marker,
                                                                    limit=_PAGE, metadata=with_meta))
            for item in page:
                rest = item.name[len(prefix):]
                if isinstance(item, Subdir) or rest.endswith("/"):
                    name = rest[:-1]
                    if _valid(name) and name not in dirs:
                        dirs.append(name)
                elif _valid(rest) and isinstance(item, ObjectInfo):
                    files[rest] = self.file_entry(f"{path.rstrip('/')}/{rest}", item, listed=not with_meta)
            if len(page) < _PAGE:
                break
            marker = page[-1].name
        # A file and a directory of one name: the file is shown.
        dirs = [d for d in dirs if d not in files]
        below = list(self._pool.map(lambda d: self._dir_entry(container, prefix + d), dirs))
        yield from files.items()
        yield from zip(dirs, below)


def _valid(name: str) -> bool:
    # Names a directory entry cannot have (an object "a//b" or "a/./b").
    return bool(name) and "/" not in name and name not in (".", "..")


def file_entry(info: ObjectInfo) -> Entry:
    if info.content_type == DIR_MARKER_TYPE and info.name.endswith("/"):
        return Entry(Kind.DIR, 0, info.timestamp)
    return Entry(Kind.FILE, content_size(info), info.timestamp, content_etag(info), parse_mtime(info.metadata),
                 own_mode=parse_mode(info.metadata))
