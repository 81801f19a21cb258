"""Attributes of groups, datasets and named datatypes, the h5py way."""

from __future__ import annotations

import math
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

import numpy as np

from sciswift.engine.metadata import RESERVED
from sciswift.h5.attrvalues import SubarrayValue, array_for_new_object
from sciswift.h5.base import MappingViews, name_str
from sciswift.h5.dtypes import normalize_dtype, string_dtype
from sciswift.h5.links import Empty
from sciswift.h5.names import listed

if TYPE_CHECKING:
    from sciswift.h5.base import HLObject

__all__ = ["AttributeManager"]


_PLAIN = (int, float, bool, str)
_STR_DTYPE = string_dtype()


def _plain_value(data: Any) -> np.ndarray[Any, Any]:
    if type(data) is str:
        if "\x00" in data:
            raise ValueError("Embedded NULL characters are not allowed in string attributes")
        out: np.ndarray[Any, Any] = np.empty((), dtype=_STR_DTYPE)
        out[()] = data
        return out
    return np.asarray(data)


def _attr_name(name: Any) -> str:
    return name_str(name, "Attribute names must be")


def _new_attr_name(name: Any) -> str:
    """A name for an attribute being written: not the reserved key. (Reading one
    so called is the backend's business: native files keep their own metadata
    under it and show no such attribute; other formats may have one.)"""
    name = _attr_name(name)
    if name == RESERVED:
        raise ValueError(f"Attribute name {RESERVED!r} is reserved by sciswift for its own metadata")
    return name


