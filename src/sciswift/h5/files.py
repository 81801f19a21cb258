"""Opening files: names to stores, modes, the shared handle of an open file, and
the routing of single-object "blobs" to the format plugins.

A name is a URL (``swift://c/run1.h5``, ``memory://c/x``, ``file:///d/x.h5``) or a
local path. A native file is a prefix (or a whole container) holding a Zarr
hierarchy; a blob is one object (or, for a local path, one regular file) in some
other format, opened read-only through ``sciswift.formats``.

One file opened twice in a process shares one handle (as HDF5 shares one open
file), so both see the same metadata; closing any File object closes the file
for all, and h5py's objects from it become invalid.
"""

from __future__ import annotations

import atexit
import functools
import os
import posixpath
import queue
import shutil
import threading
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sciswift.errors import AlreadyExists, CorruptData, InvalidInput, NotFound, NotSupported, SciSwiftError
from sciswift.formats.confine import refuse_named_file
from sciswift.h5.backend import FileBackend
from sciswift.h5.base import ANON
from sciswift.h5.config import default_track_order
from sciswift.h5.group import Group

__all__ = [
    "File", "FileHandle", "set_path_resolver", "set_mount_resolver", "open_external", "open_address", "is_hdf5",
    "open_stored",
]

_MODES = {"r", "r+", "w", "w-", "x", "a"}

#: How plain paths become locations. None: the path is a LocalStore file. The
#: MemoryStore run of the h5py suite installs a resolver mapping paths to memory://.
_path_resolver: Callable[[str], str] | None = None


def set_path_resolver(fn: Callable[[str], str] | None) -> None:
    """Map plain paths to another URL (``fn(path) -> url``); None restores LocalStore."""
    global _path_resolver
    _path_resolver = fn


#: Plain paths under a mount of ``sciswift run`` (set by the compat router): their
#: store URL, None for any other path.
_mount_resolver: Callable[[str], str | None] | None = None


def set_mount_resolver(fn: Callable[[str], str | None] | None) -> None:
    """Open plain paths that ``fn`` maps to a URL as that URL (``fn`` returns None
    for paths it does not map); files then reach mounted paths named inside store
    files (absolute external links, virtual dataset sources) as the program's own
    ``h5py.File`` does. None removes the mapping."""
    global _mount_resolver
    _mount_resolver = fn


#: The user an ``_OpenFile`` has while it writes itself back (no handle has id 0).
_WRITING_BACK = 0


class _OpenFile:
    """What every FileHandle of one open file shares: the backend, the moves made
    through any of them, the lock, and which handles still use it. The backend is
    closed (metadata written) when the last handle is closed or dropped, as HDF5
    keeps a file open until its last file identifier is closed."""

    __slots__ = ("backend", "key", "lock", "renames", "discard", "users", "borrowed", "closed", "write_back",
                 "__weakref__")

    def __init__(self, backend: FileBackend, key: Any) -> None:
        self.backend = backend
        self.key = key
        self.lock = threading.RLock()
        #: (old path, new path) of every move made through any handle, in order.
        self.renames: list[tuple[str, str]] = []
        #: Delete everything at close (in-memory scratch files, driver="core").
        self.discard = False
        #: ids of the open handles (set.add/discard are atomic, also in finalisers).
        self.users: set[int] = set()
        #: ids of the handles among ``users`` that unpickling opened (h5.pickling),
        #: not the program: see ``only_borrowed``.
        self.borrowed: set[int] = set()
        self.closed = False
        #: Called before the backend closes (and on ``File.flush``): puts the file
        #: where its user expects it (a file-like object's bytes); None for most.
        self.write_back: Callable[[], None] | None = None

    def release(self, handle_id: int, *, finalising: bool = False) -> None:
        """One handle is done; the last one closes the file. From a finaliser the
        close is queued (it may run inside any lock of this very thread)."""
        self.users.discard(handle_id)
        self.borrowed.discard(handle_id)
        if self.users or self.closed:
            return
        if finalising:
            self.closed = True
            _DROPPED.put((self.key, self.backend, self.write_back, self.discard))
            return
        self.close()

    def only_borrowed(self) -> bool:
        """Whether every opening left is one that unpickling made (objects that
        travelled by address, h5.pickling), none the program made itself.

        Such openings are not the program's: dask.distributed keeps the tasks it
        unpickled (in the scheduler of a ``LocalCluster``, which runs in the
        client's process, and in its logs of recent messages) long after the
        computation, so the program has no way to close them. They must not keep
        the file open for the program, as xarray's file cache, shared by every
        unpickled copy, closes an h5netcdf file for all at ``Dataset.close()``."""
        return bool(self.users) and self.users <= self.borrowed

    def retire(self) -> None:
        """Leave the registry of open files without closing: the openings that
        hold this file keep reading what it was (as a reader in another process
        does), and the next opening of the file opens it anew."""
        with _OPEN_LOCK:
            if _OPEN.get(self.key) is self:
                del _OPEN[self.key]

    def close(self) -> None:
        """Close the backend now, whoever still holds a handle (exit, errors)."""
        with self.lock:
            if self.closed:
                return
            try:
                write_back, self.write_back = self.write_back, None
                guarded = None if write_back is None else functools.partial(self._write_back, write_back)
                _shut(self.backend, guarded, self.discard)
            finally:
                self.closed = True
                with _OPEN_LOCK:
                    if _OPEN.get(self.key) is self:
                        del _OPEN[self.key]


    def _write_back(self, write_back: Callable[[], None]) -> None:
        # The write-back reads the file through a handle of its own, which
        # shares this one: a user while it runs, so that its release does not
        # close the file under it.
        self.users.add(_WRITING_BACK)
        try:
            write_back()
        finally:
            self.users.discard(_WRITING_BACK)


