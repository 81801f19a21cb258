"""The Zarr v3 ``sharding_indexed`` codec: many inner chunks packed in one object.

A shard object holds the encoded inner chunks back to back and an index of
``(offset, nbytes)`` uint64 pairs, one per inner chunk in C order, at the end (or
the start) of the object, itself encoded with ``index_codecs`` (normally
``bytes`` + ``crc32c``). An inner chunk that holds only the fill value is absent:
its pair is ``(2**64-1, 2**64-1)``.

Sharding cuts the number of objects (and so of requests) by the number of inner
chunks per shard, while a reader that wants one inner chunk fetches only the
index and that chunk's byte range (``ShardCodec.index_range`` /
``decode_inner``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from sciswift.engine.dtypes import DtypeInfo
from sciswift.errors import CorruptData, InvalidInput

__all__ = ["ShardCodec", "EMPTY"]

EMPTY = 2**64 - 1


class ShardCodec:
    """Encode and decode shards of an array with element layout ``info``."""

    def __init__(self, config: dict[str, Any], info: DtypeInfo, shard_shape: tuple[int, ...], fill: Any) -> None:
        from sciswift.engine.codecs import Pipeline

        self.inner_shape = tuple(int(c) for c in config["chunk_shape"])
        if len(self.inner_shape) != len(shard_shape) or any(
            s % c for s, c in zip(shard_shape, self.inner_shape)
        ):
            raise InvalidInput(f"shard shape {shard_shape} is not a multiple of inner chunks {self.inner_shape}")
        self.grid = tuple(s // c for s, c in zip(shard_shape, self.inner_shape))
        self.count = math.prod(self.grid)
        self.inner = Pipeline(config.get("codecs") or [{"name": "bytes", "configuration": {"endian": "little"}}], info, fill)
        index_codecs = config.get("index_codecs") or [
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "crc32c"},
        ]
        index_info = DtypeInfo(np.dtype("<u8"), "uint64", {"name": "bytes", "configuration": {"endian": "little"}}, None, "fixed")
        self.index_pipeline = Pipeline(index_codecs, index_info, 0)
        self.at_end = config.get("index_location", "end") == "end"
        self.index_size = len(self.index_pipeline.encode(np.zeros((*self.grid, 2), dtype="<u8")))
        self.info = info
        self.fill = fill

    # --------------------------------------------------------------- index
    def index_range(self) -> tuple[str, int]:
        """Where the index sits: ("end"|"start", size in bytes)."""
        return ("end" if self.at_end else "start", self.index_size)

    def decode_index(self, raw: bytes) -> np.ndarray[Any, Any]:
        if len(raw) != self.index_size:
            raise CorruptData(f"shard index is {len(raw)} bytes, expected {self.index_size}")
        return self.index_pipeline.decode(raw, (*self.grid, 2)).reshape(-1, 2)

    def split(self, data: bytes) -> tuple[np.ndarray[Any, Any], int]:
        """The decoded index of a whole shard object and the offset its chunks are relative to."""
        if len(data) < self.index_size:
            raise CorruptData(f"shard of {len(data)} bytes is shorter than its index")
        raw = data[-self.index_size :] if self.at_end else data[: self.index_size]
        return self.decode_index(raw), 0

    # -------------------------------------------------------------- decode
    def decode_inner(self, raw: bytes) -> np.ndarray[Any, Any]:
        return self.inner.decode(raw, self.inner_shape)

    def decode(self, data: bytes, shard_shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
        """The whole shard as an array (missing inner chunks hold the fill value)."""
        index, _ = self.split(data)
        out = np.empty(shard_shape, dtype=self.info.dtype)
        if self.info.dtype.kind == "O":
            for i in np.ndindex(out.shape):
                out[i] = self.fill
        else:
            out[...] = self.fill
        for n, coords in enumerate(itertools.product(*(range(g) for g in self.grid))):
            off, size = int(index[n, 0]), int(index[n, 1])
            if off == EMPTY and size == EMPTY:
                continue
            if off + size > len(data):
                raise CorruptData(f"shard index points past the end of the shard (inner chunk {coords})")
            region = tuple(slice(c * s, (c + 1) * s) for c, s in zip(coords, self.inner_shape))
            out[region] = self.decode_inner(data[off : off + size])
        return out

    # -------------------------------------------------------------- encode
    def encode(self, shard: np.ndarray[Any, Any], is_fill: Any) -> bytes:
        """Bytes of a whole shard; inner chunks for which ``is_fill(chunk)`` is true
        are left out."""
        parts: list[bytes] = []
        index = np.full((self.count, 2), EMPTY, dtype="<u8")
        pos = self.index_size if not self.at_end else 0
        for n, coords in enumerate(itertools.product(*(range(g) for g in self.grid))):
            region = tuple(slice(c * s, (c + 1) * s) for c, s in zip(coords, self.inner_shape))
            chunk = np.ascontiguousarray(shard[region])
            if is_fill(chunk):
                continue
            enc = self.inner.encode(chunk)
            index[n] = (pos, len(enc))
            parts.append(enc)
            pos += len(enc)
        raw_index = self.index_pipeline.encode(index.reshape(*self.grid, 2))
        body = b"".join(parts)
        return body + raw_index if self.at_end else raw_index + body