class AttributeManager(MappingViews, MutableMapping[str | bytes, Any]):
    """The attributes of one object: ``obj.attrs``.

    Values read back as h5py returns them (numpy scalars for single values, str for
    variable-length strings, arrays otherwise, ``Empty`` for null dataspaces).
    Writing replaces the attribute whole; a value that cannot be stored raises
    before anything is changed.
    """

    def __init__(self, parent: HLObject) -> None:
        self._parent = parent

    @property
    def _b(self) -> Any:
        return self._parent._backend

    @property
    def _path(self) -> str:
        return self._parent._path

    def __getitem__(self, name: Any) -> Any:
        name = _attr_name(name)
        if self._parent._h.closed:
            raise KeyError("Unable to synchronously open attribute (the file is closed)")
        try:
            return self._b.get_attr(self._path, name)
        except KeyError:
            raise KeyError("Unable to synchronously open attribute (can't locate attribute: '%s')" % name) from None

    def get_id(self, name: Any) -> Any:
        """h5py's ``AttrID`` stand-in (``sciswift.h5.lowlevel.AttrID``): the stored
        ``dtype`` and ``shape`` (None for a null dataspace) of attribute ``name``,
        which the value read back does not always show. KeyError if missing."""
        from sciswift.h5.lowlevel import AttrID

        value = self[name]
        key = _attr_name(name)
        stored = self._b.attr_type(self._path, key) if hasattr(self._b, "attr_type") else None
        if stored is None:
            stored = _type_of_value(value)
        return AttrID(key, stored[0], stored[1], value)

    @property
    def _id(self) -> Any:
        return self._parent.id

    def __setitem__(self, name: Any, value: Any) -> None:
        self.create(name, data=value)

    def __delitem__(self, name: Any) -> None:
        self._parent._check_writable(KeyError, "delete attribute")
        name = _new_attr_name(name)
        try:
            self._b.del_attr(self._path, name)
        except KeyError:
            raise KeyError("Unable to delete attribute (can't locate attribute: '%s')" % name) from None

    def __len__(self) -> int:
        return len(self._b.attr_names(self._path))

    def __iter__(self) -> Iterator[str | bytes]:
        # A name whose bytes are not UTF-8 is listed as bytes, as h5py lists it.
        for name in self._b.attr_names(self._path):
            yield listed(name)

    def __reversed__(self) -> Iterator[str | bytes]:
        for name in reversed(self._b.attr_names(self._path)):
            yield listed(name)

    def __contains__(self, name: object) -> bool:
        try:
            key = _attr_name(name)
        except (TypeError, ValueError):
            return False
        return bool(self._b.has_attr(self._path, key))

    def get(self, name: Any, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __repr__(self) -> str:
        if not self._parent:
            return "<Attributes of closed HDF5 object>"
        return "<Attributes of HDF5 object at %s>" % id(self._parent)

    def _ipython_key_completions_(self) -> list[str | bytes]:
        return list(self)

    # ------------------------------------------------------------------ writes
    def create(self, name: Any, data: Any, shape: Any = None, dtype: Any = None) -> None:
        """Create (or replace) attribute ``name`` from ``data``, optionally with an
        explicit shape (same number of elements) and dtype."""
        from sciswift.h5.datatype import Datatype

        if self._parent._h.closed:
            raise RuntimeError("Can't determine if attribute exists by name (the file is closed)")
        self._parent._check_writable(OSError, "create attribute")
        name = _new_attr_name(name)
        if isinstance(dtype, Datatype):
            dtype = dtype.dtype
        if isinstance(data, Empty):
            self._b.set_attr(self._path, name, data)
            return
        if shape is None and dtype is None and type(data) in _PLAIN:
            # The common case (a Python int, float, bool or str) needs no array.
            self._b.set_attr(self._path, name, _plain_value(data))
            return
        data = array_for_new_object(data, specified_dtype=dtype)
        if shape is None:
            shape = data.shape
        elif isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        else:
            shape = tuple(shape)
        dtype = data.dtype if dtype is None else normalize_dtype(dtype)
        if dtype.kind == "U":
            raise TypeError("No conversion path for dtype: %r" % dtype)
        if dtype.subdtype is not None:
            sub, subshape = dtype.subdtype
            if tuple(shape[len(shape) - len(subshape):]) != tuple(subshape):
                raise ValueError("Array dtype shape %s is incompatible with data shape %s" % (subshape, shape))
            outer = tuple(shape[: len(shape) - len(subshape)])
            base = np.asarray(data, dtype=sub).reshape(outer + tuple(subshape))
            self._b.set_attr(self._path, name, SubarrayValue(dtype, outer, base))
            return
        if shape != data.shape and math.prod(shape) != data.size:
            raise ValueError("Shape of new attribute conflicts with shape of data")
        if tuple(shape) != data.shape:
            data = data.reshape(shape)
        if dtype.kind in "SO" or data.dtype.kind == "S":
            _check_no_nul(data)
        try:
            value = _convert(data, dtype)
        except (ValueError, TypeError, OverflowError) as e:
            raise TypeError(f"Can't store attribute {name!r}: {e}") from e
        self._b.set_attr(self._path, name, value)

    def modify(self, name: Any, value: Any) -> None:
        """Change an attribute's value keeping its dtype (the shape must match, or
        both hold one element); create it if it does not exist. TypeError if the
        shape does not fit."""
        self._parent._check_writable(OSError, "write attribute data")
        key = _new_attr_name(name)
        if key not in self:
            self.create(key, value)
            return
        old = self[key]
        if isinstance(old, Empty):
            raise OSError("Empty attributes can't be modified")
        if isinstance(old, str):
            old_dtype = string_dtype()
            old_shape: tuple[int, ...] = ()
        else:
            old_arr = np.asarray(old)
            old_dtype, old_shape = old_arr.dtype, old_arr.shape
        new = array_for_new_object(value, specified_dtype=old_dtype)
        if new.shape != old_shape and not (new.size == 1 and int(np.prod(old_shape)) == 1):
            raise TypeError("Shape of data is incompatible with existing attribute")
        self.create(key, new.reshape(old_shape), dtype=old_dtype)


def _type_of_value(value: Any) -> tuple[np.dtype[Any], tuple[int, ...] | None]:
    """The stored type of an attribute as far as its value read back tells."""
    if isinstance(value, Empty):
        return value.dtype, None
    if isinstance(value, str):
        return _STR_DTYPE, ()
    arr = np.asarray(value)
    return arr.dtype, arr.shape


def _check_no_nul(data: np.ndarray[Any, Any]) -> None:
    # numpy drops trailing NULs of fixed-length strings; an embedded one would be
    # silently cut by HDF5-style readers, so it is refused (as h5py does).
    if data.dtype.kind in "SO":
        for v in data.reshape(-1).tolist():
            if isinstance(v, bytes) and b"\x00" in v or isinstance(v, str) and "\x00" in v:
                raise ValueError("Embedded NULL characters are not allowed in string attributes")


def _convert(data: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    if data.dtype == dtype and data.dtype.metadata == dtype.metadata:
        return data
    if dtype.kind == "O":
        out = np.empty(data.shape, dtype=dtype)
        out[...] = data
        return out
    if data.dtype.kind == "O" and dtype.kind == "S":
        return np.asarray(data.tolist(), dtype=dtype) if data.ndim else np.asarray(data[()], dtype=dtype)
    return np.asarray(data, dtype=dtype).view(dtype)
