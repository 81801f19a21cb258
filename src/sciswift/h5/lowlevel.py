"""A small stand-in for h5py's low-level identifiers: ``obj.id`` and
``attrs.get_id(name)``.

sciswift has no HDF5 library underneath, so there are no real identifiers. What
libraries written on h5py ask of them is answered here from the high-level
objects: types (``get_type().get_class()``, ``.dtype``), dataspaces
(``get_space()``, ``.shape``), creation properties (``get_create_plist()``:
attribute and link creation order, layout, chunks) and whole-dataset
``read``/``write`` with ``h5s.ALL``. That is what h5netcdf (and so xarray's
``engine="h5netcdf"``) uses; ``sciswift.h5.h5ds`` takes these identifiers as
h5py's ``h5py.h5ds`` takes its own.

Anything else (creating objects through identifiers, property lists made by
hand, partial dataspace selections) is h5py's C layer and raises
``NotImplementedError`` naming the call.

The constants are h5py's values (``h5t`` type classes, ``h5p`` creation-order
flags and layouts, ``h5s`` extent types), so code comparing with
``h5py.h5t.STRING`` or ``h5py.h5p.CRT_ORDER_TRACKED`` gets the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from sciswift.engine.dtypes import dtype_to_spec

if TYPE_CHECKING:
    from sciswift.h5.base import HLObject

__all__ = [
    "ObjectID", "GroupID", "FileID", "DatasetID", "TypeID", "AttrID", "SpaceID", "PropCreateList",
    "TypeIntegerID", "TypeFloatID", "TypeStringID", "TypeOpaqueID", "TypeCompoundID", "TypeReferenceID",
    "TypeEnumID", "TypeVlenID", "TypeArrayID", "type_class", "ALL",
]

# h5t type classes (H5T_class_t)
INTEGER, FLOAT, TIME, STRING, BITFIELD, OPAQUE, COMPOUND, REFERENCE, ENUM, VLEN, ARRAY = range(11)
# h5t character sets, byte orders, signs and string paddings
CSET_ASCII, CSET_UTF8 = 0, 1
ORDER_LE, ORDER_BE, ORDER_NONE = 0, 1, 4
SGN_NONE, SGN_2 = 0, 1
STR_NULLTERM, STR_NULLPAD, STR_SPACEPAD = 0, 1, 2
# h5z filter flags; h5d fill-value states, fill times and allocation times
FLAG_MANDATORY, FLAG_OPTIONAL = 0, 1
FILL_VALUE_UNDEFINED, FILL_VALUE_DEFAULT, FILL_VALUE_USER_DEFINED = 0, 1, 2
FILL_TIME_ALLOC, FILL_TIME_NEVER, FILL_TIME_IFSET = 0, 1, 2
ALLOC_TIME_DEFAULT, ALLOC_TIME_EARLY, ALLOC_TIME_LATE, ALLOC_TIME_INCR = 0, 1, 2, 3
# h5p creation order flags and dataset layouts
CRT_ORDER_TRACKED, CRT_ORDER_INDEXED = 1, 2
COMPACT, CONTIGUOUS, CHUNKED, VIRTUAL = 0, 1, 2, 3
# h5s extent types and the unlimited size
SCALAR, SIMPLE, NULL = 0, 1, 2
UNLIMITED = 2**64 - 1


class _All:
    """``h5s.ALL``: the whole dataspace (the only selection these identifiers take)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "h5s.ALL"


ALL = _All()


def type_class(dt: np.dtype[Any]) -> int:
    """The HDF5 type class h5py gives a dataset or attribute of numpy dtype ``dt``
    (complex numbers are compounds and booleans enums, as h5py stores them)."""
    meta: Mapping[str, Any] = dt.metadata or {}
    if "vlen" in meta:
        return STRING if meta["vlen"] in (str, bytes) else VLEN
    if "ref" in meta:
        return REFERENCE
    if "enum" in meta:
        return ENUM
    if dt.names is not None:
        return COMPOUND
    if dt.subdtype is not None:
        return ARRAY
    kind = dt.kind
    if kind in "iu":
        return INTEGER
    if kind == "f":
        return FLOAT
    if kind == "c":
        return COMPOUND
    if kind == "b":
        return ENUM
    if kind in "ST":
        return STRING
    return OPAQUE


