"""Bodies in and out of SwiftStore: what a put sends, and the streaming reader.

``PutSource`` turns whatever ``put_object`` was given into bodies that can be sent
again when a request is retried, without ever holding more than one segment of a
stream in memory: bytes are sliced, seekable files are re-read by offset, and any
other stream is spooled (to memory up to a few MiB, then to a temporary file).

``SwiftObjectReader`` streams a GET response; if the connection drops mid-body it
resumes with a Range request pinned to the same ETag (``If-Match``), so a reader
never mixes two versions of an object.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

import urllib3

from sciswift.errors import CorruptData, PreconditionFailed, StoreUnavailable
from sciswift.store.base import CHUNK, ObjectReader, PutData, is_seekable, iter_chunks
from sciswift.store.swift.http import Body
from sciswift.store.types import ObjectInfo

__all__ = ["PutSource", "SwiftObjectReader"]

SPOOL_MEMORY = 8 << 20



class _RangeFile:
    """Re-readable byte ranges of one seekable file, safe to read from several
    threads (each read seeks under a lock)."""

    def __init__(self, f: IO[bytes], start: int, size: int, subject: str) -> None:
        self.f, self.start, self.size, self.subject = f, start, size, subject
        self.lock = threading.Lock()

    def body(self, offset: int, length: int) -> Body:
        def blocks() -> Iterator[bytes]:
            pos, end = offset, offset + length
            while pos < end:
                with self.lock:
                    self.f.seek(self.start + pos)
                    block = self.f.read(min(CHUNK, end - pos))
                if not block:
                    raise CorruptData(f"{self.subject}: the source file shrank while being uploaded",
                                      self.subject)
                pos += len(block)
                yield block
        return Body(length, blocks)

    def md5(self) -> str:
        h = hashlib.md5()
        for block in self.body(0, self.size).open():
            h.update(block)
        return h.hexdigest()


class PutSource:
    """The body of one put, measured against the large-object ``threshold``.

    After construction either ``small`` is the whole body (size <= threshold) or
    ``large`` is True and ``parts(segment_size)`` yields the segments in order.
    ``md5()`` is the MD5 of the whole body; for a stream it is known only after
    every part has been produced. Call ``close()`` when done (drops spool files).
    """

    def __init__(self, data: PutData, threshold: int, subject: str) -> None:
        self.subject = subject
        self.small: Body | None = None
        self.large = False
        self._view: memoryview | None = None
        self._file: _RangeFile | None = None
        self._rest: Iterator[bytes] | None = None
        self._md5: Any = None
        self._spools: list[IO[bytes]] = []
        if isinstance(data, (bytes, bytearray, memoryview)):
            view = memoryview(data)
            # A non-contiguous buffer (a strided NumPy view) is copied once to be sliceable.
            self._view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
            self.size: int | None = self._view.nbytes
            if self.size <= threshold:
                self.small = Body.of_bytes(self._view)
            else:
                self.large = True
        elif is_seekable(data):
            f: IO[bytes] = data  # type: ignore[assignment]
            start = f.tell()
            end = f.seek(0, 2)
            f.seek(start)
            self.size = end - start
            self._file = _RangeFile(f, start, self.size, subject)
            if self.size <= threshold:
                self.small = self._file.body(0, self.size)
            else:
                self.large = True
        else:
            self._spool_stream(iter_chunks(data), threshold)

    def _spool_stream(self, chunks: Iterator[bytes], threshold: int) -> None:
        self._md5 = hashlib.md5()
        spool = self._new_spool()
        size = 0
        for block in chunks:
            self._md5.update(block)
            spool.write(block)
            size += len(block)
            if size > threshold:
                self.large = True
                break
        self._file = _RangeFile(spool, 0, size, self.subject)
        if self.large:
            self.size = None  # not known until the stream ends
            self._rest = chunks
        else:
            self.size = size
            self.small = self._file.body(0, size)

    def _new_spool(self) -> IO[bytes]:
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_MEMORY)
        self._spools.append(spool)
        return spool

    def parts(self, segment_size: int) -> Iterator[Body]:
        """The segments of a large body, in order, each re-readable."""
        if self._view is not None:
            view = self._view
            for off in range(0, len(view), segment_size):
                yield Body.of_bytes(view[off:off + segment_size])
            return
        assert self._file is not None
        for off in range(0, self._file.size, segment_size):
            yield self._file.body(off, min(segment_size, self._file.size - off))
        if self._rest is None:
            return
        # The rest of a stream: spool one segment at a time; the uploader releases
        # each spool once its segment is stored, so disk use stays bounded.
        spool, n = self._new_spool(), 0
        for block in self._rest:
            self._md5.update(block)
            view = memoryview(block)
            while view:
                take = view[: segment_size - n]
                spool.write(take)
                n += len(take)
                view = view[len(take):]
                if n == segment_size:
                    yield self._spooled_part(spool, n)
                    spool, n = self._new_spool(), 0
        if n:
            yield self._spooled_part(spool, n)

    def _spooled_part(self, spool: IO[bytes], n: int) -> Body:
        body = _RangeFile(spool, 0, n, self.subject).body(0, n)
        body.release = spool.close
        return body

    def md5(self) -> str:
        """Hex MD5 of the whole body (for a stream: after ``parts`` is exhausted)."""
        if self._md5 is not None:
            return str(self._md5.hexdigest())
        if self._view is not None:
            return hashlib.md5(self._view).hexdigest()
        assert self._file is not None
        return self._file.md5()

    def close(self) -> None:
        for spool in self._spools:
            spool.close()
        self._spools.clear()


class SwiftObjectReader(ObjectReader):
    """Streams bytes ``start``..``stop``-1 of one object version from a GET response.

    ``skip`` bytes are discarded first (a server that answered 200 to a Range
    request sends the whole object). ``reopen(offset, etag)`` is called to resume
    after a dropped connection: it must return a response whose body starts at
    ``offset`` of the same version, or raise.
    """

    def __init__(
        self,
        info: ObjectInfo,
        start: int,
        stop: int,
        resp: urllib3.BaseHTTPResponse,
        reopen: Callable[[int, str], urllib3.BaseHTTPResponse],
        *,
        skip: int = 0,
        resumes: int = 3,
    ) -> None:
        super().__init__()
        self.info = info
        self.start = start
        self.stop = stop
        self._resp: urllib3.BaseHTTPResponse | None = resp
        self._reopen = reopen
        self._pos = start
        self._skip = skip
        self._resumes = resumes

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (fewer when a connection broke off mid-body: the
        next read resumes); ``read()`` and ``read(-1)`` read to the end, resuming
        as often as it takes."""
        if size is None or size < 0:
            return self.readall()
        remaining = self.stop - self._pos
        if remaining <= 0 or self._resp is None:
            self._finish()
            return b""
        want = min(size, remaining)
        while True:
            try:
                if self._skip:
                    skipped = self._resp.read(min(self._skip, CHUNK))
                    if not skipped:
                        raise urllib3.exceptions.ProtocolError("body ended early")
                    self._skip -= len(skipped)
                    continue
                data = self._resp.read(want)
                if not data:
                    raise urllib3.exceptions.ProtocolError("body ended early")
                break
            except (urllib3.exceptions.HTTPError, OSError) as e:
                self._resume(e)
        self._pos += len(data)
        if self._pos >= self.stop:
            self._finish()
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        n = len(data)
        memoryview(buffer).cast("B")[:n] = data
        return n

    def _resume(self, error: Exception) -> None:
        subject = self.info.name
        if self._resumes <= 0 or not self.info.etag:
            self.close()
            raise StoreUnavailable(f"reading {subject} failed at byte {self._pos}: {error}", subject) from None
        self._resumes -= 1
        if self._resp is not None:
            self._resp.close()
        self._skip = 0
        try:
            self._resp = self._reopen(self._pos, self.info.etag)
        except PreconditionFailed:
            self._resp = None
            raise CorruptData(
                f"{subject} was replaced while being read (at byte {self._pos}); read it again",
                subject,
            ) from None

    def _finish(self) -> None:
        resp, self._resp = self._resp, None
        if resp is not None:
            # Fully read: the connection goes back to the pool for the next request.
            resp.release_conn()

    def close(self) -> None:
        resp, self._resp = self._resp, None
        if resp is not None:
            if self._pos >= self.stop and not self._skip:
                resp.release_conn()
            else:
                resp.close()  # unread body: cheaper to drop the connection than drain it
        super().close()
