"""Plain HDF5 files stored as one object (a ``.h5`` blob), read through h5py.

Mapping is the identity: groups, datasets, attributes as h5py shows them; soft and
external links become ``LinkNode`` (hard links to the same object appear under each
name). Named datatypes are not members of the tree.

Dimension scales: a dataset's CLASS, NAME, REFERENCE_LIST, DIMENSION_LIST and
DIMENSION_LABELS attributes are read here into ``DimensionScales`` (paths, not
HDF5 references), which the HDF5 layer shows as its own dimension scales
(``dims``, ``h5ds``, and those attributes with sciswift references), as for a
native file. The references are dereferenced by path, never through HDF5's
dimension-scale API, which crashes the process (segfault) on a DIMENSION_LIST of
the wrong type, as a damaged upload can hold; such a dataset keeps its raw
attributes and has no scales (logged).

Reading data:

- **Chunked datasets** whose filters are ones numcodecs can undo (deflate, shuffle,
  fletcher32, blosc, in any order, with per-chunk filter masks) are read *directly*: the
  chunk index says where each chunk lies, the chunks a selection touches are fetched
  with coalesced byte-range GETs, and decoded with numcodecs. HDF5's deflate chunks
  are zlib streams (``numcodecs.Zlib``), not gzip. The blosc filter (32001, PyTables'
  usual compressor) stores each chunk as one self-describing blosc buffer, which
  ``numcodecs.Blosc`` decodes, so blosc files read without an HDF5 plugin.
- **Contiguous datasets** are raw C-order bytes at one offset: read by byte ranges
  like a ``.npy``.
- Everything else (other filters such as lzf/szip/scale-offset, vlen and reference
  types, compact layout, external raw storage) is read by h5py itself through the
  same RangedFile, which is correct but fetches whatever HDF5 asks for. If the
  ``hdf5plugin`` package is installed it is imported, so h5py decodes its filters
  (blosc2, zstd, lz4, bzip2 ...). A dataset whose filter h5py has no decoder for
  (e.g. PyTables' lzo) raises ``NotSupported`` naming the dataset and the filter.

What h5py itself cannot present stays a member of its group, and only using it
fails: a datatype with no NumPy equivalent (HDF5 time types, 128-bit IEEE floats)
raises ``NotSupported`` from ``dtype`` and ``read``; a dataset created without a
defined fill value (h5py raises on ``.fillvalue``) reads normally and reports a
zero fill value. The chunk index leaves out datasets it cannot walk, so one damaged
dataset does not hide the rest of the file; reading that dataset is ``CorruptData``.

The chunk index: built once per version of the object with ``DatasetID.chunk_iter``
(one B-tree walk per dataset; calling ``get_chunk_info(i)`` per chunk is quadratic
in the chunk count: ~2,800 s against ~1 s for 65,536 chunks) and stored beside the
blob as ``<name>.sciswift-index`` (an ``.npz`` of arrays, no pickle), tagged with
the blob's ETag; a blob rewritten since gets a new index on next open. Stores that
refuse the write (read-only) just keep it in memory.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import logging
import math
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

import numpy as np

from sciswift.errors import CorruptData, NotSupported
from sciswift.formats.base import (
    ArrayNode,
    DimensionScales,
    FormatPlugin,
    GroupNode,
    LinkNode,
    Node,
    StoredObject,
)
from sciswift.formats.confine import is_confined
from sciswift.formats.layout import ranged_array_reader
from sciswift.formats.nodes import as_corrupt, selection_shape
from sciswift.formats.ranged import RangedFile
from sciswift.formats.sidecar import is_vector, read_npz

__all__ = ["HDF5Plugin", "H5Context", "H5Group", "H5Dataset", "ChunkIndex", "HDF5_SIGNATURE"]

log = logging.getLogger(__name__)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
INDEX_SUFFIX = ".sciswift-index"
INDEX_VERSION = 1
# HDF5 filter ids numcodecs can undo.
H5Z_DEFLATE, H5Z_SHUFFLE, H5Z_FLETCHER32, H5Z_BLOSC = 1, 2, 3, 32001
DIRECT_FILTERS = {H5Z_DEFLATE, H5Z_SHUFFLE, H5Z_FLETCHER32, H5Z_BLOSC}
# Above this many grid cells a dense chunk -> row table costs too much memory; such
# datasets are read by h5py.
MAX_GRID_CELLS = 1 << 24
#: What h5py raises for bytes HDF5 cannot read: OSError for the library's errors
#: (HDF5 reports damage as "bad object header version", "unable to open ..."),
#: RuntimeError for some of them, KeyError for a link whose object is missing,
#: ValueError for what HDF5 refuses to present (a bad dataspace or selection).
H5PY_ERRORS: tuple[type[BaseException], ...] = (OSError, RuntimeError, KeyError, ValueError)
#: HDF5 filter ids h5py names as Dataset properties: deflate (gzip), shuffle,
#: fletcher32, szip, scale-offset, lzf.
_H5PY_NAMED_FILTERS = frozenset({1, 2, 3, 4, 6, 32000})

#: What numcodecs raises for a chunk it cannot decode: zlib.error (deflate),
#: RuntimeError (blosc), ValueError (shuffle or checksum sizes, fletcher32),
#: IndexError (fletcher32 on a chunk shorter than its checksum).
CODEC_ERRORS: tuple[type[BaseException], ...] = (zlib.error, RuntimeError, ValueError, IndexError)


@dataclass
class ChunkTable:
    """Where the stored chunks of one dataset are: chunk origins (in elements), file
    offsets, stored sizes and filter masks, one row per chunk."""

    origins: np.ndarray[Any, Any]
    addrs: np.ndarray[Any, Any]
    sizes: np.ndarray[Any, Any]
    masks: np.ndarray[Any, Any]
    #: False for a table read from the sidecar: it is checked against the file
    #: (walked again) before a chunk that fails to decode is called damaged.
    verified: bool = True
    _grid: np.ndarray[Any, Any] | None = field(default=None, repr=False)

    def grid(self, shape: tuple[int, ...], chunks: tuple[int, ...]) -> np.ndarray[Any, Any] | None:
        """Row of each chunk by grid position (-1 where no chunk is stored), or None
        when the grid would be too large."""
        if self._grid is None:
            gshape = tuple(max(1, math.ceil(n / c)) for n, c in zip(shape, chunks, strict=True))
            if math.prod(gshape) > MAX_GRID_CELLS:
                return None
            grid = np.full(gshape, -1, dtype=np.int64)
            if len(self.addrs):
                pos = self.origins // np.asarray(chunks, dtype=np.int64)
                inside = np.all(pos < np.asarray(gshape), axis=1)
                grid[tuple(pos[inside].T)] = np.flatnonzero(inside)
            self._grid = grid
        return self._grid


class ChunkIndex:
    """Chunk tables of a file's directly readable datasets, by dataset path."""

    def __init__(self, tables: dict[str, ChunkTable] | None = None) -> None:
        self.tables: dict[str, ChunkTable] = dict(tables or {})

    def to_bytes(self, etag: str) -> bytes:
        arrays: dict[str, np.ndarray[Any, Any]] = {}
        paths = list(self.tables)
        for i, path in enumerate(paths):
            t = self.tables[path]
            arrays[f"o{i}"], arrays[f"a{i}"], arrays[f"s{i}"], arrays[f"m{i}"] = (
                t.origins, t.addrs, t.sizes, t.masks,
            )
        meta = {"version": INDEX_VERSION, "etag": etag, "paths": paths}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, etag: str) -> ChunkIndex | None:
        """The index in ``data`` if it is readable, made for ``etag`` and shaped as
        ``to_bytes`` writes it; else None (it is then rebuilt)."""
        read = read_npz(data)
        if read is None:
            return None
        meta, z = read
        paths = meta.get("paths")
        if meta.get("version") != INDEX_VERSION or meta.get("etag") != etag or not isinstance(paths, list):
            return None
        tables: dict[str, ChunkTable] = {}
        for i, p in enumerate(paths):
            o, a, s, m = (z.get(f"{k}{i}") for k in "oasm")
            if not (isinstance(p, str) and isinstance(o, np.ndarray) and o.ndim == 2 and o.dtype == np.int64):
                return None
            n = len(o)
            if not (is_vector(a, "u", n) and is_vector(s, "u", n) and is_vector(m, "u", n)) or (o < 0).any():
                return None
            tables[p] = ChunkTable(o, cast(Any, a), cast(Any, s), cast(Any, m), verified=False)
        return cls(tables)