class FileHandle:
    """One opening of a file (what an h5py file identifier is): every File object
    and member reached through it refers to it, and closing it invalidates them.
    Openings of the same file share one ``_OpenFile``, so closing one leaves the
    others usable."""

    def __init__(self, backend: FileBackend, key: Any, filename: str, display: str,
                 shared: _OpenFile | None = None, source: Any = None, borrowed: bool = False) -> None:
        """``borrowed``: opened by unpickling an object, not by the program
        (``_OpenFile.only_borrowed``)."""
        self._file = shared if shared is not None else _OpenFile(backend, key)
        if borrowed:
            self._file.borrowed.add(id(self))
        self._file.users.add(id(self))
        self.key = key
        self.filename = filename
        self.display = display
        #: Where the file is, for reopening it in another process (h5.pickling):
        #: its Location, a local path (a file opened as a blob), or None.
        self.source = source
        self.closed = False
        #: h5py's swmr_mode of this opening (a reader opened with swmr=True, or a
        #: writer that switched it on); sciswift readers follow writers with refresh().
        self.swmr = False

    @property
    def backend(self) -> FileBackend:
        return self._file.backend

    @property
    def lock(self) -> threading.RLock:
        return self._file.lock

    @property
    def renames(self) -> list[tuple[str, str]]:
        return self._file.renames

    @property
    def discard(self) -> bool:
        return self._file.discard

    @discard.setter
    def discard(self, value: bool) -> None:
        self._file.discard = value

    @property
    def mode(self) -> str:
        return "r+" if self.backend.writable else "r"

    def close(self) -> None:
        """Close this opening; the file itself closes with its last opening."""
        with self._file.lock:
            if self.closed:
                return
            self.closed = True
            self._file.release(id(self))

    def __del__(self) -> None:
        # A file dropped without close() still gets its metadata written once its
        # last opening is gone (queued, see _OpenFile.release).
        if not self.closed:
            self.closed = True
            self._file.release(id(self), finalising=True)


def _close_backend(backend: FileBackend) -> None:
    if backend.writable and backend.lookup(ANON) is not None:
        backend.delete(ANON)
    backend.close()


def _shut(backend: FileBackend, write_back: Callable[[], None] | None, discard: bool) -> None:
    """How an open file ends, closed or dropped: written back into what it
    stands for (``_OpenFile.write_back``), its backend closed, and its objects
    deleted if it is not kept (``_OpenFile.discard``)."""
    if write_back is not None:
        write_back()
    _close_backend(backend)
    if discard:
        kv = backend.h.kv  # type: ignore[attr-defined]
        kv.delete_many(kv.list_prefix(""))


_OPEN: weakref.WeakValueDictionary[Any, _OpenFile] = weakref.WeakValueDictionary()
_OPEN_LOCK = threading.RLock()
_DROPPED: queue.SimpleQueue[tuple[Any, FileBackend, Callable[[], None] | None, bool]] = queue.SimpleQueue()


def _close_dropped() -> None:
    """Close the files whose handles were garbage-collected while open."""
    while True:
        try:
            _, backend, write_back, discard = _DROPPED.get_nowait()
        except queue.Empty:
            return
        try:
            _shut(backend, write_back, discard)
        except Exception:  # noqa: BLE001 - the owner is gone; nobody to report to
            pass


