"""Copying a dataset chunk by chunk as stored bytes, without decompressing and
recompressing it, between an HDF5 file (h5py) and the native layout.

When a dataset's HDF5 filters and its native codecs do the same thing
(``sciswift.engine.hdf5chunks``: shuffle, deflate <-> gzip, fletcher32 <->
crc32c, or no filter at all) and both sides have the same chunk shape, each
stored chunk is moved as bytes:

- import (HDF5 -> native): the chunk index (``DatasetID.chunk_iter``, one walk)
  gives each chunk's byte range in the file; workers read those ranges (``pread``
  on a local file, ranged GETs on a stored blob: no h5py call, so no h5py lock),
  convert the framing and put the chunk object. A chunk HDF5 stored with a filter
  skipped (a non-zero filter mask) is decoded and encoded instead.
- export (native -> HDF5): workers get the chunk objects and convert the framing;
  the calling thread hands them to h5py's ``write_direct_chunk`` in order (h5py
  serialises every call anyway).

At most ``inflight`` chunks are in flight, so memory stays at ``inflight`` times a
chunk (plus, for a deflate chunk on import, its uncompressed size while its CRC-32
is computed) whatever the dataset's size. The first error is re-raised, naming the
dataset and the chunk; later work is cancelled.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from sciswift.engine.hdf5chunks import ChunkTranslator, translator
from sciswift.errors import SciSwiftError
from sciswift.store.swift.tar import BATCH_MAX_OBJECT

__all__ = ["ChunkCopier", "RangeReader"]

#: ``read(offset, size)``: bytes of the source HDF5 file.
RangeReader = Callable[[int, int], bytes]


class ChunkCopier:
    """Moves stored chunks of datasets, ``workers`` at a time, at most
    ``inflight`` chunks held at once. ``progress(nbytes)`` and ``finished()``
    callbacks run on the calling thread."""

    def __init__(self, *, workers: int = 4, inflight: int = 16) -> None:
        self.inflight = max(1, inflight)
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="sciswift-chunks")
        self._queue: deque[tuple[Future[Any], Callable[[Any], None] | None, Callable[[], None] | None]] = deque()

    # ------------------------------------------------------------- plumbing
    def _submit(self, work: Callable[[], Any], consume: Callable[[Any], None] | None,
                done: Callable[[], None] | None, limit: int | None = None) -> None:
        """Queue ``work``, then wait while ``limit`` (default ``inflight``) or more are queued."""
        self._queue.append((self._pool.submit(work), consume, done))
        while len(self._queue) >= (limit or self.inflight):
            self._finish_one()

    def _finish_one(self) -> None:
        fut, consume, done = self._queue.popleft()
        try:
            result = fut.result()
            if consume is not None:
                consume(result)
        except BaseException:
            self.close()
            raise
        if done is not None:
            done()

    def drain(self) -> None:
        """Wait for everything submitted (re-raising the first failure)."""
        while self._queue:
            self._finish_one()

    def close(self) -> None:
        while self._queue:
            self._queue.popleft()[0].cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # ---------------------------------------------------------------- import
    def import_dataset(self, sds: Any, dds: Any, where: str, read: RangeReader | None,
                       progress: Callable[[int], None], finished: Callable[[], None]) -> bool:
        """Queue the chunks of h5py dataset ``sds`` into native dataset ``dds``.
        False (nothing queued) when the two pipelines do not translate."""
        from sciswift.formats.hdf5 import chunk_table, decode_chunk, direct_pipeline
        from sciswift.h5.directchunk import engine_array

        if read is None or sds.chunks is None or dds.chunks != sds.chunks or sds.dtype != dds.dtype:
            return False
        pipeline = direct_pipeline(sds)
        try:
            arr = engine_array(dds)
        except NotImplementedError:
            return False
        if pipeline is None or arr.pipeline.sharded:
            return False
        dt = sds.dtype
        if dt.kind not in "biufcS" or dt.fields is not None:
            return False
        tr = translator(pipeline, arr.pipeline.json, dt.itemsize, dt.byteorder == ">", sds.chunks)
        if tr is None:
            return False
        table = chunk_table(sds.id)
        chunks = tuple(sds.chunks)
        shape = tuple(sds.shape)
        itemsize = dt.itemsize
        full = math.prod(chunks) * itemsize
        remaining = math.prod(shape) * itemsize
        order: Any = np.lexsort(table.origins.T[::-1]) if len(table.origins) else []
        todo: list[tuple[tuple[int, ...], int, int, int]] = []
        for i in order:
            origin = tuple(int(o) for o in table.origins[i])
            if any(o >= n for o, n in zip(origin, shape)):
                continue  # left over beyond a shrunk extent
            todo.append((origin, int(table.addrs[i]), int(table.sizes[i]), int(table.masks[i])))

        def convert(origin: tuple[int, ...], addr: int, size: int, mask: int) -> bytes | memoryview:
            raw = read(addr, size)
            if len(raw) != size:
                raise OSError(f"short read: {len(raw)} of {size} bytes")
            stored = tr.to_zarr(raw, mask)
            if stored is None:  # a filter skipped for this chunk: decode, re-encode
                data = decode_chunk(raw, pipeline, mask, itemsize)
                if len(data) != full:
                    raise OSError(f"chunk decodes to {len(data)} bytes, expected {full}")
                stored = arr.pipeline.encode(np.frombuffer(data, dtype=dt).reshape(chunks))
            return stored

        def work(group: list[tuple[tuple[int, ...], int, int, int]]) -> None:
            origin = group[0][0]
            try:
                if len(group) == 1:
                    arr.write_chunk_bytes(tuple(o // c for o, c in zip(origin, chunks)), convert(*group[0]))
                    return
                out: dict[tuple[int, ...], bytes | memoryview] = {}
                for item in group:
                    origin = item[0]
                    out[tuple(o // c for o, c in zip(origin, chunks))] = convert(*item)
                origin = group[0][0]
                arr.write_chunks_bytes(out)
            except (SciSwiftError, OSError, ValueError) as exc:
                from sciswift.convert.treecopy import ConversionError

                what = f"chunk {origin}" if len(group) == 1 else f"chunks {group[0][0]}..{group[-1][0]}"
                raise ConversionError(f"cannot copy {what} of {where}: {exc}", where) from exc

        sizes = [_clipped(item[0], chunks, shape) * itemsize for item in todo]
        # Chunks never stored (the fill value) count when the last one is done.
        rest = remaining - sum(sizes)
        groups, limit = _grouped(todo, arr.kv.batches_puts, self.inflight)
        at = 0
        for n, group in enumerate(groups):
            nbytes = sum(sizes[at:at + len(group)])
            at += len(group)
            last = n == len(groups) - 1
            done = _done_callback(nbytes + (rest if last else 0), last, progress, finished)
            self._submit(functools.partial(work, group), None, done, limit)
        if not todo:
            progress(remaining)
            finished()
        return True

    # ---------------------------------------------------------------- export
    def export_dataset(self, sds: Any, dds: Any, where: str,
                       progress: Callable[[int], None], finished: Callable[[], None]) -> bool:
        """Queue the stored chunks of native dataset ``sds`` into h5py dataset
        ``dds``. False (nothing queued) when the pipelines do not translate."""
        from sciswift.formats.hdf5 import direct_pipeline
        from sciswift.h5.directchunk import chunk_translator, engine_array

        if sds.chunks is None or dds.chunks != sds.chunks or sds.dtype != dds.dtype:
            return False
        try:
            tr: ChunkTranslator = chunk_translator(sds)
            arr = engine_array(sds)
        except NotImplementedError:
            return False
        pipeline = direct_pipeline(dds)
        dt = sds.dtype
        if pipeline is None or arr.pipeline.sharded:
            return False
        check = translator(pipeline, arr.pipeline.json, dt.itemsize, dt.byteorder == ">", sds.chunks)
        if check is None or check != tr:
            return False
        chunks = tuple(sds.chunks)
        shape = tuple(sds.shape)
        keyed = []
        for key in arr.stored_chunk_keys():
            coords = arr.coords_of(key)
            if coords is not None and all(c * n < s for c, n, s in zip(coords, chunks, shape)):
                keyed.append((coords, key))
        keyed.sort()
        remaining = math.prod(shape) * dt.itemsize
        h5id = dds.id

        def work(key: str) -> Any:
            try:
                data = arr.kv.get(key)
                if data is None:
                    return None  # deleted meanwhile: the fill value, as HDF5 reads it too
                return tr.to_hdf5(data)
            except (SciSwiftError, OSError, ValueError) as exc:
                from sciswift.convert.treecopy import ConversionError

                raise ConversionError(f"cannot copy chunk {key} of {where}: {exc}", where) from exc

        origins = [tuple(c * s for c, s in zip(coords, chunks)) for coords, _ in keyed]
        sizes = [_clipped(origin, chunks, shape) * dt.itemsize for origin in origins]
        rest = remaining - sum(sizes)
        last = len(keyed) - 1
        for n, (_, key) in enumerate(keyed):

            def consume(data: Any, origin: tuple[int, ...] = origins[n]) -> None:
                if data is not None:
                    h5id.write_direct_chunk(origin, bytes(data))

            done = _done_callback(sizes[n] + (rest if n == last else 0), n == last, progress, finished)
            self._submit(functools.partial(work, key), consume, done)
        if not keyed:
            progress(remaining)
            finished()
        return True


#: Where the store batches puts (``KV.batches_puts``), stored chunks of up to
#: ``GROUP_MAX_CHUNK`` bytes are put in groups of at most ``GROUP_BYTES`` (one
#: archive each), at most ``inflight // GROUP_SHARE`` groups in flight: memory
#: holds a few copies of each (60 slabs of ``bench.convert``, 240 chunks of
#: ~512 KB: peak 88 MB one PUT each; 210 MB with 8 groups in flight, 140 MB with
#: 4, 104 MB with 2). 240 objects of 512 KB to a durable ``sciswift serve``:
#: 0.8-1.2 s of server CPU as PUTs, 0.40-0.49 s in archives.
GROUP_MAX_CHUNK = BATCH_MAX_OBJECT  # SwiftStore's largest object in an archive
GROUP_BYTES = 8 << 20
GROUP_MIN = 16
GROUP_SHARE = 8


def _grouped(todo: list[tuple[tuple[int, ...], int, int, int]], batches_puts: bool,
             inflight: int) -> tuple[list[list[tuple[tuple[int, ...], int, int, int]]], int | None]:
    """``todo`` (origin, address, stored size, mask) in the groups to put at once
    (each its own where the store does not batch puts), and how many groups may
    be in flight (None: the copier's ``inflight``)."""
    if not batches_puts or len(todo) < GROUP_MIN:
        return [[item] for item in todo], None
    groups: list[list[tuple[tuple[int, ...], int, int, int]]] = []
    current: list[tuple[tuple[int, ...], int, int, int]] = []
    size = 0
    for item in todo:
        if item[2] > GROUP_MAX_CHUNK:
            groups.append([item])  # too big to batch: a PUT of its own
            continue
        if current and size + item[2] > GROUP_BYTES:
            groups.append(current)  # at most GROUP_BYTES: one archive, not two
            current, size = [], 0
        current.append(item)
        size += item[2]
    if current:
        groups.append(current)
    return groups, max(2, inflight // GROUP_SHARE)


def _done_callback(nbytes: int, last: bool, progress: Callable[[int], None],
                   finished: Callable[[], None]) -> Callable[[], None]:
    def done() -> None:
        progress(nbytes)
        if last:
            finished()

    return done


def _clipped(origin: tuple[int, ...], chunks: tuple[int, ...], shape: tuple[int, ...]) -> int:
    """Elements of the chunk at ``origin`` that lie inside the array."""
    return math.prod(min(c, n - o) for o, c, n in zip(origin, chunks, shape))
