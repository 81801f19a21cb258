"""The one Store interface every backend implements.

A Store is one Swift *account*: containers holding objects. The interface is
synchronous and thread-safe; callers get concurrency by calling it from several
threads (the engine's pool, the server's executor). Backends implement the abstract
core; the conveniences below it are derived from the core and may be overridden
where a backend can do them faster (LocalStore batches index updates, SwiftStore
pipelines requests).

Contracts every backend keeps (checked by ``sciswift.testing.StoreTests``):

- A put is atomic: readers see the old object or the new one, never a mix or a
  prefix, even if the writer dies mid-way.
- Missing things raise ``NotFound`` naming ``container/object``; nothing is ever
  returned as empty instead.
- Names are validated (``sciswift.store.names``) before anything is touched.
- Listings follow Swift: UTF-8 byte order, ``ListingParams`` semantics.
- ``ObjectInfo.etag`` is the MD5 hex digest of the stored bytes.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO

from sciswift.errors import InvalidInput, NotFound, NotSupported
from sciswift.store.links import LINK_CONTENT_TYPE, sysmeta_link
from sciswift.store.metarules import copied_metadata
from sciswift.store.types import (
    OVERWRITE,
    AccountInfo,
    ByteRange,
    ContainerInfo,
    ListingParams,
    ObjectInfo,
    PutMode,
    ReadHints,
    Subdir,
)

if TYPE_CHECKING:
    from sciswift.store.large import SegmentRef

__all__ = ["Store", "ObjectReader", "ObjectWriter", "BytesReader", "PutData", "iter_chunks", "is_seekable"]

PutData = bytes | bytearray | memoryview | Iterable[bytes] | BinaryIO
"""What a put accepts: a bytes-like value, an iterable of byte chunks, or a binary
file-like object read to its end."""

CHUNK = 1 << 20


def is_seekable(data: Any) -> bool:
    """True if ``data`` is a file object a put can read twice (to retry, or
    to read parts concurrently): it reads, seeks and says it is seekable."""
    if not (hasattr(data, "read") and hasattr(data, "seek") and hasattr(data, "tell")):
        return False
    try:
        return bool(data.seekable()) if hasattr(data, "seekable") else True
    except (OSError, ValueError):
        return False


def iter_chunks(data: PutData, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """Byte chunks of any ``PutData`` value, without copying a bytes-like value."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield bytes(data) if not isinstance(data, bytes) else data
        return
    read = getattr(data, "read", None)
    if read is not None:
        while True:
            block = read(chunk_size)
            if not block:
                return
            yield block
    else:
        for block in data:
            if block:
                yield bytes(block)


class ObjectReader(io.RawIOBase):
    """A body being read: ``info`` describes the whole object, and reading yields the
    bytes of the requested range (``start`` .. ``stop``-1). Close it when done.

    Backends that keep objects in local files set ``fileno_offset()`` so the server
    can use ``sendfile``; others return None. Backends that keep checksums verify
    what ``read`` returns and raise CorruptData instead of returning damaged bytes
    (for a whole-object read, at the latest instead of its last bytes);
    ``check`` verifies a span without reading it out.
    """

    info: ObjectInfo
    start: int
    stop: int

    def readable(self) -> bool:
        return True

    @property
    def length(self) -> int:
        return self.stop - self.start

    def fileno_offset(self) -> tuple[int, int] | None:
        """``(fd, offset_of_start)`` for zero-copy sending, or None. Bytes sent
        that way bypass ``read`` and its checks: check them with ``check``."""
        return None

    def check(self, start: int, end: int) -> None:
        """Verify that body bytes ``start .. end-1`` are intact, with whatever
        checksums the backend keeps for the version this reader holds.

        Offsets are positions in the object, like ``start`` and ``stop``, and must
        lie within them (``self.start <= start <= end <= self.stop``; ValueError
        otherwise). Returns None when the bytes are intact, or when the backend
        or this record has no checksum able to vouch for them (then nothing is
        read): LocalStore checks its per-block digests for any span and, for
        records written before they existed, the MD5 ETag once spans checked in
        order from the body's first byte reach its end; other backends verify
        nothing here. Raises CorruptData
        (``Quarantined`` once the backend has set the object aside) when they
        are not intact. The read position does not move. Blocking: call it from
        a worker thread.

        For callers that send bytes without ``read`` (``sendfile`` from
        ``fileno_offset()``): check each span before sending its last byte, so
        that damage cuts the transfer short instead of completing it.
        """
        if not self.start <= start <= end <= self.stop:
            raise ValueError(f"span {start}-{end} is outside the reader's range {self.start}-{self.stop}")

    def iter_chunks(self, chunk_size: int = CHUNK) -> Iterator[bytes]:
        while True:
            block = self.read(chunk_size)
            if not block:
                return
            yield block

    def readall(self) -> bytes:
        return b"".join(self.iter_chunks())