@atexit.register
def _close_all() -> None:
    # Files left open at exit still get their metadata written, as HDF5 does.
    _close_dropped()
    for opened in list(_OPEN.values()):
        try:
            opened.close()
        except Exception:  # noqa: BLE001
            pass


def _filename(name: Any) -> str:
    if isinstance(name, bytes):
        return os.fsdecode(name)
    if isinstance(name, str):
        return name
    if hasattr(name, "__fspath__"):
        path = os.fspath(name)
        return os.fsdecode(path) if isinstance(path, bytes) else path
    raise TypeError(f"expected str, bytes or os.PathLike for the file name, not {type(name).__name__}")


def _store_key(location: Any) -> Any:
    store = location.store
    return (type(store).__name__, getattr(store, "url", "") or id(store), location.container, location.prefix)


def _location(filename: str, target: str, storage_options: dict[str, Any] | None = None) -> Any:
    """The Location ``target`` names (a new store object; OSError for bad names)."""
    from sciswift.store.url import is_url, parse_location

    # Local files are written without an fsync per object (as HDF5 writes) and made
    # durable with one sync at flush (NativeFile.flush).
    options = {} if is_url(target) and not target.startswith("file://") else {"durable": False}
    options.update(storage_options or {})
    try:
        return parse_location(target, **options)
    except InvalidInput as e:
        raise OSError(f"Unable to open file {filename!r}: {e}") from None


def _open_native(filename: str, location: Any, mode: str, root: bytes | None = None,
                 borrowed: bool = False) -> FileHandle:
    """``root``: the bytes of the file's root document, when already fetched.

    A file already open in this process is shared (as HDF5 shares it), except
    what only unpickled objects hold open (``borrowed`` openings, see
    ``_OpenFile.only_borrowed``): the program's own opening retires that from
    the registry and opens the file anew, so ``File(url, "a")`` after
    ``Dataset.close()`` writes, and a new opening sees the file as it is now.
    A borrowed opening never joins a file open for writing (its owner's close
    must write the metadata then, not when the last unpickled task is dropped):
    it gets a read-only opening of its own, as in another process."""
    from sciswift.engine.hierarchy import Hierarchy
    from sciswift.h5.native import NativeFile

    key = _store_key(location)
    with _OPEN_LOCK:
        existing = _OPEN.get(key)
        if existing is not None and not existing.closed and not borrowed and existing.only_borrowed():
            existing.retire()
            existing = None
    private = borrowed and existing is not None and not existing.closed and existing.backend.writable
    if existing is not None and not existing.closed and not private:
        location.store.close()  # the open file's own store serves
        if mode == "r" or (mode in ("r+", "a") and existing.backend.writable):
            return FileHandle(existing.backend, key, filename, location.display, existing, source=location,
                              borrowed=borrowed)
        if mode in ("r+", "a"):
            raise OSError(f"Unable to open file {filename!r} for writing: it is already open read-only")
        if mode in ("w-", "x"):
            raise FileExistsError(f"Unable to create file {filename!r}: file exists")
        raise OSError(f"Unable to create file {filename!r}: unable to truncate a file which is already open")
    try:
        hier = Hierarchy(location, mode, root=root)
    except NotFound:
        location.store.close()
        raise FileNotFoundError(2, f"Unable to synchronously open file (unable to open file: name = '{filename}', "
                                   "errno = 2, error message = 'No such file or directory')", filename) from None
    except AlreadyExists:
        location.store.close()
        raise FileExistsError(17, f"Unable to synchronously create file (unable to open file: name = '{filename}', "
                                  "errno = 17, error message = 'File exists')", filename) from None
    except CorruptData as e:
        # Damaged metadata: CorruptData is an OSError too, as h5py raises for a
        # damaged file, and keeps saying what it is to code that knows sciswift.
        location.store.close()
        raise CorruptData(f"Unable to open file {filename!r}: {e}", e.subject or location.display) from e
    except SciSwiftError as e:
        location.store.close()
        raise OSError(f"Unable to open file {filename!r}: {e}") from e
    handle = FileHandle(NativeFile(hier), key, filename, location.display, source=location, borrowed=borrowed)
    if not private:
        with _OPEN_LOCK:
            _OPEN[key] = handle._file
    return handle


def _is_file_object(name: Any) -> bool:
    """h5py's test for a file-like object given as the file."""
    return hasattr(name, "read") and hasattr(name, "seek")


