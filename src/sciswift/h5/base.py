"""What every h5py object shares: name, file, parent, attrs, identity, and the
key/value/item views of groups and attribute managers."""

from __future__ import annotations

import posixpath
from collections.abc import ItemsView, KeysView, ValuesView
from typing import TYPE_CHECKING, Any, cast

from sciswift.h5.refs import Reference

if TYPE_CHECKING:
    from sciswift.h5.attrs import AttributeManager
    from sciswift.h5.files import File, FileHandle

__all__ = ["H5PY_MODULE", "HLObject", "MappingViews", "REFERENCED", "HIDDEN", "KeysViewHDF5", "ValuesViewHDF5", "ItemsViewHDF5", "name_str", "ANON"]

#: Anonymous objects (``create_group(None)``) live under this hidden root member,
#: which is removed when the file is closed (as HDF5 frees unlinked objects).
ANON = ".sciswift-anonymous"

#: Objects copied because a reference pointed at them (``copy(expand_refs=True)``)
#: live under this hidden root member; unlike ANON it is kept.
REFERENCED = ".sciswift-referenced"

#: Root members that are the storage's own, not shown by iteration.
HIDDEN = (ANON, REFERENCED)

#: Libraries written on h5py and h5pyd (h5netcdf) pick their code path for a
#: dataset or named datatype by ``type(obj).__module__``: names starting "h5py."
#: get the h5py path, which the ``.id`` stand-ins (sciswift.h5.lowlevel) serve.
#: Dataset and Datatype report this module name (repr ``<class
#: 'h5py.sciswift.Dataset'>``); no module of that name exists.
H5PY_MODULE = "h5py.sciswift"


