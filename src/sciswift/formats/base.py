"""What a format plugin is, and the tree of nodes it presents.

A plugin maps one file format onto HDF5's model: groups, datasets, attributes. It
reads through a ``RangedFile`` (a seekable, read-only file-like view of one object,
fetching byte ranges on demand), so opening a large object and reading a slice
transfers a small part of it.

The tree is deliberately small. ``sciswift.h5`` wraps it in its ordinary ``Group``
and ``Dataset`` classes, which do all of h5py's indexing (fancy indices, masks,
fields, broadcasting); a node only has to read rectangular blocks.

Plugins are found through the entry-point group ``sciswift.formats``; the built-in
ones are registered there too (see pyproject.toml).

Extensions to the first version of this protocol (all optional, all compatible):

- ``FormatPlugin.matches_magic`` / ``matches_extension`` split ``guess_can_open``
  into its two halves, so the registry can rank "magic bytes" above "file name".
- ``FormatPlugin.open_stored(obj)``: the registry calls this instead of ``open``.
  It receives a ``StoredObject`` (store, container, name, ObjectInfo and the
  RangedFile), so a plugin can keep a cached index beside the object (the HDF5
  chunk index, the TFRecord record index). The default just calls ``open``.
- ``GroupNode.close()``: the root returned for a stored object owns the open file;
  closing it releases the library's handles. Other groups' ``close`` does nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import numpy as np

if TYPE_CHECKING:
    from sciswift.formats.ranged import RangedFile
    from sciswift.store.base import Store
    from sciswift.store.types import ObjectInfo

__all__ = [
    "FormatPlugin",
    "Node",
    "GroupNode",
    "ArrayNode",
    "LinkNode",
    "DimensionScales",
    "MemoryArray",
    "MemoryGroup",
    "StoredObject",
]

Mode = Literal["r", "r+", "w", "w-", "x", "a"]


class Node(ABC):
    """Anything in the tree. ``attrs`` maps attribute names to values as h5py would
    return them (numpy scalars/arrays, str, bytes)."""

    @property
    @abstractmethod
    def attrs(self) -> Mapping[str, Any]:
        """Attributes, read-only."""

    def attr_type(self, name: str) -> tuple[np.dtype[Any], tuple[int, ...] | None] | None:
        """The stored type and shape (None: null dataspace) of attribute ``name``,
        where the format tells more than the value read back; else None."""
        return None


class ArrayNode(Node):
    """A dataset: an n-dimensional array with a numpy dtype.

    ``read`` receives one slice per dimension, each with start <= stop and step >= 1
    already normalised against ``shape``, and returns an array of exactly the
    selected shape. Reading should fetch only what the block needs.
    """

    @property
    @abstractmethod
    def shape(self) -> tuple[int, ...]: ...

    @property
    @abstractmethod
    def dtype(self) -> np.dtype[Any]: ...

    @property
    def chunks(self) -> tuple[int, ...] | None:
        """The natural read unit (row group, tile, basket ...), or None if contiguous."""
        return None

    @property
    def fillvalue(self) -> Any:
        return np.zeros((), self.dtype)[()]

    @property
    def maxshape(self) -> tuple[int | None, ...]:
        """How far each axis may grow (None: unlimited), for formats that say."""
        return tuple(self.shape)

    @property
    def compression(self) -> str | None:
        return None

    @property
    def dimension_scales(self) -> DimensionScales | None:
        """HDF5 dimension scales of this dataset, for formats that have them (an
        HDF5 or netCDF-4 object); None otherwise."""
        return None

    @abstractmethod
    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        """The block selected by ``selection`` (one normalised slice per dimension)."""


@dataclass(frozen=True)
class DimensionScales:
    """A dataset's part in HDF5's dimension scales, by path in its file: ``scale``
    its scale name if it is a scale (None if not), ``refs`` the ``(dataset path,
    axis)`` pairs it is attached to, ``dims`` the scale paths attached to each axis,
    ``labels`` the axis labels (None where unlabelled)."""

    scale: str | None = None
    refs: tuple[tuple[str, int], ...] = ()
    dims: tuple[tuple[str, ...], ...] = ()
    labels: tuple[str | None, ...] = ()

    def reserved(self) -> dict[str, Any]:
        """The same facts in the native layout's reserved form (``h5.dims``)."""
        out: dict[str, Any] = {}
        if self.scale is not None:
            out["scale"] = self.scale
        if self.refs:
            out["refs"] = [[p, a] for p, a in self.refs]
        if any(self.dims):
            out["dims"] = [list(d) for d in self.dims]
        return out


