"""The read-only backend: the node tree a format plugin presents
(``sciswift.formats.base``: GroupNode, ArrayNode, LinkNode), behind the same
interface as the native backend, so h5py's Group/Dataset API (indexing, fields,
attrs) works on FITS, Parquet, HDF5 blobs and the rest unchanged.

Dimension scales a node reports (``ArrayNode.dimension_scales``: HDF5 and netCDF-4
objects) become the reserved entries the HDF5 layer keeps them in, so ``dims``
and ``h5ds`` work as on a native file, and the CLASS/NAME/REFERENCE_LIST/
DIMENSION_LIST/DIMENSION_LABELS attributes are derived from them
(``scaleattrs``: sciswift references this file resolves) in the places the
object lists them.

Names are shown as h5py would show them (``sciswift.h5.names``): a name no HDF5
name could hold (a NUL in a FITS keyword or netCDF name, ``/`` in a member name)
is listed escaped, and the escaped name finds the member or attribute."""

from __future__ import annotations

from typing import Any

import numpy as np

from sciswift.formats.base import ArrayNode, GroupNode, LinkNode, Node
from sciswift.h5 import scaleattrs
from sciswift.h5.backend import ARRAY, EXTERNAL, GROUP, SOFT, ArrayBackend, Entry, FileBackend
from sciswift.h5.names import shown_names, stored_name, unchanged

__all__ = ["NodeFile", "NodeArray"]

_GROUP = Entry(GROUP)
_ARRAY = Entry(ARRAY)


class NodeArray(ArrayBackend):
    """A dataset over an ArrayNode (reads only)."""

    def __init__(self, node: ArrayNode) -> None:
        self._node = node
        scales = node.dimension_scales
        self._reserved = scales.reserved() if scales is not None else {}
        labels = list(scales.labels) if scales is not None else []
        self._labels: list[str | None] | None = labels if any(labels) else None

    @property
    def dtype(self) -> np.dtype[Any]:  # type: ignore[override]
        # Asked for only when used, as h5py does: a dataset whose type has no
        # NumPy equivalent still opens (and visititems reaches it); its dtype
        # and reads raise NotSupported naming it.
        return self._node.dtype

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(self._node.shape)

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self._node.chunks

    @property
    def maxshape(self) -> tuple[int | None, ...]:
        return tuple(self._node.maxshape)

    @property
    def fillvalue(self) -> Any:
        return self._node.fillvalue

    @property
    def filters(self) -> dict[str, Any]:
        # A dataset of a real HDF5 file (netCDF-4 too) describes its whole
        # pipeline as h5py does; other formats know their compression only.
        described = getattr(self._node, "h5py_filters", None)
        if described is not None:
            return dict(described)
        comp = self._node.compression
        return {"compression": comp} if comp else {}

    @property
    def hdf5_filters(self) -> list[tuple[int, int, tuple[int, ...], bytes]] | None:
        """The HDF5 filter pipeline as h5py's ``get_filter`` lists it, when the
        node is a dataset of a real HDF5 file (the HDF5 plugin); else None."""
        ds = getattr(self._node, "h5py_dataset", None)
        if ds is None:
            return None
        plist = ds.id.get_create_plist()
        return [
            (int(code), int(flags), tuple(int(v) for v in values), bytes(name))
            for code, flags, values, name in (plist.get_filter(i) for i in range(plist.get_nfilters()))
        ]

    @property
    def reserved(self) -> dict[str, Any]:
        return self._reserved

    @property
    def dimension_names(self) -> list[str | None] | None:
        return self._labels

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        return self._node.read(tuple(selection))


class NodeFile(FileBackend):
    """An opened object (or local file) in a non-native format."""

    writable = False

    def __init__(self, root: GroupNode, owned: list[Any] | None = None) -> None:
        self.root = root
        self._owned = list(owned or [])
        self._arrays: dict[str, NodeArray] = {}

    def _node(self, path: str) -> Node | None:
        node: Node = self.root
        if not path:
            return node
        for comp in path.split("/"):
            if not isinstance(node, GroupNode):
                return None
            try:
                key = self._member_key(node, comp)
                if key is None:
                    return None
                node = node[key]
            except KeyError:
                return None
        return node

    @staticmethod
    def _member_key(group: GroupNode, name: str) -> Any:
        """The key of ``group`` shown as ``name``, None if there is none."""
        if unchanged(name, True) and name in group:
            return name  # stored as shown (nearly always)
        return stored_name(name, group.keys(), True)

    @staticmethod
    def _attr_key(node: Node, name: str) -> Any:
        """The key of ``node.attrs`` shown as ``name``, None if there is none."""
        attrs = node.attrs
        if unchanged(name, False) and name in attrs:
            return name
        return stored_name(name, attrs, False)

    def lookup(self, path: str) -> Entry | None:
        node = self._node(path)
        if node is None:
            return None
        if isinstance(node, LinkNode):
            if node.filename:
                return Entry(EXTERNAL, node.target, node.filename)
            return Entry(SOFT, node.target)
        if isinstance(node, ArrayNode):
            return _ARRAY
        return _GROUP

    def track_order(self, path: str) -> bool:
        node = self._node(path)
        return isinstance(node, GroupNode) and node.ordered

    def members(self, path: str) -> list[str]:
        node = self._node(path)
        if not isinstance(node, GroupNode):
            raise KeyError(path)
        return shown_names(node.keys(), True)

    def attr_names(self, path: str) -> list[str]:
        node = self._node(path)
        if node is None:
            raise KeyError(path)
        names = shown_names(list(node.attrs), False)
        derived = self._derived(path, node)
        return [n for n in derived if n not in names] + names

    def get_attr(self, path: str, name: str) -> Any:
        node = self._node(path)
        if node is None:
            raise KeyError(path)
        if name in self._derived(path, node):
            arr = self.array(path)
            return scaleattrs.value(name, arr.reserved, arr.dimension_names, len(arr.shape), self._exists)
        key = self._attr_key(node, name)
        if key is None:
            raise KeyError(name)
        return node.attrs[key]

    def has_attr(self, path: str, name: str) -> bool:
        return name in self.attr_names(path)

    def attr_type(self, path: str, name: str) -> tuple[np.dtype[Any], tuple[int, ...] | None] | None:
        """The stored type of an attribute, where the format knows it (HDF5 objects)."""
        node = self._node(path)
        if node is None:
            raise KeyError(path)
        if name in self._derived(path, node):
            arr = self.array(path)
            return scaleattrs.stored_type(name, arr.reserved, len(arr.shape))
        key = self._attr_key(node, name)
        return None if key is None else node.attr_type(key)

    def _derived(self, path: str, node: Node) -> list[str]:
        """The dimension-scale attributes shown from the node's scales."""
        if not isinstance(node, ArrayNode) or node.dimension_scales is None:
            return []
        arr = self.array(path)
        return scaleattrs.present(arr.reserved, arr.dimension_names)

    def _exists(self, path: str) -> bool:
        return self._node(path.lstrip("/")) is not None

    def array(self, path: str) -> NodeArray:
        arr = self._arrays.get(path)
        if arr is None:
            node = self._node(path)
            if not isinstance(node, ArrayNode):
                raise KeyError(path)
            arr = self._arrays[path] = NodeArray(node)
        return arr

    def datatype(self, path: str) -> np.dtype[Any]:
        raise KeyError(f"/{path} is not a named datatype")

    def close(self) -> None:
        try:
            self.root.close()
        finally:
            owned, self._owned = self._owned, []
            for res in reversed(owned):
                res.close()
