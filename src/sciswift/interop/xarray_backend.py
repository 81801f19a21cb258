"""``xarray.open_dataset(url, engine="sciswift")``: every URL sciswift opens, lazily.

Registered under xarray's entry-point group ``xarray.backends``. The URL (or path)
is opened read-only with ``sciswift.h5py.File``: a native sciswift file, a Zarr
hierarchy another tool wrote, or one object in any format sciswift reads
(netCDF-4 and netCDF-3, plain HDF5, FITS, Parquet, CSV, NumPy, ROOT ...). What is
a dimension, a variable and an attribute follows h5netcdf's rules
(``sciswift.interop.netcdf_rules``), so a netCDF-4 object gives what
``engine="h5netcdf"`` gives on the local file; CF decoding (times, scale and
offset, fill values, ``coordinates``) is xarray's own.

Data stays in the store until used: each variable is a ``BackendArray`` whose
reads go through xarray's indexing adapter (outer indexing with one vector, as
h5py takes it) to ``Dataset.__getitem__``, which fetches only the chunks (or
byte ranges) a selection touches. The arrays pickle by address, so
``chunks=`` datasets compute on dask worker processes too.

Options: ``group`` (a path), ``phony_dims`` ("access", the default, "sort", or
None to refuse datasets without dimension names, as h5netcdf does),
``storage_options`` (credentials for ``swift://`` instead of the environment),
``drop_variables`` and xarray's usual decoding switches; ``lock`` is accepted
(as the h5netcdf and netcdf4 engines take it) and not needed.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from typing import Any

import numpy as np
from xarray.backends.common import AbstractDataStore, BackendArray, BackendEntrypoint
from xarray.backends.store import StoreBackendEntrypoint
from xarray.coding.strings import create_vlen_dtype
from xarray.core import indexing
from xarray.core.utils import FrozenDict, close_on_error
from xarray.core.variable import Variable

from sciswift.interop.netcdf_rules import GroupView, NetCDFView

__all__ = ["SciSwiftBackendEntrypoint", "SciSwiftDataStore", "SciSwiftArray"]

_URL_SCHEMES = ("swift://", "memory://")


class SciSwiftArray(BackendArray):
    """One dataset of an open file, read on demand."""

    __slots__ = ("dataset", "shape", "dtype", "_strings")

    def __init__(self, dataset: Any) -> None:
        import sciswift.h5py as h5

        self.dataset = dataset
        self.shape = tuple(dataset.shape)
        info = h5.check_string_dtype(dataset.dtype)
        # Variable-length text is read as str (decode_vlen_strings, as xarray asks
        # h5netcdf to), and typed as xarray's vlen-str object dtype.
        self._strings = info is not None and info.length is None
        self.dtype = create_vlen_dtype(str) if self._strings else dataset.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER_1VECTOR, self._getitem
        )

    def _getitem(self, key: tuple[Any, ...]) -> np.ndarray[Any, Any]:
        source = self.dataset.asstr() if self._strings else self.dataset
        return np.asarray(source[key] if key else source[()])


class SciSwiftDataStore(AbstractDataStore):
    """One group of a file opened by sciswift, as xarray's data store."""

    def __init__(self, file: Any, view: NetCDFView, group: GroupView, *, owns_file: bool = True) -> None:
        self.file = file
        self.view = view
        self.group = group
        self._owns_file = owns_file

    @classmethod
    def open(cls, url: str | os.PathLike[str], group: str | None = None, phony_dims: str | None = "access",
             storage_options: dict[str, Any] | None = None) -> SciSwiftDataStore:
        import sciswift.h5py as h5

        file = h5.File(os.fspath(url), "r", storage_options=storage_options)
        try:
            view = NetCDFView(file, h5, phony_dims)
            return cls(file, view, view.group(group or "/"))
        except BaseException:
            file.close()
            raise

    def __reduce__(self) -> tuple[Any, ...]:
        # A Dataset keeps its store (``Dataset._close``), so pickling a lazily
        # loaded Dataset pickles the store too, as with xarray's own engines. The
        # view holds the sciswift.h5py module, which cannot be pickled: send the
        # file (by address: it is open read-only) and the group, and rebuild the
        # view in the other process.
        return _reopened_store, (self.file, self.group.path, self.view.phony_dims, self._owns_file)

    def child(self, path: str) -> SciSwiftDataStore:
        """The store of another group of the same open file (not owning it)."""
        return SciSwiftDataStore(self.file, self.view, self.view.group(path), owns_file=False)

    def get_dimensions(self) -> Any:
        return FrozenDict((name, dim.size) for name, dim in self.group.dimensions.items())

    def get_attrs(self) -> Any:
        return FrozenDict(self.group.attrs())

    def get_variables(self) -> Any:
        return FrozenDict((name, self._variable(name, ds)) for name, ds in self.group.variables.items())

    def _variable(self, name: str, ds: Any) -> Variable:
        data = indexing.LazilyIndexedArray(SciSwiftArray(ds))
        encoding: dict[str, Any] = {"source": self.file.filename, "original_shape": tuple(ds.shape)}
        encoding["dtype"] = str if isinstance(data.array, SciSwiftArray) and data.array._strings else ds.dtype
        chunks = ds.chunks
        encoding["contiguous"] = chunks is None
        encoding["chunksizes"] = chunks
        dims = self.group.dims_of(name)
        if chunks:
            encoding["preferred_chunks"] = dict(zip(dims, chunks, strict=True))
        if ds.compression == "gzip":
            encoding["zlib"] = True
            encoding["complevel"] = ds.compression_opts
        elif ds.compression is not None:
            encoding["compression"] = ds.compression
        if ds.shuffle:
            encoding["shuffle"] = True
        if ds.fletcher32:
            encoding["fletcher32"] = True
        return Variable(dims, data, self.group.attrs(ds), encoding)

    def get_encoding(self) -> dict[str, Any]:
        return {"unlimited_dims": {n for n, d in self.group.dimensions.items() if d.unlimited}}

    def close(self, **kwargs: Any) -> None:
        if self._owns_file:
            self.file.close()


