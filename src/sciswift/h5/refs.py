"""Object and region references.

A reference names its target by path inside the file (the native layout has no
object addresses), so it survives reopening and copying the file, and follows the
path if the object is moved (documented in docs/layout.md). Stored references use
the engine's element protocol (``__sciswift_encode__``/``__sciswift_decode__``):
UTF-8 of the path, or of a small JSON document for region references.
"""

from __future__ import annotations

import json
from typing import Any

from sciswift.engine.dtypes import REF_CLASSES

__all__ = ["Reference", "RegionReference"]


class Reference:
    """A reference to a group, dataset or named datatype. ``Reference()`` is the
    null reference (false in a boolean context)."""

    __slots__ = ("path",)

    typecode = 0

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def __bool__(self) -> bool:
        return bool(self.path)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.path == self.path

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path))

    def __repr__(self) -> str:
        return "<HDF5 object reference>" if self else "<HDF5 object reference (null)>"

    def __sciswift_encode__(self) -> bytes:
        return (self.path or "").encode("utf-8", "surrogatepass")

    @classmethod
    def __sciswift_decode__(cls, raw: bytes) -> Reference:
        return cls(raw.decode("utf-8", "surrogatepass") or None)


class RegionReference(Reference):
    """A reference to a selection of a dataset. ``selection`` is a JSON-friendly
    description of the selected region (see ``sciswift.h5.selection``)."""

    __slots__ = ("selection",)

    typecode = 1

    def __init__(self, path: str | None = None, selection: Any = None) -> None:
        super().__init__(path)
        self.selection = selection

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other.path == self.path
                and other.selection == self.selection)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path, json.dumps(self.selection)))

    def __repr__(self) -> str:
        return "<HDF5 region reference>" if self else "<HDF5 region reference (null)>"

    def __sciswift_encode__(self) -> bytes:
        if not self.path:
            return b""
        return json.dumps({"path": self.path, "selection": self.selection}).encode("utf-8")

    @classmethod
    def __sciswift_decode__(cls, raw: bytes) -> RegionReference:
        if not raw:
            return cls()
        doc = json.loads(raw)
        return cls(doc["path"], doc["selection"])


REF_CLASSES["object"] = Reference
REF_CLASSES["region"] = RegionReference