def chunk_table(dsid: Any) -> ChunkTable:
    """The chunk table of one chunked dataset, by one walk of its chunk index."""
    origins: list[tuple[int, ...]] = []
    addrs: list[int] = []
    sizes: list[int] = []
    masks: list[int] = []

    def visit(info: Any) -> None:
        origins.append(info.chunk_offset)
        addrs.append(info.byte_offset)
        sizes.append(info.size)
        masks.append(info.filter_mask)

    if hasattr(dsid, "chunk_iter"):
        dsid.chunk_iter(visit)
    else:  # HDF5 < 1.12.3: quadratic, see the module docstring
        for i in range(dsid.get_num_chunks()):
            visit(dsid.get_chunk_info(i))
    ndim = dsid.rank
    try:
        return ChunkTable(
            np.asarray(origins, dtype=np.int64).reshape(len(origins), ndim),
            np.asarray(addrs, dtype=np.uint64),
            np.asarray(sizes, dtype=np.uint64),
            np.asarray(masks, dtype=np.uint32),
        )
    except OverflowError:
        raise ValueError("its chunk index holds a chunk offset beyond any array") from None


def numpy_dtype(ds: Any) -> np.dtype[Any] | None:
    """The dataset's dtype as h5py gives it, or None when h5py has no NumPy
    equivalent for its HDF5 datatype (time types, 128-bit IEEE floats ...)."""
    try:
        return ds.dtype
    except (TypeError, ValueError):
        return None


def _meta(dt: np.dtype[Any]) -> dict[str, Any]:
    """h5py's marks on a dtype (``ref``, ``vlen`` ...)."""
    return dict(dt.metadata or {})


def _ref_kind(dt: np.dtype[Any]) -> Any:
    """h5py's reference class a dtype is marked with (``h5py.Reference`` or
    ``h5py.RegionReference``), or None."""
    return _meta(dt).get("ref") if dt.kind == "O" else None


def has_refs(dt: np.dtype[Any]) -> bool:
    """Whether h5py's dtype holds HDF5 references anywhere (directly, in a
    compound field, a subarray or a variable-length sequence)."""
    if _ref_kind(dt) is not None:
        return True
    if dt.names:
        return any(has_refs(dt.fields[n][0]) for n in dt.names)  # type: ignore[index]
    if dt.subdtype is not None:
        return has_refs(dt.subdtype[0])
    base = _meta(dt).get("vlen") if dt.kind == "O" else None
    return isinstance(base, np.dtype) and has_refs(base)


def presented_dtype(dt: np.dtype[Any]) -> np.dtype[Any]:
    """h5py's dtype with its HDF5 reference marks replaced by sciswift's
    (``sciswift.h5.refs``), wherever they are: the HDF5 layer dereferences only its
    own references, which name their target by path (h5py's hold file addresses
    that mean nothing outside the h5py file). Other dtypes are returned as given."""
    if not has_refs(dt):
        return dt
    import h5py

    from sciswift.h5.refs import Reference, RegionReference

    kind = _ref_kind(dt)
    if kind is not None:
        return np.dtype("O", metadata={"ref": RegionReference if kind is h5py.RegionReference else Reference})
    if dt.names:
        fields = cast(Mapping[str, Any], dt.fields)
        return np.dtype({
            "names": list(dt.names),
            "formats": [presented_dtype(fields[n][0]) for n in dt.names],
            "offsets": [fields[n][1] for n in dt.names],
            "itemsize": dt.itemsize,
        })
    if dt.subdtype is not None:
        return np.dtype((presented_dtype(dt.subdtype[0]), dt.subdtype[1]))
    return np.dtype("O", metadata={"vlen": presented_dtype(cast(np.dtype[Any], _meta(dt)["vlen"]))})


