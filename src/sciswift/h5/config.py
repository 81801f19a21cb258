"""``h5py.get_config()``: the process-wide settings, of which ``track_order``
changes what new objects are (files, groups and datasets created without an
explicit ``track_order=`` track the creation order of their members and
attributes when it is True, as in h5py).

Under the router (``sciswift run``) a program sets the real h5py's config
(``h5py.get_config()`` is h5py's own there); ``set_source`` points the defaults at
it, so store files follow what the program asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Config", "get_config", "set_source", "default_track_order"]


class Config:
    """What ``h5py.get_config()`` reports; only ``track_order`` changes behaviour."""

    track_order = False
    complex_names = ("r", "i")
    bool_names = ("FALSE", "TRUE")
    default_file_mode = "r"
    mpi = False
    ros3 = False
    direct_vfd = False
    swmr_min_hdf5_version = None
    vds_min_hdf5_version = None
    read_byte_strings = True


_CONFIG = Config()
_source: Callable[[], Any] | None = None


def get_config() -> Config:
    """sciswift.h5py's settings (one object per process, as h5py's)."""
    return _CONFIG


def set_source(source: Callable[[], Any] | None) -> None:
    """Read the defaults from ``source()`` (an h5py-like ``get_config``) instead
    of sciswift's own settings; None restores those."""
    global _source
    _source = source


def default_track_order(asked: bool | None) -> bool:
    """``track_order`` for a new object: what was asked, else the configured default."""
    if asked is not None:
        return bool(asked)
    config = _source() if _source is not None else _CONFIG
    return bool(getattr(config, "track_order", False))