class BytesReader(ObjectReader):
    """An ObjectReader over bytes already in memory."""

    def __init__(self, info: ObjectInfo, data: bytes | memoryview, start: int, stop: int) -> None:
        super().__init__()
        self.info = info
        self.start = start
        self.stop = stop
        self._view = memoryview(data)[start:stop]
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._view) - self._pos
        out = bytes(self._view[self._pos : self._pos + size])
        self._pos += len(out)
        return out

    def readinto(self, buf) -> int:
        n = min(len(buf), len(self._view) - self._pos)
        buf[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n


class ObjectWriter:
    """An object being written piece by piece (the server streams request bodies
    through one). Nothing is visible until ``commit``; ``abort`` (or a writer that is
    garbage-collected uncommitted) leaves any previous object untouched.

    This default spools to a temporary file and calls ``Store.put_object`` at commit;
    backends that can write in place override ``Store.open_writer``.
    """

    def __init__(self, store: Store, container: str, name: str, **put_options: Any) -> None:
        self._store = store
        self._container = container
        self._name = name
        self._options = put_options
        self._tmp: BinaryIO | None = tempfile.SpooledTemporaryFile(8 << 20)  # type: ignore[assignment]
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        assert self._tmp is not None, "writer already finished"
        self._tmp.write(data)
        self.bytes_written += len(data)

    def vouch_md5(self, etag: str) -> None:
        """The caller knows the MD5 of the whole body to come, ``etag``: it copies
        a stored object's bytes, checked as they were read, whose ETag that is.
        A writer that would compute the MD5 to make the ETag may take this one
        instead (call before the first ``write``). This one computes nothing."""

    def add_system(self, values: Mapping[str, str]) -> None:
        """Record ``values`` among the object's system values too (over those
        given at open), in the same commit as the bytes: values known only
        once the body was written (a checksum a client sent after it). Call
        before ``commit``."""
        self._options["system"] = {**(self._options.get("system") or {}), **values}

    def commit(self) -> ObjectInfo:
        """Make the object visible, atomically; returns its info."""
        assert self._tmp is not None, "writer already finished"
        tmp, self._tmp = self._tmp, None
        try:
            tmp.seek(0)
            return self._store.put_object(self._container, self._name, tmp, **self._options)
        finally:
            tmp.close()

    def abort(self) -> None:
        """Discard what was written."""
        if self._tmp is not None:
            self._tmp.close()
            self._tmp = None


class Store(ABC):
    """One account of containers and objects. See the module docstring for contracts."""

    #: A URL that reopens this store (``file:///...``, ``memory://``, ``swift://``).
    url: str = ""
    #: Byte ranges are served without reading the whole object.
    supports_ranges: bool = True
    #: CREATE and IfMatch put modes are atomic against concurrent writers.
    supports_conditional_put: bool = True
    #: Where they are not atomic, the store still checks them when the put is sent
    #: (IfMatch: a HEAD just before the PUT), so a writer that stored meanwhile is
    #: noticed unless it stores in between those two requests (real Swift, s3api).
    checks_conditional_put: bool = False
    #: Requests are cheap (local); callers need not batch or parallelise them.
    is_local: bool = True
    #: Account totals (object/byte counts of the account and of containers in the
    #: account listing) may lag writes by up to this many seconds (real Swift
    #: updates them in the background). 0 means they are exact at once.
    totals_lag: float = 0.0
    #: ``post_account`` stores account metadata (S3 has none: NotSupported).
    supports_account_metadata: bool = True
    #: ``put_manifest`` makes large objects of stored segments (Swift's SLOs).
    #: S3 has no such objects: there it raises NotSupported and ``get_manifest``
    #: answers None; callers then store large objects whole.
    supports_manifests: bool = True
    #: ``put_link`` stores symbolic links as ``sciswift serve`` keeps them
    #: (system values; see ``sciswift.store.links``).
    keeps_links: bool = False
    #: ``read_many_into`` reads bodies into a caller's buffer (LocalStore;
    #: SwiftStore, in batched GETs where the endpoint has them).
    supports_read_into: bool = False
    #: ``read_parts_into`` reads parts of bodies into a scratch buffer (LocalStore).
    supports_read_parts: bool = False
    #: ``put_many_filled`` stores bodies filled into one scratch buffer (LocalStore).
    supports_put_filled: bool = False
    #: ``get_many`` fetches many objects in a few requests (SwiftStore on an
    #: endpoint with a batched GET): callers should hand it many names at once
    #: rather than spread single gets over threads.
    batches_gets: bool = False
    #: About one network round trip to the store in seconds, once measured
    #: (SwiftStore: its quickest answer yet); None when unknown or local.
    round_trip: float | None = None
    #: ``put_many`` stores many small objects in a few requests (SwiftStore on an
    #: endpoint that stores an uploaded archive's files together): callers should
    #: hand it many objects at once rather than spread single puts over threads.
    batches_puts: bool = False
    #: Listing entries carry each object's content type (S3 listings do not).
    listing_content_types: bool = True
    #: Listing entries carry each object's user metadata when asked
    #: (``ListingParams.metadata``): LocalStore and MemoryStore; SwiftStore on an
    #: endpoint that offers it (``sciswift serve``); not real Swift or S3.
    listing_metadata: bool = False
    #: The longest container name (UTF-8 bytes) the backend takes, and whether
    #: it takes non-ASCII ones (S3 bucket names: 63, ASCII).
    max_container_name_length: int = 256
    unicode_container_names: bool = True

    # ---------------------------------------------------------------- account
    @abstractmethod
    def account_info(self) -> AccountInfo:
        """Totals over all containers, and the account's metadata."""

    @abstractmethod
    def post_account(
        self, metadata: Mapping[str, str] | None = None, system: Mapping[str, str] | None = None
    ) -> None:
        """Merge account metadata; a key set to ``""`` is removed."""

    @abstractmethod
    def list_containers(self, params: ListingParams = ListingParams()) -> list[ContainerInfo | Subdir]:
        """Containers in UTF-8 byte order, filtered and paged by ``params``."""

    # -------------------------------------------------------------- container
    @abstractmethod
    def create_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> bool:
        """Create ``container``; True if it was created, False if it existed (its
        metadata is then merged as by ``post_container``)."""

    @abstractmethod
    def delete_container(self, container: str) -> None:
        """Delete an empty container. NotFound if missing, ContainerNotEmpty if not empty."""

    @abstractmethod
    def head_container(self, container: str) -> ContainerInfo:
        """Totals and metadata of ``container``. NotFound if missing."""

    @abstractmethod
    def post_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> None:
        """Merge container metadata; a key set to ``""`` is removed. NotFound if missing."""

    @abstractmethod
    def list_objects(
        self, container: str, params: ListingParams = ListingParams()
    ) -> list[ObjectInfo | Subdir]:
        """Objects of ``container`` in UTF-8 byte order, filtered and paged by ``params``.
        NotFound if the container is missing."""

    # ----------------------------------------------------------------- object
    @abstractmethod
    def head_object(self, container: str, name: str) -> ObjectInfo:
        """What is known of an object. NotFound if it (or its container) is missing."""

    def head_link(self, container: str, name: str) -> ObjectInfo:
        """As ``head_object``, but of a symbolic link itself, never of what it
        points at (``sciswift.store.links.link_target`` reads its target from
        the answer). Stores that never follow links answer ``head_object``."""
        return self.head_object(container, name)

    def delete_link(self, container: str, name: str) -> None:
        """Delete ``name`` itself, a link or not: never what a link points at, nor
        its segments (``delete_object`` of a link to a large object may take the
        target's segments where the store follows links). Stores that never
        follow links answer ``delete_object``."""
        self.delete_object(container, name)

    def put_link(self, container: str, name: str, target_container: str, target_name: str,
                 metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        """Store ``name`` as a symbolic link to ``target_container/target_name``
        of this account (Swift's dynamic symlink: the target need not exist),
        with ``metadata`` of its own. NotSupported where the store cannot keep
        links (``_link_system``)."""
        return self.put_object(container, name, b"", content_type=LINK_CONTENT_TYPE, metadata=metadata,
                               system=self._link_system(container, name, target_container, target_name))

    def _link_system(self, container: str, name: str, target_container: str, target_name: str) -> Mapping[str, str]:
        """The system values that make ``container/name`` a link to
        ``target_container/target_name``: those ``sciswift serve`` keeps, where
        ``keeps_links``; NotSupported otherwise."""
        if not self.keeps_links:
            raise NotSupported(f"{type(self).__name__} cannot store symbolic links ({container}/{name})",
                               f"{container}/{name}")
        return sysmeta_link(target_container, target_name)

    @abstractmethod
    def open_object(
        self, container: str, name: str, byte_range: ByteRange | None = None, *, need_etag: bool = True
    ) -> ObjectReader:
        """Start reading an object, or one byte range of it.

        NotFound if missing; RangeNotSatisfiable if the range selects no byte. The
        reader sees one version of the object even if it is overwritten meanwhile.
        ``need_etag=False``: the caller does not use ``reader.info.etag``, which a
        store that computes ETags when asked (LocalStore after ``put_many``) may
        then leave empty instead of computing it.
        """

    @abstractmethod
    def put_object(
        self,
        container: str,
        name: str,
        data: PutData,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
        mode: PutMode = OVERWRITE,
        etag: str | None = None,
    ) -> ObjectInfo:
        """Store an object atomically, replacing metadata wholesale.

        ``etag``, if given, is the MD5 the body must have (ChecksumMismatch
        otherwise, and nothing is stored). ``mode`` is OVERWRITE, CREATE
        (AlreadyExists if present) or IfMatch(etag) (PreconditionFailed unless the
        current object has that ETag; NotFound-free: a missing object fails too).
        NotFound if the container is missing.
        """

    @abstractmethod
    def delete_object(self, container: str, name: str) -> None:
        """Delete an object. NotFound if it is missing."""

    @abstractmethod
    def post_object(
        self,
        container: str,
        name: str,
        *,
        metadata: Mapping[str, str],
        content_type: str | None = None,
        system: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Replace an object's user metadata (Swift POST semantics: keys not given are
        dropped). ``content_type`` and ``system`` values given are updated, others kept;
        a system key set to ``""`` is removed. The body is untouched."""

    # ----------------------------------------------------------- conveniences
    def open_writer(
        self,
        container: str,
        name: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
        mode: PutMode = OVERWRITE,
        etag: str | None = None,
    ) -> ObjectWriter:
        """Start writing an object piece by piece (same semantics as ``put_object``,
        checked at ``commit``)."""
        return ObjectWriter(
            self, container, name,
            content_type=content_type, metadata=metadata, system=system, mode=mode, etag=etag,
        )

    def copy_object(
        self,
        src_container: str,
        src_name: str,
        dst_container: str,
        dst_name: str,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        system: Mapping[str, str] | None = None,
        fresh_metadata: bool = False,
        mode: PutMode = OVERWRITE,
    ) -> ObjectInfo:
        """Copy an object within this store. The copy keeps the source's metadata
        (unless ``fresh_metadata``) updated with ``metadata``; content type and
        system values likewise."""
        with self.open_object(src_container, src_name) as reader:
            src = reader.info
            return self.put_object(
                dst_container,
                dst_name,
                reader.iter_chunks(),
                content_type=content_type or src.content_type,
                metadata=copied_metadata(src.metadata, metadata, fresh=fresh_metadata),
                system=copied_metadata(src.system, system),
                mode=mode,
            )

    def get_object(self, container: str, name: str, byte_range: ByteRange | None = None) -> bytes:
        """The bytes of an object (or of one range of it)."""
        with self.open_object(container, name, byte_range) as reader:
            return reader.readall()

    def get_many(
        self, container: str, names: Sequence[str], *, max_workers: int = 16
    ) -> dict[str, bytes]:
        """Bodies of many objects; names that do not exist are left out of the result."""
        def one(name: str) -> tuple[str, bytes | None]:
            try:
                return name, self.get_object(container, name)
            except NotFound:
                return name, None

        if self.is_local or len(names) <= 1:
            pairs = [one(n) for n in names]
        else:
            with ThreadPoolExecutor(min(max_workers, len(names))) as pool:
                pairs = list(pool.map(one, names))
        return {n: b for n, b in pairs if b is not None}

    def put_many(
        self,
        container: str,
        items: Mapping[str, bytes],
        *,
        max_workers: int = 16,
        content_types: Mapping[str, str] | None = None,
        etags: Mapping[str, str] | None = None,
    ) -> None:
        """Store many objects (each atomically; the batch as a whole is not).
        ``content_types`` gives some of them a content type (the others get
        ``application/octet-stream``); ``etags`` the MD5 some of them must have
        (ChecksumMismatch naming the object if one does not, which is not stored)."""
        types = content_types or {}
        sums = etags or {}
        if self.is_local or len(items) <= 1:
            for name, data in items.items():
                self.put_object(container, name, data, content_type=types.get(name), etag=sums.get(name))
            return
        with ThreadPoolExecutor(min(max_workers, len(items))) as pool:
            futures = [
                pool.submit(self.put_object, container, n, d, content_type=types.get(n), etag=sums.get(n))
                for n, d in items.items()
            ]
            for fut in futures:
                fut.result()

    def delete_many(
        self, container: str, names: Iterable[str], *, max_workers: int = 16
    ) -> int:
        """Delete many objects, ignoring ones already gone; returns how many were deleted."""
        def one(name: str) -> int:
            try:
                self.delete_object(container, name)
                return 1
            except NotFound:
                return 0

        names = list(names)
        if self.is_local or len(names) <= 1:
            return sum(one(n) for n in names)
        with ThreadPoolExecutor(min(max_workers, len(names))) as pool:
            return sum(pool.map(one, names))

    def iter_objects(
        self, container: str, prefix: str = "", *, page_size: int = 10000
    ) -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, paging through listings."""
        marker = ""
        while True:
            page = self.list_objects(
                container, ListingParams(prefix=prefix, marker=marker, limit=page_size)
            )
            for entry in page:
                if isinstance(entry, ObjectInfo):
                    yield entry
            if len(page) < page_size:
                return
            marker = page[-1].name

    def iter_names(self, container: str, prefix: str = "", *, page_size: int = 10000) -> Iterator[str]:
        """Names of every object under ``prefix``, in UTF-8 order. Backends may make
        this cheaper than ``iter_objects`` (no ETags or metadata needed)."""
        for info in self.iter_objects(container, prefix, page_size=page_size):
            yield info.name

    # ---------------------------------------------------- large objects (SLO)
    def put_manifest(
        self,
        container: str,
        name: str,
        segments: Sequence[SegmentRef],
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        mode: PutMode = OVERWRITE,
    ) -> ObjectInfo:
        """Make ``name`` a static large object whose content is ``segments``
        (whole objects already stored, in order), atomically, as Swift's
        ``?multipart-manifest=put`` does. Every segment is checked first: a missing
        one, or one whose size or ETag differs, raises InvalidInput naming it and
        nothing is stored. Returns the info of the large object (its whole size and
        SLO ETag; see ``sciswift.store.large``). Overwriting a large object leaves
        its old segments in place; the caller removes what it no longer needs.

        This default stores Swift's manifest format with the system values
        ``sciswift serve`` uses, so a server over this store serves the object.
        """
        from sciswift.store.large import SLO_ETAG, SLO_FLAG, SLO_SIZE, check_ranges, slo_etag, stored_manifest

        subject = f"{container}/{name}"
        if not segments:
            raise InvalidInput(f"large object {subject} needs at least one segment", subject)
        check_ranges(segments, subject)
        stamps = []
        for i, seg in enumerate(segments):
            try:
                info = self.head_object(seg.container, seg.name)
            except NotFound:
                raise InvalidInput(f"segment {i} of {subject} ({seg.path}) does not exist", subject) from None
            if info.size != seg.whole_size or info.etag != seg.etag:
                raise InvalidInput(
                    f"segment {i} of {subject} ({seg.path}) has {info.size} bytes and ETag {info.etag}, "
                    f"not {seg.whole_size} and {seg.etag}", subject,
                )
            if i < len(segments) - 1 and seg.size < 1:
                raise InvalidInput(f"segment {i} of {subject} ({seg.path}) is empty", subject)
            stamps.append(info.timestamp)
        total = sum(s.size for s in segments)
        etag = slo_etag(segments)
        info = self.put_object(
            container, name, stored_manifest(segments, stamps), content_type=content_type,
            metadata=metadata, mode=mode,
            system={SLO_FLAG: "True", SLO_ETAG: etag, SLO_SIZE: str(total)},
        )
        return ObjectInfo(name, total, etag, info.timestamp, info.content_type,
                          dict(info.metadata), dict(info.system))

    def get_manifest(self, container: str, name: str, *, head: ObjectInfo | None = None) -> list[SegmentRef] | None:
        """The segments of the static large object ``name``, or None if it is an
        ordinary object. NotFound if it is missing. ``head``: the object's HEAD
        if the caller has one; a remote store then reads a large object's
        manifest in one request instead of two (local stores ask again: it
        costs nothing there)."""
        from sciswift.store.large import is_large_object, parse_stored_manifest

        info = self.head_object(container, name)
        if not is_large_object(info):
            return None
        return parse_stored_manifest(self.get_object(container, name), f"{container}/{name}")

    def delete_manifest(self, container: str, name: str) -> None:
        """Delete the object ``name`` but never the segments a large object lists
        (``delete_object`` on a Swift endpoint removes them too). NotFound if missing.
        Used to move a large object: ``put_manifest`` under the new name, then this."""
        self.delete_object(container, name)

    def read_many_into(
        self, container: str, names: Sequence[str], buf: memoryview, consume: Callable[[str], None],
        absent: Callable[[str], None] | None = None,
    ) -> list[str]:
        """For each of ``names`` whose body is exactly ``len(buf)`` bytes: read it
        into ``buf``, then call ``consume(name)`` before the next read reuses the
        buffer. Returns the names not handled (missing, or of another size).
        ``absent``: where a store learns on the way that a name has no object
        (a batched GET's 404), it calls ``absent(name)`` instead of returning the
        name, which spares the caller asking again. Only where
        ``supports_read_into``; NotSupported otherwise."""
        raise NotSupported(f"{type(self).__name__} cannot read into a buffer", self.url)

    def read_parts_into(
        self, container: str, parts: Sequence[tuple[str, int, int, int]],
        consume: Callable[[int, memoryview], None], hints: ReadHints | None = None, learn: str | None = None,
    ) -> list[int]:
        """For each ``(name, size, start, stop)`` of ``parts`` whose body is ``size``
        bytes: call ``consume(index, view)`` with its bytes ``start .. stop-1``
        (checked as every read is), ``view`` valid only during the call. Returns
        the indexes not served (missing objects, other sizes, and whatever the
        store prefers to leave to an ordinary read). ``hints``: where earlier
        reads found objects (see ReadHints), used and extended; ``learn``: a
        prefix of names the store may note in ``hints`` all at once. Only where
        ``supports_read_parts``; NotSupported otherwise."""
        raise NotSupported(f"{type(self).__name__} cannot read into a buffer", self.url)

    def put_many_filled(
        self, container: str, names: Sequence[str], size: int, fill: Callable[[str, memoryview], None]
    ) -> None:
        """Store ``names``, each ``size`` bytes that ``fill(name, buf)`` writes into
        one reused buffer, as ``put_many`` stores objects (each atomic, the batch
        not). Only where ``supports_put_filled``; NotSupported otherwise."""
        raise NotSupported(f"{type(self).__name__} cannot store from a scratch buffer", self.url)

    def has_object(self, container: str, name: str) -> bool:
        """True if the object exists."""
        try:
            self.head_object(container, name)
            return True
        except NotFound:
            return False

    def expect_reads(self, reads: Sequence[tuple[str, str, str]]) -> None:
        """A hint: the caller is about to make ``reads`` (``(method, container,
        name)``, method GET or HEAD, whole objects), the first of its work. A
        remote store that must authenticate first may have them answered along
        with that (SwiftStore on ``sciswift serve``: one round trip for both);
        the reads are then made as usual and answer at once. Nothing by
        default."""
        return None

    def learn_endpoint(self) -> None:
        """Start learning, in the background, what the endpoint offers (for a
        remote store: one request beside the caller's own); never blocks.
        Callers opening a file call it so that later reads find out at once."""
        return None

    def close(self) -> None:
        """Release connections and handles. The store must not be used afterwards."""
        return None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def md5_of_chunks(chunks: Iterable[bytes]) -> tuple[str, int, list[bytes]]:
    """MD5 hex digest, total size and the chunks themselves (kept for storing)."""
    h = hashlib.md5()
    kept: list[bytes] = []
    size = 0
    for c in chunks:
        h.update(c)
        size += len(c)
        kept.append(c)
    return h.hexdigest(), size, kept


def spool(data: PutData, max_memory: int = 8 << 20) -> tuple[BinaryIO, str, int]:
    """Copy ``data`` into a spooled temporary file; returns it rewound, its MD5 and size."""
    h = hashlib.md5()
    size = 0
    tmp: BinaryIO = tempfile.SpooledTemporaryFile(max_memory)  # type: ignore[assignment]
    for c in iter_chunks(data):
        h.update(c)
        size += len(c)
        tmp.write(c)
    tmp.seek(0)
    return tmp, h.hexdigest(), size