def region_selection(space: Any) -> dict[str, Any]:
    """The selection of an HDF5 dataspace (an h5py ``SpaceID``) in the JSON form of
    ``sciswift.h5.selection.Selection.to_json``: a regular hyperslab of one block or
    of single elements per axis as strided slices (read in h5py's shape), anything
    else as the coordinates of the selected elements, read as a 1-D array: a
    point selection in the order its points are stored (as HDF5 reads it),
    irregular blocks in C order."""
    import h5py

    shape = tuple(int(n) for n in space.shape)
    kind = space.get_select_type()
    if kind == h5py.h5s.SEL_ALL:
        return {"axes": [["s", 0, n, 1] for n in shape]}
    if kind == h5py.h5s.SEL_HYPERSLABS:
        if space.is_regular_hyperslab():
            # One strided slice per axis (h5py reads it in that shape): possible
            # when each axis has one block, or blocks of one element.
            start, stride, count, block = space.get_regular_hyperslab()
            if all(c == 1 or b == 1 for c, b in zip(count, block, strict=True)):
                return {"axes": [
                    ["s", int(s0), int(s0 + b - 1 + st * (c - 1)) + 1, int(st) if c > 1 else 1]
                    for s0, st, c, b in zip(start, stride, count, block, strict=True)
                ]}
        blocks = np.asarray(space.get_select_hyper_blocklist(), dtype=np.int64).reshape(-1, 2, len(shape))
        coords = np.unique(np.concatenate([
            np.stack(np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(lo, hi, strict=True)], indexing="ij"),
                     axis=-1).reshape(-1, len(shape))
            for lo, hi in blocks
        ]), axis=0)
    elif kind == h5py.h5s.SEL_POINTS:
        coords = np.asarray(space.get_select_elem_pointlist(), dtype=np.int64).reshape(-1, len(shape))
        return {"points": [coords[:, i].tolist() for i in range(len(shape))]}
    else:  # SEL_NONE
        coords = np.empty((0, len(shape)), dtype=np.int64)
    return {"mask": [coords[:, i].tolist() for i in range(len(shape))]}


def present_refs(value: Any, dt: np.dtype[Any], h5file: Any) -> Any:
    """``value`` (read by h5py with dtype ``dt``) with every HDF5 reference made a
    sciswift one naming its target by path; null references stay null. A
    reference to nothing raises what h5py raises dereferencing it (KeyError,
    ValueError: damage, for the callers' ``as_corrupt``)."""
    import h5py

    from sciswift.h5.refs import Reference, RegionReference

    kind = _ref_kind(dt)

    def one(ref: Any) -> Reference:
        if not ref:
            return RegionReference() if kind is h5py.RegionReference else Reference()
        target = h5file[ref]
        path = text_name(target.name) if target.name is not None else None  # None: an unlinked object
        if kind is h5py.RegionReference:
            return RegionReference(path, region_selection(h5py.h5r.get_region(ref, h5file.id)))
        return Reference(path)

    out_dt = presented_dtype(dt)
    if kind is not None:
        if not isinstance(value, np.ndarray):
            return one(value)
        return _map(value, out_dt, one)
    if dt.names:
        arr = np.asarray(value, dtype=dt)
        out = np.empty(arr.shape, dtype=out_dt)
        for name in dt.names:
            sub = cast(Mapping[str, Any], dt.fields)[name][0]
            out[name] = present_refs(arr[name], sub, h5file) if has_refs(sub) else arr[name]
        return out if isinstance(value, np.ndarray) else out[()]
    if dt.subdtype is not None:
        return present_refs(np.asarray(value), dt.subdtype[0], h5file)
    base = cast(np.dtype[Any], _meta(dt)["vlen"])
    if not isinstance(value, np.ndarray) or value.dtype.kind != "O":
        return present_refs(np.asarray(value, dtype=base), base, h5file)  # one sequence
    return _map(value, out_dt, lambda seq: present_refs(np.asarray(seq, dtype=base), base, h5file))


def _map(arr: np.ndarray[Any, Any], dtype: np.dtype[Any], fn: Callable[[Any], Any]) -> np.ndarray[Any, Any]:
    """A new object array of ``dtype`` and ``arr``'s shape holding ``fn(element)``."""
    out: np.ndarray[Any, Any] = np.empty(arr.shape, dtype=dtype)
    flat_in, flat_out = arr.reshape(-1), out.reshape(-1)
    for i in range(flat_in.size):
        flat_out[i] = fn(flat_in[i])
    return out


def fill_value(ds: Any) -> Any:
    """The dataset's fill value; zero of its dtype when the file leaves it undefined
    (h5py raises on ``.fillvalue`` then, but reads the data)."""
    try:
        return ds.fillvalue
    except (OSError, RuntimeError):
        return np.zeros((), ds.dtype)[()]


def missing_filter(ds: Any) -> tuple[int, str] | None:
    """``(id, name)`` of the first filter of the dataset that h5py cannot decode
    here (no built-in and no plugin loaded), or None."""
    import h5py

    dcpl = ds.id.get_create_plist()
    for i in range(dcpl.get_nfilters()):
        code, _flags, _cd, name = dcpl.get_filter(i)
        if not h5py.h5z.filter_avail(code):
            return code, name.decode("ascii", "replace") or "unnamed"
    return None


def read_error_text(ds: Any, exc: BaseException) -> str:
    """Why reading the h5py dataset ``ds`` failed with ``exc``, for messages: when
    one of its filters has no decoder here, that filter by id and name (HDF5 only
    says it could not open its plugin directory), else ``exc``'s own text."""
    try:
        missing = missing_filter(ds) if hasattr(getattr(ds, "id", None), "get_create_plist") else None
    except (OSError, ValueError, RuntimeError):
        missing = None
    if missing is None:
        return str(exc)
    code, name = missing
    return (f"it is compressed with HDF5 filter {code} ({name}), which h5py cannot decode here "
            "(the hdf5plugin package adds many third-party filters)")