def _storage_size(dt: np.dtype[Any]) -> int:
    """The size of one element in HDF5's memory type (pointers and handles for
    variable-length data, as h5py reports them)."""
    meta: Mapping[str, Any] = dt.metadata or {}
    if "vlen" in meta:
        return 8 if meta["vlen"] in (str, bytes) else 16
    if "ref" in meta:
        return 12 if getattr(meta["ref"], "typecode", 0) == 1 else 8
    return dt.itemsize


def _unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{what}: sciswift has no HDF5 library underneath; its .id objects answer questions about "
        "types, dataspaces and creation order only (sciswift.h5.lowlevel)"
    )


def _order_of(dt: np.dtype[Any]) -> int:
    """h5t byte order of a numeric dtype (native is little-endian here)."""
    if dt.byteorder == ">":
        return ORDER_BE
    if dt.byteorder == "|" and dt.itemsize == 1:
        return ORDER_LE  # HDF5 reports little-endian for 1-byte numbers
    return ORDER_LE


class TypeID:
    """An HDF5 datatype: its numpy ``dtype`` and h5py's class code. Two TypeIDs
    are equal when they describe the same type (metadata such as enum values and
    vlen bases included), as ``H5Tequal``.

    ``TypeID(dtype)`` returns the subclass h5py uses for that type class
    (``TypeIntegerID``, ``TypeFloatID``, ``TypeStringID``, ``TypeCompoundID``,
    ``TypeEnumID``, ``TypeVlenID``, ``TypeArrayID``, ``TypeOpaqueID``,
    ``TypeReferenceID``), each with h5py's methods for that class."""

    __slots__ = ("dtype", "_committed")

    def __new__(cls, dtype: np.dtype[Any], committed: bool = False) -> TypeID:
        if cls is TypeID:
            cls = _CLASSES.get(type_class(np.dtype(dtype)), TypeID)
        return object.__new__(cls)

    def __init__(self, dtype: np.dtype[Any], committed: bool = False) -> None:
        self.dtype = dtype
        self._committed = committed

    def get_class(self) -> int:
        return type_class(self.dtype)

    def get_size(self) -> int:
        return _storage_size(self.dtype)

    def committed(self) -> bool:
        return self._committed

    def copy(self) -> TypeID:
        return TypeID(self.dtype)

    def is_variable_str(self) -> bool:
        meta: Mapping[str, Any] = self.dtype.metadata or {}
        return meta.get("vlen") in (str, bytes)

    def get_super(self) -> TypeID:
        """The base type of a derived type (enum, vlen, array); TypeError for any
        other, as h5py."""
        raise TypeError("Not a datatype (not a derived data type)")

    def _key(self) -> Any:
        try:
            return repr(dtype_to_spec(self.dtype))
        except Exception:  # noqa: BLE001 - a type the layout cannot describe compares by its descr
            return repr(self.dtype.descr)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypeID):
            return NotImplemented
        return self.dtype == other.dtype and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"<sciswift {type(self).__name__} class {self.get_class()} dtype {self.dtype}>"


class _AtomicID(TypeID):
    """A type with a byte order (integers, floats)."""

    __slots__ = ()

    def get_order(self) -> int:
        return _order_of(self.dtype)


class TypeIntegerID(_AtomicID):
    __slots__ = ()

    def get_sign(self) -> int:
        return SGN_2 if self.dtype.kind == "i" else SGN_NONE


class TypeFloatID(_AtomicID):
    __slots__ = ()


