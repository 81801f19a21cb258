"""An opened HDF5-style file seen as a format plugin's node tree.

Format plugins write from ``GroupNode``/``ArrayNode`` trees
(``sciswift.formats.base``). ``group_node`` presents any h5py-like group (h5py or
sciswift.h5py) that way, reading datasets only when the plugin asks, so export to
FITS, Parquet, CSV, NumPy or netCDF goes through each plugin's own ``write``
(which says which dataset does not fit the format, when one does not).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sciswift.convert.apis import Api
from sciswift.errors import NotSupported
from sciswift.formats.base import ArrayNode, GroupNode, LinkNode, Node

__all__ = ["group_node"]


def group_node(group: Any, api: Api) -> GroupNode:
    """``group`` (and everything below it) as a GroupNode."""
    return _Group(group, api)


class _Attrs(Mapping[str, Any]):
    """Attributes read on first access."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj
        self._cache: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._cache is None:
            self._cache = {k: self._obj.attrs[k] for k in self._obj.attrs}
        return self._cache

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Any:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class _Group(GroupNode):
    def __init__(self, group: Any, api: Api) -> None:
        self._group = group
        self._api = api
        self._attrs = _Attrs(group)

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs

    def keys(self) -> list[str]:
        # Named datatypes have no place in a node tree (plugins hold data only).
        out = []
        for name in self._group:
            link = self._group.get(name, getlink=True)
            if not (self._api.is_soft(link) or self._api.is_external(link)):
                if self._api.is_datatype(self._group.get(name)):
                    continue
            out.append(name)
        return out

    def __getitem__(self, name: str) -> Node:
        link = self._group.get(name, getlink=True)
        if link is None:
            raise KeyError(name)
        if self._api.is_soft(link):
            return LinkNode(link.path)
        if self._api.is_external(link):
            return LinkNode(link.path, link.filename)
        obj = self._group[name]
        if self._api.is_group(obj):
            return _Group(obj, self._api)
        if self._api.is_dataset(obj):
            return _Array(obj)
        raise KeyError(name)