def _open_file_object(fileobj: Any, mode: str) -> FileHandle:
    """Open a file-like object (an HDF5 file in memory, an fsspec or other
    Python file), as h5py's ``fileobj`` driver does. The object stays the
    caller's (not closed with the file); the file's name is its ``repr``, as in
    h5py. Read-only: through the format plugin its first bytes name. Writable
    (``_open_writable_file_object``): a native file in memory, written into the
    object as HDF5 on ``flush`` and at close."""
    from sciswift.formats import registry
    from sciswift.h5.nodetree import NodeFile

    filename = repr(fileobj)
    if mode != "r":
        return _open_writable_file_object(fileobj, filename, mode)
    try:
        fileobj.seek(0)
        head = fileobj.read(registry.HEAD_BYTES)
        fileobj.seek(0)
    except (OSError, ValueError) as e:
        raise OSError(f"Unable to open {filename}: the file-like object cannot be read from its start ({e})") from e
    if not isinstance(head, (bytes, bytearray, memoryview)):
        raise TypeError(f"{filename} is not a binary file object (read() returned {type(head).__name__}, not bytes)")
    try:
        plugin = registry.detect(filename, bytes(head))
    except NotSupported as e:  # what h5py raises for bytes that are not HDF5
        raise OSError(f"Unable to synchronously open file (file signature not found): {e}") from None
    root = plugin.open(fileobj, filename)
    return FileHandle(NodeFile(root, owned=[]), ("file-object", id(fileobj), id(root)), filename, filename)


def _object_size(fileobj: Any, filename: str) -> int:
    try:
        size = int(fileobj.seek(0, os.SEEK_END))
        fileobj.seek(0)
    except (OSError, ValueError, TypeError) as e:
        raise OSError(f"Unable to open {filename}: the file-like object cannot seek ({e})") from e
    return size


def _open_writable_file_object(fileobj: Any, filename: str, mode: str) -> FileHandle:
    """A file-like object opened for writing: its HDF5 content (r+, a) is
    imported into a native file in memory, which is exported back into the
    object as HDF5 on ``flush`` and when the file closes (the object's bytes
    are replaced only once the export succeeded)."""
    import tempfile

    from sciswift.convert.api import export_file, import_file

    if not hasattr(fileobj, "write") or not hasattr(fileobj, "truncate"):
        raise OSError(f"Unable to open {filename} in mode {mode!r}: the file-like object has no write()/truncate()")
    import h5py

    if not getattr(h5py.File, "__module__", "").startswith("h5py."):
        # The export writes HDF5 with h5py; with another module under that
        # name (sciswift.h5py itself, put there by a program or a test harness)
        # it could not, and would fail only at close.
        raise OSError(f"Unable to open {filename} in mode {mode!r}: writing HDF5 into a file-like object needs the "
                      f"real h5py, and 'h5py' is {h5py.__name__!r} here")
    size = _object_size(fileobj, filename)
    if mode in ("w-", "x") and size:
        raise FileExistsError(17, f"Unable to synchronously create file (file exists: {filename} holds {size} bytes)")
    scratch = f"memory://sciswift-fileobj/{uuid.uuid4().hex}"
    imported = mode in ("r+", "a") and size > 0
    if imported:
        with tempfile.TemporaryDirectory(prefix="sciswift-fileobj-") as tmp:
            path = os.path.join(tmp, "in.h5")
            with open(path, "wb") as out:
                shutil.copyfileobj(fileobj, out)
            fileobj.seek(0)
            try:
                import_file(path, scratch)
            except SciSwiftError as e:
                raise OSError(f"Unable to open {filename} in mode {mode!r}: its bytes are not an HDF5 file "
                              f"sciswift can edit ({e})") from None
    handle = _open_native(filename, _location(filename, scratch), "r+" if imported else "w")
    handle.discard = True  # the memory copy goes at close; the object holds the file
    handle.source = None
    backend = handle.backend  # (not the handle: the closure must not keep it alive)

    def write_back() -> None:
        backend.flush()
        with tempfile.TemporaryDirectory(prefix="sciswift-fileobj-") as tmp:
            path = os.path.join(tmp, "out.h5")
            export_file(scratch, path, format="hdf5")
            with open(path, "rb") as done:
                fileobj.seek(0)
                shutil.copyfileobj(done, fileobj)
                fileobj.truncate()
            fileobj.seek(0)

    handle._file.write_back = write_back
    return handle


