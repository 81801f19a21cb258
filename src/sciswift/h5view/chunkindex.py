"""The v1 B-tree (type 1) that indexes a chunked dataset's chunks, generated node
by node when a reader asks for its bytes.

Every chunk of the grid is in the index, in C order of its coordinates, at an
address computed from its index (``data_base + k * slot``), so no node depends on
which chunks are stored: a chunk whose object is absent is served as fill.
Nodes hold up to 2K = 64 children; leaves (level 0) point at chunks, node
(level l, i) covers chunks ``[i * 64**(l+1), (i+1) * 64**(l+1))``. A key is
``(chunk size, filter mask, chunk offset in elements per dimension, 0)``; the
key right of a node's last child is the next chunk's key (the next node's first
key), or past the last chunk for the rightmost nodes, so lookups by
lexicographic comparison, HDF5's rule, find each chunk.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from sciswift.h5view.buffer import UNDEF
from sciswift.h5view.structures import CHUNK_K, chunk_btree_node_size, chunk_key_size

__all__ = ["ChunkIndex"]

_FAN = 2 * CHUNK_K
_HEADER = struct.Struct("<4sBBHQQ")


class ChunkIndex:
    """Geometry of one dataset's chunk B-tree. ``grid``: chunks per dimension;
    ``chunk_size``: the size every key declares; ``slot``: address step between
    chunks. ``size`` is the bytes of all nodes (0 when there is no chunk)."""

    def __init__(self, grid: tuple[int, ...], chunks: tuple[int, ...], chunk_size: int, slot: int) -> None:
        self.grid = grid
        self.chunks = chunks
        self.rank = len(grid)
        self.count = math.prod(grid)
        self.chunk_size = chunk_size
        self.slot = slot
        self.node_size = chunk_btree_node_size(self.rank)
        counts: list[int] = []
        if self.count:
            n = -(-self.count // _FAN)
            counts.append(n)
            while n > 1:
                n = -(-n // _FAN)
                counts.append(n)
        self.counts = counts
        self._level_start = [sum(counts[:level]) for level in range(len(counts))]
        self.size = sum(counts) * self.node_size
        self._key_dtype = np.dtype([("size", "<u4"), ("mask", "<u4"), ("offset", "<u8", (self.rank + 1,))])
        self._pair_dtype = np.dtype([("key", self._key_dtype), ("child", "<u8")])
        assert self._key_dtype.itemsize == chunk_key_size(self.rank)

    @property
    def root_offset(self) -> int:
        """Offset of the root node from the start of the index."""
        return (sum(self.counts) - 1) * self.node_size

    def _keys(self, first: np.ndarray) -> np.ndarray:
        """Keys of the chunks with C-order indices ``first`` (index ``count`` is the
        key past the last chunk)."""
        keys = np.zeros(len(first), dtype=self._key_dtype)
        keys["size"] = self.chunk_size
        inside = first < self.count
        coords = np.unravel_index(np.minimum(first, self.count - 1), self.grid)
        for d in range(self.rank):
            keys["offset"][:, d] = np.asarray(coords[d], dtype=np.uint64) * np.uint64(self.chunks[d])
        if not inside.all():
            end = np.zeros(self.rank + 1, dtype=np.uint64)
            end[0] = np.uint64(self.grid[0]) * np.uint64(self.chunks[0])
            keys["offset"][~inside] = end
            keys["size"][~inside] = 0
        return keys

    def node(self, level: int, i: int, index_base: int, data_base: int) -> bytes:
        """Bytes of node ``i`` of ``level``, the index placed at ``index_base`` and
        chunk ``k`` at ``data_base + k * slot``."""
        span = _FAN ** (level + 1)
        first = i * span
        if level == 0:
            n = min(_FAN, self.count - first)
            starts = np.arange(first, first + n + 1, dtype=np.int64)
            children = np.uint64(data_base) + starts[:n].astype(np.uint64) * np.uint64(self.slot)
        else:
            below = self.counts[level - 1]
            n = min(_FAN, below - i * _FAN)
            child_ids = np.arange(i * _FAN, i * _FAN + n, dtype=np.int64)
            starts = np.append(child_ids * (span // _FAN), min((i + 1) * span, self.count))
            children = np.uint64(index_base) + (np.uint64(self._level_start[level - 1]) + child_ids.astype(np.uint64)) \
                * np.uint64(self.node_size)
        keys = self._keys(np.minimum(starts, self.count))
        pairs = np.zeros(n, dtype=self._pair_dtype)
        pairs["key"] = keys[:n]
        pairs["child"] = children
        left = self._node_address(level, i - 1, index_base) if i > 0 else UNDEF
        right = self._node_address(level, i + 1, index_base) if i + 1 < self.counts[level] else UNDEF
        out = bytearray(self.node_size)
        _HEADER.pack_into(out, 0, b"TREE", 1, level, n, left, right)
        body = pairs.tobytes() + keys[n:n + 1].tobytes()
        out[_HEADER.size:_HEADER.size + len(body)] = body
        return bytes(out)

    def _node_address(self, level: int, i: int, index_base: int) -> int:
        return index_base + (self._level_start[level] + i) * self.node_size

    def read(self, offset: int, length: int, index_base: int, data_base: int) -> bytes:
        """``length`` bytes of the index from ``offset`` (relative to its start)."""
        out = bytearray()
        pos = offset
        end = offset + length
        while pos < end:
            n, within = divmod(pos, self.node_size)
            level = max(lv for lv, start in enumerate(self._level_start) if start <= n)
            node = self.node(level, n - self._level_start[level], index_base, data_base)
            take = min(self.node_size - within, end - pos)
            out += node[within:within + take]
            pos += take
        return bytes(out)