class TypeStringID(TypeID):
    """Fixed-length (``S``) strings are null-padded ASCII, variable-length ones
    null-terminated in the character set of their ``string_dtype``, as h5py writes."""

    __slots__ = ()

    def get_cset(self) -> int:
        from sciswift.h5.dtypes import check_string_dtype

        info = check_string_dtype(self.dtype)
        if info is None:
            raise TypeError("get_cset: not a string type")
        return CSET_UTF8 if info.encoding == "utf-8" else CSET_ASCII

    def get_strpad(self) -> int:
        return STR_NULLTERM if self.is_variable_str() else STR_NULLPAD

    def get_super(self) -> TypeID:
        """HDF5 builds a variable-length string on one-byte characters."""
        if self.is_variable_str():
            return TypeID(np.dtype("u1"))
        return super().get_super()


class TypeOpaqueID(TypeID):
    __slots__ = ()

    def get_tag(self) -> bytes:
        return b""


class TypeReferenceID(TypeID):
    __slots__ = ()


class TypeCompoundID(TypeID):
    """A compound: its members in order, packed as h5py stores them (numpy
    complex numbers are the compound ``(r, i)``)."""

    __slots__ = ()

    def _members(self) -> list[tuple[str, np.dtype[Any]]]:
        dt = self.dtype
        if dt.kind == "c":
            part = np.dtype(f"{dt.byteorder if dt.byteorder in '<>' else ''}f{dt.itemsize // 2}")
            return [("r", part), ("i", part)]
        return [(name, dt.fields[name][0]) for name in dt.names or ()]  # type: ignore[index]

    def get_nmembers(self) -> int:
        return len(self._members())

    def get_member_name(self, index: int) -> bytes:
        return self._member(index)[0].encode("utf-8")

    def get_member_type(self, index: int) -> TypeID:
        return TypeID(self._member(index)[1])

    def get_member_class(self, index: int) -> int:
        return type_class(self._member(index)[1])

    def get_member_index(self, name: bytes | str) -> int:
        text = name.decode("utf-8") if isinstance(name, bytes) else name
        for i, (member, _) in enumerate(self._members()):
            if member == text:
                return i
        raise ValueError(f"no member {text!r} in this compound type")

    def get_member_offset(self, index: int) -> int:
        self._member(index)
        return sum(_storage_size(dt) for _, dt in self._members()[:index])

    def get_size(self) -> int:
        return sum(_storage_size(dt) for _, dt in self._members())

    def _member(self, index: int) -> tuple[str, np.dtype[Any]]:
        members = self._members()
        if not 0 <= index < len(members):
            raise ValueError(f"member index {index} out of range (the compound has {len(members)})")
        return members[index]


class TypeEnumID(TypeID):
    """An enum over an integer base; numpy booleans are h5py's ``FALSE``/``TRUE`` enum."""

    __slots__ = ()

    def _values(self) -> list[tuple[str, int]]:
        if self.dtype.kind == "b":
            return [("FALSE", 0), ("TRUE", 1)]
        meta: Mapping[str, Any] = self.dtype.metadata or {}
        mapping: Mapping[str, int] = meta["enum"]
        return sorted(mapping.items(), key=lambda kv: kv[1])

    def get_nmembers(self) -> int:
        return len(self._values())

    def get_member_name(self, index: int) -> bytes:
        return self._values()[index][0].encode("utf-8")

    def get_member_value(self, index: int) -> int:
        return int(self._values()[index][1])

    def get_super(self) -> TypeID:
        base = np.dtype("i1") if self.dtype.kind == "b" else np.dtype(self.dtype.str)
        return TypeID(base)


class TypeVlenID(TypeID):
    __slots__ = ()

    def get_super(self) -> TypeID:
        meta: Mapping[str, Any] = self.dtype.metadata or {}
        return TypeID(np.dtype(meta["vlen"]))


