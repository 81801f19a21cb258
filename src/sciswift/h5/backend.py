"""The two ways a File can be backed, behind one small interface.

``Group``/``Dataset``/``AttributeManager`` talk only to a ``FileBackend`` (one open
file: its tree, links and attributes) and to ``ArrayBackend`` objects (one dataset:
its properties and block reads/writes). ``sciswift.h5.native`` implements them on
the engine (the native layout, read-write); ``sciswift.h5.nodetree`` on the node
tree a format plugin opens (read-only). Paths are node paths: ``""`` is the root,
``"a/b"`` a member; no leading slash, no links inside (callers resolve links).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Entry", "FileBackend", "ArrayBackend", "ArraySpec", "GROUP", "ARRAY", "DATATYPE", "SOFT", "EXTERNAL", "HARD"]

GROUP = "group"
ARRAY = "array"
DATATYPE = "datatype"
SOFT = "soft"
EXTERNAL = "external"
HARD = "hard"


@dataclass(frozen=True)
class Entry:
    """What a name in a group is: an object (``kind`` GROUP/ARRAY/DATATYPE) or a link
    (SOFT: ``target`` path; EXTERNAL: ``filename`` and ``target``; HARD: a second name
    for the object at ``target``)."""

    kind: str
    target: str = ""
    filename: str = ""

    @property
    def is_link(self) -> bool:
        return self.kind in (SOFT, EXTERNAL, HARD)


@dataclass
class ArraySpec:
    """Everything ``create_dataset`` decided, handed to the backend to create."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    chunks: tuple[int, ...] | None  # as the user sees them; None = contiguous
    storage_chunks: tuple[int, ...]  # the chunk grid actually used
    maxshape: tuple[int | None, ...] | None
    fillvalue: Any
    compression: Any = None
    compression_opts: Any = None
    shuffle: bool = False
    fletcher32: bool = False
    scaleoffset: Any = None
    unknown_filters: tuple[int, ...] = ()
    empty: bool = False
    fill_set: bool = False


class ArrayBackend(ABC):
    """One dataset."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    @abstractmethod
    def chunks(self) -> tuple[int, ...] | None: ...

    @property
    def maxshape(self) -> tuple[int | None, ...]:
        return self.shape

    @property
    def fillvalue(self) -> Any:
        return np.zeros((), self.dtype)[()]

    @property
    def filters(self) -> dict[str, Any]:
        """h5py-style filter description: compression, compression_opts, shuffle,
        fletcher32, scaleoffset (absent keys mean "not used")."""
        return {}

    @property
    def empty(self) -> bool:
        """True for a null dataspace (shape None in h5py)."""
        return False

    @property
    def reserved(self) -> dict[str, Any]:
        """HDF5-layer extras kept with the dataset (dimension scales ...)."""
        return {}

    def update_reserved(self, **entries: Any) -> None:
        raise ValueError("Unable to modify: the file is read-only")

    @property
    def dimension_names(self) -> list[str | None] | None:
        return None

    def set_dimension_name(self, axis: int, name: str | None) -> None:
        raise ValueError("Unable to modify: the file is read-only")

    def set_dimension_names(self, names: list[str | None] | None) -> None:
        """Replace every dimension name at once (None: no names)."""
        raise ValueError("Unable to modify: the file is read-only")

    @abstractmethod
    def read(self, selection: tuple[slice, ...]) -> np.ndarray[Any, Any]:
        """The block picked by one normalised slice per dimension."""

    def write(self, selection: tuple[slice, ...], value: np.ndarray[Any, Any]) -> None:
        raise ValueError("Unable to write: the file is read-only")

    def resize(self, shape: tuple[int, ...]) -> None:
        raise ValueError("Unable to resize: the file is read-only")

    def stored_chunks(self) -> int | None:
        return None

    def refresh(self) -> None:  # noqa: B027 - files that cannot change underneath have nothing to reload
        """Reload metadata another process may have changed (SWMR readers)."""


class FileBackend(ABC):
    """One open file."""

    writable: bool = False

    @abstractmethod
    def lookup(self, path: str) -> Entry | None:
        """What the last component of ``path`` names in its parent group (links are
        not followed), None if nothing."""

    @abstractmethod
    def members(self, path: str) -> list[str]:
        """Names in the group at ``path``, in h5py's order (by name, or by creation
        for groups created with track_order)."""

    @abstractmethod
    def attr_names(self, path: str) -> list[str]: ...

    @abstractmethod
    def get_attr(self, path: str, name: str) -> Any:
        """KeyError if the attribute does not exist."""

    def has_attr(self, path: str, name: str) -> bool:
        return name in self.attr_names(path)

    @abstractmethod
    def array(self, path: str) -> ArrayBackend: ...

    @abstractmethod
    def datatype(self, path: str) -> np.dtype[Any]: ...

    def track_order(self, path: str) -> bool:
        return False

    # writes (read-only backends refuse them all)
    def _readonly(self) -> ValueError:
        return ValueError("Unable to modify the file: it is open read-only")

    def set_attr(self, path: str, name: str, value: Any) -> None:
        raise self._readonly()

    def del_attr(self, path: str, name: str) -> None:
        raise self._readonly()

    def create_group(self, path: str, track_order: bool = False) -> None:
        raise self._readonly()

    def create_array(self, path: str, spec: ArraySpec, track_order: bool = False) -> ArrayBackend:
        raise self._readonly()

    def create_datatype(self, path: str, dtype: np.dtype[Any]) -> None:
        raise self._readonly()

    def set_link(self, path: str, entry: Entry) -> None:
        raise self._readonly()

    def delete(self, path: str) -> list[tuple[str, str]] | None:
        """Remove the name ``path``; returns the ``(old, new)`` moves of objects
        kept alive under other hard links, if any."""
        raise self._readonly()

    def move(self, src: str, dst: str) -> None:
        raise self._readonly()

    def flush(self) -> None:  # noqa: B027 - most read-only backends have nothing to flush
        """Write pending changes."""

    def close(self) -> None:  # noqa: B027
        """Release what the file holds open."""

    def walk(self, path: str = "") -> Iterator[str]:
        """Paths of every hard object under ``path``, parents first, in member order."""
        for name in self.members(path):
            child = f"{path}/{name}" if path else name
            entry = self.lookup(child)
            if entry is None or entry.is_link:
                continue
            yield child
            if entry.kind == GROUP:
                yield from self.walk(child)
