"""h5py's public warning classes (``h5py.h5py_warnings``)."""

from __future__ import annotations

__all__ = ["H5pyWarning", "H5pyDeprecationWarning"]


class H5pyWarning(UserWarning):
    """Base of the warnings this API emits."""


class H5pyDeprecationWarning(H5pyWarning):
    """Something h5py deprecates (and so does this API, to stay compatible)."""