class SciSwiftBackendEntrypoint(BackendEntrypoint):
    """``engine="sciswift"``: see the module docstring."""

    description = ("Open any file or object sciswift opens (native files, netCDF-4/3, HDF5, FITS, Parquet, CSV ...) "
                   "from swift://, file:// or local paths")
    url = "https://example.invalid/sciswift/docs/interop.md"
    open_dataset_parameters = (
        "filename_or_obj", "mask_and_scale", "decode_times", "concat_characters", "decode_coords", "drop_variables",
        "use_cftime", "decode_timedelta", "group", "phony_dims", "storage_options", "lock",
    )

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        return isinstance(filename_or_obj, str) and filename_or_obj.startswith(_URL_SCHEMES)

    def open_dataset(
        self,
        filename_or_obj: Any,
        *,
        mask_and_scale: bool = True,
        decode_times: Any = True,
        concat_characters: bool = True,
        decode_coords: Any = True,
        drop_variables: str | Iterable[str] | None = None,
        use_cftime: Any = None,
        decode_timedelta: Any = None,
        group: str | None = None,
        phony_dims: str | None = "access",
        storage_options: dict[str, Any] | None = None,
        lock: Any = None,
    ) -> Any:
        # ``lock`` is taken, and not needed, so programs written for the h5netcdf
        # and netcdf4 engines (``lock=False`` is common with dask) run unchanged:
        # reads go through thread-safe stores, not the HDF5 C library.
        store = SciSwiftDataStore.open(_name_of(filename_or_obj), group, phony_dims, storage_options)
        with close_on_error(store):
            return StoreBackendEntrypoint().open_dataset(
                store, mask_and_scale=mask_and_scale, decode_times=decode_times,
                concat_characters=concat_characters, decode_coords=decode_coords, drop_variables=drop_variables,
                use_cftime=use_cftime, decode_timedelta=decode_timedelta,
            )

    def open_groups_as_dict(
        self,
        filename_or_obj: Any,
        *,
        group: str | None = None,
        phony_dims: str | None = "access",
        storage_options: dict[str, Any] | None = None,
        lock: Any = None,
        **decoding: Any,
    ) -> dict[str, Any]:
        """Every group at and below ``group`` as a Dataset, by path (for
        ``xarray.open_datatree``)."""
        root = SciSwiftDataStore.open(_name_of(filename_or_obj), group, phony_dims, storage_options)
        out: dict[str, Any] = {}
        with close_on_error(root):
            base = root.group.path
            for view in root.view.walk(base):
                store = root if view is root.group else root.child(view.path)
                ds = StoreBackendEntrypoint().open_dataset(store, **decoding)
                rel = "/" + posixpath.relpath(view.path, base).lstrip(".").lstrip("/")
                out[rel if rel != "/" else "/"] = ds
        return out

    def open_datatree(self, filename_or_obj: Any, **kwargs: Any) -> Any:
        from xarray.core.datatree import DataTree

        return DataTree.from_dict(self.open_groups_as_dict(filename_or_obj, **kwargs))


def _reopened_store(file: Any, path: str, phony_dims: str | None, owns_file: bool) -> SciSwiftDataStore:
    """A pickled ``SciSwiftDataStore`` again: its group of ``file`` (itself
    unpickled by address), seen by a new view."""
    import sciswift.h5py as h5

    view = NetCDFView(file, h5, phony_dims)
    return SciSwiftDataStore(file, view, view.group(path), owns_file=owns_file)


def _name_of(filename_or_obj: Any) -> str:
    if isinstance(filename_or_obj, (str, os.PathLike)):
        return os.fspath(filename_or_obj)
    raise TypeError(
        f"engine='sciswift' opens URLs and paths (swift://, file://, memory:// or a local path), "
        f"not {type(filename_or_obj).__name__} objects"
    )
