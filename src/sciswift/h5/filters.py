"""The ``filters`` namespace of the h5py API: which filters exist, and filter
objects that can be passed as ``compression=``.

Filters are realised as Zarr codecs by the engine (``sciswift.engine.codecs``):
gzip, lzf, szip, zstd, lz4, blosc, shuffle, fletcher32 and scale-offset.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["encode", "decode", "FilterRefBase", "Gzip", "FILTER_IDS", "filter_name"]

#: Filters that can be written and read.
encode: tuple[str, ...] = ("gzip", "lzf", "szip", "shuffle", "fletcher32", "scaleoffset", "zstd", "lz4", "blosc")
decode: tuple[str, ...] = encode

#: HDF5's registered filter ids, by h5py name.
FILTER_IDS: dict[str, int] = {
    "gzip": 1, "shuffle": 2, "fletcher32": 3, "szip": 4, "scaleoffset": 6,
    "lzf": 32000, "blosc": 32001, "lz4": 32004, "zstd": 32015,
}
_BY_ID = {v: k for k, v in FILTER_IDS.items()}


def filter_name(filter_id: int) -> str | None:
    return _BY_ID.get(int(filter_id))


class FilterRefBase(Mapping[str, Any]):
    """A filter with its options, usable as ``create_dataset(compression=obj)`` and as
    ``**obj`` (it maps ``compression`` and ``compression_opts``)."""

    filter_id: int = 0
    filter_options: tuple[Any, ...] = ()

    @property
    def _kwargs(self) -> dict[str, Any]:
        return {"compression": self.filter_id, "compression_opts": self.filter_options}

    def __hash__(self) -> int:
        return hash((self.filter_id, self.filter_options))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, FilterRefBase) and self.filter_id == other.filter_id
                and self.filter_options == other.filter_options)

    def __len__(self) -> int:
        return len(self._kwargs)

    def __iter__(self) -> Iterator[str]:
        return iter(self._kwargs)

    def __getitem__(self, item: str) -> Any:
        return self._kwargs[item]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} filter {self.filter_id} {self.filter_options}>"


class Gzip(FilterRefBase):
    """The deflate filter at ``level`` (0-9)."""

    filter_id = FILTER_IDS["gzip"]

    def __init__(self, level: int = 4) -> None:
        self.filter_options = (level,)