def direct_pipeline(ds: Any) -> list[tuple[int, tuple[int, ...]]] | None:
    """The filter pipeline ``[(filter id, cd_values)]`` of a chunked dataset if every
    filter is one numcodecs undoes and its type is plain fixed-size data; else None."""
    import h5py

    dcpl = ds.id.get_create_plist()
    dtype = numpy_dtype(ds)
    if dcpl.get_layout() != h5py.h5d.CHUNKED or dtype is None or dtype.hasobject or dtype.kind == "O":
        return None
    if ds.id.get_type().get_size() != dtype.itemsize:
        return None
    pipeline = []
    for i in range(dcpl.get_nfilters()):
        code, _flags, cd_values, _name = dcpl.get_filter(i)
        if code not in DIRECT_FILTERS:
            return None
        pipeline.append((code, tuple(cd_values)))
    return pipeline


def needs_direct_decoding(f: Any) -> str | None:
    """The name of a dataset of the h5py file ``f`` that h5py cannot decode here
    but this plugin reads directly (blosc chunks without hdf5plugin), or None.
    Loads hdf5plugin if installed first; walks the file only when h5py lacks a
    filter this plugin decodes."""
    import h5py

    _load_filter_plugins()
    lacking = {code for code in DIRECT_FILTERS if not h5py.h5z.filter_avail(code)}
    if not lacking:
        return None

    def visit(_path: str, obj: Any) -> str | None:
        if not isinstance(obj, h5py.Dataset):
            return None
        try:
            dcpl = obj.id.get_create_plist()
            codes = {dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())}
            if codes & lacking and direct_pipeline(obj) is not None:
                return str(obj.name)
        except (OSError, RuntimeError, KeyError, ValueError):
            pass  # damaged: reading it reports that under its own name
        return None

    try:
        found: str | None = f.visititems(visit)
    except (OSError, RuntimeError, KeyError, ValueError):
        return None
    return found


#: hdf5plugin's (and PyTables') blosc compressor codes, cd_values[6].
_BLOSC_CNAMES = ("blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd")


def blosc_options(cd_values: tuple[int, ...]) -> dict[str, Any]:
    """The blosc filter's settings from its cd_values (filter version, blosc
    format, type size, chunk bytes, clevel, shuffle, compressor: the last three
    optional), as ``compression_opts`` of ``compression="blosc"`` take them."""
    opts: dict[str, Any] = {}
    if len(cd_values) > 4:
        opts["clevel"] = int(cd_values[4])
    if len(cd_values) > 5:
        opts["shuffle"] = ("noshuffle", "shuffle", "bitshuffle")[cd_values[5]] if cd_values[5] in (0, 1, 2) \
            else "shuffle"
    if len(cd_values) > 6 and cd_values[6] < len(_BLOSC_CNAMES) and _BLOSC_CNAMES[cd_values[6]] != "snappy":
        opts["cname"] = _BLOSC_CNAMES[cd_values[6]]  # (numcodecs' blosc is built without snappy)
    return opts


def build_index(f: Any) -> ChunkIndex:
    """Chunk tables for every directly readable chunked dataset in file ``f``."""
    import h5py

    tables: dict[str, ChunkTable] = {}

    def visit(path: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset):
            return
        try:
            if direct_pipeline(obj) is not None:
                tables["/" + text_name(path)] = chunk_table(obj.id)
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            # Left out of the index: reading this dataset walks its chunks again and
            # reports the damage under its own name; the rest of the file stays readable.
            log.warning("/%s: chunk index not built: %s", path, exc)

    f.visititems(visit)
    return ChunkIndex(tables)


def decode_chunk(
    raw: bytes, pipeline: list[tuple[int, tuple[int, ...]]], mask: int, itemsize: int
) -> bytes:
    """Undo a chunk's filters (last applied first), skipping those its mask marks."""
    import numcodecs

    data: Any = raw
    for i in reversed(range(len(pipeline))):
        if mask & (1 << i):
            continue
        code, cd = pipeline[i]
        if code == H5Z_DEFLATE:
            data = numcodecs.Zlib().decode(data)
        elif code == H5Z_SHUFFLE:
            data = numcodecs.Shuffle(elementsize=cd[0] if cd else itemsize).decode(data)
        elif code == H5Z_FLETCHER32:
            data = numcodecs.Fletcher32().decode(data)
        elif code == H5Z_BLOSC:
            data = numcodecs.Blosc().decode(data)
    return bytes(data) if not isinstance(data, bytes) else data


#: The attributes HDF5's dimension scales keep their facts in.
SCALE_ATTRS = frozenset({"CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST", "DIMENSION_LABELS"})


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def read_dimension_scales(ds: Any, attrs: Mapping[str, Any]) -> DimensionScales | None:
    """The dimension-scale facts of h5py dataset ``ds`` from its attributes
    ``attrs`` (as h5py read them); None if it has none. ValueError (naming what)
    if they are not the types HDF5 writes (a damaged object)."""
    import h5py

    if not SCALE_ATTRS & set(attrs):
        return None
    ndim = len(ds.shape or ())

    def path_of(ref: Any, what: str) -> str:
        if not isinstance(ref, h5py.Reference) or not ref:
            raise ValueError(f"its {what} holds {ref!r}, not an object reference")
        return str(ds.file[ref].name)

    scale = None
    if attrs.get("CLASS") == b"DIMENSION_SCALE":
        scale = _text(attrs.get("NAME", b""))
    refs: list[tuple[str, int]] = []
    if "REFERENCE_LIST" in attrs:
        rl = attrs["REFERENCE_LIST"]
        if not isinstance(rl, np.ndarray) or rl.dtype.names is None or len(rl.dtype.names) != 2:
            raise ValueError("its REFERENCE_LIST is not a list of (reference, axis) pairs")
        for rec in rl.reshape(-1):
            refs.append((path_of(rec[0], "REFERENCE_LIST"), int(rec[1])))
    dims: list[tuple[str, ...]] = []
    if "DIMENSION_LIST" in attrs:
        dl = attrs["DIMENSION_LIST"]
        if not (isinstance(dl, np.ndarray) and dl.shape == (ndim,) and dl.dtype.kind == "O"):
            raise ValueError("its DIMENSION_LIST is not one list of dimension references per axis")
        for axis_refs in dl:
            if not isinstance(axis_refs, np.ndarray):
                raise ValueError("its DIMENSION_LIST is not one list of dimension references per axis")
            dims.append(tuple(path_of(r, "DIMENSION_LIST") for r in axis_refs))
    labels: list[str | None] = []
    if "DIMENSION_LABELS" in attrs:
        raw = np.asarray(attrs["DIMENSION_LABELS"], dtype=object).reshape(-1)
        if len(raw) != ndim:
            raise ValueError("its DIMENSION_LABELS does not have one label per axis")
        labels = [_text(v) or None for v in raw]
    return DimensionScales(scale, tuple(refs), tuple(dims), tuple(labels))


