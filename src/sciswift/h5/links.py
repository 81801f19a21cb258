"""Link objects (as h5py has them) and the null-dataspace marker ``Empty``."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["SoftLink", "ExternalLink", "HardLink", "Empty"]


class HardLink:
    """Returned by ``Group.get(name, getlink=True)`` for an ordinary member."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<HardLink>"


class SoftLink:
    """A link to a path in the same file, resolved when used (it may dangle)."""

    __slots__ = ("_path",)

    def __init__(self, path: str | bytes) -> None:
        self._path = path.decode("utf-8") if isinstance(path, bytes) else str(path)

    @property
    def path(self) -> str:
        return self._path

    def __repr__(self) -> str:
        return '<SoftLink to "%s">' % self.path

    def __eq__(self, other: object) -> bool:
        return type(other) is SoftLink and other.path == self.path

    def __hash__(self) -> int:
        return hash(("soft", self.path))


class ExternalLink:
    """A link to a path in another file."""

    __slots__ = ("_filename", "_path")

    def __init__(self, filename: Any, path: str | bytes) -> None:
        name = os.fspath(filename)
        self._filename = os.fsdecode(name) if isinstance(name, bytes) else name
        self._path = path.decode("utf-8") if isinstance(path, bytes) else str(path)

    @property
    def path(self) -> str:
        return self._path

    @property
    def filename(self) -> str:
        return self._filename

    def __repr__(self) -> str:
        return '<ExternalLink to "%s" in file "%s">' % (self.path, self.filename)

    def __eq__(self, other: object) -> bool:
        return type(other) is ExternalLink and (other.filename, other.path) == (self.filename, self.path)

    def __hash__(self) -> int:
        return hash(("external", self.filename, self.path))


class Empty:
    """The value of a dataset or attribute with a null dataspace: a dtype, no data."""

    shape = None
    size = None

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Empty) and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash(("Empty", self.dtype))

    def __repr__(self) -> str:
        return f"Empty(dtype={self.dtype!r})"
