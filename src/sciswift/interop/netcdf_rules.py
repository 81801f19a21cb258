"""What netCDF makes of an HDF5-style file: dimensions, variables, the dimensions
of each variable and attribute values, by h5netcdf's rules (h5netcdf 1.x, the
library behind xarray's ``engine="h5netcdf"``), applied to any h5py-like file:
``sciswift.h5py`` objects (native files and every format plugin) or real h5py.

The rules, per group (members in the file's order):

- A dataset whose CLASS is ``DIMENSION_SCALE`` is a dimension, named by its last
  path component; its size is its length, unlimited when its maxshape is None.
  Unless its NAME says it is "a netCDF dimension but not a netCDF variable", it
  is a variable too. Every other dataset is a variable; groups are groups.
- A variable's dimensions: a coordinate variable with ``_Netcdf4Coordinates``
  maps those dimension ids (``_Netcdf4Dimid``) to names; else, when every axis has
  scales attached (``DIMENSION_LIST``), the last scale of each axis names it (as
  netCDF-C); else a variable named like a visible dimension is that dimension.
- Beyond h5netcdf (files that name dimensions without scales): labels on every
  axis (HDF5 ``DIMENSION_LABELS``, which are Zarr's ``dimension_names`` in native
  files), a netCDF-3 object's ``_dims`` attribute, Zarr v2's ``_ARRAY_DIMENSIONS``.
- Otherwise the axes are *phony* dimensions, as h5netcdf's ``phony_dims``
  ("access": numbered as groups are first visited, from 0; "sort": every group
  at open, numbered after the file's largest ``_Netcdf4Dimid``), shared by size
  within a group and reusing a named dimension of the same size first. None
  raises ValueError naming the variable, as h5netcdf does.
- Compound datasets (tables' records; FITS tables also have one dataset per column
  in their ``columns`` group) and types NumPy lacks are not variables.
- Attributes: h5netcdf's hidden bookkeeping (``CLASS``, ``NAME``,
  ``REFERENCE_LIST``, ``DIMENSION_LIST``, ``_Netcdf4Dimid``, ``_Netcdf4Coordinates``,
  ``_nc3_strict``, ``_NCProperties``) and the dimension attributes used above are
  not shown. Values as h5netcdf gives them (fixed-length text decoded, string
  arrays as lists, one-element arrays as their element), then as xarray's
  h5netcdf backend (bytes decoded as UTF-8, except ``_FillValue`` and
  ``missing_value``).
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["NetCDFView", "GroupView", "Dimension", "NOT_A_VARIABLE", "HIDDEN_ATTRS", "decode_attrs"]

NOT_A_VARIABLE = b"This is a netCDF dimension but not a netCDF variable"
#: h5netcdf's hidden attributes, and those this view turns into dimension names.
HIDDEN_ATTRS = frozenset({"REFERENCE_LIST", "CLASS", "DIMENSION_LIST", "NAME", "_Netcdf4Dimid",
                          "_Netcdf4Coordinates", "_nc3_strict", "_NCProperties"})
_NAMING_ATTRS = ("_dims", "_ARRAY_DIMENSIONS")
PHONY_MODES = (None, "access", "sort")


@dataclass
class Dimension:
    name: str
    size: int
    unlimited: bool = False
    dimid: int | None = None
    phony: bool = False


def _basename(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _is_dimension(ds: Any) -> bool:
    return bool(ds.attrs.get("CLASS") == b"DIMENSION_SCALE")


def _not_a_variable(ds: Any) -> bool:
    name = ds.attrs.get("NAME", b"")
    if isinstance(name, str):
        name = name.encode("utf-8", "surrogateescape")
    return isinstance(name, bytes) and NOT_A_VARIABLE in name


def _scale_status(ds: Any) -> str:
    """h5netcdf's check of a dataset's axes: "nodim" (a scalar), "unlabeled" (no
    axis has a scale), "labeled" (every axis has one); ValueError for a mix."""
    if not ds.shape:
        return "nodim"
    counts = {len(d) for d in ds.dims}
    if counts == {0}:
        return "unlabeled"
    if 0 in counts:
        raise ValueError(f"malformed variable {_basename(ds.name)} has mixing of labeled and unlabeled dimensions.")
    return "labeled"


def _named_axes(ds: Any) -> tuple[str, ...] | None:
    """Dimension names a dataset carries without scales (see the module docstring)."""
    ndim = len(ds.shape or ())
    if not ndim:
        return None
    labels = tuple(d.label for d in ds.dims)
    if all(labels):
        return labels
    for key in _NAMING_ATTRS:
        if key in ds.attrs:
            value = ds.attrs[key]
            names = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(value, dtype=object).ravel()]
            if len(names) == ndim:
                return tuple(names)
    return None


def _array_like(ds: Any) -> bool:
    """Whether xarray can hold the dataset as a variable: not a compound (a table's
    records; FITS tables also give one dataset per column), and of a type NumPy
    has (HDF5 time types and the like raise NotSupported for ``dtype``)."""
    try:
        return ds.dtype.names is None
    except (TypeError, ValueError, NotImplementedError):
        return False


class GroupView:
    """One group's dimensions, variables and subgroups."""

    def __init__(self, view: NetCDFView, path: str, parent: GroupView | None) -> None:
        self.view = view
        self.path = path
        self.parent = parent
        self.h5group = view.file[path] if path != "/" else view.file
        self.dimensions: dict[str, Dimension] = {}
        self.variables: dict[str, Any] = {}
        self.groups: list[str] = []
        self._dims_of: dict[str, tuple[str, ...]] = {}
        self._scan()

    def _scan(self) -> None:
        h5 = self.view.h5
        phony: Counter[int] = Counter()
        named: list[tuple[str, tuple[str, ...], tuple[int, ...]]] = []
        for key in self.h5group:
            obj = self.h5group[key]
            if isinstance(obj, h5.Group):
                self.groups.append(key)
                continue
            if not isinstance(obj, h5.Dataset):
                continue  # named datatypes: netCDF user types, not variables
            if not _array_like(obj):
                continue
            if _is_dimension(obj):
                self.dimensions[key] = self._scale_dimension(key, obj)
            elif obj.shape is not None:
                axes = _named_axes(obj) if _scale_status(obj) == "unlabeled" else None
                if axes is not None:
                    named.append((key, axes, tuple(obj.shape)))
                elif self.view.phony_dims is not None and _scale_status(obj) == "unlabeled":
                    phony |= Counter(obj.shape)
            if not _not_a_variable(obj) and obj.shape is not None:
                self.variables[key] = obj
        for _key, axes, shape in named:
            for name, size in zip(axes, shape):
                if name not in self.all_dimensions():
                    self.dimensions[name] = Dimension(name, size, dimid=self.view.next_dimid())
        labeled = Counter(d.size for d in self.dimensions.values() if not d.phony)
        for size, count in phony.items():
            for _ in range(labeled[size], count):
                name = f"phony_dim_{self.view.next_phony()}"
                self.dimensions[name] = Dimension(name, size, phony=True)
        for key, axes, _shape in named:
            self._dims_of[key] = axes

    def _scale_dimension(self, key: str, ds: Any) -> Dimension:
        """A dimension kept as a scale. An unlimited one is as long as the longest
        axis attached to it (netCDF4-python's rule), its id ``_Netcdf4Dimid`` or
        the next in order."""
        shape = ds.shape or (0,)
        unlimited = (ds.maxshape or shape)[0] is None
        size = int(shape[0])
        if unlimited:
            for ref, axis in ds.attrs.get("REFERENCE_LIST", []):
                size = max(size, int(self.view.file[ref].shape[int(axis)]))
        number = self.view.next_dimid()
        dimid = ds.attrs.get("_Netcdf4Dimid")
        return Dimension(key, size, unlimited, number if dimid is None else int(np.asarray(dimid).ravel()[0]))

    def all_dimensions(self) -> dict[str, Dimension]:
        """Dimensions visible here: this group's, then its ancestors' (nearest first)."""
        out: dict[str, Dimension] = {}
        group: GroupView | None = self
        while group is not None:
            for name, dim in group.dimensions.items():
                out.setdefault(name, dim)
            group = group.parent
        return out

    def dims_of(self, name: str) -> tuple[str, ...]:
        """The dimension names of variable ``name`` of this group."""
        found = self._dims_of.get(name)
        if found is None:
            found = self._dims_of[name] = self._lookup(self.variables[name])
        return found

    def _lookup(self, ds: Any) -> tuple[str, ...]:
        attrs = ds.attrs
        visible = self.all_dimensions()
        if "_Netcdf4Coordinates" in attrs and _is_dimension(ds):
            by_id = {d.dimid: n for n, d in visible.items()}
            return tuple(by_id[int(i)] for i in np.asarray(attrs["_Netcdf4Coordinates"]).ravel())
        if "DIMENSION_LIST" in attrs and _scale_status(ds) == "labeled":
            return tuple(_basename(self.view.file[refs[-1]].name) for refs in attrs["DIMENSION_LIST"])
        child = _basename(ds.name)
        if child in visible:
            return (child,)
        dims = []
        per_size: Counter[int] = Counter()
        for axis, dim in enumerate(ds.dims):
            if len(dim):
                dims.append(_basename(dim[0].name))
                continue
            if self.view.phony_dims is None:
                raise ValueError(
                    f"variable {child!r} has no dimension scale associated with axis {axis}. \n"
                    "Use phony_dims='sort' for sorted naming or phony_dims='access' for per access naming."
                )
            size = ds.shape[axis]
            same = [n for n, d in self.dimensions.items() if d.size == size]
            dims.append(same[per_size[size]])
            per_size[size] += 1
        return tuple(dims)

    def attrs(self, obj: Any | None = None) -> dict[str, Any]:
        """The attributes of a variable of this group (or of the group)."""
        return decode_attrs(self.h5group if obj is None else obj, self.view.h5)


