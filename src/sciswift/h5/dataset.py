"""Datasets: h5py's indexing, conversion and properties over an ArrayBackend."""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.recfunctions import repack_fields

from sciswift.h5.base import H5PY_MODULE, HLObject
from sciswift.h5.convert import map_elements, strings_as_bytes
from sciswift.h5.dtypes import check_vlen_dtype
from sciswift.h5.links import Empty
from sciswift.h5.refs import RegionReference
from sciswift.h5.selection import Selection, select, simple_block, split_fields

if TYPE_CHECKING:
    from sciswift.h5.backend import ArrayBackend
    from sciswift.h5.dims import DimensionManager

__all__ = ["Dataset", "AstypeWrapper", "AsStrWrapper", "FieldsWrapper"]


class _View:
    """Shared parts of the astype/asstr/fields wrappers: numpy-like properties and
    ``__array__`` (which always reads, so ``copy=False`` cannot be honoured)."""

    _dset: Dataset
    dtype: np.dtype[Any]

    def __getitem__(self, args: Any) -> Any:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...] | None:
        return self._dset.shape

    @property
    def ndim(self) -> int:
        return self._dset.ndim

    @property
    def size(self) -> int | None:
        return self._dset.size

    def __len__(self) -> int:
        return self._dset.len()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        if copy is False:
            raise ValueError(
                f"{type(self).__name__}.__array__ received copy=False but memory allocation cannot be avoided on read"
            )
        data = self[()]
        arr = np.asarray(data)
        if dtype is not None:
            return arr.astype(dtype)
        return arr


class AstypeWrapper(_View):
    """``dset.astype(dtype)``: reads converted to ``dtype``."""

    def __init__(self, dset: Dataset, dtype: Any) -> None:
        self._dset = dset
        self.dtype = np.dtype(dtype)

    def __getitem__(self, args: Any) -> Any:
        return self._dset._read(args, self.dtype)


class AsStrWrapper(_View):
    """``dset.asstr()``: string data decoded to str."""

    def __init__(self, dset: Dataset, encoding: str | None, errors: str = "strict") -> None:
        self._dset = dset
        if encoding is None:
            from sciswift.h5.dtypes import check_string_dtype

            info = check_string_dtype(dset.dtype)
            encoding = info.encoding if info else "utf-8"
        self.encoding = encoding
        self.errors = errors
        self.dtype = np.dtype(object)

    def __getitem__(self, args: Any) -> Any:
        bytes_arr = self._dset[args]
        if np.isscalar(bytes_arr) or isinstance(bytes_arr, (bytes, str)):
            return bytes_arr.decode(self.encoding, self.errors) if isinstance(bytes_arr, bytes) else str(bytes_arr)
        return map_elements(bytes_arr, object,
                            lambda b: b.decode(self.encoding, self.errors) if isinstance(b, bytes) else str(b))


class FieldsWrapper(_View):
    """``dset.fields(names)``: reads only some fields of a compound dataset."""

    def __init__(self, dset: Dataset, prior_dtype: Any, names: Any) -> None:
        self._dset = dset
        if isinstance(names, str):
            self.extract_field: str | None = names
            names = [names]
        else:
            self.extract_field = None
        self.read_dtype = _fields_dtype(prior_dtype, list(names))
        self.dtype = self.read_dtype[self.extract_field] if self.extract_field else self.read_dtype
        self._names = list(names)

    def __getitem__(self, args: Any) -> Any:
        data = self._dset._read(args, self.read_dtype)
        if self.extract_field is not None:
            data = data[self.extract_field]
        return data


def _fields_dtype(dt: np.dtype[Any], names: list[str]) -> np.dtype[Any]:
    if dt.names is None:
        raise ValueError("Field names only allowed for compound types")
    for n in names:
        if n not in dt.names:
            raise ValueError("Field %s does not appear in this type." % n)
    return np.dtype([(n, dt.fields[n][0]) for n in names])  # type: ignore[index]