class TypeArrayID(TypeID):
    __slots__ = ()

    def get_array_dims(self) -> tuple[int, ...]:
        sub = self.dtype.subdtype
        return tuple(sub[1]) if sub else ()

    def get_array_ndims(self) -> int:
        return len(self.get_array_dims())

    def get_super(self) -> TypeID:
        sub = self.dtype.subdtype
        return TypeID(sub[0] if sub else self.dtype)


_CLASSES: dict[int, type[TypeID]] = {
    INTEGER: TypeIntegerID, FLOAT: TypeFloatID, STRING: TypeStringID, OPAQUE: TypeOpaqueID,
    COMPOUND: TypeCompoundID, REFERENCE: TypeReferenceID, ENUM: TypeEnumID, VLEN: TypeVlenID,
    ARRAY: TypeArrayID,
}


class SpaceID:
    """A dataspace: ``shape`` (None for a null dataspace) and ``maxshape``."""

    __slots__ = ("shape", "maxshape")

    def __init__(self, shape: tuple[int, ...] | None, maxshape: tuple[int | None, ...] | None = None) -> None:
        self.shape = shape
        self.maxshape = shape if maxshape is None else maxshape

    def get_simple_extent_type(self) -> int:
        if self.shape is None:
            return NULL
        return SIMPLE if self.shape else SCALAR

    def get_simple_extent_ndims(self) -> int:
        return len(self.shape or ())

    def get_simple_extent_dims(self, maxdims: bool = False) -> tuple[int, ...]:
        if not maxdims:
            return tuple(self.shape or ())
        return tuple(UNLIMITED if m is None else m for m in (self.maxshape or ()))

    def get_simple_extent_npoints(self) -> int:
        return 0 if self.shape is None else int(np.prod(self.shape))


class PropCreateList:
    """The creation properties of an object (``id.get_create_plist()``)."""

    __slots__ = ("_obj",)

    def __init__(self, obj: HLObject) -> None:
        self._obj = obj

    def _order(self) -> int:
        backend = self._obj._backend
        tracked = backend.track_order(self._obj._path) if hasattr(backend, "track_order") else False
        return CRT_ORDER_TRACKED | CRT_ORDER_INDEXED if tracked else 0

    def get_attr_creation_order(self) -> int:
        return self._order()

    def get_link_creation_order(self) -> int:
        return self._order()

    def get_layout(self) -> int:
        dset: Any = self._obj
        if getattr(dset, "is_virtual", False):
            return VIRTUAL
        return CONTIGUOUS if dset.chunks is None else CHUNKED

    def get_chunk(self) -> tuple[int, ...]:
        chunks = getattr(self._obj, "chunks", None)
        if chunks is None:
            raise ValueError("Not a chunked dataset")
        return tuple(chunks)

    def get_fill_value(self, arr: np.ndarray[Any, Any]) -> None:
        arr[()] = self._obj.fillvalue  # type: ignore[attr-defined]

    def fill_value_defined(self) -> int:
        """``FILL_VALUE_USER_DEFINED`` for a fill other than zero, else
        ``FILL_VALUE_DEFAULT`` (the store does not record whether a zero fill was
        asked for, and h5py's default fill is zero)."""
        fill = getattr(self._obj, "fillvalue", None)
        try:
            zero = fill is None or not np.any(np.asarray(fill).view(np.uint8))
        except (TypeError, ValueError):
            zero = not fill
        return FILL_VALUE_DEFAULT if zero else FILL_VALUE_USER_DEFINED

    def get_fill_time(self) -> int:
        return FILL_TIME_IFSET

    def get_alloc_time(self) -> int:
        """HDF5's defaults: incremental for chunked datasets, late for contiguous."""
        return ALLOC_TIME_INCR if self.get_layout() in (CHUNKED, VIRTUAL) else ALLOC_TIME_LATE

    def get_external_count(self) -> int:
        return 0

    def get_obj_track_times(self) -> bool:
        return False

    # The filter pipeline, in the order h5py builds it: scale-offset, shuffle,
    # the compressor, fletcher32.
    def _pipeline(self) -> list[tuple[int, int, tuple[int, ...], bytes]]:
        return filter_pipeline(self._obj)

    def get_nfilters(self) -> int:
        return len(self._pipeline())

    def get_filter(self, index: int) -> tuple[int, int, tuple[int, ...], bytes]:
        """``(filter code, flags, client values, name)`` of filter ``index``, as
        h5py's ``PropDCID.get_filter``. ValueError for a bad index, as h5py."""
        pipeline = self._pipeline()
        if not 0 <= index < len(pipeline):
            raise ValueError("Filter number is invalid (filter number is invalid)")
        return pipeline[index]

    def get_filter_by_id(self, filter_code: int) -> tuple[int, tuple[int, ...], bytes] | None:
        """``(flags, client values, name)`` of the filter ``filter_code``, None if
        the pipeline has none."""
        for code, flags, values, name in self._pipeline():
            if code == filter_code:
                return flags, values, name
        return None