def decode_attrs(obj: Any, h5: Any) -> dict[str, Any]:
    """An object's attributes as h5netcdf and xarray's h5netcdf backend show them."""
    out: dict[str, Any] = {}
    for key in obj.attrs:
        if key in HIDDEN_ATTRS or key in _NAMING_ATTRS or key == "DIMENSION_LABELS":
            continue
        out[key] = _decode_value(obj.attrs, key, h5)
    fill = out.get("_FillValue")
    if isinstance(fill, str) and getattr(getattr(obj, "dtype", None), "kind", "") == "S":
        # The fill value of a char variable must match its bytes for masking (a
        # netCDF-3 object gives its text attributes as str; scipy keeps it bytes).
        out["_FillValue"] = fill.encode("utf-8")
    return out


def _decode_value(attrs: Any, key: str, h5: Any) -> Any:
    value = attrs[key]
    if isinstance(value, h5.Empty):
        info = h5.check_string_dtype(value.dtype)
        return b"" if info and info.length == 1 else np.array([], dtype=value.dtype)
    try:
        dtype = attrs.get_id(key).dtype
    except (KeyError, AttributeError, TypeError):
        dtype = getattr(value, "dtype", None)
    info = h5.check_string_dtype(dtype) if dtype is not None else None
    if info is None and isinstance(value, (str, bytes)):
        info = True
    if info is not None:
        length = getattr(info, "length", None)
        if length is not None and length > 1:
            if np.isscalar(value):
                value = value.decode(info.encoding, "surrogateescape") if isinstance(value, bytes) else value
            else:
                value = [v.decode(info.encoding, "surrogateescape") if isinstance(v, bytes) else v
                         for v in np.asarray(value).flat]
        elif not np.isscalar(value):
            value = np.asarray(value).tolist()
    if isinstance(value, (np.ndarray, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bytes) and key not in ("_FillValue", "missing_value"):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return value


@dataclass
class NetCDFView:
    """A file (h5py-like ``file``, ``h5`` the module its classes come from) as
    netCDF sees it; groups are read when first asked for (``group``)."""

    file: Any
    h5: Any
    phony_dims: str | None = "access"
    _groups: dict[str, GroupView] = field(default_factory=dict)
    _phony_count: int = 0
    _dim_count: int = 0

    def __post_init__(self) -> None:
        if self.phony_dims not in PHONY_MODES:
            raise ValueError(f"unknown value {self.phony_dims!r} for phony_dims: use 'sort' or 'access' (or None)")
        if self.phony_dims == "sort":
            for _ in self.walk("/"):  # every group now, so numbers do not depend on what is read
                pass

    def next_dimid(self) -> int:
        """The id of the next named dimension met (h5netcdf counts them in order)."""
        self._dim_count += 1
        return self._dim_count - 1

    def next_phony(self) -> int:
        """The number of the next phony dimension: in "sort" mode after every named
        dimension met so far, as h5netcdf numbers them."""
        number = self._phony_count + (self._dim_count if self.phony_dims == "sort" else 0)
        self._phony_count += 1
        return number

    def group(self, path: str = "/") -> GroupView:
        """The group at ``path`` (KeyError naming it if there is none); its
        ancestors are read first, as h5netcdf opens them."""
        path = "/" + posixpath.normpath(path or "/").strip("/") if path.strip("/") else "/"
        found = self._groups.get(path)
        if found is not None:
            return found
        parent = None if path == "/" else self.group(posixpath.dirname(path))
        if path != "/" and posixpath.basename(path) not in parent.groups:  # type: ignore[union-attr]
            raise KeyError(f"no group {path!r} in {getattr(self.file, 'filename', 'the file')}")
        view = self._groups[path] = GroupView(self, path, parent)
        return view

    def walk(self, path: str = "/") -> Iterator[GroupView]:
        """The group at ``path`` and every group below it, parents first."""
        group = self.group(path)
        yield group
        for name in group.groups:
            yield from self.walk(posixpath.join(group.path, name))
