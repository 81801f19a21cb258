"""Batched I/O of LocalStore: many objects per call, as the HDF5 engine moves chunks.

Reads look up packed objects with one index query and read pack by pack, one
descriptor each; ``read_many_into`` reads bodies into one scratch buffer the
caller gives. Writes pack small objects into pack files (one file creation per
~64 MiB instead of one per object, the dominant cost of a small put on ext4),
all indexed in one transaction; ``put_many_filled`` fills each body into a
reused buffer. Each object is atomic; a batch as a whole is not.

:class:`BatchIO` is a part of :class:`~sciswift.store.local.LocalStore`: it
uses the store's handles (``_handles``), commit (``_commit``), damage handling
(``_quarantine``) and careful single-object path (``get_object``).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from sciswift.errors import ChecksumMismatch, CorruptData, NotFound
from sciswift.store.local.container import PACK_DROP_BEHIND, Container, ContainerGone, Opened
from sciswift.store.local.format import (
    LAZY_ETAG,
    Damaged,
    encode_trailer,
    read_body,
    read_part_into,
    read_whole_into,
)
from sciswift.store.local.fs import O_CLOEXEC
from sciswift.store.local.pack import PACK_MAX_OBJECT, Filled, new_pack_id, plan_packs
from sciswift.store.local.space import reports_full_disk
from sciswift.store.names import check_container_name, check_object_name
from sciswift.store.types import ObjectInfo, ReadHints

if TYPE_CHECKING:
    from sciswift.store.local.handles import ContainerHandles
    from sciswift.store.local.pack import PackFiles
    from sciswift.store.local.settle import EtagSettler

__all__ = ["BatchIO", "LEARN_LIMIT", "PART_SCRATCH_MAX"]

#: The most bytes of blocks one span of ``read_parts_into`` may need (larger
#: spans are left to the caller's other way): each thread keeps a scratch buffer
#: of up to this size, reused by every call.
PART_SCRATCH_MAX = 8 << 20

#: Bodies of at least this many bytes are stored by ``put_many`` on a durable
#: store without their MD5 (``local.settle``; a non-durable store, the HDF5
#: engine's, leaves out every body's). Below it, working the MD5 out later
#: (opening the object, reading its record) would cost more than the MD5 itself:
#: a listing of 100,000 objects of a few KiB took 23 s when each had to.
LAZY_ETAG_MIN = 64 << 10

#: The most packed objects ``read_parts_into`` notes in its hints with one
#: query (``learn``): 1,024 rows take ~0.5 ms.
LEARN_LIMIT = 1024

_scratch = threading.local()


class _Hint(NamedTuple):
    """Where a packed object was found (a ReadHints value of LocalStore): its
    pack and record, and once read, its checked trailer and block size. (A named
    tuple: one is made per object found, faster than a dataclass.)"""

    path: str
    pack: int
    base: int
    length: int
    known: tuple[bytes, int] | None


def _part_scratch(size: int) -> memoryview:
    """This thread's scratch buffer, at least ``size`` bytes (at most
    PART_SCRATCH_MAX). Reused, not allocated per read: fresh pages are slow to
    touch (see ``put_many_filled``)."""
    buf: bytearray | None = getattr(_scratch, "buf", None)
    if buf is None or len(buf) < size:
        buf = bytearray(min(max(size, 1 << 20), PART_SCRATCH_MAX))
        _scratch.buf = buf
    return memoryview(buf)


class BatchIO:
    """Batched reads and writes (a part of LocalStore, see the module docstring)."""

    durable: bool
    _settler: EtagSettler | None
    _handles: ContainerHandles
    _pack_files: PackFiles
    _commit: Callable[..., None]
    _quarantine: Callable[..., Exception]
    get_object: Callable[..., bytes]

    def get_many(
        self, container: str, names: Sequence[str], *, max_workers: int = 16
    ) -> dict[str, bytes]:
        # Sequential on purpose: a cached small read costs ~10 µs of system calls,
        # less than handing it to a thread. Packed objects are looked up with one
        # query for all and read pack by pack (one descriptor each).
        out: dict[str, bytes] = {}
        for name in names:
            check_object_name(name)
        try:
            c = self._handles.get(container)
        except NotFound:
            return out
        def take(name: str, op: Opened) -> bool:
            try:
                out[name] = read_body(op.fd, op.length, op.base, name, c.subject(name))
            except Damaged as e:
                raise self._quarantine(container, name, op, e) from None
            return True

        for name in self._read_each(c, names, take):  # a race with a writer, or no such object: the careful way
            try:
                out[name] = self.get_object(container, name)
            except NotFound:
                pass
        return out

    def read_many_into(
        self, container: str, names: Sequence[str], buf: memoryview, consume: Callable[[str], None],
        absent: Callable[[str], None] | None = None,
    ) -> list[str]:
        """For each of ``names`` whose body is exactly ``len(buf)`` bytes, read the
        body into ``buf`` and call ``consume(name)`` before the next read reuses it;
        returns the other names (missing, or of another size), for ``get_many``
        (``absent`` is not used: a missing name is returned, as telling it from a
        record being replaced takes the careful way anyway).

        One scratch buffer for every object instead of a new ``bytes`` each, as
        HDF5 reads chunks; see ``put_many_filled`` for why that matters."""
        for name in names:
            check_object_name(name)
        try:
            c = self._handles.get(container)
        except NotFound:
            return list(names)

        def take(name: str, op: Opened) -> bool:
            try:
                if read_whole_into(op.fd, op.length, name, c.subject(name), op.base, buf) is None:
                    return False
            except Damaged as e:
                raise self._quarantine(container, name, op, e) from None
            consume(name)
            return True

        return self._read_each(c, names, take)

    def read_parts_into(
        self, container: str, parts: Sequence[tuple[str, int, int, int]],
        consume: Callable[[int, memoryview], None], hints: ReadHints | None = None, learn: str | None = None,
    ) -> list[int]:
        """For each ``(name, size, start, stop)`` of ``parts`` whose object's body
        is ``size`` bytes: read body bytes ``start .. stop-1`` (the blocks holding
        them read whole and checked against their digests, as every read is) and
        call ``consume(index, view)`` with them; ``view`` is a scratch buffer,
        valid only during the call. Returns the indexes of ``parts`` not served
        (missing objects, other sizes, records without block digests, spans over
        ``PART_SCRATCH_MAX``), for the caller's other way.

        ``hints`` (the caller's, kept between calls; see ReadHints): a packed
        object read once is read again from the same pack record without asking
        the index, nor reading its metadata again (a pack record never changes;
        its body is still checked against its digests). ``learn``: a name prefix
        whose packed objects (up to ``LEARN_LIMIT``) may all be noted in
        ``hints`` with one query, the first time it is seen.

        The HDF5 engine reads a window of an uncompressed chunk this way: a
        64 x 64 window of a 256 x 256 float32 chunk needs one or two of its four
        64 KiB blocks, and copying 256 KiB from the page cache costs ~30 us, more
        than all else a read of one chunk does."""
        for name, *_ in parts:
            check_object_name(name)
        done: set[int] = set()
        scratch = _part_scratch(max((p[3] - p[2] for p in parts), default=0) + (128 << 10))
        if hints is not None:
            if learn and not hints.learned(learn):
                try:
                    c = self._handles.get(container)
                    paths: dict[int, str] = {}
                    for name, pack, off, length in c.packed_under(learn, LEARN_LIMIT):
                        if hints.get(name) is None:
                            path = paths.get(pack)
                            if path is None:
                                path = paths[pack] = c.pack_path(pack)
                            hints.put(name, _Hint(path, pack, off, length, None))
                except (NotFound, ContainerGone):
                    pass
                hints.note_learned(learn)
            # No container handle for these (nor its stat): a pack named by a
            # hint is read by its path, which is gone with its container.
            self._parts_hinted(container, parts, consume, hints, scratch, done)
            if len(done) == len(parts):
                return []
        try:
            c = self._handles.get(container)
        except NotFound:
            return [i for i in range(len(parts)) if i not in done]
        wanted: dict[str, list[int]] = {}
        for i, part in enumerate(parts):
            if i not in done:
                wanted.setdefault(part[0], []).append(i)

        def take(name: str, op: Opened) -> bool:
            for i in wanted[name]:
                if i in done:
                    continue
                _, size, start, stop = parts[i]
                try:
                    got = read_part_into(op.fd, op.length, name, c.subject(name), op.base, size, start, stop, scratch)
                except Damaged as e:
                    raise self._quarantine(container, name, op, e) from None
                if got is None:
                    return False
                if hints is not None and op.ident[0] == "p":
                    pack = op.ident[1]
                    hints.put(name, _Hint(c.pack_path(pack), pack, op.base, op.length, (got[1], got[2])))
                consume(i, got[0])
                done.add(i)
            return True

        self._read_each(c, list(wanted), take)
        return [i for i in range(len(parts)) if i not in done]

    def _parts_hinted(
        self, container: str, parts: Sequence[tuple[str, int, int, int]],
        consume: Callable[[int, memoryview], None], hints: ReadHints, scratch: memoryview, done: set[int],
    ) -> None:
        """The parts of ``read_parts_into`` whose names have hints, pack by pack."""
        by_pack: dict[str, list[tuple[int, _Hint]]] = {}
        for i, part in enumerate(parts):
            hint = hints.get(part[0])
            if isinstance(hint, _Hint):
                by_pack.setdefault(hint.path, []).append((i, hint))
        for path, found in by_pack.items():
            try:
                fd, _st = self._pack_files.open(path)
            except FileNotFoundError:
                for i, _ in found:  # the pack was collected: its records are old versions
                    hints.forget(parts[i][0])
                continue
            try:
                for i, hint in found:
                    name, size, start, stop = parts[i]
                    try:
                        got = read_part_into(fd, hint.length, name, f"{container}/{name}", hint.base, size, start,
                                             stop, scratch, hint.known)
                    except Damaged as e:
                        hints.forget(name)
                        op = Opened(fd, hint.base, hint.length, ("p", hint.pack, hint.base))
                        raise self._quarantine(container, name, op, e) from None
                    except CorruptData:
                        hints.forget(name)
                        raise
                    if got is None:
                        hints.forget(name)
                        continue
                    if hint.known is None:
                        hints.put(name, hint._replace(known=(got[1], got[2])))
                    consume(i, got[0])
                    done.add(i)
            finally:
                os.close(fd)

    def _read_each(self, c: Container, names: Sequence[str], take: Callable[[str, Opened], bool]) -> list[str]:
        """Call ``take(name, record)`` for each of ``names`` found as an object file
        or a pack record (packed ones looked up with one query, read pack by pack);
        returns the names not found or not taken, for the careful way."""
        if c.prefers_index():
            return self._each_file(c, self._each_packed(c, names, take), take)
        return self._each_packed(c, self._each_file(c, names, take), take)

    def _each_file(self, c: Container, names: Sequence[str], take: Callable[[str, Opened], bool]) -> list[str]:
        left = []
        for name in names:
            try:
                fd = os.open(c.object_path(name), os.O_RDONLY | O_CLOEXEC)
            except FileNotFoundError:
                left.append(name)
                continue
            try:
                st = os.fstat(fd)
                if not take(name, Opened(fd, 0, st.st_size, ("f", st.st_ino, st.st_dev))):
                    left.append(name)
            finally:
                os.close(fd)
        return left

    def _each_packed(self, c: Container, names: Sequence[str], take: Callable[[str, Opened], bool]) -> list[str]:
        try:
            groups = c.packed_rows(names)
        except ContainerGone:
            return list(names)
        done: set[str] = set()
        for pack, records in groups.items():
            try:
                fd, _st = self._pack_files.open(c.pack_path(pack))
            except FileNotFoundError:
                continue  # collected since the lookup: those names are read the careful way
            try:
                for name, off, length in records:
                    if take(name, Opened(fd, off, length, ("p", pack, off))):
                        done.add(name)
            finally:
                os.close(fd)
        return [n for n in names if n not in done]

    @reports_full_disk(1, batch=True)
    def put_many(
        self,
        container: str,
        items: Mapping[str, bytes],
        *,
        max_workers: int = 16,
        content_types: Mapping[str, str] | None = None,
        etags: Mapping[str, str] | None = None,
    ) -> None:
        """Store many objects: each atomically, all indexed in one transaction (the
        batch as a whole is not atomic: a crash may leave some stored).

        Objects up to ``PACK_MAX_OBJECT`` bytes are written together into pack
        files (one file creation per ~64 MiB instead of one per object); larger
        ones get files of their own. An object whose MD5 is not its ``etags``
        entry raises ChecksumMismatch naming it before anything is written."""
        check_container_name(container)
        for name in items:
            check_object_name(name)
        if not items:
            self._handles.get(container)
            return
        now = time.time()
        # A durable store's settler bounds the bytes left for later (EtagSettler.room).
        later = self._settler is None or self._settler.room()
        small: list[tuple[str, ObjectInfo, bytes | memoryview, bytes]] = []
        large: list[tuple[str, ObjectInfo, bytes | memoryview, bytes]] = []
        for name, data in items.items():
            # The MD5 is left for later unless there is one to check: it costs
            # ~1.4 ms per MiB, more than the write (see ``local.settle``). On a
            # durable store (a server's, which lists and HEADs) only a larger
            # body's: a small one's costs less than working it out later.
            want = etags.get(name) if etags else None
            lazy = not want and (not self.durable or (later and len(data) >= LAZY_ETAG_MIN))
            digest = LAZY_ETAG if lazy else hashlib.md5(data).hexdigest()
            if want and digest != want.strip('"').lower():
                raise ChecksumMismatch(f"body of {container}/{name} has MD5 {digest}, not {want}", f"{container}/{name}")
            body: bytes | memoryview = data if isinstance(data, bytes) else memoryview(data).cast("B")
            info = ObjectInfo(name, len(body), digest, now)
            if content_types and name in content_types:
                info = replace(info, content_type=content_types[name])
            (small if len(body) <= PACK_MAX_OBJECT else large).append((name, info, body, encode_trailer(info, body)))
        self._put_packed(container, large, plan_packs(small))
        if self._settler is not None:
            self._settler.add(container, [(name, info.size) for name, info, _, _ in (*small, *large)
                                          if info.etag == LAZY_ETAG])

    def _put_packed(
        self,
        container: str,
        large: Sequence[tuple[str, ObjectInfo, bytes | memoryview, bytes]],
        groups: Sequence[Sequence[tuple[str, ObjectInfo, Any, bytes | None]]],
    ) -> None:
        # A handle closed under us (the container deleted, or the store closing):
        # once more on a fresh one, which says which.
        self._handles.retrying(container, lambda c: self._put_batch(c, large, groups))

    @reports_full_disk(1, batch=True)
    def put_many_filled(
        self, container: str, names: Sequence[str], size: int, fill: Callable[[str, memoryview], None]
    ) -> None:
        """Store ``names``, each ``size`` bytes that ``fill(name, buf)`` writes into
        ``buf`` when its turn comes, as ``put_many`` would store them (each object
        atomic, the batch not). ``buf`` is one scratch buffer for all of them, so no
        memory is held per object: the HDF5 engine writes uncompressed chunks this
        way (as HDF5 does). On the project's VM, a process that held a copy of
        every chunk of a write (and a new buffer per chunk read) sooner or later
        found its fresh pages very slow to touch, for good: ``bench.h5``'s 64 MiB
        ``bulk`` took 19-28 ms per write and 13-20 per read, then 86-170 ms for
        both, in about half the processes. With scratch buffers, 4 processes x 8
        repetitions all took 20-29 ms and 14-15 ms (h5py: 23 and 13)."""
        check_container_name(container)
        for name in names:
            check_object_name(name)
        if not names:
            self._handles.get(container)
            return
        if self.durable or size > PACK_MAX_OBJECT:
            # Bodies are needed whole here (each becomes a file, or the durable
            # path is put_many's, whose settling of ETags this keeps): a few MiB
            # at a time.
            step = max(1, (8 << 20) // max(size, 1))
            for i in range(0, len(names), step):
                batch: dict[str, bytes] = {}
                for name in names[i:i + step]:
                    buf = bytearray(size)
                    fill(name, memoryview(buf))
                    batch[name] = bytes(buf)
                self.put_many(container, batch)
            return
        now = time.time()
        items = []
        for name in names:
            info = ObjectInfo(name, size, LAZY_ETAG, now)
            # The trailer (block checksums) is made once the body is filled.
            items.append((name, info, Filled(size, name, fill), None))
        self._put_packed(container, [], plan_packs(items))

    def _put_batch(
        self,
        c: Container,
        large: Sequence[tuple[str, ObjectInfo, bytes | memoryview, bytes]],
        groups: Sequence[Sequence[tuple[str, ObjectInfo, Any, bytes | None]]],
    ) -> None:
        """Write ``large`` as object files and ``groups`` as packs, and commit them."""
        ids = [new_pack_id() for _ in groups]
        # The pack IDs go into the journal before the packs exist, so recovery
        # finds the packs of a writer that dies before committing them.
        c.journal_begin((), ids)
        try:
            staged: list[tuple[str, str, ObjectInfo]] = []
            try:
                for name, info, body, trailer in large:
                    staged.append((name, c.write_temp([body, trailer], PACK_DROP_BEHIND), info))
                packs = c.stage_packs(ids, groups)
            except BaseException:
                for _, tmp, _ in staged:
                    os.unlink(tmp)
                raise
            self._commit(c, staged, None, packs)
        finally:
            c.journal_end()
