"""The live state of one mount: open files, pending data, and the operations the
file system answers, in store terms. ``sciswift.mount.fs`` is the thin FUSE glue
over this; everything here is plain Python, callable from any thread.

Consistency is NFS's close-to-open rule:

- ``open`` asks the store for the current version (one HEAD, plus the manifest of
  a large object); if its ETag is the one the kernel's page cache holds, the
  cached pages are kept, otherwise they are dropped;
- ``close`` (``flush``) and ``fsync`` of a descriptor that may have written make
  the file's content durable in the store before returning, replacing the object
  atomically; a failure is ``EIO`` for the program, a log line, and the data
  stays pending (retried in the background and at unmount).
"""

from __future__ import annotations

import errno
import hashlib
import json
import mimetypes
import os
import stat
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from sciswift.errors import ContainerNotEmpty, NotFound, NotSupported, SciSwiftError
from sciswift.mount import filemode
from sciswift.mount.cache import BlockCache
from sciswift.mount.config import MountConfig
from sciswift.mount.counting import CountingStore
from sciswift.mount.errors import FSError, log
from sciswift.mount.layout import SegmentPlan, Version
from sciswift.mount.mtime import META_KEY, format_mtime
from sciswift.mount.namespace import DIR_MARKER_TYPE, LINK_TEXT_KEY, Entry, Kind, Namespace
from sciswift.mount.native import NativeHandle, NativeViews
from sciswift.mount.openfile import FileState
from sciswift.mount.reader import Fetcher, ReadAhead
from sciswift.mount.uploader import Uploader
from sciswift.store import ListingParams, ObjectInfo, Store
from sciswift.store.large import content_etag, is_large_object, segments_container
from sciswift.store.links import LinkTarget, link_target
from sciswift.store.names import (
    MAX_META_COUNT,
    MAX_META_NAME_LENGTH,
    MAX_META_OVERALL_SIZE,
    MAX_META_VALUE_LENGTH,
    check_object_name,
)

__all__ = ["Session", "Handle", "CONTROL_PREFIX"]

#: fallocate(2)'s flag that keeps the file's size (linux/falloc.h).
FALLOC_FL_KEEP_SIZE = 0x01
#: Most bytes one copy_file_range copies through the mount (the caller loops).
COPY_STEP = 64 << 20

#: Extended attributes of the mount's root that talk to the mount itself
#: (``sciswift umount`` uses them): ``user.sciswift.pending`` (read: JSON of the
#: files with unwritten data), ``user.sciswift.flush`` (write: commit them all),
#: ``user.sciswift.pid`` and ``user.sciswift.stats``.
CONTROL_PREFIX = "user.sciswift."
RETRY_INTERVAL = 10.0
#: libfuse renames a file unlinked while open to ``.fuse_hidden<number>`` in its
#: directory (``hard_remove`` off) and unlinks that name at the last close.
HIDDEN_PREFIX = ".fuse_hidden"


def _hidden_name(path: str) -> bool:
    return path.rpartition("/")[2].startswith(HIDDEN_PREFIX)


@dataclass
class Handle:
    """One open descriptor."""

    path: str
    writable: bool
    state: FileState | None = None
    native: NativeHandle | None = None
    ahead: ReadAhead = field(default_factory=ReadAhead)


