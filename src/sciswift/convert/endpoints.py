"""What a URL or path names, opened through the library that reads it best.

Sources (``open_source``), in the order they are recognised:

- a local regular file: an HDF5 file opens with h5py (every HDF5 feature, filters
  and references included); any other format through its plugin
  (``sciswift.h5py.File``, read-only);
- a stored object with exactly that name (a *blob*): HDF5 bytes open with h5py over
  ranged reads (a ``RangedFile``); any other format through its plugin;
- an HDF5 file or blob holding chunks h5py cannot decode here but the HDF5 plugin
  decodes with numcodecs (blosc, filter 32001, without hdf5plugin) opens through
  that plugin instead, so every dataset reads;
- otherwise a native sciswift file (a prefix or a container holding a Zarr
  hierarchy), through ``sciswift.h5py``.

Destinations: ``create_native`` (what ``import`` writes) and ``OutputTarget``
(what ``export`` writes: a local file or one stored object, replaced atomically).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from sciswift.convert.apis import Api, h5py_api, sciswift_api
from sciswift.errors import AlreadyExists, InvalidInput, NotFound, SciSwiftError
from sciswift.store.url import Location, find_marked_root, is_url, parse_location

__all__ = ["Opened", "open_source", "create_native", "remove_native", "OutputTarget", "HDF5_EXTENSIONS",
           "local_path", "same_place"]

#: File-name endings that mean "an HDF5 file" to ``export``.
HDF5_EXTENSIONS = (".h5", ".hdf5", ".he5", ".hdf", ".h5py")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass
class Opened:
    """An opened file: ``file`` is an h5py or sciswift.h5py File, ``api`` says which.
    ``kind`` is "hdf5" (h5py), "native" or the format plugin's name."""

    file: Any
    api: Api
    display: str
    kind: str
    location: Location | None = None
    _cleanup: list[Callable[[], None]] = field(default_factory=list)
    #: ``read(offset, size)`` of the HDF5 file's bytes (kind "hdf5"), for copying
    #: stored chunks without h5py (``chunkcopy``); callable from any thread.
    read_range: Callable[[int, int], bytes] | None = None

    @property
    def remote(self) -> bool:
        """True if reading goes over the network (more requests in flight pay off)."""
        return self.location is not None and not self.location.store.is_local

    def close(self) -> None:
        try:
            if self.file:
                self.file.close()
        finally:
            while self._cleanup:
                self._cleanup.pop()()

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def local_path(target: str) -> str | None:
    """The filesystem path ``target`` names (a plain path or ``file://``), or None
    for store URLs."""
    if target.startswith("file://"):
        return unquote(urlsplit(target).path)
    if is_url(target):
        return None
    return target


def _has_hdf5_signature(head: bytes) -> bool:
    # HDF5 allows a user block before the superblock: 0, 512, 1024, 2048 ...
    return any(head[off:off + 8] == _HDF5_SIGNATURE for off in (0, 512, 1024, 2048) if off < len(head))


def open_source(target: str) -> Opened:
    """Open ``target`` read-only (see the module docstring for the order).

    NotFound names the target if nothing is there; other failures to open are
    InvalidInput/NotSupported/CorruptData naming it.
    """
    path = local_path(target)
    if path is not None and not _in_marked_store(path):
        return _open_local(path, target)
    try:
        location = parse_location(target)
    except InvalidInput:
        raise
    if location.prefix:
        try:
            info = location.store.head_object(location.container, location.prefix)
        except NotFound:
            info = None
        if info is not None:
            return _open_blob(location, target, info)
    return _open_sciswift(target, "native", location)


def _in_marked_store(path: str) -> bool:
    """Whether ``path`` names no local file or directory but lies below a marked
    LocalStore root (``sciswift serve --data``'s account directories): then it is
    a store location, ``<root>/<container>/<object or prefix>``, as
    ``parse_location`` resolves it, and an object stored there is opened as a blob
    (it is not a file of that name: LocalStore keeps objects in packs)."""
    return not os.path.exists(path) and find_marked_root(Path(os.path.abspath(path))) is not None


