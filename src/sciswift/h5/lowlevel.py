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
    "type_class", "ALL",
]

# h5t type classes (H5T_class_t)
INTEGER, FLOAT, TIME, STRING, BITFIELD, OPAQUE, COMPOUND, REFERENCE, ENUM, VLEN, ARRAY = range(11)
# h5t character sets
CSET_ASCII, CSET_UTF8 = 0, 1
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


class TypeID:
    """An HDF5 datatype: its numpy ``dtype`` and h5py's class code. Two TypeIDs
    are equal when they describe the same type (metadata such as enum values and
    vlen bases included), as ``H5Tequal``."""

    __slots__ = ("dtype", "_committed")

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

    def get_cset(self) -> int:
        from sciswift.h5.dtypes import check_string_dtype

        info = check_string_dtype(self.dtype)
        if info is None:
            raise TypeError("get_cset: not a string type")
        return CSET_UTF8 if info.encoding == "utf-8" else CSET_ASCII

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
        return f"<sciswift TypeID class {self.get_class()} dtype {self.dtype}>"


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
        return self._obj.dtype  # type: ignore[attr-defined, no-any-return]

    @property
    def shape(self) -> tuple[int, ...] | None:
        return self._obj.shape  # type: ignore[attr-defined, no-any-return]

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