#: HDF5's filter names (as ``H5Pget_filter`` reports them) and flags, by h5py name.
_FILTER_NAMES: dict[str, tuple[bytes, int]] = {
    "gzip": (b"deflate", FLAG_OPTIONAL), "shuffle": (b"shuffle", FLAG_OPTIONAL),
    "fletcher32": (b"fletcher32", FLAG_MANDATORY), "scaleoffset": (b"scaleoffset", FLAG_OPTIONAL),
    "lzf": (b"lzf", FLAG_OPTIONAL), "zstd": (b"Zstandard compression: http://www.zstd.net", FLAG_OPTIONAL),
    "lz4": (b"HDF5 lz4 filter; see http://www.hdfgroup.org/services/contributions.html", FLAG_OPTIONAL),
    "blosc": (b"blosc", FLAG_OPTIONAL), "szip": (b"szip", FLAG_OPTIONAL),
}


def _szip_values(dt: np.dtype[Any], chunks: tuple[int, ...], opts: Any) -> tuple[int, ...]:
    """The 4 client values HDF5's szip filter records (its ``set_local``): the
    options mask (method, K13, raw, byte order), pixels per block, bits per pixel
    and pixels per scanline (the chunk's last extent, at most 128 blocks); for
    variable-length data only the first two, without a byte order."""
    method, pixels = opts if opts else ("nn", 8)
    base = dt.subdtype[0] if dt.subdtype is not None else dt
    # K13 (1) | entropy coding (4) or nearest neighbour (32) | raw (128) | LSB (8) or MSB (16)
    mask = 1 | (4 if method == "ec" else 32) | 128
    if base.kind == "O":  # variable-length data: HDF5 records no more than these two
        return mask, int(pixels)
    mask |= 16 if base.byteorder == ">" else 8
    scanline = int(chunks[-1]) if int(chunks[-1]) >= int(pixels) else int(np.prod(chunks))
    return mask, int(pixels), base.itemsize * 8, min(int(pixels) * 128, scanline)


def _scaleoffset_values(dset: Any, factor: int) -> tuple[int, ...]:
    """The 20 client values HDF5's scale-offset filter records for a dataset
    (its ``set_local`` callback): scale type and factor, elements per chunk, the
    type's class, size, sign and order, and the fill value's bytes as 32-bit words."""
    dt = np.dtype(dset.dtype)
    is_float = dt.kind == "f"
    words = [0] * 12
    fill = np.asarray(dset.fillvalue, dtype=dt).tobytes()
    raw = np.frombuffer(fill + b"\0" * (-len(fill) % 4), dtype="<u4")
    words[: len(raw)] = [int(w) for w in raw[:12]]
    return (
        0 if is_float else 2, int(factor), int(np.prod(dset.chunks or dset.shape or (1,))),
        1 if is_float else 0, dt.itemsize, 1 if dt.kind == "i" else 0, _order_of(dt), 1, *words,
    )