class Session:
    """See the module docstring."""

    def __init__(self, store: Store, container: str | None, prefix: str, config: MountConfig) -> None:
        self.op_counts: Counter[str] = Counter()  # FUSE requests by operation (fs counts them)
        self.fuse_threads: set[int] = set()  # the threads that have served them (fs notes them)
        self.counter = CountingStore(store)
        store = cast(Store, self.counter)
        self.store = store
        self.config = config
        self.ns = Namespace(store, container, prefix, ttl=config.ttl, own_times=not config.server_times)
        self.cache = BlockCache(config.cache_dir, config.cache_size)
        self.fetcher = Fetcher(store, self.cache, block_size=config.block_size)
        self.uploader = Uploader(store, self.fetcher, segment_size=config.segment_size)
        self.natives = NativeViews(store, config.url, ttl=config.ttl)
        self.staging_dir = config.cache_dir / "staging"
        self._lock = threading.RLock()
        self.states: dict[str, FileState] = {}
        #: Files unlinked while open, by the name libfuse gave them (see
        #: ``HIDDEN_PREFIX``): a name in this mount only, never in the store, so
        #: that the kernel can still ask for their attributes (``fstat``, and
        #: the security lookup before every write) until the last close.
        self._hidden: dict[str, FileState] = {}
        self.handles: dict[int, Handle] = {}
        self._next_fh = 1
        self._kernel_etag: dict[str, str] = {}  # what the page cache holds per path
        self.uid, self.gid = os.getuid(), os.getgid()
        #: The time shown for directories the store keeps no time for (the top of
        #: the mount, prefixes without a marker object): when the mount started.
        self.started_ns = time.time_ns()
        self._stop = threading.Event()
        self._retrier = threading.Thread(target=self._retry_loop, name="sciswift-retry", daemon=True)
        self._retrier.start()
        self._statfs: tuple[float, int] = (0.0, 0)

    # ------------------------------------------------------------ helpers
    def _version(self, container: str, key: str, info: ObjectInfo | None = None) -> Version:
        """The stored version of ``container/key`` (NotFound if none)."""
        info = info or self.store.head_object(container, key)
        if is_large_object(info):
            segments = self.store.get_manifest(container, key, head=info)
            if segments is None:  # replaced by an ordinary object since that HEAD
                return self._version(container, key)
            return Version.segmented(container, key, content_etag(info), info.timestamp, segments,
                                     info.content_type, info.metadata)
        return Version.single(container, key, info.etag, info.size, info.timestamp,
                              info.content_type, info.metadata)

    def _check_writable(self) -> None:
        if self.config.read_only:
            raise FSError(errno.EROFS)

    def _key(self, path: str) -> tuple[str, str]:
        container, key = self.ns.locate(path)
        if not key:
            raise FSError(errno.EISDIR)
        check_object_name(key)
        return container, key

    @staticmethod
    def _check_new_name(path: str) -> None:
        """ENAMETOOLONG for a name longer than 255 bytes, as every Linux file
        system has it (``statfs`` says so too); longer names made by other
        clients are still shown."""
        if len(path.rpartition("/")[2].encode("utf-8", "surrogateescape")) > 255:
            raise FSError(errno.ENAMETOOLONG)

    def _new_fh(self, handle: Handle) -> int:
        with self._lock:
            fh = self._next_fh
            self._next_fh += 1
            self.handles[fh] = handle
            return fh

    def handle(self, fh: int) -> Handle:
        try:
            return self.handles[fh]
        except KeyError:
            raise FSError(errno.EBADF) from None

    def _state_entry(self, state: FileState) -> Entry:
        with state.lock:
            return Entry(Kind.FILE, state.size, state.mtime, state.base.etag if state.base else "",
                         self.ns.own_time(state.metadata), own_mode=filemode.parse_mode(state.metadata))

    def _state_of(self, path: str) -> FileState | None:
        """The state of the file open at ``path``: by its name, or by the hidden
        name libfuse gave it when it was unlinked while open."""
        with self._lock:
            return self.states.get(path) or self._hidden.get(path)

    # ------------------------------------------------------------ attributes
    def stat(self, path: str) -> dict[str, int]:
        state = self._state_of(path)
        if state is None and _hidden_name(path):
            raise FSError(errno.ENOENT)  # (libfuse looks for a free hidden name: no HEAD)
        entry = self._state_entry(state) if state is not None else self.ns.lookup(path)
        ro = self.config.read_only
        if entry.kind is Kind.DIR:
            mode, size, nlink = stat.S_IFDIR | (0o555 if ro else 0o755), 0, 2
        elif entry.kind is Kind.LINK:
            mode, size, nlink = stat.S_IFLNK | 0o777, len(os.fsencode(entry.target)), 1
        else:
            size = entry.size
            if entry.kind is Kind.NATIVE:
                container, key = self.ns.locate(path)
                size = self.natives.size(container, key, path)
                mode = stat.S_IFREG | 0o444
            else:
                bits = filemode.DEFAULT if entry.own_mode is None else entry.own_mode
                mode = stat.S_IFREG | (bits & ~0o222 if ro else bits)
            nlink = 1
        ns_time = entry.time_ns() or self.started_ns
        return {
            "st_mode": mode, "st_nlink": nlink, "st_size": size, "st_uid": self.uid, "st_gid": self.gid,
            "st_mtime": ns_time, "st_ctime": ns_time, "st_atime": ns_time,
            "st_blocks": (size + 511) // 512, "st_blksize": 1 << 20,
        }

    def readdir(self, path: str) -> list[str]:
        entries = self.ns.listdir(path)
        names = set(entries)
        prefix = path.rstrip("/") + "/"
        with self._lock:
            for p, state in self.states.items():
                if p.startswith(prefix) and "/" not in p[len(prefix):] and not state.unlinked:
                    names.add(p[len(prefix):])
        return sorted(names)

    def statfs(self) -> dict[str, int]:
        when, used = self._statfs
        if time.monotonic() - when > 5:
            try:
                if self.ns.container is None:
                    used = self.store.account_info().bytes_used
                else:
                    used = self.store.head_container(self.ns.container).bytes_used
            except (SciSwiftError, OSError) as exc:
                log.warning("statfs: cannot ask the store (%s)", exc)
            self._statfs = (time.monotonic(), used)
        bsize = 1 << 20
        total = 1 << 30  # blocks: 1 PiB, an object store's "unlimited"
        used_blocks = min(total, (used + bsize - 1) // bsize)
        return {"f_bsize": bsize, "f_frsize": bsize, "f_blocks": total, "f_bfree": total - used_blocks,
                "f_bavail": total - used_blocks, "f_files": 1 << 40, "f_ffree": 1 << 40, "f_namemax": 255}

    # ------------------------------------------------------------ open / create
    def open(self, path: str, flags: int) -> tuple[int, bool]:
        """A descriptor for ``path`` and whether the kernel may keep its cached pages."""
        writable = (flags & os.O_ACCMODE) != os.O_RDONLY
        if writable or flags & os.O_TRUNC:
            self._check_writable()
        # A state is claimed (its ``opens`` raised) while ``_lock`` is held, the
        # lock ``_drop_if_idle`` takes: the release of the descriptor a program
        # just closed reaches us after its close returned, maybe while this open
        # runs, and must not drop the state this open goes on with (it did: a
        # rewrite with O_TRUNC then saw the old size, and HDF5 its old superblock).
        state = self._claim(path)
        if state is None:
            entry = self.ns.lookup(path)
            if entry.kind is Kind.NATIVE:
                if writable:
                    raise FSError(errno.EACCES)
                container, key = self.ns.locate(path)
                native, same = self.natives.open(container, key, path)
                return self._new_fh(Handle(path, False, native=native)), same
            if entry.kind is Kind.DIR:
                raise FSError(errno.EISDIR)
            if entry.kind is Kind.LINK:  # the kernel follows links; this one was not
                raise FSError(errno.ELOOP)
            container, key = self._key(path)
            try:
                # The kernel looked the name up just before this open; that HEAD
                # (a fraction of a second old) is the revalidation.
                version = self._version(container, key, self.ns.fresh_head(path))
            except NotFound:
                self.ns.note(path, None)
                raise FSError(errno.ENOENT) from None
            with self._lock:
                state = self.states.get(path)  # another opener may have won
                if state is None:
                    state = self._make_state(path, container, key, version)
                with state.lock:
                    state.opens += 1
            self.ns.note(path, Entry(Kind.FILE, version.size, version.mtime, version.etag,
                                     self.ns.own_time(version.metadata),
                                     own_mode=filemode.parse_mode(version.metadata)))
        else:
            try:
                self._revalidate(state)
            except BaseException:
                self._unclaim(state)
                raise
        if flags & os.O_TRUNC:
            state.truncate(0)
        with state.lock:
            etag = state.base.etag if state.base is not None else None
        # Truncated, the file is no longer what the kernel's pages hold.
        keep = etag is not None and self._kernel_etag.get(path) == etag and not flags & os.O_TRUNC
        if etag is not None:
            self._kernel_etag[path] = etag
        if not keep and not writable:
            # A file opened to be read is read from its start first (HDF5 reads
            # its superblock there): those blocks are on the way before the first
            # read arrives.
            with state.lock:
                base = state.base if not state.dirty else None
            if base is not None:
                self.fetcher.prefetch_head(base)
        return self._new_fh(Handle(path, writable, state=state)), keep

    def _claim(self, path: str) -> FileState | None:
        """The state of ``path`` with one more open counted, or None."""
        with self._lock:
            state = self.states.get(path)
            if state is not None:
                with state.lock:
                    state.opens += 1
            return state

    def _unclaim(self, state: FileState) -> None:
        """Undo ``_claim`` for an open that failed."""
        with state.lock:
            state.opens -= 1
        self._drop_if_idle(state)

    def _make_state(self, path: str, container: str, key: str, version: Version | None) -> FileState:
        guessed = mimetypes.guess_type(key)[0] or "application/octet-stream"
        state = FileState(path, container, key, version, staging_dir=self.staging_dir,
                          segment_size=self.config.segment_size, content_type=guessed)
        self.states[path] = state
        return state

    def _revalidate(self, state: FileState) -> None:
        """Close-to-open for a file this mount already holds: a clean one follows
        the store; one with local changes keeps them."""
        with state.lock:
            if state.dirty or not state.in_store or state.meta_changed or state.unlinked:
                return
            known = state.base.etag if state.base else None
        try:
            version = self._version(state.container, state.name)
        except NotFound:
            return  # deleted elsewhere; open descriptors keep reading what they had
        if version.etag != known:
            with state.lock:
                if not state.dirty and state.in_store and not state.meta_changed:
                    state.base = version
                    state.size = state.base_limit = version.size
                    state.metadata = dict(version.metadata)
                    state.plan = SegmentPlan.for_version(version, self.config.segment_size)
                    state.empty_staging()

    def create(self, path: str, mode: int = filemode.DEFAULT) -> int:
        """Create the file ``path`` with permission bits ``mode`` (the umask
        applied) and open it for writing."""
        self._check_new_name(path)
        self._check_writable()
        container, key = self._key(path)
        bits = mode & filemode.BITS
        with self._lock:
            state = self.states.get(path)
            if state is None or state.unlinked:
                state = self._make_state(path, container, key, None)
            with state.lock:
                state.opens += 1  # under _lock: see open
                if bits != filemode.DEFAULT:
                    state.metadata[filemode.META_KEY] = filemode.format_mode(bits)
                    state.meta_changed = True
        state.truncate(0)
        self.ns.note(path, Entry(Kind.FILE, 0, time.time(), own_mode=filemode.parse_mode(state.metadata)))
        return self._new_fh(Handle(path, True, state=state))

    # ------------------------------------------------------------ data
    def read(self, fh: int, offset: int, size: int) -> bytes:
        h = self.handle(fh)
        if h.native is not None:
            return self.natives.read(h.native, offset, size, h.path)
        assert h.state is not None
        return h.state.read(self.fetcher, offset, size, h.ahead)

    def write(self, fh: int, data: bytes, offset: int) -> int:
        h = self.handle(fh)
        if not h.writable or h.state is None:
            raise FSError(errno.EBADF)
        ready = h.state.write(offset, data)
        if ready:
            self.uploader.upload_early(h.state, ready)
        return len(data)

    def truncate(self, path: str, length: int) -> None:
        self._check_writable()
        state = self._state_of(path)
        if state is not None:
            state.truncate(length)
            return
        # truncate(2) of a file nobody has open: an open, a truncate and a close.
        fh, _ = self.open(path, os.O_WRONLY)
        try:
            self.handle(fh).state.truncate(length)  # type: ignore[union-attr]
            self.flush(fh)
        finally:
            self.release(fh)

    def fallocate(self, fh: int, mode: int, offset: int, length: int) -> None:
        """fallocate(2) on the open file ``fh``. Mode 0 makes the file at least
        ``offset + length`` bytes long (the new bytes read as zeros, as after
        ``truncate``); ``FALLOC_FL_KEEP_SIZE`` alone changes nothing (an object
        store has no space to reserve ahead); punching, zeroing, collapsing or
        inserting ranges is EOPNOTSUPP, which programs take as "not on this
        file system" (glibc's ``posix_fallocate`` then writes zeros itself)."""
        h = self.handle(fh)
        if not h.writable or h.state is None:
            raise FSError(errno.EBADF)
        if offset < 0 or length <= 0:
            raise FSError(errno.EINVAL)
        if mode & ~FALLOC_FL_KEEP_SIZE:
            raise FSError(errno.EOPNOTSUPP)
        self._check_writable()
        if mode & FALLOC_FL_KEEP_SIZE:
            return
        with h.state.lock:
            grows = offset + length > h.state.size
        if grows:
            h.state.truncate(offset + length)

    def copy_file_range(self, fh_in: int, off_in: int, fh_out: int, off_out: int, size: int) -> int:
        """copy_file_range(2) from the open file ``fh_in`` into ``fh_out``; bytes
        copied. A whole stored file copied into an empty one (``cp``: both
        offsets 0, the length at least the file's) is copied by the store
        (``Uploader.copy_in``): stored when this returns, its bytes never
        passing through the mount. Anything else (and a copy the store
        refuses) is copied here, up to ``COPY_STEP`` bytes per call, as reads
        of the one and writes into the other: the kernel's own fallback would
        send them through FUSE a few pages at a time."""
        src_h, dst_h = self.handle(fh_in), self.handle(fh_out)
        if not dst_h.writable or dst_h.state is None:
            raise FSError(errno.EBADF)
        if off_in < 0 or off_out < 0:
            raise FSError(errno.EINVAL)
        self._check_writable()
        src, dst = src_h.state, dst_h.state
        if src is not None and src is not dst and off_in == 0 and off_out == 0:
            copied = self._copy_whole(src, dst, size)
            if copied is not None:
                return copied
        done = 0
        while done < min(size, COPY_STEP):
            data = self.read(fh_in, off_in + done, min(size - done, COPY_STEP - done, 8 << 20))
            if not data:
                break
            self.write(fh_out, data, off_out + done)
            done += len(data)
        return done

    def _copy_whole(self, src: FileState, dst: FileState, size: int) -> int | None:
        """``src`` copied into ``dst`` by the store, if ``src`` is stored as it
        is, ``size`` covers it and ``dst`` is empty; None if not (or the store
        refused: ``dst`` is then as it was)."""
        with src.lock:
            length = src.size
            source = src.base
        if source is None or not length or size < length or src.needs_commit() or source.size != length:
            return None
        with dst.lock:
            if dst.size or dst.dirty or dst.eager or dst.unlinked or dst.broken:
                return None
        try:
            same = self.uploader.copy_in(dst, source)
        except (SciSwiftError, OSError) as exc:
            log.info("copy of %s into %s through the mount: the store did not copy it (%s)",
                     src.path, dst.path, exc)
            return None
        self._stored(dst)
        if not same:
            log.warning("ESTALE copying %s into %s: it changed in the store while open; %s holds its new "
                        "content", src.path, dst.path, dst.path)
            raise FSError(errno.ESTALE)
        return length

    def _stored(self, state: FileState) -> None:
        """``state`` was just stored: what the namespace and the page cache
        learn from that."""
        self._replaced_hidden(state.path)
        with state.lock:
            etag = state.base.etag if state.base else None
        if etag is not None and self.states.get(state.path) is state:
            self._kernel_etag[state.path] = etag
            self.ns.note(state.path, self._state_entry(state))

    def _commit(self, state: FileState) -> None:
        try:
            if self.uploader.commit(state):
                self._stored(state)
        except (SciSwiftError, OSError) as exc:
            log.error("EIO close %s: the content could not be stored (%s); it stays pending and "
                      "is retried", state.path, exc)
            raise FSError(errno.EIO) from None

    def flush(self, fh: int) -> None:
        h = self.handle(fh)
        if h.writable and h.state is not None:
            self._refuse_broken(h.state)
            if h.state.needs_commit():
                self._commit(h.state)

    def fsync(self, fh: int) -> None:
        h = self.handle(fh)
        if h.state is not None:
            self._refuse_broken(h.state)
            if h.state.needs_commit():
                self._commit(h.state)

    @staticmethod
    def _refuse_broken(state: FileState) -> None:
        if state.broken:
            log.error("EIO close %s: not stored because %s; the stored object is unchanged",
                      state.path, state.broken)
            raise FSError(errno.EIO)

    def release(self, fh: int) -> None:
        with self._lock:
            h = self.handles.pop(fh, None)
        if h is None:
            return
        if h.native is not None:
            self.natives.release(h.native)
            return
        state = h.state
        assert state is not None
        with state.lock:
            state.opens -= 1
            last = state.opens == 0
            doomed = None
            if last:
                doomed, state.delete_at_close = state.delete_at_close, None
        if not last:
            return
        if doomed is not None:
            self._delete_unlinked(state.path, *doomed)
        if state.needs_commit() and h.writable:
            try:
                self._commit(state)
            except FSError:
                return  # kept pending (logged)
        self._drop_if_idle(state)

    def _delete_unlinked(self, path: str, container: str, key: str, etag: str) -> None:
        """Delete the object of a file unlinked while open, unless it is no longer
        that object (written again meanwhile, here or elsewhere)."""
        try:
            info = self.store.head_object(container, key)
            if content_etag(info) == etag:
                self._delete_file(container, key, head=info)
        except NotFound:
            pass
        except SciSwiftError as exc:
            log.error("%s/%s was unlinked but could not be deleted at its last close: %s", container, key, exc)
        finally:
            self.ns.unhide(path)

    def _drop_if_idle(self, state: FileState) -> None:
        with self._lock, state.lock:
            if state.opens or state.needs_commit():
                return
            if self.states.get(state.path) is state:
                del self.states[state.path]
            state.discard()

    # ------------------------------------------------------------ namespace changes
    def unlink(self, path: str) -> None:
        self._check_writable()
        with self._lock:
            if self._hidden.pop(path, None) is not None:
                return  # libfuse's hidden name, at the last close: nothing in the store
            state = self.states.pop(path, None)
        in_store = True
        if state is not None:
            with state.lock:
                state.unlinked = True
                in_store = state.in_store
                if state.opens and in_store and state.base is not None:
                    # Open descriptors go on reading the file (POSIX): its object
                    # is deleted at the last close (``release``), as NFS does
                    # with its .nfs files.
                    state.delete_at_close = (state.container, state.name, state.base.etag)
                    in_store = False
                    self.ns.hide(path)
            self.uploader.drop_early(state)
            if not state.opens:
                state.discard()
        entry = None if state is not None else self.ns.lookup(path)
        if entry is not None and entry.kind is Kind.NATIVE:
            container, key = self.ns.locate(path)
            names = list(self.store.iter_names(container, key + "/"))
            self.store.delete_many(container, names)
        elif entry is not None and entry.kind is Kind.DIR:
            raise FSError(errno.EISDIR)
        elif entry is not None and entry.kind is Kind.LINK:
            self.store.delete_link(*self._key(path))
        elif in_store:
            container, key = self._key(path)
            try:
                self._delete_file(container, key)
            except NotFound:
                if state is None:
                    raise
        self.ns.note(path, None)
        self._kernel_etag.pop(path, None)

    def _delete_file(self, container: str, key: str, head: ObjectInfo | None = None) -> None:
        """Delete an object, and the segments of a large one that live where this
        mount (and ``swift upload``) puts them (``head``: its HEAD, if the caller
        has one)."""
        segments = self.store.get_manifest(container, key, head=head)
        self.store.delete_object(container, key)
        if segments:
            # (an object appears once per range of it the file uses)
            ours = list(dict.fromkeys(s.name for s in segments if s.container == segments_container(container)))
            if ours:
                self.store.delete_many(segments_container(container), ours)

    def _refuse_existing(self, path: str) -> None:
        """EEXIST if the store (or what is remembered of it) has something at ``path``."""
        try:
            self.ns.lookup(path)
        except FSError as exc:
            if exc.errno != errno.ENOENT:
                raise
            return
        raise FSError(errno.EEXIST)

    def mkdir(self, path: str) -> None:
        self._check_new_name(path)
        self._check_writable()
        if self.ns.is_container_path(path):
            if not self.store.create_container(self.ns.split(path)[0]):
                raise FSError(errno.EEXIST)
        else:
            self._refuse_existing(path)
            container, key = self._key(path)
            self.store.put_object(container, key + "/", b"", content_type=DIR_MARKER_TYPE)
        self.ns.note(path, Entry(Kind.DIR, 0, time.time()))

    def rmdir(self, path: str) -> None:
        self._check_writable()
        entry = self.ns.lookup(path)
        if entry.kind is not Kind.DIR:
            raise FSError(errno.ENOTDIR)
        prefix = path.rstrip("/") + "/"
        with self._lock:
            if any(p.startswith(prefix) and not s.unlinked for p, s in self.states.items()):
                raise FSError(errno.ENOTEMPTY)
        if self.ns.is_container_path(path):
            try:
                self.store.delete_container(self.ns.split(path)[0])
            except ContainerNotEmpty:
                raise FSError(errno.ENOTEMPTY) from None
        else:
            container, key = self._key(path)
            page = self.store.list_objects(container, ListingParams(prefix=key + "/", limit=2))
            if any(o.name != key + "/" for o in page):
                raise FSError(errno.ENOTEMPTY)
            try:
                self.store.delete_object(container, key + "/")
            except NotFound:
                pass
        self.ns.forget(path)
        self.ns.note(path, None)

    def rename(self, old: str, new: str) -> None:
        self._check_new_name(new)
        self._check_writable()
        if old == new:
            return
        if _hidden_name(new):
            self._hide_open(old, new)
            return
        with self._lock:
            state = self.states.get(old)
        entry = self._state_entry(state) if state is not None else self.ns.lookup(old)
        try:
            target: Entry | None = self.ns.lookup(new)
        except FSError:
            target = None
        if entry.kind in (Kind.FILE, Kind.LINK):
            if target is not None and target.kind not in (Kind.FILE, Kind.LINK):
                raise FSError(errno.EISDIR)
            self._rename_file(old, new, state)
            self._replaced_hidden(new)
        else:
            if new.startswith(old.rstrip("/") + "/"):
                raise FSError(errno.EINVAL)
            if target is not None and target.kind is Kind.FILE:
                raise FSError(errno.ENOTDIR)
            if target is not None and self.readdir(new):
                raise FSError(errno.ENOTEMPTY)
            self._rename_tree(old, new)
        self.ns.forget(old)
        self.ns.forget(new)

    def _hide_open(self, old: str, hidden: str) -> None:
        """libfuse's unlink of a file that is open (or that a rename replaces):
        the name goes at once, as ``unlink`` does it (the object at the last
        close), and the open file lives on under ``hidden`` in this mount only."""
        with self._lock:
            state = self.states.get(old)
        self.unlink(old)
        if state is not None:
            with self._lock:
                self._hidden[hidden] = state

    def _replaced_hidden(self, path: str) -> None:
        """The object at ``path`` was replaced (a rename onto it, or a new file
        of that name stored) while a file unlinked from there is still open
        (``_hide_open``): the object now there is not to be deleted at that
        file's last close (its ETag told them apart only when the contents did)."""
        with self._lock:
            hidden = list(self._hidden.values())
        if not hidden:  # (every commit asks: nearly always nothing to do)
            return
        key = self._key(path)
        for state in hidden:
            with state.lock:
                if state.delete_at_close is not None and state.delete_at_close[:2] == key:
                    state.delete_at_close = None
                    self.ns.unhide(path)

    def _rename_file(self, old: str, new: str, state: FileState | None) -> None:
        if state is not None and state.needs_commit():
            self._commit(state)
        src_c, src_k = self._key(old)
        dst_c, dst_k = self._key(new)
        self._move_object(src_c, src_k, dst_c, dst_k)
        with self._lock:
            if state is not None:
                self.states.pop(old, None)
                with state.lock:
                    state.path, state.container, state.name = new, dst_c, dst_k
                    if state.base is not None:
                        state.base = Version(dst_c, dst_k, state.base.etag, state.base.size, state.base.mtime,
                                             state.base.pieces, state.base.large, state.base.content_type,
                                             state.base.metadata)
                self.states[new] = state
            etag = self._kernel_etag.pop(old, None)
            if etag is not None:
                self._kernel_etag[new] = etag

    def _move_object(self, src_c: str, src_k: str, dst_c: str, dst_k: str) -> None:
        """Server-side copy then delete; a large object moves by its manifest, a
        link as a new link (``_moved_link``)."""
        info = self.store.head_link(src_c, src_k)
        link = link_target(info)
        if link is not None and link.account is None:
            target_c, target_k, text = self._moved_link(src_c, src_k, dst_c, dst_k, link, info.metadata)
            self.store.put_link(dst_c, dst_k, target_c, target_k, _text_metadata(text) if text else None)
            self.store.delete_link(src_c, src_k)
            return
        if link is not None:
            info = self.store.head_object(src_c, src_k)  # into another account: copied as what it leads to
        kept = self._time_kept(info)
        if is_large_object(info):
            segments = self.store.get_manifest(src_c, src_k, head=info) or []
            self.store.put_manifest(dst_c, dst_k, segments, content_type=info.content_type,
                                    metadata={**info.metadata, **kept})
            self.store.delete_manifest(src_c, src_k)
        else:
            self.store.copy_object(src_c, src_k, dst_c, dst_k, metadata=kept or None)
            self.store.delete_object(src_c, src_k)

    def _time_kept(self, info: ObjectInfo) -> dict[str, str]:
        """The metadata that keeps a moved file's modification time: a rename
        changes no file's time, but the copy is stored anew, so a file shown with
        its object's time (no ``X-Object-Meta-Mtime``) gets that time as its own
        (S3 endpoints round a copy's time up to the next second, in the future).
        Nothing with ``--server-times``, which shows the stores' times only."""
        if self.config.server_times or META_KEY in info.metadata:
            return {}
        return {META_KEY: format_mtime(int(info.timestamp * 1e9))}

    def _moved_link(self, src_c: str, src_k: str, dst_c: str, dst_k: str, link: LinkTarget,
                    metadata: dict[str, str]) -> tuple[str, str, str | None]:
        """``(container, key, text)`` of the link ``src_c/src_k`` moved to
        ``dst_c/dst_k``: its text kept, as a renamed POSIX link keeps it, and
        the object that text names from there (a relative link within a renamed
        directory still leads inside it); its old target and no text where no
        path names the link or what the text names from there."""
        old, new = self.ns.path_of(src_c, src_k), self.ns.path_of(dst_c, dst_k)
        text = self.ns.link_text(old, link, metadata) if old is not None else None
        where = self.ns.resolve(new, text) if new is not None and text is not None else None
        if where is None or self.ns.is_container_path(where):
            return link.container, link.name, None
        return (*self.ns.locate(where), text)

    def _rename_tree(self, old: str, new: str) -> None:
        prefix = old.rstrip("/") + "/"
        with self._lock:
            pending = [s for p, s in self.states.items() if p.startswith(prefix)]
        for state in pending:
            if state.needs_commit():
                self._commit(state)
        if self.ns.is_container_path(old) or self.ns.is_container_path(new):
            raise FSError(errno.EXDEV)  # containers are not renamed
        src_c, src_k = self.ns.locate(old)
        dst_c, dst_k = self.ns.locate(new)
        for info in list(self.store.iter_objects(src_c, src_k + "/")):
            rest = info.name[len(src_k):]
            self._move_object(src_c, info.name, dst_c, dst_k + rest)
        with self._lock:
            for p in [p for p in self.states if p.startswith(prefix)]:
                state = self.states.pop(p)
                rest = p[len(old.rstrip("/")):]
                state.path = new.rstrip("/") + rest
                state.container, state.name = self.ns.locate(state.path)
                self.states[state.path] = state

    # ------------------------------------------------------------ symbolic links
    def readlink(self, path: str) -> str:
        entry = self.ns.lookup(path)
        if entry.kind is not Kind.LINK:
            raise FSError(errno.EINVAL)
        return entry.target

    def symlink(self, path: str, text: str) -> None:
        """Make ``path`` a link showing ``text``: a Swift symlink to the object
        ``text`` names, relative to ``path``'s directory or, if absolute, below
        the mount point. EPERM for a target out of the mount (or the mount's
        top, or a container itself) and where the store keeps no links."""
        self._check_new_name(path)
        self._check_writable()
        with self._lock:
            state = self.states.get(path)
        if state is not None and not state.unlinked:
            raise FSError(errno.EEXIST)
        self._refuse_existing(path)
        mountpoint = str(self.config.mountpoint).rstrip("/") + "/"
        if text.startswith("/") and not text.startswith(mountpoint):
            raise FSError(errno.EPERM, f"{text} is not in the mount")
        where = self.ns.resolve(path, text[len(mountpoint) - 1:] if text.startswith("/") else text)
        if where is None or self.ns.is_container_path(where):
            raise FSError(errno.EPERM, f"{text} is not a path below the mount's top")
        container, key = self._key(path)
        target_container, target_key = self.ns.locate(where)
        try:
            # (An absolute text depends on where the store is mounted: not kept.)
            info = self.store.put_link(container, key, target_container, target_key,
                                       None if text.startswith("/") else _text_metadata(text))
        except NotSupported as exc:
            log.warning("symlink %s: %s", path, exc)
            raise FSError(errno.EPERM) from None
        self.ns.note(path, self.ns.file_entry(path, info))

    # ------------------------------------------------------------ extended attributes
    def _metadata(self, path: str) -> dict[str, str]:
        state = self._state_of(path)
        if state is not None:
            with state.lock:
                return dict(state.metadata)
        entry = self.ns.lookup(path)
        if entry.kind is not Kind.FILE:
            return {}
        container, key = self._key(path)
        return dict(self.store.head_object(container, key).metadata)

    def getxattr(self, path: str, name: str) -> bytes:
        if path == "/" and name.startswith(CONTROL_PREFIX):
            return self._control_get(name[len(CONTROL_PREFIX):])
        if not name.startswith("user."):
            raise FSError(errno.ENODATA)
        value = self._metadata(path).get(name[5:].lower())
        if value is None:
            raise FSError(errno.ENODATA)
        return value.encode("utf-8")

    def listxattr(self, path: str) -> list[str]:
        return [f"user.{k}" for k in sorted(self._metadata(path))]

    def setxattr(self, path: str, name: str, value: bytes, options: int) -> None:
        if path == "/" and name.startswith(CONTROL_PREFIX):
            self._control_set(name[len(CONTROL_PREFIX):], value)
            return
        self._check_writable()
        if not name.startswith("user."):
            raise FSError(errno.ENOTSUP)
        key = name[5:].lower()
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise FSError(errno.EINVAL, "Swift metadata values are UTF-8 text") from None
        if not key or any(c in key for c in ":\r\n\0 ") or any(c in text for c in "\r\n\0"):
            raise FSError(errno.EINVAL)
        if len(key.encode()) > MAX_META_NAME_LENGTH or len(value) > MAX_META_VALUE_LENGTH:
            raise FSError(errno.E2BIG)
        meta = self._metadata(path)
        if options & os.XATTR_CREATE and key in meta:
            raise FSError(errno.EEXIST)
        if options & os.XATTR_REPLACE and key not in meta:
            raise FSError(errno.ENODATA)
        meta[key] = text
        if len(meta) > MAX_META_COUNT or sum(len(k) + len(v.encode()) for k, v in meta.items()) > MAX_META_OVERALL_SIZE:
            raise FSError(errno.ENOSPC)
        self._set_metadata(path, meta)

    def removexattr(self, path: str, name: str) -> None:
        self._check_writable()
        if not name.startswith("user."):
            raise FSError(errno.ENODATA)
        meta = self._metadata(path)
        if meta.pop(name[5:].lower(), None) is None:
            raise FSError(errno.ENODATA)
        self._set_metadata(path, meta)

    def set_mtime(self, path: str, mtime_ns: int) -> None:
        """Keep ``mtime_ns`` as the file's modification time (``X-Object-Meta-Mtime``,
        see ``sciswift.mount.mtime``): with the content still to be stored, it
        goes with it; otherwise one POST. Directories and native files keep the
        store's times (the call succeeds, as ``chmod`` does)."""
        with self._lock:
            state = self.states.get(path)
            if path in self._hidden:
                return  # unlinked: its times go with it
        if self.config.server_times or (state is None and self.ns.lookup(path).kind is not Kind.FILE):
            self.stat(path)  # ENOENT for nothing there
            return
        self._keep_meta(path, state, META_KEY, format_mtime(mtime_ns), own_mtime_ns=mtime_ns)

    def set_mode(self, path: str, mode: int) -> None:
        """Keep the permission bits of ``mode`` as the file's (``X-Object-Meta-Mode``,
        see ``sciswift.mount.filemode``): with the content still to be stored,
        they go with it; otherwise one POST, none when the file shows those bits
        already. Directories, links and native files keep theirs (the call
        succeeds, as it did when no mode was kept)."""
        bits = mode & filemode.BITS
        with self._lock:
            state = self.states.get(path)
            if path in self._hidden:
                return  # unlinked: its mode goes with it
        shown = self.stat(path)  # ENOENT for nothing there
        if state is None and self.ns.lookup(path).kind is not Kind.FILE:
            return
        if stat.S_IMODE(shown["st_mode"]) == bits:
            return
        self._keep_meta(path, state, filemode.META_KEY, filemode.format_mode(bits), own_mode=bits)

    def _keep_meta(self, path: str, state: FileState | None, key: str, value: str, **known: Any) -> None:
        """Set the metadata ``key`` of the file ``path`` (open as ``state``, or
        not open) to ``value``: with the content if that is still to be stored,
        else by one POST; and remember it (``known``: the Entry fields it sets)."""
        self._check_writable()
        meta = self._metadata(path)
        meta[key] = value
        self._set_metadata(path, meta)
        if state is not None:
            # What is remembered of the path outlives the open file.
            self.ns.note(path, self._state_entry(state))
        else:
            # (lookup completes a listed file: its other fields are known)
            self.ns.note(path, replace(self.ns.lookup(path), complete=True, **known))

    def _set_metadata(self, path: str, meta: dict[str, str]) -> None:
        with self._lock:
            state = self.states.get(path)
        if state is None and self.ns.lookup(path).kind is not Kind.FILE:
            raise FSError(errno.ENOTSUP)
        if state is not None:
            with state.lock:
                state.metadata = dict(meta)
                if state.dirty or not state.in_store:
                    state.meta_changed = True
                    return
        container, key = self._key(path)
        self.store.post_object(container, key, metadata=meta)

    # ------------------------------------------------------------ control
    def pending(self) -> list[dict[str, object]]:
        """Files whose content is not (all) in the store yet."""
        with self._lock:
            states = list(self.states.values())
        out: list[dict[str, object]] = []
        for s in states:
            if s.needs_commit():
                out.append({"path": s.path, "bytes": s.pending_bytes, "open": s.opens, "error": s.failure})
        return out

    def flush_all(self) -> list[str]:
        """Commit every pending file; returns the paths that failed."""
        with self._lock:
            states = list(self.states.values())
        failed = []
        for s in states:
            if not s.needs_commit():
                continue
            try:
                self._commit(s)
            except FSError:
                failed.append(s.path)
                continue
            self._drop_if_idle(s)
        return failed

    def _control_get(self, name: str) -> bytes:
        if name == "pending":
            return json.dumps(self.pending()).encode()
        if name == "open":
            with self._lock:
                return json.dumps(sorted({h.path for h in self.handles.values()})).encode()
        if name == "pid":
            return str(os.getpid()).encode()
        if name == "stats":
            stats = dict(self.uploader.stats.as_dict())
            stats.update(bytes_fetched=self.fetcher.bytes_fetched, get_requests=self.fetcher.requests,
                         fills=self.fetcher.fills,
                         cache_bytes=self.cache.used, cache_limit=self.cache.limit)
            stats["store_calls"] = dict(self.counter.calls)  # type: ignore[assignment]
            stats["fuse_ops"] = dict(self.op_counts)  # type: ignore[assignment]
            stats["fuse_threads"] = len(self.fuse_threads)
            return json.dumps(stats).encode()
        raise FSError(errno.ENODATA)

    def _control_set(self, name: str, value: bytes) -> None:
        if name != "flush":
            raise FSError(errno.ENOTSUP)
        if self.flush_all():
            raise FSError(errno.EIO)

    def _retry_loop(self) -> None:
        # Commits that failed (store unreachable) are tried again in the background.
        while not self._stop.wait(RETRY_INTERVAL):
            with self._lock:
                failed = [s for s in self.states.values() if s.failure and not s.opens]
            for s in failed:
                try:
                    self._commit(s)
                    log.info("stored %s after an earlier failure", s.path)
                    self._drop_if_idle(s)
                except FSError:
                    pass

    def shutdown(self) -> None:
        """Commit what is pending (logging what cannot be), then stop. Safe to
        call twice (libfuse's destroy, then the daemon's own cleanup)."""
        if self._stop.is_set():
            return
        self._stop.set()
        pending = self.pending()
        if pending:
            log.info("stopping: storing %d file(s) with pending data", len(pending))
        failed = self.flush_all()
        for path in failed:
            state = self.states.get(path)
            where = state._staging_path if state is not None else None
            log.error("unmounted with unwritten data: %s (its bytes are kept in %s)", path, where)
        self.uploader.close()
        self.fetcher.close()
        self.cache.close()
        self.store.close()



def _text_metadata(text: str) -> dict[str, str]:
    """A link's metadata keeping its ``text`` (``LINK_TEXT_KEY``), where it fits
    Swift's limit on a value (else none: the link then shows a relative path)."""
    kept = quote(text, safe="/", errors="surrogateescape")
    return {LINK_TEXT_KEY: kept} if len(kept) <= MAX_META_VALUE_LENGTH else {}


def cache_dir_for(url: str, mountpoint: str) -> Path:
    """The default cache directory of one mount (stable across remounts)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sciswift" / "mount"
    digest = hashlib.sha1(f"{url}\0{os.path.abspath(mountpoint)}".encode()).hexdigest()[:16]
    return base / digest
