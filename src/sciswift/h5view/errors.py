"""The one error the HDF5 view adds to sciswift's tree."""

from __future__ import annotations

from sciswift.errors import CorruptData, NotSupported

__all__ = ["NotExpressible", "ServeError"]


class NotExpressible(NotSupported):
    """The native file holds something the view cannot present in HDF5 1.8-era
    structures (or chooses not to): the message names the object (dataset,
    attribute, link) and what is unsupported, and ``subject`` is the object's path.
    Raised by ``open_view``; nothing is half-built."""


class ServeError(CorruptData):
    """A read of the view could not produce bytes: a chunk object that cannot be
    decoded, or variable-length data larger than the address room the view keeps
    for it. The message names the dataset and the chunk; the mount answers EIO."""