def filter_pipeline(dset: Any) -> list[tuple[int, int, tuple[int, ...], bytes]]:
    """The filters of ``dset`` as h5py's ``get_filter`` lists them: ``(code, flags,
    client values, name)`` in h5py's order (scale-offset, shuffle, compressor,
    fletcher32). Client values follow HDF5 where they are fixed by the data
    (deflate level, shuffle element size, lzf version and chunk bytes,
    scale-offset parameters); codecs without an HDF5 filter of their own report
    the HDF5 plugin's registered id."""
    from sciswift.h5.filters import FILTER_IDS

    if getattr(dset, "chunks", None) is None:
        return []
    # A dataset of an HDF5 file read through the HDF5 plugin: HDF5's own answer.
    exact = getattr(getattr(dset, "_arr", None), "hdf5_filters", None)
    if exact is not None:
        return list(exact)
    filters: Mapping[str, Any] = dset._filters if hasattr(dset, "_filters") else {}
    dt = np.dtype(dset.dtype)
    chunk_bytes = int(np.prod(dset.chunks)) * dt.itemsize
    out: list[tuple[int, int, tuple[int, ...], bytes]] = []
    for key in ("scaleoffset", "shuffle", "gzip", "lzf", "szip", "zstd", "lz4", "blosc", "fletcher32"):
        if key not in filters:
            continue
        opts = tuple(o for o in filters[key] if isinstance(o, (int, np.integer)))
        if key == "scaleoffset":
            values: tuple[int, ...] = _scaleoffset_values(dset, int(opts[0]) if opts else 0)
        elif key == "shuffle":
            values = (dt.itemsize,)
        elif key == "lzf":
            values = (4, 261, chunk_bytes)
        elif key == "szip":
            values = _szip_values(dt, tuple(dset.chunks), filters[key][0] if filters[key] else None)
        elif key == "fletcher32":
            values = ()
        else:
            values = tuple(int(o) for o in opts)
        name, flags = _FILTER_NAMES[key]
        out.append((FILTER_IDS[key], flags, values, name))
    for key in filters:
        if key.isdigit():  # a filter the engine keeps by number only
            out.append((int(key), FLAG_OPTIONAL, (), b""))
    return out


class ObjectID:
    """The identifier of a group, file, dataset or named datatype: equal for the
    same object, ``valid`` while its file is open."""

    __slots__ = ("_obj",)

    def __init__(self, obj: HLObject) -> None:
        self._obj = obj

    @property
    def valid(self) -> bool:
        return bool(self._obj)

    def __bool__(self) -> bool:
        return self.valid

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectID):
            return NotImplemented
        return self._obj == other._obj

    def __hash__(self) -> int:
        return hash(self._obj)

    def get_create_plist(self) -> PropCreateList:
        return PropCreateList(self._obj)

    def __repr__(self) -> str:
        return f"<sciswift {type(self).__name__} of {self._obj!r}>"


class GroupID(ObjectID):
    __slots__ = ()

    def __len__(self) -> int:
        return len(self._obj)  # type: ignore[arg-type]


class FileID(GroupID):
    __slots__ = ()

    @property
    def name(self) -> bytes:
        return self._obj.file.filename.encode("utf-8", "surrogateescape")