def _open_local_blob(filename: str, path: str, mode: str) -> FileHandle:
    from sciswift.h5.nodetree import NodeFile

    if mode != "r":
        raise OSError(f"Unable to open {filename!r} in mode {mode!r}: it is a single-file format, opened read-only")
    from sciswift.formats import registry

    fh = open(path, "rb")
    try:
        head = fh.read(registry.HEAD_BYTES)
        fh.seek(0)
        plugin = registry.detect(path, head)
        root = plugin.open(fh, path)
    except BaseException:
        fh.close()
        raise
    return FileHandle(NodeFile(root, owned=[fh]), ("local-blob", os.path.abspath(path), id(root)), filename, path,
                      source=os.path.abspath(path))


def _blob_info(location: Any) -> Any:
    """The ObjectInfo of the object named exactly by ``location``, None if none."""
    if not location.prefix:
        return None
    try:
        return location.store.head_object(location.container, location.prefix)
    except SciSwiftError:
        return None


def _blob_or_none(filename: str, location: Any, mode: str) -> FileHandle | None:
    """``_blob_handle``, with ``location``'s store closed if asking fails (when
    it answers None the store stays open for the caller's next try)."""
    try:
        return _blob_handle(filename, location, mode)
    except BaseException:
        location.store.close()
        raise


def _blob_handle(filename: str, location: Any, mode: str, info: Any = None) -> FileHandle | None:
    """A handle on the object named exactly by ``location``, if there is one
    (``info``: its ObjectInfo, if already known); the handle owns the store
    (closed with it)."""
    if info is None:
        info = _blob_info(location)
    if info is None:
        return None
    if mode != "r":
        raise OSError(f"Unable to open {filename!r} in mode {mode!r}: it is a single object, opened read-only")
    from sciswift.formats import registry
    from sciswift.h5.nodetree import NodeFile

    root = registry.open_object(location.store, location.container, location.prefix, info=info)
    backend = NodeFile(root, owned=[location.store])
    return FileHandle(backend, ("blob", _store_key(location), id(root)), filename, location.display,
                      source=location)


def _open(filename: str, mode: str, storage_options: dict[str, Any] | None = None) -> FileHandle:
    from sciswift.store.url import find_marked_root, is_url

    # A file read for a client (the server's data API) may not open others by
    # name: external links and virtual sources then dangle (formats.confine).
    refuse_named_file(filename)
    _close_dropped()

    local = _regular_file_of_url(filename)
    if local is not None:
        # A file:// URL names what its path names (sciswift.store.url): a regular
        # file there is one blob, opened as the plain path opens it (it used to be
        # taken for a container of that name, and not found).
        if mode == "w":
            os.unlink(local)
        elif mode in ("w-", "x"):
            raise FileExistsError(17, f"Unable to synchronously create file (file exists: '{filename}')", filename)
        else:
            return _open_local_blob(filename, local, mode)
    if is_url(filename):
        location = _location(filename, filename, storage_options)
        if mode == "r" and location.prefix and not location.store.is_local:
            return _open_remote_read(filename, location)
        if mode in ("r", "r+", "a"):
            blob = _blob_or_none(filename, location, mode)
            if blob is not None:
                return blob
        return _open_native(filename, location, mode)
    mounted = _mount_resolver(filename) if _mount_resolver is not None else None
    if mounted is not None:
        return _open(mounted, mode)
    if _path_resolver is not None:
        return _open_native(filename, _location(filename, _path_resolver(filename)), mode)
    path = os.path.abspath(filename)
    if os.path.isfile(path):
        if mode == "w":
            os.unlink(path)  # 'w' truncates whatever was there, as h5py does
        elif mode in ("w-", "x"):
            raise FileExistsError(17, f"Unable to synchronously create file (file exists: '{filename}')", filename)
        else:
            return _open_local_blob(filename, path, mode)
    # A path that names nothing here, below a marked LocalStore root (a serve
    # data directory), is a store location, as a file:// URL is. Asked once
    # (it walks up the parents), and only for such a path: every check below
    # that uses it is about a path that does not exist.
    exists = os.path.exists(path)
    marked = not exists and find_marked_root(Path(path)) is not None
    if mode in ("r", "r+", "a") and marked:
        # An object stored under that name opens as a blob (LocalStore keeps
        # objects in packs, not as files of that name).
        location = _location(filename, path)
        blob = _blob_or_none(filename, location, mode)
        if blob is not None:
            return blob
        location.store.close()
    if mode in ("r", "r+") and not exists and not marked:
        raise FileNotFoundError(2, f"Unable to synchronously open file (unable to open file: name = '{filename}', "
                                   "errno = 2, error message = 'No such file or directory')", filename)
    if not os.path.isdir(os.path.dirname(path)) and not marked:
        # As h5py: a new file's directory must exist (the file is a LocalStore
        # container in it, and is not created along with missing parents).
        raise FileNotFoundError(2, f"Unable to synchronously create file (unable to open file: name = '{filename}', "
                                   "errno = 2, error message = 'No such file or directory')", filename)
    return _open_native(filename, _location(filename, path), mode)