def _bound(backend: ArrayBackend, handle: Any) -> ArrayBackend:
    # A virtual dataset's sources named relative to its file resolve next to it.
    if hasattr(backend, "own_filename"):
        backend.own_filename = handle.filename
    return backend


class Dataset(HLObject):
    """An n-dimensional array stored in a file."""

    __slots__ = ("_a",)
    __module__ = H5PY_MODULE

    def __init__(self, handle: Any, path: str, name: str | None, backend: ArrayBackend) -> None:
        super().__init__(handle, path, name)
        self._a = _bound(backend, handle)

    # ------------------------------------------------------------ properties
    @property
    def _arr(self) -> ArrayBackend:
        h = self._h
        if h.closed:
            raise RuntimeError("Unable to synchronously get dataspace (the file is closed)")
        if self._epoch != len(h.renames):
            self._follow_renames()
        return self._a

    def _renamed(self) -> None:
        # The array now lives under its new path: reopen it there.
        self._a = _bound(self._h.backend.array(self._p), self._h)

    @property
    def shape(self) -> tuple[int, ...] | None:
        a = self._arr
        return None if a.empty else a.shape

    @shape.setter
    def shape(self, value: Any) -> None:
        self.resize(value)

    @property
    def dtype(self) -> np.dtype[Any]:
        if self._h.closed:
            raise ValueError("Invalid dataset identifier (the file is closed)")
        return self._a.dtype

    @property
    def ndim(self) -> int:
        a = self._arr
        return 0 if a.empty else len(a.shape)

    @property
    def size(self) -> int | None:
        a = self._arr
        return None if a.empty else math.prod(a.shape)

    @property
    def nbytes(self) -> int:
        a = self._arr
        if a.empty:
            return 0
        return a.dtype.itemsize * math.prod(a.shape)

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self._arr.chunks

    @property
    def maxshape(self) -> tuple[int | None, ...] | None:
        a = self._arr
        return None if a.empty else a.maxshape

    @property
    def fillvalue(self) -> Any:
        a = self._arr
        fill = a.fillvalue
        dt = a.dtype
        if not dt.hasobject:
            return fill
        if check_vlen_dtype(dt) in (str, bytes):
            return fill.encode("utf-8", "surrogateescape") if isinstance(fill, str) else (fill or b"")
        return _h5py_object_fill(fill, dt)

    @property
    def compression(self) -> str | None:
        return self._arr.filters.get("compression")

    @property
    def compression_opts(self) -> Any:
        f = self._arr.filters
        opts = f.get("compression_opts")
        if f.get("compression") in ("lzf", "unknown"):
            return None
        return tuple(opts) if isinstance(opts, list) else opts

    @property
    def shuffle(self) -> bool:
        return bool(self._arr.filters.get("shuffle", False))

    @property
    def fletcher32(self) -> bool:
        return bool(self._arr.filters.get("fletcher32", False))

    @property
    def scaleoffset(self) -> int | None:
        so = self._arr.filters.get("scaleoffset")
        return None if so is None else int(so)

    @property
    def _filters(self) -> dict[str, Any]:
        """Filters by HDF5 name (or number for unknown ones) -> options."""
        f = self._arr.filters
        out: dict[str, Any] = {}
        if f.get("shuffle"):
            out["shuffle"] = ()
        comp = f.get("compression")
        if comp and comp != "unknown":
            opts = f.get("compression_opts")
            if comp == "szip":  # h5py lists szip's options themselves: ('nn', 8)
                out[comp] = (tuple(opts or ("nn", 8)),)
            else:
                out["gzip" if comp == "gzip" else comp] = (opts,) if opts is not None and not isinstance(opts, dict) else ()
        if f.get("scaleoffset") is not None:
            out["scaleoffset"] = (f["scaleoffset"],)
        if f.get("fletcher32"):
            out["fletcher32"] = ()
        for fid in f.get("unknown") or ():
            out[str(fid)] = ()
        return out

    @property
    def id(self) -> Any:
        """h5py's ``DatasetID`` stand-in (``sciswift.h5.lowlevel.DatasetID``)."""
        from sciswift.h5.lowlevel import DatasetID

        return DatasetID(self)

    @property
    def external(self) -> None:
        return None

    @property
    def is_virtual(self) -> bool:
        return "virtual" in self._arr.reserved

    def virtual_sources(self) -> list[Any]:
        """The mappings (``vspace``, ``file_name``, ``dset_name``, ``src_space``) of a
        virtual dataset; RuntimeError for any other."""
        from sciswift.h5.vds import virtual_maps

        if not self.is_virtual:
            raise RuntimeError("Not a virtual dataset")
        return virtual_maps(self._arr, self._arr.shape, self.file.filename)

    def make_scale(self, name: str = "") -> None:
        """Make this dataset a dimension scale called ``name``."""
        from sciswift.h5.dims import make_scale

        make_scale(self, name)

    @property
    def is_scale(self) -> bool:
        return "scale" in self._arr.reserved

    @property
    def dims(self) -> DimensionManager:
        from sciswift.h5.dims import DimensionManager

        return DimensionManager(self)

    @property
    def regionref(self) -> _RegionProxy:
        return _RegionProxy(self)

    def flush(self) -> None:
        """Write the file's pending metadata (this dataset's shape among it), so
        readers in other processes see it after ``refresh`` (HDF5's SWMR pattern).
        Nothing to do on a read-only file."""
        if self._h.closed:
            raise ValueError("Invalid dataset identifier (the file is closed)")
        if self._h.backend.writable:
            self._h.backend.flush()

    def refresh(self) -> None:
        """Read this dataset's metadata (shape, attributes) again from the store,
        as a SWMR reader does to follow a writer in another process."""
        if self._h.closed:
            raise ValueError("Invalid dataset identifier (the file is closed)")
        self._arr.refresh()

    # ------------------------------------------------------------------- len
    def __len__(self) -> int:
        size = self.len()
        if size > 2**63 - 1:
            raise OverflowError("Value too big for Python's __len__; use Dataset.len() instead.")
        return size

    def len(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("Attempt to take len() of scalar dataset")
        return shape[0]

    def __iter__(self) -> Iterator[Any]:
        shape = self.shape
        if not shape:
            raise TypeError("Can't iterate over a scalar dataset")
        for i in range(shape[0]):
            yield self[i]

    def __repr__(self) -> str:
        if not self:
            return "<Closed HDF5 dataset>"
        namestr = '"%s"' % posixpath.basename(self._name) if self._name is not None else "(anonymous)"
        return '<HDF5 dataset %s: shape %s, type "%s">' % (namestr, self.shape, self.dtype.str)

    # --------------------------------------------------------------- reading
    def astype(self, dtype: Any) -> AstypeWrapper:
        from sciswift.h5.dtypes import check_string_dtype

        dt = np.dtype(dtype)
        if dt.kind == "T" and check_string_dtype(self.dtype) is None:
            raise TypeError("dset.astype('T') can only be used on datasets with an HDF5 string datatype")
        return AstypeWrapper(self, dt)

    def asstr(self, encoding: str | None = None, errors: str = "strict") -> AsStrWrapper:
        from sciswift.h5.dtypes import check_string_dtype

        if check_string_dtype(self.dtype) is None:
            raise TypeError("dset.asstr() can only be used on datasets with an HDF5 string datatype")
        return AsStrWrapper(self, encoding, errors)

    def fields(self, names: Any, *, _prior_dtype: Any = None) -> FieldsWrapper:
        return FieldsWrapper(self, self.dtype if _prior_dtype is None else _prior_dtype, names)

    def _selection(self, args: tuple[Any, ...]) -> Selection:
        a = self._arr
        if len(args) == 1 and isinstance(args[0], RegionReference):
            ref = args[0]
            target = (ref.path or "").lstrip("/")
            if target != self._path and self._h.backend.lookup(target) is None:
                target = (getattr(self._h.backend, "forward", lambda p: None)(target) or "").lstrip("/")
            if target != self._path:
                raise ValueError("Region reference points to another dataset")
            return Selection.from_json(ref.selection, a.shape)
        return select(args, a.shape)

    def __getitem__(self, args: Any, new_dtype: Any = None) -> Any:
        """h5py indexing (see ``sciswift.h5.selection``); ``new_dtype`` converts."""
        return self._read(args, new_dtype)

    def _read(self, args: Any, new_dtype: Any = None) -> Any:
        a = self._arr
        args = args if isinstance(args, tuple) else (args,)
        if new_dtype is None and not a.empty:
            dtype = a.dtype
            if not dtype.hasobject:
                # Ints and unit-step slices (most reads): the block straight from
                # the backend, without building a Selection (see simple_block).
                simple = simple_block(args, a.shape)
                if simple is not None:
                    block, squeeze = simple
                    if any(s.stop == s.start for s in block):  # nothing selected: nothing read
                        kept = block if squeeze is None else [s for s, q in zip(block, squeeze) if q != 0]
                        return np.empty(tuple(s.stop - s.start for s in kept), dtype=dtype)
                    out = a.read(block)
                    return out if squeeze is None else out[squeeze]
        if a.empty:
            if args == () or args == (Ellipsis,):
                return Empty(a.dtype)
            raise ValueError("Empty datasets cannot be sliced")
        names, args = split_fields(args)
        dtype = a.dtype
        if names:
            if dtype.names is None:
                raise ValueError("Field names only allowed for compound types")
            for n in names:
                if n not in dtype.names:
                    raise ValueError("Field %s does not appear in this type." % n)
        sel = self._selection(args)
        out = sel.read(a.read, dtype)
        if len(args) == 1 and isinstance(args[0], RegionReference) and sel.mask is None:
            # h5py reads a region as its bounding shape: integer indexes stay as axes of 1.
            out = np.asarray(out).reshape(sel.region_shape())
        if sel.scalar:
            out = out[()] if isinstance(out, np.ndarray) else out
        if names:
            if len(names) == 1:
                out = out[names[0]]
            else:
                out = repack_fields(np.asarray(out)[names]) if isinstance(out, np.ndarray) else out[names]
        if new_dtype is not None:
            out = self._convert_read(out, np.dtype(new_dtype))
        else:
            odt = dtype.fields[names[0]][0] if len(names) == 1 else dtype  # type: ignore[index]
            if odt.hasobject:
                out = strings_as_bytes(out, odt)
        if isinstance(out, np.ndarray) and out.ndim == 0 and sel.scalar:
            return out[()]
        return out

    def _convert_read(self, out: Any, new_dtype: np.dtype[Any]) -> Any:
        if new_dtype.names is not None and isinstance(out, (np.ndarray, np.void)) and out.dtype.names:
            arr = np.asarray(out)
            res = np.empty(arr.shape, dtype=new_dtype)
            for n in new_dtype.names:
                res[n] = arr[n]
            return res if isinstance(out, np.ndarray) else res[()]
        if new_dtype.kind == "T":
            arr = np.asarray(out, dtype=object)
            conv = np.empty(arr.shape, dtype=object)
            for idx in np.ndindex(arr.shape):
                v = arr[idx]
                conv[idx] = v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v
            return conv.astype(new_dtype)
        if isinstance(out, np.ndarray):
            return out.astype(new_dtype)
        return np.asarray(out).astype(new_dtype)[()]

    def read_direct(self, dest: np.ndarray[Any, Any], source_sel: Any = None, dest_sel: Any = None) -> None:
        """Read ``self[source_sel]`` into ``dest[dest_sel]`` (dest must be C-contiguous,
        shapes must match up to h5py's broadcasting). TypeError otherwise."""
        if not isinstance(dest, np.ndarray) or not dest.flags.c_contiguous:
            raise TypeError("dest must be a C-contiguous array")
        if self._arr.empty:
            raise TypeError("Empty datasets have no data to read")
        data = np.asarray(self[source_sel if source_sel is not None else ()])
        view = dest[dest_sel if dest_sel is not None else ...]
        target = np.shape(view)
        if data.shape != target:
            if data.size != int(np.prod(target)) or data.size == 0:
                raise TypeError("Can't broadcast %s -> %s" % (data.shape, target))
            data = data.reshape(target)
        dest[dest_sel if dest_sel is not None else ...] = data

    def write_direct(self, source: np.ndarray[Any, Any], source_sel: Any = None, dest_sel: Any = None) -> None:
        """Write ``source[source_sel]`` into ``self[dest_sel]``."""
        if not isinstance(source, np.ndarray) or not source.flags.c_contiguous:
            raise TypeError("source must be a C-contiguous array")
        if self._arr.empty:
            raise TypeError("Empty datasets cannot be written to")
        data = source[source_sel if source_sel is not None else ...]
        self[dest_sel if dest_sel is not None else ()] = data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        if copy is False:
            raise ValueError("Dataset.__array__ received copy=False but memory allocation cannot be avoided on read")
        a = self._arr
        if a.empty or math.prod(a.shape) == 0:
            arr = np.zeros(() if a.empty else a.shape, dtype=a.dtype)
            return arr if dtype is None else arr.astype(dtype)
        arr = np.asarray(self[()])
        return arr if dtype is None else arr.astype(dtype)

    def iter_chunks(self, sel: Any = None) -> Iterator[tuple[slice, ...]]:
        """Slices of every chunk that ``sel`` (slices, default everything) touches,
        each clipped to the selection."""
        from sciswift.h5.chunkiter import iter_chunks

        chunks = self.chunks
        if chunks is None:
            raise TypeError("Dataset is not chunked")
        return iter(list(iter_chunks(self.shape or (), chunks, sel)))

    # --------------------------------------------------------------- writing
    def resize(self, size: Any, axis: int | None = None) -> None:
        """Change the shape within maxshape (chunked datasets only)."""
        a = self._arr
        if a.chunks is None:
            raise TypeError("Only chunked datasets can be resized")
        self._check_writable(RuntimeError, "change a dataset's dimensions")
        if axis is not None:
            if not (0 <= axis < len(a.shape)):
                raise ValueError("Invalid axis (0 to %s allowed)" % (len(a.shape) - 1))
            try:
                newlen = int(size)
            except TypeError:
                raise TypeError("Argument must be a single int if axis is specified") from None
            shape = list(a.shape)
            shape[axis] = newlen
            size = tuple(shape)
        size = tuple(int(x) for x in (size if isinstance(size, (tuple, list)) else (size,)))
        if len(size) != len(a.shape):
            raise TypeError("New shape must have the same rank as the dataset")
        for n, m in zip(size, a.maxshape):
            if n < 0 or (m is not None and n > m):
                raise ValueError("Unable to change dataset extent: new size %s exceeds maximum %s" % (size, a.maxshape))
        a.resize(size)

    def __setitem__(self, args: Any, val: Any) -> None:
        self._check_writable(OSError, "write data")
        a = self._arr
        args = args if isinstance(args, tuple) else (args,)
        if a.empty:
            raise ValueError("Empty datasets cannot be written to")
        names, args = split_fields(args)
        dtype = a.dtype
        if names:
            self._write_fields(names, args, val)
            return
        if dtype.names is not None and isinstance(val, (np.ndarray, np.void)) and val.dtype.names is not None \
                and val.dtype.names != dtype.names:
            # HDF5 converts compounds member by member, by name: members the data lacks
            # keep their stored values, members only the data has are ignored.
            common = [n for n in dtype.names if n in val.dtype.names]
            if not common:
                raise ValueError(f"No field of the data ({', '.join(val.dtype.names)}) is a field of the "
                                 f"dataset's compound type ({', '.join(dtype.names)})")
            self._write_fields(common, args, np.asarray(val))
            return
        sel = self._selection(args)
        value = self._prepare(val, dtype, sel.mshape)
        sel.write(a.write, a.read, value)

    def _prepare(self, val: Any, dtype: np.dtype[Any], mshape: tuple[int, ...]) -> np.ndarray[Any, Any]:
        """``val`` as an array of ``dtype`` broadcast to ``mshape`` (plus any
        subarray dims); TypeError if it cannot be."""
        from sciswift.h5.convert import to_dataset_values

        value = to_dataset_values(val, dtype)
        target = mshape
        if dtype.subdtype is not None:
            target = mshape + dtype.subdtype[1]
        return broadcast_value(value, target)

    def _write_fields(self, names: list[str], args: tuple[Any, ...], val: Any) -> None:
        a = self._arr
        dtype = a.dtype
        if dtype.names is None:
            raise TypeError("Illegal slicing argument (fields %s not in dataset type)" % names)
        for n in names:
            if n not in dtype.names:
                raise ValueError("Field %s does not appear in this type." % n)
        sel = self._selection(args)
        current = np.array(sel.read(a.read, dtype), copy=True)
        if isinstance(val, np.ndarray) and val.dtype.names is not None and all(n in val.dtype.names for n in names):
            # A whole record array given for some fields: take those fields from it.
            val = val[names[0]] if len(names) == 1 else val[names]
        if len(names) == 1:
            fdt = dtype.fields[names[0]][0]  # type: ignore[index]
            sub = self._prepare(val, fdt, sel.mshape)
            current[names[0]] = sub
        else:
            sub_dt = np.dtype([(n, dtype.fields[n][0]) for n in names])  # type: ignore[index]
            sub = self._prepare(val, sub_dt, sel.mshape)
            for n in names:
                current[n] = sub[n]
        sel.write(a.write, a.read, current)


def _h5py_object_fill(fill: Any, dt: np.dtype[Any]) -> Any:
    """The fill value h5py reports for a type holding objects: None for vlen
    sequences and references that were left at their default (empty, null), also
    inside compounds; strings as bytes."""
    if dt.names is None:
        if dt.kind != "O":
            return fill
        if check_vlen_dtype(dt) in (str, bytes):
            return fill.encode("utf-8", "surrogateescape") if isinstance(fill, str) else fill
        empty = fill is None or (len(fill) == 0 if hasattr(fill, "__len__") else not fill)
        return None if empty else fill
    out = np.array(fill, dtype=dt)
    for name in dt.names:
        fdt = dt.fields[name][0]  # type: ignore[index]
        if fdt.hasobject:
            value = _h5py_object_fill(out[name][()], fdt)
            if fdt.kind == "O" and check_vlen_dtype(fdt) in (str, bytes) and value in ("", b""):
                value = None  # an unset string field of a compound fill is reported as None
            out[name] = value
    return out[()]


def broadcast_value(value: np.ndarray[Any, Any], target: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """``value`` broadcast to ``target`` by h5py's rule: numpy broadcasting, where
    extra leading dimensions of length 1 are dropped. TypeError otherwise."""
    if value.shape == target:
        return value
    src = value.shape
    while len(src) > len(target) and src[0] == 1:
        src = src[1:]
    try:
        if len(src) > len(target):
            raise ValueError
        return np.broadcast_to(value.reshape(src), target)
    except ValueError:
        raise TypeError("Can't broadcast %s -> %s" % (value.shape, target)) from None


class _RegionProxy:
    """``dset.regionref``: ``dset.regionref[sel]`` makes a region reference."""

    def __init__(self, dset: Dataset) -> None:
        self._dset = dset

    def __getitem__(self, args: Any) -> RegionReference:
        args = args if isinstance(args, tuple) else (args,)
        sel = select(args, self._dset._arr.shape)
        doc = sel.to_json()
        if args == () or (len(args) == 1 and args[0] is Ellipsis):
            # h5py selects "all" for these (not the hyperslab of every element
            # that explicit slices make), and HDF5's tools tell the two apart.
            doc["all"] = True
        return RegionReference("/" + self._dset._path, doc)

    def shape(self, ref: RegionReference) -> tuple[int, ...]:
        """The shape of the dataset the reference points into."""
        return self._dset.file[ref].shape

    def selection(self, ref: RegionReference) -> tuple[int, ...]:
        """The shape of the referenced selection."""
        dset = self._dset.file[ref]
        return Selection.from_json(ref.selection, dset._arr.shape).region_shape()