def text_name(name: str | bytes) -> str:
    """A name h5py returned, as str: h5py gives bytes for a name that is not UTF-8,
    kept here as lone surrogates (``surrogateescape``), which ``h5py_name`` undoes."""
    return name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name


def h5py_name(name: str) -> str | bytes:
    """The name to hand h5py for a ``text_name``: its bytes when it holds bytes
    that are not UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape")
    return name


def _link(grp: Any, name: str | bytes) -> Any:
    """The link ``name`` of h5py group ``grp`` (HardLink, SoftLink or
    ExternalLink), by the low-level calls ``Group.get(name, getlink=True)``
    makes: that first checks the name with a call that decodes it as UTF-8, and
    so fails for the names h5py itself lists as bytes."""
    import h5py

    raw = name.encode("utf-8") if isinstance(name, str) else name
    kind = grp.id.links.get_info(raw).type
    if kind == h5py.h5l.TYPE_SOFT:
        return h5py.SoftLink(text_name(grp.id.links.get_val(raw)))
    if kind == h5py.h5l.TYPE_EXTERNAL:
        filename, path = grp.id.links.get_val(raw)
        return h5py.ExternalLink(text_name(filename), text_name(path))
    return h5py.HardLink()


def attr_type(obj: Any, name: str) -> tuple[np.dtype[Any], tuple[int, ...] | None] | None:
    """The stored dtype and shape of an h5py object's attribute (None: unknown)."""
    try:
        aid = obj.attrs.get_id(h5py_name(name))
        shape = aid.shape
        return presented_dtype(aid.dtype), (None if shape is None else tuple(shape))
    except (KeyError, OSError, TypeError, ValueError):
        return None


class H5Context:
    """What every node of one opened file shares: the RangedFile, the chunk index,
    the object name for messages. Subclasses change how the file is presented
    (the netCDF-4 view hides dimension bookkeeping)."""

    label = "HDF5"

    def __init__(self, source: RangedFile, index: ChunkIndex | None, display: str) -> None:
        self.source = source
        self.index = index if index is not None else ChunkIndex()
        self.display = display

    def visible(self, name: str, obj: Any) -> bool:
        """Whether the member ``name`` (an h5py object) appears in its group."""
        return True

    def attrs_of(self, obj: Any) -> dict[str, Any]:
        """The attributes of an h5py object, as h5py returns them (HDF5 references
        as h5py's: see ``presented_attrs``). An attribute h5py cannot read is left
        out (logged), not allowed to hide the whole object."""
        out: dict[str, Any] = {}
        with as_corrupt(f"{self.display}:{obj.name}", self.label, errors=H5PY_ERRORS):
            names = list(obj.attrs)
        for key in names:
            try:
                out[text_name(key)] = obj.attrs[key]
            except (OSError, TypeError, ValueError, KeyError, RuntimeError) as exc:
                log.warning("%s: attribute %r of %s cannot be read: %s", self.display, key, obj.name, exc)
        return out

    def presented_attrs(self, obj: Any, raw: dict[str, Any]) -> dict[str, Any]:
        """``raw`` (``attrs_of(obj)``) with HDF5 references made sciswift's
        (``present_refs``); an attribute holding a reference to nothing is left
        out (logged), as an attribute h5py cannot read."""
        import h5py

        out: dict[str, Any] = {}
        for key, value in raw.items():
            dt = getattr(value, "dtype", None)
            if isinstance(value, h5py.Reference):  # a scalar one: h5py gives the bare object
                dt = h5py.regionref_dtype if isinstance(value, h5py.RegionReference) else h5py.ref_dtype
            if isinstance(dt, np.dtype) and has_refs(dt):
                try:
                    value = present_refs(value, dt, obj.file)
                except (OSError, ValueError, KeyError, RuntimeError) as exc:
                    log.warning("%s: attribute %r of %s holds a reference to nothing: %s",
                                self.display, key, obj.name, exc)
                    continue
            out[key] = value
        return out

    def dataset(self, ds: Any) -> ArrayNode:
        return H5Dataset(ds, self)

    def group(self, grp: Any) -> GroupNode:
        return H5Group(grp, self)


