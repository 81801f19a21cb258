"""The streaming writer of LocalStore (``LocalStore.open_writer``)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence

from sciswift.errors import ChecksumMismatch, InvalidInput
from sciswift.store.base import ObjectWriter
from sciswift.store.local.format import encode_trailer
from sciswift.store.local.fs import drop_cached, start_writeback, unlink_quiet, write_all
from sciswift.store.local.space import full_disk_as
from sciswift.store.local.sums import BlockSummer
from sciswift.store.metarules import lower_keys
from sciswift.store.types import ObjectInfo

__all__ = ["LocalWriter", "verify_etag"]

#: A durable writer starts the disk on every this many bytes as they arrive, so
#: the fsync at commit waits for the last step only (16 MiB PUTs from 4 clients
#: to `sciswift serve`: measured 630-690 -> 730-815 MB/s; 1 MiB steps the same,
#: 8 MiB steps 700-760).
WRITEBACK_STEP = 4 << 20
#: A durable body of at least this many bytes leaves the page cache once it is
#: on disk ("drop-behind", as Swift's object server does after a PUT): the
#: pieces whose writeback started a step earlier as the body arrives, the rest
#: after the sync at commit. Large bodies are rarely read back at once, and
#: copying into pages the kernel must find anew is the dearest part of a large
#: put on this project's VM (freed guest memory goes back to the host, and
#: touching it again is slow): 16 MiB in 1 MiB writes cost 26-27 ms of CPU
#: into fresh pages and 5 ms when the pages of the previous bodies were dropped
#: and came back (a cold read of 16 MiB: 9 ms, 3-4 ms of CPU). Smaller bodies
#: (the engine's chunks, read back soon) keep their pages.
DROP_BEHIND = 8 << 20


def verify_etag(etag: str | None, digest: str, container: str, name: str) -> None:
    """ChecksumMismatch unless ``etag`` (if given) is ``digest``."""
    if etag is not None and etag.strip('"').lower() != digest:
        raise ChecksumMismatch(
            f"body of {container}/{name} has MD5 {digest}, not {etag}", f"{container}/{name}"
        )


class LocalWriter(ObjectWriter):
    """Streams a body straight into a temporary file of the container (MD5 and
    block checksums computed on the way). ``commit`` completes the record and
    hands it to the ``commit`` callable it was made with, which renames it into
    place (under the store's checks); ``abort`` (or garbage collection before
    commit, or a failed ``write``) removes it. A full disk under ``root`` raises
    InsufficientStorage naming the object."""

    def __init__(
        self,
        container: str,
        name: str,
        fd: int,
        path: str,
        *,
        root: str,
        durable: bool,
        commit: Callable[[Sequence[tuple[str, str, ObjectInfo]]], None],
        content_type: str | None,
        metadata: Mapping[str, str] | None,
        system: Mapping[str, str] | None,
        etag: str | None,
    ) -> None:
        # Not calling ObjectWriter.__init__: that one spools to memory.
        self._container = container
        self._name = name
        self._fd: int | None = fd
        self._path = path
        self._root = root
        self._durable = durable
        self._commit = commit
        self._content_type = content_type
        self._metadata = metadata
        self._system = system
        self._etag = etag
        self._md5 = hashlib.md5()
        self._vouched: str | None = None  # the digest vouch_md5 gave: no MD5 pass
        self._sums = BlockSummer()
        self.bytes_written = 0
        self._flushed = 0  # bytes whose writeback has been started
        self._dropped = 0  # bytes asked out of the page cache
        self._pid = os.getpid()

    def write(self, data: bytes) -> None:
        if self._fd is None:
            raise InvalidInput(f"writer of {self._container}/{self._name} is already finished")
        try:
            with full_disk_as(f"{self._container}/{self._name}", self._root):
                write_all(self._fd, [data])
        except BaseException:
            # Part of ``data`` may be in the file: the writer cannot go on, and
            # its temp file goes now (a full disk gets the room back at once).
            self.abort()
            raise
        if self._vouched is None:
            self._md5.update(data)
        self._sums.update(data)
        self.bytes_written += len(data)
        if self._durable and self.bytes_written - self._flushed >= WRITEBACK_STEP:
            if self.bytes_written >= DROP_BEHIND and self._flushed > self._dropped:
                # written back a step ago, mostly: pages still under writeback
                # stay until commit
                drop_cached(self._fd, self._dropped, self._flushed - self._dropped)
                self._dropped = self._flushed
            start_writeback(self._fd, self._flushed, self.bytes_written - self._flushed)
            self._flushed = self.bytes_written

    def vouch_md5(self, etag: str) -> None:
        """See ``ObjectWriter.vouch_md5``: no MD5 pass (a 256 MiB copy: 0.35 s
        of CPU less); the block checksums are still computed from the bytes
        written, so later reads check these, not the source's."""
        digest = etag.strip('"').lower()
        if self.bytes_written == 0 and len(digest) == 32 and all(c in "0123456789abcdef" for c in digest):
            self._vouched = digest

    def add_system(self, values: Mapping[str, str]) -> None:
        """See ``ObjectWriter.add_system``: kept for the record ``commit`` writes."""
        self._system = {**(self._system or {}), **values}

    def commit(self) -> ObjectInfo:
        with full_disk_as(f"{self._container}/{self._name}", self._root):
            return self._finish()

    def _finish(self) -> ObjectInfo:
        fd = self._fd
        if fd is None:
            raise InvalidInput(f"writer of {self._container}/{self._name} is already finished")
        self._fd = None
        container, name = self._container, self._name
        try:
            digest = self._vouched or self._md5.hexdigest()
            verify_etag(self._etag, digest, container, name)
            info = ObjectInfo(
                name=name,
                size=self.bytes_written,
                etag=digest,
                timestamp=time.time(),
                content_type=self._content_type or "application/octet-stream",
                metadata=lower_keys(self._metadata),
                system=lower_keys(self._system),
            )
            write_all(fd, [encode_trailer(info, sums=self._sums.digest())])
            if self._durable:
                os.fdatasync(fd)  # the record and its size; timestamps need not be synced
                if self.bytes_written >= DROP_BEHIND:
                    # the body only: the page with the record stays for reads
                    drop_cached(fd, 0, self.bytes_written)
        except BaseException:
            os.close(fd)
            unlink_quiet(self._path)
            raise
        os.close(fd)
        self._commit([(name, self._path, info)])
        return info

    def abort(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
            unlink_quiet(self._path)

    def __del__(self) -> None:
        if os.getpid() != self._pid:
            return  # a forked child's copy: the temp file is the parent's
        try:
            self.abort()
        except Exception:
            pass