def name_str(name: Any, what: str = "Accessing a group is done with") -> str:
    """A member or attribute name as str: str as is, bytes as UTF-8. TypeError for
    anything else; ValueError for names HDF5 cannot hold (NUL)."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    elif not isinstance(name, str):
        raise TypeError(f"{what} bytes or str, not {type(name)}")
    if "\x00" in name:
        raise ValueError(f"Name {name!r} contains a NUL character, which HDF5 names cannot hold")
    return name


class MappingViews:
    """``keys()``/``values()``/``items()`` as h5py's view classes (for groups and
    attribute managers, which are mappings of names)."""

    __slots__ = ()

    def keys(self) -> KeysViewHDF5:
        return KeysViewHDF5(self)  # type: ignore[arg-type]

    def values(self) -> ValuesViewHDF5:
        return ValuesViewHDF5(self)  # type: ignore[arg-type]

    def items(self) -> ItemsViewHDF5:
        return ItemsViewHDF5(self)  # type: ignore[arg-type]


class HLObject:
    """Base of File, Group, Dataset and Datatype.

    ``_h`` is the shared handle of the open file, ``_path`` the node path in its
    backend ("" is the root), ``_name`` the name the object was opened by (h5py
    reports that one; None for anonymous objects).
    """

    __slots__ = ("_h", "_p", "_n", "_epoch", "__weakref__")

    def __init__(self, handle: FileHandle, path: str, name: str | None) -> None:
        self._h = handle
        self._p = path
        self._n = name
        self._epoch = len(handle.renames)

    # Objects follow moves made through this API (HDF5 objects keep their identity
    # when renamed): the handle logs renames; an object applies the ones made since
    # it was opened the next time its path is used.
    def _follow_renames(self) -> None:
        renames = self._h.renames
        moved = False
        for src, dst in renames[self._epoch:]:
            p = self._p
            if p == src or p.startswith(src + "/"):
                self._p = dst + p[len(src):]
                moved = True
                if p == src and self._n is not None and self._n == "/" + p:
                    # HDF5 renames the open object that was moved itself; objects
                    # below it keep reporting the name they were opened by.
                    self._n = "/" + self._p
        self._epoch = len(renames)
        if moved:
            self._renamed()

    def _renamed(self) -> None:
        """Hook for subclasses holding per-path state (datasets)."""

    @property
    def _path(self) -> str:
        if self._epoch != len(self._h.renames):
            self._follow_renames()
        return self._p

    @_path.setter
    def _path(self, value: str) -> None:
        self._p = value

    @property
    def _name(self) -> str | None:
        if self._epoch != len(self._h.renames):
            self._follow_renames()
        return self._n

    @_name.setter
    def _name(self, value: str | None) -> None:
        self._n = value

    @property
    def _backend(self) -> Any:
        h = self._h
        if h.closed:
            raise ValueError("Invalid location identifier (file is closed)")
        return h.backend

    def _check_writable(self, exc: type[Exception] = ValueError, what: str = "modify object") -> None:
        """Raise unless the file is open for writing. h5py's exception type depends
        on the operation (ValueError creating objects, OSError writing data and
        attributes, KeyError deleting attributes), so callers pass theirs."""
        if self._h.closed:
            raise ValueError("Invalid location identifier (file is closed)")
        if not self._h.backend.writable:
            raise exc(f"Unable to {what} (no write intent on file)")

    @property
    def name(self) -> str | None:
        """The object's path from the root, None for anonymous objects (and, as
        h5py reports, for objects of a closed file)."""
        if self._h.closed:
            return None
        return self._name

    @property
    def file(self) -> File:
        from sciswift.h5.files import File

        if self._h.closed:
            raise ValueError("Not an id of a file object (the file is closed)")
        return File._from_handle(self._h)

    @property
    def parent(self) -> Any:
        name = self.name
        if name is None:
            raise ValueError("Parent of an anonymous object is undefined")
        return self.file[posixpath.dirname(name)]

    @property
    def attrs(self) -> AttributeManager:
        from sciswift.h5.attrs import AttributeManager

        return AttributeManager(self)

    @property
    def id(self) -> Any:
        """A stand-in for h5py's low-level identifier (``sciswift.h5.lowlevel``):
        type, dataspace and creation-order questions, equality by object."""
        from sciswift.h5 import lowlevel

        return lowlevel.GroupID(self)

    @property
    def ref(self) -> Reference:
        """An object reference to this object."""
        return Reference("/" + self._path)

    @property
    def regionref(self) -> Any:
        raise TypeError("Region references apply to datasets only")

    def __bool__(self) -> bool:
        return not self._h.closed

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HLObject):
            return other._h.key == self._h.key and other._path == self._path and not self._h.closed
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((self._h.key, self._path))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by address, for objects of files open read-only (h5.pickling)."""
        from sciswift.h5.pickling import reduce_object

        return reduce_object(self)


class KeysViewHDF5(KeysView):
    _mapping: Any

    def __str__(self) -> str:
        return f"<KeysViewHDF5 {list(self)}>"

    def __reversed__(self) -> Any:
        yield from reversed(self._mapping)

    __repr__ = __str__


class ValuesViewHDF5(ValuesView):
    _mapping: Any

    def __contains__(self, value: object) -> bool:
        for key in self._mapping:
            if value == self._mapping.get(key):
                return True
        return False

    def __iter__(self) -> Any:
        for key in self._mapping:
            yield self._mapping.get(key)

    def __reversed__(self) -> Any:
        for key in reversed(self._mapping):
            yield self._mapping.get(key)

    def __str__(self) -> str:
        return f"<ValuesViewHDF5 of {type(self._mapping).__name__}>"

    __repr__ = __str__


class ItemsViewHDF5(ItemsView):
    _mapping: Any

    def __contains__(self, item: object) -> bool:
        pair = cast(tuple[Any, Any], item)
        key, val = pair
        if key in self._mapping:
            return val == self._mapping.get(key)
        return False

    def __iter__(self) -> Any:
        for key in self._mapping:
            yield (key, self._mapping.get(key))

    def __reversed__(self) -> Any:
        for key in reversed(self._mapping):
            yield (key, self._mapping.get(key))

    def __str__(self) -> str:
        return f"<ItemsViewHDF5 of {type(self._mapping).__name__}>"

    __repr__ = __str__