class _Array(ArrayNode):
    def __init__(self, dset: Any) -> None:
        self._dset = dset
        self._attrs = _Attrs(dset)

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs

    @property
    def shape(self) -> tuple[int, ...]:
        shape = self._dset.shape
        return () if shape is None else tuple(shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dset.dtype

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self._dset.chunks

    @property
    def fillvalue(self) -> Any:
        return self._dset.fillvalue

    @property
    def compression(self) -> str | None:
        return self._dset.compression

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        if self._dset.shape is None:
            raise NotSupported(f"{self._dset.name} has no dataspace (h5py.Empty); it has no data to write",
                               self._dset.name)
        return np.asarray(self._dset[selection] if selection else self._dset[()])


# ------------------------------------------------------------------ counting
def count_tree(root: GroupNode) -> tuple[int, int, int]:
    """``(groups below the root, datasets, attributes)`` of a node tree, links
    not followed: what a plugin export wrote."""
    groups = datasets = 0
    attributes = len(root.attrs)
    for name in root.keys():
        node = root[name]
        if isinstance(node, GroupNode):
            g, d, a = count_tree(node)
            groups += 1 + g
            datasets += d
            attributes += a
        elif isinstance(node, ArrayNode):
            datasets += 1
            attributes += len(node.attrs)
    return groups, datasets, attributes


# ------------------------------------------------------------------ netCDF-3
#: HDF5/netCDF-4 bookkeeping that netCDF-3 expresses with its own dimensions.
NC4_BOOKKEEPING = frozenset({"CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST", "DIMENSION_LABELS",
                             "_Netcdf4Dimid", "_Netcdf4Coordinates", "_NCProperties", "_nc3_strict"})
_DIM_ONLY = "This is a netCDF dimension but not a netCDF variable"
#: netCDF-3 has no unsigned, 64-bit or boolean types: what xarray's netCDF-3
#: encoding turns them into, if every value survives.
_NC3_COERCE = {"i8": "i4", "u8": "i4", "u4": "i4", "u2": "i2", "u1": "i1", "b1": "i1"}


def netcdf3_view(root: GroupNode, display: str, notes: list[str]) -> GroupNode:
    """``root`` as the netCDF-3 plugin writes it: dimensions named in ``_dims``
    from the dimension scales (or labels), dimension-only scales left out,
    bookkeeping attributes dropped, 64-bit/unsigned/bool integers narrowed as
    xarray does (NotSupported naming the variable if a value does not fit) and
    strings as character arrays with a ``string<N>`` dimension."""
    from sciswift.formats.base import MemoryGroup

    if not isinstance(root, _Group):
        return root
    out = MemoryGroup(attrs={k: _nc3_attr(v, "/", k, display)
                             for k, v in root.attrs.items() if k not in NC4_BOOKKEEPING})
    for key in root.keys():
        node = root[key]
        if isinstance(node, _Array):
            name = node.attrs.get("NAME")
            if isinstance(name, bytes | np.bytes_):
                name = bytes(name).decode("utf-8", "replace")
            if isinstance(name, str) and name.startswith(_DIM_ONLY):
                continue
            out.add(key, _NC3Array(node, key, display, notes))
        else:
            out.add(key, node)  # the plugin names what does not fit
    return out


def _dim_names(dset: Any, key: str) -> list[str]:
    if len(dset.shape or ()) == 1 and getattr(dset, "is_scale", False):
        return [key]  # a coordinate variable: its own dimension
    names: list[str] = []
    for axis in range(len(dset.shape or ())):
        dim = dset.dims[axis]
        scales = list(dim.values())
        if scales:
            names.append(str(scales[0].name).rsplit("/", 1)[-1])
        elif dim.label:
            names.append(str(dim.label))
        else:
            names.append(f"{key}_dim{axis}")
    return names


def _nc3_attr(value: Any, where: str, key: str, display: str) -> Any:
    if isinstance(value, np.generic) and value.dtype.kind == "b":
        return int(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, np.ndarray) and value.dtype.str[1:] in _NC3_COERCE:
        return _narrow(value, f"attribute {key!r} of {where}", display)
    if isinstance(value, np.ndarray) and value.dtype.kind in "OU" and value.size == 1:
        return str(value.reshape(()).item())
    return value


def _narrow(values: np.ndarray[Any, Any], what: str, display: str) -> np.ndarray[Any, Any]:
    target = np.dtype(_NC3_COERCE[values.dtype.str[1:]])
    narrowed = values.astype(target)
    if not np.array_equal(narrowed, values):
        raise NotSupported(f"cannot write {display} as netCDF-3: {what} has {values.dtype} values that do not "
                           f"fit its {target} (write netCDF-4 instead: --format netcdf4)", display)
    return narrowed


class _NC3Array(ArrayNode):
    """One variable as netCDF-3 holds it (``netcdf3_view``)."""

    def __init__(self, node: _Array, key: str, display: str, notes: list[str]) -> None:
        self._node = node
        self._key = key
        self._display = display
        dset = node._dset
        given = node.attrs.get("_dims")  # a file imported from netCDF-3 names them so
        dims = [str(d) for d in given] if given is not None else _dim_names(dset, key)
        dt = node.dtype
        self._strings = dt.kind in "OUS" and dt.str[1:] != "S1"
        self._width = 0
        if self._strings:
            data = node.read(tuple(slice(0, n) for n in node.shape))
            encoded = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in data.reshape(-1)]
            self._width = max([len(b) for b in encoded] + [1])
            chars = np.array(encoded, dtype=f"S{self._width}").reshape(data.shape)
            self._chars = chars.view("S1").reshape(data.shape + (self._width,))
            dims = dims + [f"string{self._width}"]
            notes.append(f"/{key}: strings written as characters along dimension string{self._width}")
        attrs = {k: _nc3_attr(v, f"/{key}", k, display) for k, v in node.attrs.items()
                 if k not in NC4_BOOKKEEPING and k != "_dims"}
        attrs["_dims"] = np.array(dims, dtype=object)
        if self._strings and dt.kind in "OU":
            attrs.setdefault("_Encoding", "utf-8")
        if dt.kind == "b":
            attrs.setdefault("dtype", "bool")
        self._attrs = attrs

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs

    @property
    def shape(self) -> tuple[int, ...]:
        return self._chars.shape if self._strings else self._node.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        if self._strings:
            return np.dtype("S1")
        code = self._node.dtype.str[1:]
        return np.dtype(_NC3_COERCE[code]) if code in _NC3_COERCE else self._node.dtype

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        if self._strings:
            return self._chars[selection] if selection else self._chars
        data = self._node.read(selection)
        if data.dtype.str[1:] in _NC3_COERCE:
            return _narrow(data, f"variable /{self._key}", self._display)
        return data
