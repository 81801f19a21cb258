"""sciswift: a scientific object store.

HDF5-style data (files, groups, datasets, attributes) kept as objects in an
OpenStack Swift compatible store, an h5py-compatible API over it
(``sciswift.h5py``), and other scientific formats presented the same way.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "open_store", "parse_location", "File", "zarr_store"]

from sciswift.store import open_store, parse_location  # noqa: E402


def __getattr__(name: str) -> Any:
    # The HDF5 layer pulls in numpy and codecs; import it only when asked for.
    if name == "File":
        from sciswift.h5 import File

        return File
    if name == "zarr_store":
        from sciswift.interop.zarr import zarr_store

        return zarr_store
    raise AttributeError(f"module 'sciswift' has no attribute {name!r}")
