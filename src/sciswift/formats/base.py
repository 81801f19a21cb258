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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

import numpy as np

__all__ = [
    "FormatPlugin",
    "Node",
    "GroupNode",
    "ArrayNode",
    "LinkNode",
    "MemoryArray",
    "MemoryGroup",
]

Mode = Literal["r", "r+", "w", "w-", "x", "a"]


class Node(ABC):
    """Anything in the tree. ``attrs`` maps attribute names to values as h5py would
    return them (numpy scalars/arrays, str, bytes)."""

    @property
    @abstractmethod
    def attrs(self) -> Mapping[str, Any]:
        """Attributes, read-only."""


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
    def compression(self) -> str | None:
        return None

    @abstractmethod
    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        """The block selected by ``selection`` (one normalised slice per dimension)."""


class GroupNode(Node):
    """A group: named members in a stable order."""

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

    def available(self) -> bool:
        """True if the library this plugin needs can be imported."""
        return True

    @abstractmethod
    def guess_can_open(self, name: str, head: bytes) -> bool:
        """Whether an object called ``name`` whose first bytes are ``head`` (up to
        4 KiB, fewer for short objects) is in this format. Check magic bytes first;
        fall back to the extension only where the format has no magic."""

    @abstractmethod
    def open(self, source: BinaryIO, name: str) -> GroupNode:
        """The root group of the file readable from ``source`` (a seekable binary
        file-like object; for stored objects a RangedFile). ``name`` is the object
        name, for messages. Must raise ``sciswift.errors.CorruptData`` naming
        ``name`` and the format when the bytes are not a valid file."""

    def write(self, root: GroupNode, sink: BinaryIO, name: str) -> None:
        """Write the tree under ``root`` as a file of this format to ``sink``.
        Raise ``sciswift.errors.NotSupported`` for shapes the format cannot hold."""
        from sciswift.errors import NotSupported

        raise NotSupported(f"the {self.name} plugin cannot write files", name)