def _open_local(path: str, display: str) -> Opened:
    if os.path.isfile(path):
        with open(path, "rb") as fh:
            head = fh.read(4096)
        if _has_hdf5_signature(head):
            import h5py

            try:
                f = h5py.File(path, "r")
            except OSError as exc:
                raise InvalidInput(f"{display}: cannot open as HDF5: {exc}", display) from exc
            if _undecodable(f):
                return _open_sciswift(path, "hdf5", None, display)
            fd = os.open(path, os.O_RDONLY)
            return Opened(f, h5py_api(), display, "hdf5", _cleanup=[lambda: os.close(fd)],
                          read_range=lambda offset, size: os.pread(fd, size, offset))
        from sciswift.formats import registry

        plugin = registry.detect(path, head)
        return _open_sciswift(path, plugin.name, None, display)
    if not os.path.exists(path):
        raise NotFound(f"{display}: no such file or directory", display)
    return _open_sciswift(path, "native", None, display)


def _open_blob(location: Location, display: str, info: Any) -> Opened:
    from sciswift.formats import registry
    from sciswift.formats.ranged import RangedFile

    source = RangedFile(location.store, location.container, location.prefix, info=info)
    head = source.read(4096)
    source.seek(0)
    if _has_hdf5_signature(head):
        import h5py

        try:
            f = h5py.File(source, "r")
        except OSError as exc:
            source.close()
            raise InvalidInput(f"{display}: cannot open as HDF5: {exc}", display) from exc
        if _undecodable(f):
            source.close()
            return _open_sciswift(display, "hdf5", location)
        from sciswift.store.types import ByteRange

        store, container, name = location.store, location.container, location.prefix

        def read_range(offset: int, size: int) -> bytes:
            return store.get_object(container, name, ByteRange(offset, offset + size)) if size else b""

        return Opened(f, h5py_api(), display, "hdf5", location, [source.close], read_range=read_range)
    source.close()
    plugin = registry.detect(location.prefix, head)
    return _open_sciswift(display, plugin.name, location)


def _undecodable(f: Any) -> bool:
    """Whether the h5py file ``f`` holds chunks h5py cannot decode here but the
    HDF5 plugin can (``needs_direct_decoding``); then ``f`` is closed."""
    from sciswift.formats.hdf5 import needs_direct_decoding

    if needs_direct_decoding(f) is None:
        return False
    f.close()
    return True


def _open_sciswift(target: str, kind: str, location: Location | None, display: str | None = None) -> Opened:
    import sciswift.h5py as sh5

    display = display or target
    try:
        f = sh5.File(target, "r")
    except FileNotFoundError as exc:
        raise NotFound(f"{display}: no such file in the store", display) from exc
    except OSError as exc:
        raise InvalidInput(f"{display}: cannot open: {exc}", display) from exc
    if location is None and kind == "native":
        with contextlib.suppress(InvalidInput):
            location = parse_location(target)
    return Opened(f, sciswift_api(), display, kind, location)


def same_place(a: str, b: str) -> bool:
    """Whether two names mean the same file (same local path, or same store,
    container and prefix)."""
    pa, pb = local_path(a), local_path(b)
    if pa is not None and pb is not None:
        return os.path.abspath(pa) == os.path.abspath(pb)
    if (pa is None) != (pb is None):
        return False
    try:
        la, lb = parse_location(a), parse_location(b)
    except InvalidInput:
        return False
    return (type(la.store), getattr(la.store, "url", None), la.container, la.prefix) == (
        type(lb.store), getattr(lb.store, "url", None), lb.container, lb.prefix)


# ----------------------------------------------------------------- import side
def create_native(target: str, *, overwrite: bool = False, track_order: bool = False) -> Opened:
    """A new native file at ``target``, opened for writing.

    Refuses (AlreadyExists) when a native file or an object of that name exists,
    unless ``overwrite``: then the old file is truncated / the object deleted.
    """
    import sciswift.h5py as sh5

    path = local_path(target)
    if path is not None and os.path.isfile(path):
        raise InvalidInput(f"{target}: is a regular file; import writes the native layout (a directory). "
                           "Choose a new name", target)
    location = parse_location(path if path is not None else target)
    if location.prefix and location.store.has_object(location.container, location.prefix):
        if not overwrite:
            raise AlreadyExists(f"{target}: an object of that name exists (use --overwrite to replace it)", target)
        location.store.delete_object(location.container, location.prefix)
    try:
        f = sh5.File(path if path is not None else target, "w" if overwrite else "w-",
                     track_order=True if track_order else None)
    except FileExistsError:
        raise AlreadyExists(f"{target}: a file exists there (use --overwrite to replace it)", target) from None
    except OSError as exc:
        raise InvalidInput(f"{target}: cannot create: {exc}", target) from exc
    return Opened(f, sciswift_api(), target, "native", location)