class H5Group(GroupNode):
    """An h5py group as a GroupNode."""

    def __init__(self, grp: Any, ctx: H5Context) -> None:
        self._grp = grp
        self._ctx = ctx
        self._members: dict[str, Node] = {}
        self._keys: list[str] | None = None
        self._attrs: dict[str, Any] | None = None

    @property
    def attrs(self) -> Mapping[str, Any]:
        if self._attrs is None:
            self._attrs = self._ctx.presented_attrs(self._grp, self._ctx.attrs_of(self._grp))
        return self._attrs

    def attr_type(self, name: str) -> tuple[np.dtype[Any], tuple[int, ...] | None] | None:
        return attr_type(self._grp, name)

    def keys(self) -> list[str]:
        if self._keys is None:
            import h5py

            keys = []
            with as_corrupt(f"{self._ctx.display}:{self._grp.name}", self._ctx.label, errors=H5PY_ERRORS):
                for name in self._grp:
                    link = _link(self._grp, name)
                    if isinstance(link, h5py.HardLink):
                        obj = self._grp[name]
                        if isinstance(obj, h5py.Datatype) or not self._ctx.visible(text_name(name), obj):
                            continue
                    keys.append(text_name(name))
            self._keys = keys
        return self._keys

    def __getitem__(self, name: str) -> Node:
        node = self._members.get(name)
        if node is not None:
            return node
        if name not in self.keys():
            raise KeyError(name)
        import h5py

        raw = h5py_name(name)
        with as_corrupt(f"{self._ctx.display}:{self._grp.name}/{name}", self._ctx.label, errors=H5PY_ERRORS):
            link = _link(self._grp, raw)
            if isinstance(link, h5py.SoftLink):
                node = LinkNode(_text(link.path))
            elif isinstance(link, h5py.ExternalLink):
                node = LinkNode(_text(link.path), _text(link.filename))
            else:
                obj = self._grp[raw]
                node = self._ctx.group(obj) if isinstance(obj, h5py.Group) else self._ctx.dataset(obj)
        self._members[name] = node
        return node

    def close(self) -> None:
        # Only the root's group is asked to close: close the h5py file it belongs to.
        if self._grp.name == "/" and self._grp.file.id.valid:
            self._grp.file.close()


