"""h5py's direct chunk I/O on native datasets: ``dset.id.read_direct_chunk``,
``write_direct_chunk``, ``get_num_chunks``, ``get_chunk_info`` and ``chunk_iter``.

As in h5py, the bytes are a chunk *as HDF5 stores it*: passed through the HDF5
filters the dataset reports (shuffle, deflate as a zlib stream, fletcher32). The
native layout stores the same chunk with Zarr codecs, so the bytes are converted
on the way (``sciswift.engine.hdf5chunks``: deflate reframed as gzip without
recompressing, fletcher32 swapped for crc32c). A dataset whose codecs have no such
conversion (lzf, scale-offset, the portable codec style's blosc, sharding, vlen
types) raises ``NotImplementedError`` naming it, as do HDF5 filter masks other than
0 on write. ``sciswift import``/``export`` use this to copy chunks without
recompressing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sciswift.engine.hdf5chunks import H5Z_DEFLATE, H5Z_FLETCHER32, H5Z_SHUFFLE, ChunkTranslator, translator

__all__ = ["StoreInfo", "hdf5_pipeline", "chunk_translator", "read_direct_chunk", "write_direct_chunk",
           "chunk_infos", "chunk_iter", "engine_array"]


@dataclass(frozen=True)
class StoreInfo:
    """h5py's ``StoreInfo``: where a chunk starts (in elements), its filter mask,
    its byte offset (None: an object store has no file offsets) and stored size."""

    chunk_offset: tuple[int, ...]
    filter_mask: int
    byte_offset: int | None
    size: int


def engine_array(dset: Any) -> Any:
    """The engine Array behind a native dataset; NotImplementedError naming the
    dataset for anything else (format plugins' datasets)."""
    backend = dset._arr
    arr = getattr(backend, "_arr", None)
    if arr is None or not hasattr(arr, "write_chunk_bytes"):
        raise NotImplementedError(f"{dset.name}: direct chunk I/O needs a native dataset")
    return arr


def hdf5_pipeline(filters: dict[str, Any], itemsize: int) -> list[tuple[int, tuple[int, ...]]] | None:
    """The HDF5 filter pipeline (write order) h5py makes for these reported
    filters, or None if it has a filter this module does not convert."""
    if filters.get("scaleoffset") is not None or filters.get("compression") not in (None, "gzip"):
        return None
    out: list[tuple[int, tuple[int, ...]]] = []
    if filters.get("shuffle"):
        out.append((H5Z_SHUFFLE, (itemsize,)))
    if filters.get("compression") == "gzip":
        out.append((H5Z_DEFLATE, (int(filters.get("compression_opts") or 4),)))
    if filters.get("fletcher32"):
        out.append((H5Z_FLETCHER32, ()))
    return out


def chunk_translator(dset: Any) -> ChunkTranslator:
    """How this dataset's chunks convert to HDF5 bytes; NotImplementedError naming
    the dataset when they do not."""
    arr = engine_array(dset)
    dt = arr.dtype
    if dset.chunks is None:
        raise NotImplementedError(f"{dset.name}: direct chunk I/O needs a chunked dataset")
    if dt.hasobject or dt.kind not in "biufcS" or dt.fields is not None or dset.dtype != dt:
        raise NotImplementedError(f"{dset.name}: direct chunk I/O needs plain fixed-size data, not {dset.dtype}")
    pipeline = hdf5_pipeline(dict(arr.meta.attributes.get("_sciswift", {}).get("filters") or {}), dt.itemsize)
    found = None if pipeline is None else translator(pipeline, arr.pipeline.json, dt.itemsize, dt.byteorder == ">",
                                                     dset.chunks)
    if found is None:
        names = ", ".join(c["name"] for c in arr.pipeline.json)
        raise NotImplementedError(f"{dset.name}: its codecs ({names}) have no HDF5 filter form for direct chunk I/O")
    return found


def _coords(dset: Any, offsets: Sequence[int]) -> tuple[int, ...]:
    chunks = dset.chunks
    shape = dset.shape
    offs = tuple(int(o) for o in offsets)
    if len(offs) != len(shape) or any(o % c or not 0 <= o < max(n, 1) for o, c, n in zip(offs, chunks, shape)):
        raise ValueError(f"{dset.name}: {offs} is not the offset of a chunk (chunk shape {chunks}, shape {shape})")
    return tuple(o // c for o, c in zip(offs, chunks))


def read_direct_chunk(dset: Any, offsets: Sequence[int]) -> tuple[int, bytes]:
    """``(filter_mask, bytes)`` of the chunk starting at ``offsets``, as HDF5
    would store it. KeyError-free: a chunk never written raises OSError, as h5py."""
    tr = chunk_translator(dset)
    coords = _coords(dset, offsets)
    raw = engine_array(dset).read_chunk_bytes(coords)
    if raw is None:
        raise OSError(f"{dset.name}: no chunk stored at {tuple(offsets)}")
    return 0, bytes(tr.to_hdf5(raw))


def write_direct_chunk(dset: Any, offsets: Sequence[int], data: Any, filter_mask: int = 0) -> None:
    """Store HDF5 chunk bytes at ``offsets`` without decoding them (beyond the
    framing conversion). NotImplementedError for a filter mask other than 0."""
    if filter_mask:
        raise NotImplementedError(f"{dset.name}: write_direct_chunk with filter mask {filter_mask} "
                                  "(a skipped filter) is not supported")
    tr = chunk_translator(dset)
    coords = _coords(dset, offsets)
    stored = tr.to_zarr(memoryview(data).cast("B"))
    assert stored is not None
    engine_array(dset).write_chunk_bytes(coords, stored)


def chunk_infos(dset: Any) -> list[StoreInfo]:
    """Every stored chunk, in C order of the chunk grid."""
    arr = engine_array(dset)
    out: list[tuple[tuple[int, ...], int]] = []
    for key in arr.stored_chunk_keys():
        coords = arr.coords_of(key)
        if coords is not None:
            out.append((coords, key))
    out.sort()
    infos: list[StoreInfo] = []
    chunks = arr.chunks
    for coords, key in out:
        head = arr.kv.head(key)
        infos.append(StoreInfo(tuple(c * n for c, n in zip(coords, chunks)), 0, None,
                               int(head.size) if head is not None else 0))
    return infos


def chunk_iter(dset: Any, visit: Callable[[StoreInfo], Any]) -> None:
    """Call ``visit`` with each stored chunk's StoreInfo (h5py's ``chunk_iter``)."""
    for info in chunk_infos(dset):
        visit(info)