class DatasetID(ObjectID):
    """A dataset's identifier: its type, dataspace and creation properties, and
    whole-dataset reads and writes."""

    __slots__ = ()

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._obj.dtype  # type: ignore[attr-defined]

    @property
    def shape(self) -> tuple[int, ...] | None:
        return self._obj.shape  # type: ignore[attr-defined]

    @property
    def rank(self) -> int:
        return len(self.shape or ())

    def get_type(self) -> TypeID:
        return TypeID(self.dtype)

    def get_space(self) -> SpaceID:
        dset: Any = self._obj
        return SpaceID(dset.shape, dset.maxshape)

    def get_storage_size(self) -> int:
        dset: Any = self._obj
        return int(dset._arr.stored_chunks() or 0) * int(np.prod(dset.chunks or dset.shape or ())) * \
            dset.dtype.itemsize

    def set_extent(self, shape: tuple[int, ...]) -> None:
        self._obj.resize(shape)  # type: ignore[attr-defined]

    # Direct chunk I/O (sciswift.h5.directchunk): HDF5 filter bytes, converted to
    # and from the stored Zarr codecs without recompressing.
    def read_direct_chunk(self, offsets: Any, filter_mask: int = 0, dxpl: Any = None,
                          out: Any = None) -> tuple[int, bytes]:
        from sciswift.h5.directchunk import read_direct_chunk

        return read_direct_chunk(self._obj, offsets)

    def write_direct_chunk(self, offsets: Any, data: Any, filter_mask: int = 0, dxpl: Any = None) -> None:
        from sciswift.h5.directchunk import write_direct_chunk

        write_direct_chunk(self._obj, offsets, data, filter_mask)

    def get_num_chunks(self, space: Any = None) -> int:
        from sciswift.h5.directchunk import chunk_infos

        return len(chunk_infos(self._obj))

    def get_chunk_info(self, index: int, space: Any = None) -> Any:
        from sciswift.h5.directchunk import chunk_infos

        return chunk_infos(self._obj)[index]

    def get_chunk_info_by_coord(self, offsets: Any) -> Any:
        from sciswift.h5.directchunk import chunk_infos

        wanted = tuple(int(o) for o in offsets)
        for info in chunk_infos(self._obj):
            if info.chunk_offset == wanted:
                return info
        from sciswift.h5.directchunk import StoreInfo

        return StoreInfo(wanted, 0, None, 0)

    def chunk_iter(self, visit: Any) -> None:
        from sciswift.h5.directchunk import chunk_iter

        chunk_iter(self._obj, visit)

    @staticmethod
    def _whole(mspace: Any, fspace: Any, what: str) -> None:
        if mspace is not ALL or fspace is not ALL:
            raise _unsupported(f"DatasetID.{what} with a dataspace selection")

    def read(self, mspace: Any, fspace: Any, arr_obj: np.ndarray[Any, Any], mtype: Any = None,
             dxpl: Any = None) -> None:
        """Read the whole dataset into ``arr_obj`` (``mspace``/``fspace`` must be ``h5s.ALL``)."""
        self._whole(mspace, fspace, "read")
        dset: Any = self._obj
        arr_obj[...] = dset[()]

    def write(self, mspace: Any, fspace: Any, arr_obj: Any, mtype: Any = None, dxpl: Any = None) -> None:
        """Write ``arr_obj`` over the whole dataset (``h5s.ALL`` selections only)."""
        self._whole(mspace, fspace, "write")
        dset: Any = self._obj
        dset[()] = arr_obj


class AttrID:
    """An attribute's identifier (``attrs.get_id(name)``): its stored type and
    dataspace, which the value alone does not always tell (a fixed-length
    string's length, an enum, a scalar vs a one-element array)."""

    __slots__ = ("name", "dtype", "shape", "_value")

    def __init__(self, name: str, dtype: np.dtype[Any], shape: tuple[int, ...] | None, value: Any) -> None:
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self._value = value

    def get_type(self) -> TypeID:
        return TypeID(self.dtype)

    def get_space(self) -> SpaceID:
        return SpaceID(self.shape)

    def get_storage_size(self) -> int:
        """Bytes the value takes in an HDF5 file (variable-length elements count
        their 16-byte heap IDs). RuntimeError for a null dataspace, as h5py."""
        if self.shape is None:
            raise RuntimeError("Unspecified error in H5Aget_storage_size (null dataspace)")
        vlen = "vlen" in (self.dtype.metadata or {})
        return (16 if vlen else _storage_size(self.dtype)) * int(np.prod(self.shape))

    def read(self, arr: np.ndarray[Any, Any], mtype: Any = None) -> None:
        arr[...] = self._value

    def write(self, arr: Any, mtype: Any = None) -> None:
        raise _unsupported("AttrID.write (assign through attrs[name] instead)")
