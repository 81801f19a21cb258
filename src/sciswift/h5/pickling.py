"""Pickling File, Group, Dataset and Datatype objects by address.

h5py objects cannot be pickled (an HDF5 identifier means nothing in another
process). A sciswift file is an address in a store, so an object of a file open
read-only pickles as that address: the store's own recipe (its ``__reduce__``:
a LocalStore's directory, a SwiftStore's credentials, never its connections),
the container and prefix, the object's path, and the name it was opened by.
Unpickling opens the file read-only in the other process (a dask worker, a
``multiprocessing`` child) and returns the same object there. Each unpickled
object opens its own store; objects of one file opened in one process share
one open file, as ``File`` always does.

Refused, with a TypeError naming the object: objects of a file open for writing
(the other process could not see its unwritten metadata, and h5py's rule for
writers holds), of a closed file, of a file in a MemoryStore (one process's
memory), and anonymous objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sciswift.h5.base import HLObject
    from sciswift.store.base import Store

__all__ = ["reduce_object", "reopen_object", "store_recipe"]

#: Address of a file: ``("path", local file path)`` for a local file opened as a
#: blob, or ``("store", (factory, args), container, prefix, display)``.
Address = tuple[Any, ...]


def store_recipe(store: Store, what: str) -> tuple[Any, tuple[Any, ...]]:
    """``(factory, args)`` that open ``store`` again elsewhere (its ``__reduce__``).
    TypeError naming ``what`` for stores that cannot travel (MemoryStore)."""
    if type(store).__reduce__ is object.__reduce__:
        raise TypeError(f"cannot pickle {what}: a {type(store).__name__} cannot be opened in another process")
    try:
        recipe = store.__reduce__()
    except TypeError as e:
        raise TypeError(f"cannot pickle {what}: {e}") from None
    return recipe[0], tuple(recipe[1])


def _address(obj: HLObject, what: str) -> Address:
    handle = obj._h
    if handle.closed:
        raise TypeError(f"cannot pickle {what}: its file is closed")
    if handle.backend.writable:
        raise TypeError(
            f"cannot pickle {what}: its file {handle.filename!r} is open for writing; close it and pickle "
            "objects of the file opened read-only (mode 'r'), which other processes reopen by address"
        )
    source = handle.source
    if isinstance(source, str):
        return ("path", source)
    if source is None:
        raise TypeError(f"cannot pickle {what}: its file {handle.filename!r} exists only in this process")
    return ("store", store_recipe(source.store, what), source.container, source.prefix, source.display)


def reduce_object(obj: HLObject) -> tuple[Any, ...]:
    """``__reduce__`` of File, Group, Dataset and Datatype (see the module docstring)."""
    what = repr(obj)
    name = obj.name
    if name is None and not obj._h.closed:
        raise TypeError(f"cannot pickle {what}: anonymous objects have no address")
    address = _address(obj, what)
    from sciswift.h5.files import File

    kind = "file" if isinstance(obj, File) else "member"
    return reopen_object, (address, obj._h.filename, obj._path, name, kind)


def reopen_object(address: Address, filename: str, path: str, name: str | None, kind: str) -> Any:
    """Open the file at ``address`` read-only and return its object at ``path``
    (what ``reduce_object`` pickled). FileNotFoundError if it is gone."""
    from sciswift.h5.files import File, open_address
    from sciswift.store.url import Location

    if address[0] == "path":
        handle = open_address(address[1], filename)
    else:
        _, (factory, args), container, prefix, display = address
        handle = open_address(Location(factory(*args), container, prefix, display), filename)
    root = File._from_handle(handle)
    if kind == "file":
        return root
    obj = root["/" + path]
    obj._name = name
    return obj
