"""The libraries compared, behind the part of h5py's API the workloads use.

- ``h5py``: a local HDF5 file.
- ``sciswift``: ``sciswift.h5py`` over a LocalStore (a plain path: a directory).
- ``sciswift-serve``: ``sciswift.h5py`` over SwiftStore to ``sciswift serve`` on
  loopback (``swift://`` URLs; ST_AUTH/ST_USER/ST_KEY set by the orchestrator).
- ``sciswift-swift``: the same code over SwiftStore to a real OpenStack Swift
  all-in-one (``tests/support/saio.py``) on loopback: what users who scale out
  get (opt-in: ``--real-swift``).
- ``zarr``: zarr-python 3.1 over ``zarr.storage.LocalStore`` (a directory), through
  a thin shim with h5py's names (``create_dataset``, ``attrs``, ``close``).

All write uncompressed data (zarr's default zstd is turned off), so the
comparison is of I/O paths, not codecs.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Backend", "BACKENDS", "DEFAULT_BACKENDS", "get_backend"]


@dataclass(frozen=True)
class Backend:
    """``open(location, mode)`` gives an h5py-like File; ``location(workdir, tag)``
    a fresh place for one file; ``remove(location)`` deletes it; ``modules`` are
    imported before any clock starts."""

    name: str
    label: str
    open: Callable[[str, str], Any]
    location: Callable[[str, str], str]
    remove: Callable[[str], None]
    modules: tuple[str, ...] = ()

    def preload(self) -> None:
        import importlib

        for module in self.modules:
            importlib.import_module(module)


def _remove_path(path: str) -> None:
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.unlink(path)


def _h5py_open(loc: str, mode: str) -> Any:
    import h5py

    return h5py.File(loc, mode)


def _sciswift_open(loc: str, mode: str) -> Any:
    import sciswift.h5py as sh5

    return sh5.File(loc, mode)


def _swift_location(_workdir: str, tag: str) -> str:
    return f"swift://bench/{tag}.h5"


def _swift_remove(loc: str) -> None:
    from sciswift.store.url import parse_location

    location = parse_location(loc)
    names = [o.name for o in location.store.iter_objects(location.container, prefix=location.prefix + "/")]
    location.store.delete_many(location.container, names)


# ------------------------------------------------------------------ zarr shim
class _ZarrNode:
    """A zarr Group with h5py's method names."""

    def __init__(self, group: Any) -> None:
        self._g = group

    @property
    def attrs(self) -> Any:
        return self._g.attrs

    def create_group(self, name: str) -> _ZarrNode:
        return _ZarrNode(self._g.create_group(name))

    def create_dataset(self, name: str, shape: tuple[int, ...], dtype: Any, chunks: Any = None) -> Any:
        return self._g.create_array(name, shape=shape, dtype=dtype, chunks=chunks or "auto", compressors=None,
                                    fill_value=0)

    def __getitem__(self, path: str) -> Any:
        obj = self._g[path.strip("/")]
        import zarr

        return _ZarrNode(obj) if isinstance(obj, zarr.Group) else obj

    def close(self) -> None:
        """zarr writes metadata as it goes; nothing is pending."""


def _zarr_open(loc: str, mode: str) -> Any:
    import zarr

    store = zarr.storage.LocalStore(loc, read_only=mode == "r")
    return _ZarrNode(zarr.open_group(store, mode="w" if mode == "w" else "r"))


BACKENDS: dict[str, Backend] = {
    "h5py": Backend("h5py", "h5py (local file)", _h5py_open, lambda d, t: os.path.join(d, f"{t}.h5"),
                    _remove_path, ("h5py",)),
    "sciswift": Backend("sciswift", "sciswift (LocalStore)", _sciswift_open,
                        lambda d, t: os.path.join(d, f"{t}.sciswift"), _remove_path,
                        ("sciswift.h5py", "sciswift.store.local", "sciswift.engine.hierarchy")),
    "sciswift-serve": Backend("sciswift-serve", "sciswift (serve, loopback)", _sciswift_open, _swift_location,
                              _swift_remove, ("sciswift.h5py", "sciswift.store.swift", "sciswift.engine.hierarchy")),
    "zarr": Backend("zarr", "zarr-python (LocalStore)", _zarr_open, lambda d, t: os.path.join(d, f"{t}.zarr"),
                    _remove_path, ("zarr", "zarr.storage")),
    "sciswift-swift": Backend("sciswift-swift", "sciswift (real Swift all-in-one)", _sciswift_open,
                              _swift_location, _swift_remove,
                              ("sciswift.h5py", "sciswift.store.swift", "sciswift.engine.hierarchy")),
}
#: What runs without ``--backends``; the real Swift (slow to start) with ``--real-swift``.
DEFAULT_BACKENDS = ("h5py", "sciswift", "sciswift-serve", "zarr")


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise SystemExit(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}") from None