def _regular_file_of_url(filename: str) -> str | None:
    """The local path of a ``file://`` URL when a regular file is there, else None."""
    if not filename.startswith("file://"):
        return None
    from urllib.parse import unquote, urlsplit

    path = unquote(urlsplit(filename).path)
    return path if os.path.isfile(path) else None


def _open_remote_read(filename: str, location: Any) -> FileHandle:
    """Open a name on a remote store read-only in one round trip after auth: the
    object of exactly that name (a blob) and the root document of a native file
    under it are asked for at once (a blob wins, as in ``_open``)."""
    from sciswift.engine.kv import io_pool

    try:
        if location.prefix:
            # A fresh process authenticates first: the two reads may come with it.
            location.store.expect_reads([("HEAD", location.container, location.prefix),
                                         ("GET", location.container, f"{location.prefix}/zarr.json")])
        blob = io_pool().submit(_blob_info, location)
        location.store.learn_endpoint()  # beside the two, for the reads after the open
        try:
            root: bytes | None = location.store.get_object(location.container, f"{location.prefix}/zarr.json")
        except SciSwiftError:
            root = None  # the native open asks again and reports what is wrong
        info = blob.result()
        if info is not None:
            handle = _blob_handle(filename, location, "r", info)
            assert handle is not None
            return handle
    except BaseException:
        location.store.close()
        raise
    return _open_native(filename, location, "r", root)


def _open_scratch(filename: str, mode: str) -> FileHandle:
    """h5py's ``driver='core', backing_store=False``: a new file that lives in memory
    and is discarded at close (nothing is written under ``filename``)."""
    if mode not in ("w", "w-", "x"):
        if mode == "r":
            return _open(filename, "r")  # reading changes nothing: the file itself
        raise NotImplementedError(
            f"driver='core' with backing_store=False and mode {mode!r} (changes kept in memory only) "
            "is not supported; open read-only, or copy the file"
        )
    location = _location(filename, f"memory://sciswift-scratch/{uuid.uuid4().hex}")
    handle = _open_native(filename, location, "w")
    handle.discard = True
    handle.source = None  # in memory, and gone at close: no address
    return handle


def open_address(source: Any, filename: str) -> FileHandle:
    """Open read-only the file at ``source`` (a Location, or a local path of a file
    opened as a blob), as it was opened under ``filename``: how objects unpickled in
    another process find their file (h5.pickling)."""
    _close_dropped()
    if isinstance(source, str):
        if not os.path.isfile(source):
            raise FileNotFoundError(2, f"Unable to reopen {filename!r}: {source} is no longer a file", source)
        return _open_local_blob(filename, source, "r")
    blob = _blob_or_none(filename, source, "r")
    if blob is not None:
        return blob
    return _open_native(filename, source, "r", borrowed=True)


def external_target(base: str, filename: str) -> str:
    """The name to open for ``filename`` as named inside the file ``base`` (an
    external link's or a virtual dataset source's file): relative names are taken
    relative to ``base``'s directory, in its store."""
    from sciswift.store.url import is_url

    if is_url(filename) or os.path.isabs(filename):
        return filename
    if is_url(base):
        return posixpath.join(posixpath.dirname(base), filename)
    cand = os.path.join(os.path.dirname(os.path.abspath(base)), filename)
    return cand if os.path.exists(cand) or _path_resolver is not None else filename


def open_external(handle: FileHandle, filename: str, mode: str | None = None) -> File:
    """The file an external link in ``handle``'s file names (relative names are
    taken relative to that file's directory), opened with its access mode."""
    return File(external_target(handle.filename, filename), mode or handle.mode)


#: h5py's library version bound names, in order ("latest" is HDF5 2.0's v200).
_LIBVER = {"earliest": 0, "v108": 1, "v110": 2, "v112": 3, "v114": 4, "v200": 5, "latest": 5}


