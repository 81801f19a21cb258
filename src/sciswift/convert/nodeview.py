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
        return self._dset.dtype  # type: ignore[no-any-return]

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self._dset.chunks  # type: ignore[no-any-return]

    @property
    def fillvalue(self) -> Any:
        return self._dset.fillvalue

    @property
    def compression(self) -> str | None:
        return self._dset.compression  # type: ignore[no-any-return]

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        if self._dset.shape is None:
            raise NotSupported(f"{self._dset.name} has no dataspace (h5py.Empty); it has no data to write",
                               self._dset.name)
        return np.asarray(self._dset[selection] if selection else self._dset[()])