class GroupNode(Node):
    """A group: named members in a stable order."""

    #: True when the order of the members and attributes means something in the
    #: format (FITS: HDUs, header cards): the group is shown as tracking creation
    #: order, so a copy (``sciswift import``) keeps that order.
    ordered: bool = False

    @abstractmethod
    def keys(self) -> list[str]:
        """Member names, in the order the format keeps them."""

    @abstractmethod
    def __getitem__(self, name: str) -> Node:
        """The member called ``name`` (one path component). KeyError if missing."""

    def __contains__(self, name: str) -> bool:
        return name in self.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def close(self) -> None:
        """Release what this group holds open. Only the root of an opened object
        holds anything (the library's file handle, the RangedFile); closing any other
        group does nothing. Nodes must not be read after their root is closed."""

    def __enter__(self) -> GroupNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class LinkNode(Node):
    """A soft link (``target`` a path in the same file) or an external link
    (``filename`` set too), for formats that have them (HDF5, netCDF groups)."""

    target: str
    filename: str | None = None
    _attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs


class MemoryArray(ArrayNode):
    """An ArrayNode over a numpy array already in memory (small tables, headers, or
    data a library can only hand over whole)."""

    def __init__(
        self,
        data: np.ndarray[Any, Any],
        attrs: Mapping[str, Any] | None = None,
        chunks: tuple[int, ...] | None = None,
    ) -> None:
        self._data = data
        self._attrs = dict(attrs or {})
        self._chunks = chunks

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._data.dtype

    @property
    def chunks(self) -> tuple[int, ...] | None:
        return self._chunks

    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        return np.asarray(self._data[selection])


class MemoryGroup(GroupNode):
    """A GroupNode holding its members in a dict (insertion order kept)."""

    def __init__(self, members: Mapping[str, Node] | None = None, attrs: Mapping[str, Any] | None = None):
        self._members: dict[str, Node] = dict(members or {})
        self._attrs = dict(attrs or {})

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs

    def keys(self) -> list[str]:
        return list(self._members)

    def __getitem__(self, name: str) -> Node:
        return self._members[name]

    def add(self, name: str, node: Node) -> Node:
        self._members[name] = node
        return node


@dataclass
class StoredObject:
    """One stored object being opened: where it lives, what the store knows of it, and
    the RangedFile reading it. Plugins that keep an index beside the object use
    ``load_sidecar``/``save_sidecar``; the sidecar object is named
    ``<name><suffix>`` and is ignored (rebuilt) when it does not match ``info.etag``.
    """

    store: Store
    container: str
    name: str
    info: ObjectInfo
    source: RangedFile

    @property
    def display(self) -> str:
        """``container/name``, for messages."""
        return f"{self.container}/{self.name}"

    def sidecar_name(self, suffix: str) -> str:
        return self.name + suffix

    def load_sidecar(self, suffix: str) -> bytes | None:
        """The sidecar's bytes if it exists and was made for this version of the
        object (its ``sciswift-index-etag`` metadata equals ``info.etag``); else None.
        Counts one request in the source's stats."""
        from sciswift.errors import NotFound

        self.source.stats.add_request(0)
        try:
            with self.store.open_object(self.container, self.sidecar_name(suffix)) as reader:
                if reader.info.metadata.get(SIDECAR_ETAG_KEY) != self.info.etag:
                    return None
                data = reader.readall()
        except NotFound:
            return None
        self.source.stats.bytes_fetched += len(data)
        return data

    def save_sidecar(self, suffix: str, data: bytes) -> bool:
        """Store a sidecar for this version of the object. Returns False (and keeps
        going) when the store refuses the write (read-only container, no rights):
        an index is an optimisation, never a reason to fail a read. Within
        ``confine.confined()`` nothing is written: a server reading for a client
        holds the store's rights, not the client's, and a reader may not write
        (nor replace an object of the sidecar's name)."""
        from sciswift.errors import NotSupported, PermissionDenied, Unauthenticated
        from sciswift.formats.confine import is_confined

        if is_confined():
            return False
        try:
            self.store.put_object(
                self.container,
                self.sidecar_name(suffix),
                data,
                content_type="application/octet-stream",
                metadata={SIDECAR_ETAG_KEY: self.info.etag},
            )
        except (PermissionDenied, Unauthenticated, NotSupported):
            return False
        return True