def remove_native(opened: Opened) -> None:
    """Delete every object of a native file written (partly) by ``create_native``:
    what a failed import leaves behind."""
    location = opened.location
    if location is None:
        return
    store = location.store
    prefix = location.prefix + "/" if location.prefix else ""
    with contextlib.suppress(SciSwiftError):
        names = [o.name for o in store.iter_objects(location.container, prefix=prefix)]
        store.delete_many(location.container, names)
    if not location.prefix:
        with contextlib.suppress(SciSwiftError):
            store.delete_container(location.container)


# ----------------------------------------------------------------- export side
@dataclass
class OutputTarget:
    """Where ``export`` writes: a local file (``path``) or a stored object
    (``location``). ``open_sink`` yields a binary file to write; the destination is
    replaced only once the sink is complete."""

    display: str
    path: str | None
    location: Location | None

    @classmethod
    def parse(cls, target: str, *, overwrite: bool) -> OutputTarget:
        path = local_path(target)
        if path is not None:
            path = os.path.abspath(path)
            if os.path.isdir(path):
                raise InvalidInput(f"{target}: is a directory (a native file?); export writes one file", target)
            if os.path.exists(path) and not overwrite:
                raise AlreadyExists(f"{target}: exists (use --overwrite to replace it)", target)
            if not os.path.isdir(os.path.dirname(path)):
                raise NotFound(f"{target}: directory {os.path.dirname(path)} does not exist", target)
            return cls(target, path, None)
        location = parse_location(target)
        if not location.prefix:
            raise InvalidInput(f"{target}: names a whole container; export writes one object "
                               "(swift://CONTAINER/NAME)", target)
        store = location.store
        if store.has_object(location.container, f"{location.prefix}/zarr.json"):
            raise InvalidInput(f"{target}: a native sciswift file has that name; an object there would hide it. "
                               "Choose another name", target)
        if store.has_object(location.container, location.prefix) and not overwrite:
            raise AlreadyExists(f"{target}: exists (use --overwrite to replace it)", target)
        return cls(target, None, location)

    @property
    def name(self) -> str:
        return self.path if self.path is not None else self.location.prefix  # type: ignore[union-attr]

    @contextlib.contextmanager
    def local_file(self) -> Iterator[str]:
        """A path to write the whole file to (for libraries that need a real file,
        h5py). The destination is replaced from it when the block ends without error."""
        directory = os.path.dirname(self.path) if self.path is not None else None
        fd, tmp = tempfile.mkstemp(prefix=".sciswift-export-", suffix=".tmp", dir=directory)
        os.close(fd)
        try:
            yield tmp
            self._publish(tmp)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    @contextlib.contextmanager
    def open_sink(self) -> Iterator[BinaryIO]:
        """A binary file to write; the destination is replaced when the block ends
        without error."""
        with self.local_file() as tmp, open(tmp, "wb") as sink:
            yield sink

    def _publish(self, tmp: str) -> None:
        if self.path is not None:
            os.chmod(tmp, _new_file_mode(self.path))
            os.replace(tmp, self.path)
            return
        loc = self.location
        assert loc is not None
        loc.store.create_container(loc.container)  # no-op if it exists
        with open(tmp, "rb") as fh:
            loc.store.put_object(loc.container, loc.prefix, fh, content_type=_content_type(self.name))


    def write_sidecar(self, suffix: str, data: bytes) -> str:
        """Write ``data`` beside the destination as ``NAME + suffix`` (replacing
        it atomically); returns that name as the user gave the destination."""
        if self.path is not None:
            path = self.path + suffix
            fd, tmp = tempfile.mkstemp(prefix=".sciswift-export-", suffix=".tmp", dir=os.path.dirname(path))
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(tmp, _new_file_mode(path))
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            return self.display + suffix
        loc = self.location
        assert loc is not None
        loc.store.put_object(loc.container, loc.prefix + suffix, data, content_type="application/json")
        return self.display + suffix


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (setting
    it to read it back races with threads creating files)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_file_mode(path: str) -> int:
    """The mode a file written at ``path`` gets: an existing file's own mode (as
    ``cp`` onto it keeps it), else what ``open`` would give under the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _content_type(name: str) -> str:
    if name.lower().endswith(HDF5_EXTENSIONS):
        return "application/x-hdf5"
    return "application/octet-stream"