class H5Dataset(ArrayNode):
    """An h5py dataset as an ArrayNode, read directly by byte ranges when it can be."""

    def __init__(self, ds: Any, ctx: H5Context) -> None:
        self._ds = ds
        self._ctx = ctx
        self._shape = tuple(ds.shape) if ds.shape is not None else ()
        # h5py's dtype, and the one presented (HDF5 references as sciswift's).
        self._h5dtype = numpy_dtype(ds)
        self._dtype = presented_dtype(self._h5dtype) if self._h5dtype is not None else None
        self._raw_attrs: dict[str, Any] | None = None
        self._attrs: dict[str, Any] | None = None
        self._scales: DimensionScales | None | bool = False  # False: not read yet
        self._reader: Callable[[tuple[slice, ...]], np.ndarray[Any, Any]] | None = None
        #: Whether the values live in other files (external raw storage, a virtual
        #: dataset's sources), which HDF5 opens by name on this machine's disk.
        self._elsewhere = False

    @property
    def h5py_dataset(self) -> Any:
        """The underlying h5py Dataset (valid while the file is open)."""
        return self._ds

    def _raw(self) -> dict[str, Any]:
        """The attributes as h5py reads them (its references: the scale reader's input)."""
        if self._raw_attrs is None:
            self._raw_attrs = self._ctx.attrs_of(self._ds)
        return self._raw_attrs

    @property
    def attrs(self) -> Mapping[str, Any]:
        if self._attrs is None:
            self._attrs = self._ctx.presented_attrs(self._ds, self._raw())
        return self._attrs

    def attr_type(self, name: str) -> tuple[np.dtype[Any], tuple[int, ...] | None] | None:
        return attr_type(self._ds, name)

    @property
    def dimension_scales(self) -> DimensionScales | None:
        if self._scales is False:
            try:
                self._scales = read_dimension_scales(self._ds, self._raw())
            except (ValueError, KeyError, OSError, TypeError) as exc:
                log.warning("%s:%s: dimension scales not shown, its attributes are damaged: %s",
                            self._ctx.display, self._ds.name, exc)
                self._scales = None
        return self._scales  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype[Any]:
        if self._dtype is None:
            raise NotSupported(
                f"{self._ctx.display}:{self._ds.name}: its {self._ctx.label} datatype "
                f"({_type_class_name(self._ds)}) has no NumPy equivalent, so h5py cannot read it either",
                self._ctx.display,
            )
        return self._dtype

    @property
    def chunks(self) -> tuple[int, ...] | None:
        with self._asking():
            return self._ds.chunks

    @property
    def maxshape(self) -> tuple[int | None, ...]:
        with self._asking():
            return tuple(self._ds.maxshape) if self._ds.maxshape is not None else ()

    @property
    def fillvalue(self) -> Any:
        with self._asking():
            if self._h5dtype is None:
                return None
            fill = fill_value(self._ds)
            return present_refs(fill, self._h5dtype, self._ds.file) if self._dtype is not self._h5dtype else fill

    @property
    def compression(self) -> str | None:
        with self._asking():
            return self._ds.compression

    @property
    def h5py_filters(self) -> dict[str, Any]:
        """The filter pipeline as h5py's Dataset properties describe it:
        ``compression`` with ``compression_opts``, ``shuffle``, ``fletcher32``,
        ``scaleoffset`` (keys only for filters in use), and ``unknown``: the ids
        of filters h5py has no property for. What ``sciswift.h5py`` reports, so
        xarray's encoding (complevel, shuffle) matches h5netcdf's on the file."""
        with self._asking():
            ds = self._ds
            out: dict[str, Any] = {}
            if ds.compression:
                out["compression"] = ds.compression
                out["compression_opts"] = ds.compression_opts
            if ds.shuffle:
                out["shuffle"] = True
            if ds.fletcher32:
                out["fletcher32"] = True
            if ds.scaleoffset is not None:
                out["scaleoffset"] = ds.scaleoffset
            plist = ds.id.get_create_plist()
            pipeline = [plist.get_filter(i) for i in range(plist.get_nfilters())]
            for code, _flags, cd_values, _name in pipeline:
                if code == H5Z_BLOSC and out.get("compression") in (None, "unknown"):
                    # h5py names blosc only with hdf5plugin loaded; the native
                    # layout writes it (``compression="blosc"``), so say what it is.
                    out["compression"] = "blosc"
                    out["compression_opts"] = blosc_options(tuple(cd_values))
            unknown = tuple(int(p[0]) for p in pipeline if int(p[0]) not in _H5PY_NAMED_FILTERS | {H5Z_BLOSC})
            if unknown:
                out["unknown"] = unknown
            return out

    def _asking(self) -> Any:
        """h5py's errors on this dataset's properties as CorruptData (its creation
        properties are read from the file when asked for)."""
        return as_corrupt(f"{self._ctx.display}:{self._ds.name}", self._ctx.label, errors=H5PY_ERRORS)

    @property
    def read_path(self) -> str:
        """How reads are done: ``"chunks"`` (direct chunk GETs), ``"contiguous"``
        (direct ranges) or ``"h5py"``. For tests and diagnostics."""
        self._choose_reader()
        return self._path

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        want = selection_shape(selection)
        dtype = self.dtype  # raises for a datatype h5py cannot present
        if self._ds.shape is None:  # a null dataspace holds nothing
            raise NotSupported(f"{self._ds.name} has no dataspace (h5py.Empty); it has no data to read")
        if math.prod(want) == 0:
            return np.empty(want, dtype)
        reader = self._choose_reader()
        if self._elsewhere and is_confined():
            # The file names those files, not the reader: a server would read
            # its own disk for the client (sciswift.formats.confine).
            raise NotSupported(
                f"{self._ctx.display}:{self._ds.name} keeps its values in other files (HDF5 external "
                "storage or a virtual dataset), which are not read here", self._ctx.display)
        with as_corrupt(f"{self._ctx.display}:{self._ds.name}", self._ctx.label, errors=H5PY_ERRORS):
            return reader(selection)

    # ---------------------------------------------------------------- readers
    def _choose_reader(self) -> Callable[[tuple[slice, ...]], np.ndarray[Any, Any]]:
        if self._reader is not None:
            return self._reader
        import h5py

        ds = self._ds
        self._path = "h5py"
        self._reader = self._read_h5py
        with as_corrupt(f"{self._ctx.display}:{ds.name}", self._ctx.label, errors=H5PY_ERRORS):
            dcpl = ds.id.get_create_plist()
            layout = dcpl.get_layout()
            self._elsewhere = layout == h5py.h5d.VIRTUAL or dcpl.get_external_count() > 0
            if layout == h5py.h5d.CHUNKED:
                pipeline = direct_pipeline(ds)
                if pipeline is not None:
                    table = self._ctx.index.tables.get(text_name(ds.name))
                    if table is None or table.origins.shape[1] != len(self._shape):
                        # Reached through another name, index not built, or a
                        # sidecar's table that cannot be this dataset's.
                        table = self._ctx.index.tables[text_name(ds.name)] = chunk_table(ds.id)
                    grid = table.grid(self._shape, ds.chunks)
                    if grid is not None:
                        self._path = "chunks"
                        self._reader = _ChunkReader(ds, table, grid, pipeline, self._ctx)
                if self._path == "h5py":
                    missing = missing_filter(ds)
                    if missing is not None:
                        self._reader = self._filter_unavailable(*missing)
            elif (
                layout == h5py.h5d.CONTIGUOUS
                and not ds.dtype.hasobject
                and dcpl.get_external_count() == 0
                and ds.id.get_type().get_size() == ds.dtype.itemsize
            ):
                offset = ds.id.get_offset()
                if offset is None:  # never written: all fill value
                    self._path = "contiguous"
                    self._reader = self._read_fill
                else:
                    self._path = "contiguous"
                    self._reader = ranged_array_reader(self._ctx.source, offset, self._shape, ds.dtype, False)
        return self._reader

    def _filter_unavailable(self, code: int, name: str) -> Callable[[tuple[slice, ...]], np.ndarray[Any, Any]]:
        message = (
            f"{self._ctx.display}:{self._ds.name} is compressed with {self._ctx.label} filter {code} ({name}), "
            "which h5py cannot decode here (the hdf5plugin package adds many third-party filters)"
        )

        def refuse(selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
            raise NotSupported(message, self._ctx.display)

        return refuse

    def _read_h5py(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        value = self._ds[selection] if selection else self._ds[()]
        if self._dtype is not self._h5dtype:
            value = present_refs(value, cast(np.dtype[Any], self._h5dtype), self._ds.file)
        if not self._shape and self._dtype is not None and self._dtype.kind == "O":
            # h5py unwraps a scalar vlen value (bytes, or an array for a vlen
            # sequence); np.asarray would make that an S<n> array or an array of the
            # sequence, not the 0-d object array the dtype promises.
            out = np.empty((), dtype=self._dtype)
            out[()] = value
            return out
        return np.asarray(value)

    def _read_fill(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        return np.full(selection_shape(selection), fill_value(self._ds), dtype=self._dtype)


def _type_class_name(ds: Any) -> str:
    """HDF5's name of the dataset's type class, for messages (e.g. ``H5T_TIME``)."""
    import h5py

    cls = ds.id.get_type().get_class()
    names = {getattr(h5py.h5t, n): n for n in dir(h5py.h5t) if n.isupper() and n in (
        "INTEGER", "FLOAT", "TIME", "STRING", "BITFIELD", "OPAQUE", "COMPOUND", "REFERENCE", "ENUM", "VLEN", "ARRAY")}
    return f"H5T_{names.get(cls, cls)}"


class _ChunkReader:
    """Reads selections of one chunked dataset by fetching and decoding its chunks."""

    def __init__(
        self,
        ds: Any,
        table: ChunkTable,
        grid: np.ndarray[Any, Any],
        pipeline: list[tuple[int, tuple[int, ...]]],
        ctx: H5Context,
    ) -> None:
        self.ds = ds
        self.ctx = ctx
        self.shape = tuple(ds.shape)
        self.chunks = tuple(ds.chunks)
        self.dtype = ds.dtype
        self.fill = fill_value(ds)
        self.table = table
        self.grid = grid
        self.pipeline = pipeline
        self.source = ctx.source
        self.name = f"{ctx.display}:{ds.name}"
        self.label = ctx.label

    def __call__(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        try:
            return self._read(selection)
        except CorruptData:
            if self.table.verified:
                raise
            # The table came from the sidecar: walk the file's own chunk index and
            # try again; only damage that remains is the blob's.
            table = chunk_table(self.ds.id)
            grid = table.grid(self.shape, self.chunks)
            if grid is None:
                raise
            self.table, self.grid = table, grid
            self.ctx.index.tables[text_name(self.ds.name)] = table
            return self._read(selection)

    def _read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        out = np.empty(selection_shape(selection), self.dtype)
        # Per dimension: the chunks touched, and for each the in-chunk / output slices.
        per_dim: list[list[tuple[int, slice, slice]]] = []
        for sel, c in zip(selection, self.chunks, strict=True):
            n = len(range(sel.start, sel.stop, sel.step))
            last = sel.start + (n - 1) * sel.step
            parts = []
            for k in range(sel.start // c, last // c + 1):
                lo, hi = k * c, (k + 1) * c
                m0 = max(0, -((sel.start - lo) // sel.step))  # first m with start+m*step >= lo
                m1 = min(n - 1, (hi - 1 - sel.start) // sel.step)
                if m0 > m1:
                    continue  # a stride steps over this chunk
                first = sel.start + m0 * sel.step - lo
                parts.append((k, slice(first, first + (m1 - m0) * sel.step + 1, sel.step), slice(m0, m1 + 1)))
            per_dim.append(parts)
        cells = list(_product(per_dim))
        rows = [int(self.grid[tuple(p[0] for p in cell)]) for cell in cells]
        spans = [
            (int(self.table.addrs[r]), int(self.table.addrs[r] + self.table.sizes[r])) for r in rows if r >= 0
        ]
        bodies = iter(self.source.fetch(spans))
        raw = [next(bodies) if r >= 0 else None for r in rows]
        decoded = self._decode_all(raw, rows)
        for cell, block in zip(cells, decoded, strict=True):
            out_idx = tuple(p[2] for p in cell)
            if block is None:
                out[out_idx] = self.fill
            else:
                out[out_idx] = block[tuple(p[1] for p in cell)]
        return out

    def _decode_all(self, raw: list[bytes | None], rows: list[int]) -> list[np.ndarray[Any, Any] | None]:
        def one(i: int) -> np.ndarray[Any, Any] | None:
            body = raw[i]
            if body is None:
                return None
            r = rows[i]
            try:
                data = decode_chunk(body, self.pipeline, int(self.table.masks[r]), self.dtype.itemsize)
            except CODEC_ERRORS as exc:
                raise CorruptData(
                    f"{self.name}: the {self.label} chunk at byte {int(self.table.addrs[r])} is damaged: {exc}",
                    self.name,
                ) from exc
            expected = math.prod(self.chunks) * self.dtype.itemsize
            if len(data) != expected:
                raise CorruptData(
                    f"{self.name}: the {self.label} chunk at byte {int(self.table.addrs[r])} decodes to "
                    f"{len(data)} bytes, not {expected}",
                    self.name,
                )
            return np.frombuffer(data, self.dtype).reshape(self.chunks)

        # zlib releases the GIL: decode many chunks on a few threads.
        if sum(b is not None for b in raw) >= 8:
            with ThreadPoolExecutor(4) as pool:
                return list(pool.map(one, range(len(raw))))
        return [one(i) for i in range(len(raw))]


def _product(per_dim: list[list[Any]]) -> Any:
    import itertools

    return itertools.product(*per_dim)


@functools.cache
def _load_filter_plugins() -> bool:
    """Import hdf5plugin if it is installed (it registers its filters with the HDF5
    library h5py uses); whether it was. Once per process."""
    if importlib.util.find_spec("hdf5plugin") is None:
        return False
    try:
        import hdf5plugin  # noqa: F401
    except (ImportError, OSError) as exc:
        log.warning("hdf5plugin is installed but cannot be loaded: %s", exc)
        return False
    return True


def has_hdf5_signature(head: bytes) -> bool:
    """HDF5's signature sits at 0, 512, 1024, 2048 ... (after a user block)."""
    return any(head[off : off + 8] == HDF5_SIGNATURE for off in (0, 512, 1024, 2048) if off < len(head))


class HDF5Plugin(FormatPlugin):
    """HDF5 files stored as one object."""

    name = "hdf5"
    label = "HDF5"
    library = "h5py"
    extensions = (".h5", ".hdf5", ".he5", ".hdf")
    extra = "hdf5"
    requires = ("h5py", "numcodecs")
    context_class: type[H5Context] = H5Context

    def matches_magic(self, head: bytes) -> bool:
        return has_hdf5_signature(head)

    def open(self, source: BinaryIO, name: str) -> GroupNode:
        ranged = source if isinstance(source, RangedFile) else RangedFile.from_fileobj(source, name)
        f = self._open_h5py(ranged, name)
        return self.context_class(ranged, None, name).group(f["/"])

    def open_stored(self, obj: StoredObject) -> GroupNode:
        f = self._open_h5py(obj.source, obj.display)
        try:
            index = self._load_or_build_index(obj, f)
            return self.context_class(obj.source, index, obj.display).group(f["/"])
        except BaseException:
            f.close()
            raise

    def _open_h5py(self, source: RangedFile, display: str) -> Any:
        import h5py

        _load_filter_plugins()
        with as_corrupt(display, self.label, "open", errors=H5PY_ERRORS):
            # HDF5 metadata reads are small and scattered: the RangedFile's cache and
            # read-ahead serve them; h5py's own page buffer would only add a copy.
            return h5py.File(source, "r")

    def _load_or_build_index(self, obj: StoredObject, f: Any) -> ChunkIndex:
        data = obj.load_sidecar(INDEX_SUFFIX)
        if data is not None:
            index = ChunkIndex.from_bytes(data, obj.info.etag)
            if index is not None:
                return index
        with as_corrupt(obj.display, self.label, "index", errors=H5PY_ERRORS):
            index = build_index(f)
        if not obj.save_sidecar(INDEX_SUFFIX, index.to_bytes(obj.info.etag)):
            log.info("%s: store refused the chunk index sidecar; keeping it in memory", obj.display)
        return index