#: Object metadata key recording which version (ETag) of the blob a sidecar indexes.
SIDECAR_ETAG_KEY = "sciswift-index-etag"


class FormatPlugin(ABC):
    """One file format. Register an instance's class under the entry-point group
    ``sciswift.formats`` (``name = "module:Class"``).

    ``extra`` names the pip extra that installs the library the plugin needs
    (``pip install sciswift[fits]``), for the error a user sees when it is missing.
    """

    #: Short name used by ``format=`` and in messages ("fits", "parquet" ...).
    name: str = ""
    #: Lower-case file-name endings this format usually has (".fits", ".fits.gz").
    extensions: tuple[str, ...] = ()
    #: The pip extra that brings the library this plugin needs.
    extra: str = ""
    #: Whether ``write`` is implemented.
    can_write: bool = False
    #: Top-level modules the plugin imports; ``available`` checks they are installed.
    requires: tuple[str, ...] = ()
    #: How messages name the library ("astropy"), and the format ("FITS").
    library: str = ""
    label: str = ""

    def available(self) -> bool:
        """True if the library this plugin needs can be imported (checked without
        importing it, so listing plugins stays fast)."""
        import importlib.util

        return all(importlib.util.find_spec(mod) is not None for mod in self.requires)

    def matches_magic(self, head: bytes) -> bool:
        """Whether ``head`` (the object's first bytes, up to 4 KiB) carries this
        format's signature. Formats without one return False."""
        return False

    def matches_extension(self, name: str) -> bool:
        """Whether ``name`` ends with one of ``extensions`` (case-insensitive)."""
        lower = name.lower()
        return any(lower.endswith(ext) for ext in self.extensions)

    def guess_can_open(self, name: str, head: bytes) -> bool:
        """Whether an object called ``name`` whose first bytes are ``head`` (up to
        4 KiB, fewer for short objects) is in this format. Check magic bytes first;
        fall back to the extension only where the format has no magic.

        The registry ranks the two halves itself (``matches_magic`` above
        ``matches_extension``); a plugin that overrides only this method is asked
        this and treated as a magic match."""
        return self.matches_magic(head) or self.matches_extension(name)

    @abstractmethod
    def open(self, source: BinaryIO, name: str) -> GroupNode:
        """The root group of the file readable from ``source`` (a seekable binary
        file-like object; for stored objects a RangedFile). ``name`` is the object
        name, for messages. Must raise ``sciswift.errors.CorruptData`` naming
        ``name`` and the format when the bytes are not a valid file."""

    def open_stored(self, obj: StoredObject) -> GroupNode:
        """Open a stored object. The registry calls this; the default reads through
        ``obj.source`` with ``open``. Plugins that cache an index beside the object
        override it (and may still call ``open`` for the rest)."""
        from typing import cast

        return self.open(cast(BinaryIO, obj.source), obj.display)

    def write(self, root: GroupNode, sink: BinaryIO, name: str) -> None:
        """Write the tree under ``root`` as a file of this format to ``sink``.
        Raise ``sciswift.errors.NotSupported`` for shapes the format cannot hold."""
        from sciswift.errors import NotSupported

        raise NotSupported(f"the {self.name} plugin cannot write files", name)