def _check_libver(libver: Any) -> None:
    """h5py's checks of ``libver=`` (the bounds themselves change nothing here):
    a name, or a (low, high) pair of names with low <= high."""
    if libver is None:
        return
    if isinstance(libver, str) and libver in _LIBVER:
        return
    low, high = (_LIBVER[x] for x in libver)  # KeyError/TypeError, as h5py raises them
    if low > high:
        raise ValueError("Invalid (low,high) combination of library version bound")


def _check_userblock(size: Any, mode: str) -> None:
    """h5py's and HDF5's rules for ``userblock_size=``: given only where the file
    can be created; 0, or a power of two of at least 512."""
    if size is None:
        return
    if mode in ("r", "r+"):
        raise ValueError("User block may only be specified when creating a file")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise ValueError("User block size must be an integer")
    size = int(size)
    if size < 0:
        raise OverflowError("can't convert negative value to hsize_t")
    if size and size < 512:
        raise ValueError("Userblock size is non-zero and less than 512")
    if size & (size - 1):
        raise ValueError("Userblock size is non-zero and not a power of two")


class File(Group):
    """An HDF5-style file in an object store (or a blob opened through a format
    plugin). Modes: ``r`` (default), ``r+``, ``w``, ``w-``/``x``, ``a``.

    ``storage_options`` (a sciswift extension, as fsspec names it): options for
    the store of a URL, e.g. ``{"auth_url": ..., "user": ..., "key": ...}`` for
    ``swift://`` instead of the environment."""

    __slots__ = ()

    def __init__(self, name: Any, mode: str = "r", driver: Any = None, libver: Any = None,
                 userblock_size: Any = None, swmr: bool = False, rdcc_nslots: Any = None,
                 rdcc_nbytes: Any = None, rdcc_w0: Any = None, track_order: Any = None,
                 fs_strategy: Any = None, fs_persist: bool = False, fs_threshold: int = 1,
                 fs_page_size: Any = None, page_buf_size: Any = None, min_meta_keep: int = 0,
                 min_raw_keep: int = 0, locking: Any = None, alignment_threshold: int = 1,
                 alignment_interval: int = 1, meta_block_size: Any = None, **kwds: Any) -> None:
        if isinstance(name, FileHandle):
            super().__init__(name, "", "/")
            return
        if mode is None:
            mode = "r"
        if mode not in _MODES:
            raise ValueError("Invalid mode; must be one of r, r+, w, w-, x, a")
        if _is_file_object(name):
            if driver not in (None, "fileobj"):
                raise ValueError("Driver must be 'fileobj' for file-like object if specified.")
            if kwds.get("fileobj", name) is not name:
                raise ValueError("Invalid value of 'fileobj' argument; must equal to file-like object if specified.")
            handle = _open_file_object(name, mode)
            super().__init__(handle, "", "/")
            return
        filename = _filename(name)
        _check_libver(libver)
        _check_userblock(userblock_size, mode)
        if driver == "core" and not kwds.get("backing_store", True):
            handle = _open_scratch(filename, mode)
        elif driver in (None, "sec2", "stdio", "core"):
            handle = _open(filename, "w-" if mode == "x" else mode, kwds.pop("storage_options", None))
        else:
            raise ValueError(f"sciswift has no driver {driver!r}: files live in object stores")
        super().__init__(handle, "", "/")
        if swmr and mode == "r":
            handle.swmr = True
        track_order = default_track_order(track_order)
        created = handle.backend.writable and mode in ("w", "w-", "x") or (mode == "a" and not len(self))
        backend = handle.backend
        if created and hasattr(backend, "_edit_reserved"):
            if track_order:
                backend._edit_reserved("", lambda r: r.__setitem__("track_order", True))
            if userblock_size:
                backend._edit_reserved("", lambda r: r.__setitem__("userblock_size", int(userblock_size)))

    @classmethod
    def _from_handle(cls, handle: FileHandle) -> File:
        obj = cls.__new__(cls)
        Group.__init__(obj, handle, "", "/")
        return obj

    @property
    def filename(self) -> str:
        if self._h.closed:
            raise ValueError("Not a file or file object (the file is closed)")
        return self._h.filename

    @property
    def mode(self) -> str:
        if self._h.closed:
            raise ValueError("Invalid file identifier (the file is closed)")
        return self._h.mode

    @property
    def id(self) -> Any:
        from sciswift.h5 import lowlevel

        return lowlevel.FileID(self)

    @property
    def attrs(self) -> Any:
        if self._h.closed:
            raise KeyError("Unable to synchronously open object (the file is closed)")
        return super().attrs

    @property
    def driver(self) -> str:
        return "sciswift"

    @property
    def libver(self) -> tuple[str, str]:
        return ("earliest", "latest")

    @property
    def userblock_size(self) -> int:
        """The size the file was created with (``userblock_size=``); sciswift keeps
        no bytes before the data, so there is nothing to write into it."""
        setting = getattr(self._h.backend, "root_setting", None)
        return int(setting("userblock_size") or 0) if setting is not None else 0

    @property
    def swmr_mode(self) -> bool:
        if self._h.closed:
            raise ValueError("Invalid file identifier (the file is closed)")
        return self._h.swmr

    @swmr_mode.setter
    def swmr_mode(self, value: bool) -> None:
        """Switch the writer to SWMR mode, as h5py: on only. A store needs no switch
        (``Dataset.flush`` publishes, ``Dataset.refresh`` follows); the flag is kept
        for programs that read it back."""
        if not value:
            raise ValueError("It is not possible to forcibly switch SWMR mode off.")
        if self._h.closed:
            raise ValueError("Invalid file identifier (the file is closed)")
        if not self._h.backend.writable:
            raise OSError("Unable to start SWMR writing: the file is open read-only")
        self._h.swmr = True

    @property
    def meta_block_size(self) -> int:
        return 2048

    def close(self) -> None:
        """Write pending metadata and close the file; every object from it becomes
        invalid. Closing twice is harmless."""
        self._h.close()
        _close_dropped()

    def flush(self) -> None:
        """Write pending metadata (chunks are already stored); a file opened on a
        writable file-like object is written into it."""
        if not self._h.closed:
            write_back = self._h._file.write_back
            if write_back is not None:
                write_back()  # flushes, then writes the file into its object
            else:
                self._h.backend.flush()

    def __enter__(self) -> File:
        return self

    def __exit__(self, *args: object) -> None:
        if not self._h.closed:
            self.close()

    def __repr__(self) -> str:
        if self._h.closed:
            return "<Closed HDF5 file>"
        return '<HDF5 file "%s" (mode %s)>' % (os.path.basename(self.filename), self.mode)


