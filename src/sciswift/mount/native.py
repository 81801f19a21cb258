"""Native sciswift files in the mount: one read-only HDF5 file each.

A prefix in the native layout (a Zarr v3 hierarchy written by ``sciswift.h5py``)
is shown as a regular file of the prefix's name. Its bytes come from
``sciswift.h5view``: HDF5 metadata generated when the file is opened, chunk bytes
read from the chunk objects when asked for. Nothing is copied in the store.

A file the view cannot express (``NotExpressible``) answers EIO on open and the
log names the dataset or feature; so does a sciswift installed without the view.
The reason is logged once per file (one ERROR line), however many times tools
stat and open it (and a read that fails, once per file version and reason): ``h5dump`` alone opens a file dozens of times trying its
drivers. It is logged again when the reason changes, or after the file has
opened meanwhile.
"""

from __future__ import annotations

import errno
import threading
import time
from dataclasses import dataclass
from typing import Any

from sciswift.errors import SciSwiftError
from sciswift.mount.errors import FSError, log
from sciswift.store import Location, Store

__all__ = ["NativeViews", "NativeHandle"]

#: Read failures remembered (so as to log each once).
_REMEMBERED = 1024


@dataclass
class NativeHandle:
    """One open descriptor's view (closed when the last descriptor using it closes)."""

    view: Any
    key: tuple[str, str]


class NativeViews:
    """Opens and shares HDF5 views of native files."""

    def __init__(self, store: Store, display: str, ttl: float = 1.0) -> None:
        self.store = store
        self.display = display.rstrip("/")
        self.ttl = ttl
        self._lock = threading.Lock()
        self._sizes: dict[tuple[str, str], tuple[float, int, str]] = {}  # -> (when, size, etag)
        self._refs: dict[int, int] = {}  # id(view) -> open descriptors
        self._refused: dict[tuple[str, str], str] = {}  # -> the reason last logged
        # (view ETag, path, reason) of read failures logged, oldest first
        self._read_failures: dict[tuple[str, str, str], None] = {}

    def _refuse(self, container: str, key: str, path: str, reason: str) -> FSError:
        """EIO for a view that cannot be made, with its reason logged once."""
        reason = " ".join(reason.split())  # one line, whatever the error's text holds
        with self._lock:
            new = self._refused.get((container, key)) != reason
            self._refused[(container, key)] = reason
            # A stat within the TTL answers from here instead of trying again.
            self._sizes[(container, key)] = (time.monotonic(), 0, "")
        if new:
            log.error("EIO open %s: %s", path, reason)
        else:
            log.debug("EIO open %s again: %s", path, reason)
        return FSError(errno.EIO)

    def _open_view(self, container: str, key: str, path: str) -> Any:
        try:
            from sciswift.h5view import NotExpressible, open_view
        except ImportError as exc:
            raise self._refuse(container, key, path, "native files need sciswift.h5view, which is not "
                               f"installed ({exc})") from None
        location = Location(self.store, container, key, f"{self.display}/{key}")
        try:
            view = open_view(location)
        except NotExpressible as exc:
            raise self._refuse(container, key, path, f"HDF5 cannot express this native file: {exc}") from None
        except (SciSwiftError, OSError) as exc:
            raise self._refuse(container, key, path,
                               f"cannot make the HDF5 view of this native file: {exc}") from None
        with self._lock:
            self._sizes[(container, key)] = (time.monotonic(), int(view.size), str(view.etag))
            self._refused.pop((container, key), None)
        return view

    def size(self, container: str, key: str, path: str) -> int:
        """The size of the file's HDF5 view (0 if it cannot be made: open says why)."""
        with self._lock:
            hit = self._sizes.get((container, key))
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        try:
            view = self._open_view(container, key, path)
        except FSError:
            return 0
        size = int(view.size)
        view.close()
        return size

    def open(self, container: str, key: str, path: str) -> tuple[NativeHandle, bool]:
        """A fresh view (close-to-open) and whether the kernel may keep the pages
        it cached of the file: never. The view's ETag follows the metadata
        only; values written into existing chunks leave it as it was, and
        pages kept across opens showed the old values. (Knowing that no chunk
        changed would take a listing of the file's objects at every open.)"""
        view = self._open_view(container, key, path)
        return NativeHandle(view, (container, key)), False

    def read(self, handle: NativeHandle, offset: int, size: int, path: str) -> bytes:
        """Bytes of the view; EIO when they cannot be served, logged once per
        file version and reason (the kernel retries a failed read page by
        page, and programs retry: a damaged chunk logged a dozen lines)."""
        try:
            return bytes(handle.view.read(offset, size))
        except (SciSwiftError, OSError) as exc:
            reason = " ".join(str(exc).split())
            seen = (str(handle.view.etag), path, reason)
            with self._lock:
                new = seen not in self._read_failures
                self._read_failures[seen] = None
                while len(self._read_failures) > _REMEMBERED:
                    del self._read_failures[next(iter(self._read_failures))]
            if new:
                log.error("EIO read %s (native view, %d bytes at %d): %s", path, size, offset, reason)
            else:
                log.debug("EIO read %s again (%d bytes at %d): %s", path, size, offset, reason)
            raise FSError(errno.EIO) from None

    @staticmethod
    def release(handle: NativeHandle) -> None:
        try:
            handle.view.close()
        except Exception as exc:  # closing must not fail the close(2)
            log.warning("closing a native view failed: %s", exc)
