"""Bodies in and out of S3Store: the streaming reader, and what a put sends.

``S3ObjectReader`` streams a GET; if the connection drops mid-body it resumes
with a Range request pinned to the same ETag (``If-Match``), so a reader never
mixes two versions of an object.

``PutParts`` cuts whatever ``put_object`` was given into the parts of a
multipart upload (or one body, when small), holding at most one part of a
stream in memory at a time, and computes the MD5 of the whole as it goes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from typing import Any, cast

import urllib3

from sciswift.errors import CorruptData, PreconditionFailed, StoreUnavailable
from sciswift.store.base import ObjectReader, PutData, is_seekable, iter_chunks
from sciswift.store.types import ObjectInfo

__all__ = ["S3ObjectReader", "PutParts"]


class S3ObjectReader(ObjectReader):
    """Bytes ``start``..``stop`` of one version of an object, streamed.

    ``reopen(offset, etag)`` starts a new response at ``offset`` for the
    object whose ETag is ``etag`` (PreconditionFailed if it changed).
    """

    def __init__(
        self,
        info: ObjectInfo,
        start: int,
        stop: int,
        raw: urllib3.BaseHTTPResponse | None,
        reopen: Callable[[int, str], urllib3.BaseHTTPResponse],
        subject: str,
        resumes: int = 3,
    ) -> None:
        super().__init__()
        self.info = info
        self.start = start
        self.stop = stop
        self._raw = raw
        self._reopen = reopen
        self._pos = start
        self._subject = subject
        self._resumes = resumes

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        left = self.stop - self._pos
        if left <= 0:
            return b""
        want = left if size is None or size < 0 else min(size, left)
        parts: list[bytes] = []
        while want > 0:
            if self._raw is None:
                self._raw = self._open_again()
            try:
                block = self._raw.read(want)
            except (urllib3.exceptions.HTTPError, OSError):
                block = b""
            if not block:
                self._release()
                if self._resumes <= 0:
                    raise StoreUnavailable(f"{self._subject}: the body ended {self.stop - self._pos} bytes "
                                           "early and could not be resumed", self._subject)
                self._resumes -= 1
                continue
            parts.append(block)
            self._pos += len(block)
            want -= len(block)
        return b"".join(parts)

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def _open_again(self) -> urllib3.BaseHTTPResponse:
        try:
            return self._reopen(self._pos, self.info.etag)
        except PreconditionFailed:
            raise CorruptData(f"{self._subject} changed while being read", self._subject) from None

    def _release(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            raw.release_conn()

    def close(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            if self._pos < self.stop:
                raw.drain_conn() if self.stop - self._pos < (1 << 20) else raw.close()
            raw.release_conn()
        super().close()



class PutParts:
    """The body of one put against the multipart ``threshold``: after
    construction either ``small`` holds all of it, or ``parts()`` yields the
    parts (``part_size`` bytes each, the last one shorter) in order. ``md5``
    is the whole body's hex MD5 once every part was produced."""

    def __init__(self, data: PutData, threshold: int, part_size: int) -> None:
        self.part_size = part_size
        self.md5: str | None = None
        self.small: bytes | None = None
        self._view: memoryview | None = None
        self._file: Any = None
        self._head = b""
        self._rest: Iterator[bytes] | None = None
        if isinstance(data, (bytes, bytearray, memoryview)):
            view = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
            if len(view) <= threshold:
                self.small = bytes(view)
            else:
                self._view = view
            return
        if is_seekable(data):
            f = cast(Any, data)
            start = f.tell()
            f.seek(0, io.SEEK_END)
            size = f.tell() - start
            f.seek(start)
            if size <= threshold:
                self.small = f.read(size)
            else:
                self._file = f
            return
        chunks = iter_chunks(data)
        head: list[bytes] = []
        got = 0
        for chunk in chunks:
            head.append(chunk)
            got += len(chunk)
            if got > threshold:
                break
        joined = b"".join(head)
        if got <= threshold:
            self.small = joined
        else:
            self._head = joined
            self._rest = chunks

    def parts(self) -> Iterator[bytes]:
        h = hashlib.md5()
        if self._view is not None:
            for off in range(0, len(self._view), self.part_size):
                part = bytes(self._view[off: off + self.part_size])
                h.update(part)
                yield part
        elif self._file is not None:
            while True:
                part = self._file.read(self.part_size)
                if not part:
                    break
                h.update(part)
                yield part
        else:
            buf = bytearray(self._head)
            self._head = b""
            assert self._rest is not None
            for chunk in self._rest:
                buf += chunk
                while len(buf) >= self.part_size:
                    part = bytes(buf[: self.part_size])
                    del buf[: self.part_size]
                    h.update(part)
                    yield part
            if buf:
                h.update(buf)
                yield bytes(buf)
        self.md5 = h.hexdigest()