class _BorrowedStore:
    """A store lent to one File: every call goes to ``store``, but closing the
    File leaves it open (it belongs to whoever lent it, e.g. a server)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def close(self) -> None:
        return None


def open_stored(store: Any, container: str, name: str, kind: str | None = None, *,
                stats: Any = None, info: Any = None, read: Callable[[int, int], bytes] | None = None) -> File:
    """Open ``container/name`` of an open ``store`` read-only, as ``File(url, "r")``
    would: ``kind="blob"`` the object of that name through its format plugin,
    ``kind="native"`` the native file under that prefix (``name`` "": the whole
    container), None: the object if there is one, else the native file.

    The store is lent, not given: closing the File leaves it open. ``stats`` (a
    ``sciswift.formats.ranged.TransferStats``) totals what reading a blob costs.
    ``info`` and ``read`` (a blob only) give the blob's ObjectInfo and a function
    reading its bytes ``start .. stop-1``, for a blob the store holds as a
    large-object manifest (see ``sciswift.formats.ranged.RangedFile``).
    FileNotFoundError when nothing of that name exists; the format plugins'
    errors (NotSupported, CorruptData) for a blob they cannot read.
    """
    from sciswift.store.url import Location

    display = f"{container}/{name}" if name else container
    lent = _BorrowedStore(store)
    if read is not None and (kind != "blob" or info is None):
        raise ValueError(f"{display}: read= opens a blob and needs its info")
    if kind in (None, "blob") and name:
        try:
            if read is None:
                info = store.head_object(container, name)
        except NotFound:
            if kind == "blob":
                raise FileNotFoundError(2, f"No such object: {display!r}", display) from None
        else:
            from sciswift.formats import registry
            from sciswift.h5.nodetree import NodeFile

            root = registry.open_object(store, container, name, info=info, stats=stats, read=read)
            handle = FileHandle(NodeFile(root), ("lent-blob", id(root)), display, display)
            return File._from_handle(handle)
    location = Location(lent, container, name.strip("/"), display)  # type: ignore[arg-type]
    return File._from_handle(_open_native(display, location, "r"))


def is_hdf5(name: Any) -> bool:
    """True if ``name`` opens as a native file (or an HDF5 blob)."""
    try:
        with File(name, "r"):
            return True
    except (OSError, ValueError, NotImplementedError):
        return False
