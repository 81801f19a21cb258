"""h5py's ``h5py.h5ds`` (HDF5 dimension scales) for sciswift datasets.

Each function takes dataset identifiers (``dset.id``, a
``sciswift.h5.lowlevel.DatasetID``) as h5py's take its own, or the datasets
themselves, and works on the bookkeeping ``sciswift.h5.dims`` keeps. Names and
labels come back as bytes, as h5py returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sciswift.h5 import dims

__all__ = ["is_scale", "set_scale", "attach_scale", "detach_scale", "is_attached", "get_scale_name",
           "set_label", "get_label", "get_num_scales", "iterate"]


def _dataset(obj: Any) -> Any:
    from sciswift.h5.dataset import Dataset
    from sciswift.h5.lowlevel import DatasetID

    if isinstance(obj, DatasetID):
        return obj._obj
    if isinstance(obj, Dataset):
        return obj
    raise TypeError(f"expected a sciswift dataset or its .id, not {type(obj).__name__}")


def is_scale(dsid: Any) -> bool:
    """True if the dataset is a dimension scale."""
    return dims.is_scale(_dataset(dsid))


def set_scale(dsid: Any, dimname: bytes | str | None = None) -> None:
    """Make the dataset a dimension scale, named ``dimname`` if given."""
    dims.make_scale(_dataset(dsid), dimname or "")


def attach_scale(dsid: Any, dscale_id: Any, idx: int) -> None:
    dims.attach_scale(_dataset(dsid), _dataset(dscale_id), idx)


def detach_scale(dsid: Any, dscale_id: Any, idx: int) -> None:
    dims.detach_scale(_dataset(dsid), _dataset(dscale_id), idx)


def is_attached(dsid: Any, dscale_id: Any, idx: int) -> bool:
    return dims.is_attached(_dataset(dsid), _dataset(dscale_id), idx)


def get_scale_name(dscale_id: Any) -> bytes:
    """The scale's name as bytes (b"" if it has none)."""
    return dims.scale_name(_dataset(dscale_id)).encode("utf-8")


def set_label(dsid: Any, idx: int, label: bytes | str) -> None:
    dims.DimensionProxy(_dataset(dsid), idx).label = label  # type: ignore[assignment]


def get_label(dsid: Any, idx: int) -> bytes:
    return dims.DimensionProxy(_dataset(dsid), idx).label.encode("utf-8")


def get_num_scales(dsid: Any, idx: int) -> int:
    return len(dims.scales_of(_dataset(dsid), idx))


def iterate(dsid: Any, idx: int, func: Callable[[Any], Any], startidx: int = 0) -> Any:
    """Call ``func(scale id)`` for the scales of axis ``idx`` from ``startidx`` on;
    stop at and return the first result that is not None."""
    for scale in dims.scales_of(_dataset(dsid), idx)[startidx:]:
        ret = func(scale.id)
        if ret is not None:
            return ret
    return None
