"""Where everything goes in the virtual HDF5 file, and the metadata bytes.

The file is laid out as:

1. ``[0, metadata_end)``: generated at open and kept in memory: the superblock,
   every object header (groups, datasets, named datatypes; attributes inside),
   each group's local heap, symbol table nodes and B-tree nodes, and the global
   heap collections holding variable-length attribute data and fill values.
2. One chunk B-tree per chunked dataset, generated node by node when read
   (``ChunkIndex``).
3. ``[data_start, size)``: one range per dataset: every chunk of a chunked
   dataset at ``base + k * slot`` (C order of chunk coordinates), or a contiguous
   dataset's elements; served from the chunk objects when read.

Structures are built as ``Buf`` objects that name the addresses they hold by key;
once every size is known the planner places them and patches the addresses.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sciswift.errors import CorruptData
from sciswift.h5view import structures as S
from sciswift.h5view.buffer import Buf, patch
from sciswift.h5view.chunkindex import ChunkIndex
from sciswift.h5view.errors import NotExpressible
from sciswift.h5view.serving import ContiguousData, DatasetSource, UnitCache, stepped
from sciswift.h5view.tree import Attribute, Node, Tree
from sciswift.h5view.values import HeapBuilder, encode_array, encode_value

__all__ = ["Layout", "Region", "plan"]

_NODE_FAN = 2 * S.GROUP_NODE_K
_SNOD_FAN = 2 * S.GROUP_LEAF_K


@dataclass
class Region:
    """A range of the file generated when read: ``read(offset, length)`` with the
    offset relative to ``start``."""

    start: int
    size: int
    read: Callable[[int, int], bytes]
    what: str

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass
class Layout:
    metadata: bytes
    regions: list[Region]
    size: int
    data_start: int
    sources: list[DatasetSource]

    def __post_init__(self) -> None:
        self._starts = [r.start for r in self.regions]

    def region_at(self, offset: int) -> int:
        """Index of the last region starting at or before ``offset`` (-1: none)."""
        return bisect.bisect_right(self._starts, offset) - 1


def _align8(n: int) -> int:
    return (n + 7) & ~7


def plan(tree: Tree, cache: UnitCache) -> Layout:
    """Lay out the view of ``tree``. NotExpressible for what HDF5 cannot hold."""
    return _Planner(tree, cache).run()


class _Planner:
    def __init__(self, tree: Tree, cache: UnitCache) -> None:
        self.tree = tree
        self.cache = cache
        self.blocks: list[tuple[Hashable, Buf]] = []
        self.heap = HeapBuilder(lambda n: ("gcol", n))
        self.derived: dict[Hashable, tuple[Hashable, int]] = {}
        self.lazy: list[tuple[Hashable, int, str, Callable[[Callable[[Hashable], int]], Callable[[int, int], bytes]]]] = []
        self.data: list[tuple[Hashable, int, str, Callable[[Callable[[Hashable], int]], Callable[[int, int], bytes]]]] = []
        self.sources: list[DatasetSource] = []
        self.addresses: dict[Hashable, int] = {}

    # ------------------------------------------------------------------ run
    def run(self) -> Layout:
        tree = self.tree
        refcount: Counter[str] = Counter({"": 1})
        for node in tree.nodes.values():
            for m in node.members:
                if m.kind == "hard":
                    if m.target not in tree.nodes:
                        raise CorruptData(f"group {node.display}: link {m.name!r} names /{m.target}, "
                                          "which does not exist", node.display)
                    refcount[m.target] += 1
        for path in sorted(tree.nodes, key=lambda p: p.encode("utf-8", "surrogatepass")):
            node = tree.nodes[path]
            if node.kind == "group":
                self._group(node, refcount[path])
            elif node.kind == "dataset":
                self._dataset(node, refcount[path])
            else:
                assert node.datatype is not None
                messages = [(S.MSG_DATATYPE, S.FLAG_CONSTANT, node.datatype.message())]
                self._header(node, messages, refcount[path])
        for n in range(len(self.heap.collections)):
            self.blocks.append((("gcol", n), self.heap.encode(n)))
        return self._place()

    # --------------------------------------------------------------- placing
    def address_of(self, key: Hashable) -> int:
        if isinstance(key, tuple) and key and key[0] == "abs":
            return int(key[1])
        hit = self.derived.get(key)
        if hit is not None:
            return self.address_of(hit[0]) + hit[1]
        return self.addresses[key]

    def _place(self) -> Layout:
        pos = S.SUPERBLOCK_SIZE
        placed: list[tuple[int, Buf]] = []
        for key, buf in self.blocks:
            pos = _align8(pos)
            self.addresses[key] = pos
            placed.append((pos, buf))
            pos += len(buf)
        metadata_end = pos
        regions: list[Region] = []
        for key, size, what, reader in [*self.lazy, *self.data]:
            pos = _align8(pos)
            self.addresses[key] = pos
            regions.append(Region(pos, size, reader(self.address_of), what))
            pos += size
        data_start = min((self.addresses[k] for k, *_ in self.data), default=pos)
        size = max(pos, metadata_end)
        meta = bytearray(metadata_end)
        root = self.tree.header_key("")
        root_stab = self._is_stab_group(self.tree.nodes[""])
        sb = S.superblock(size, root, ("gbt", "") if root_stab else None, ("lheap", "") if root_stab else None)
        meta[:len(sb)] = sb.data
        patch(meta, 0, sb.fixups, self.address_of)
        for at, buf in placed:
            meta[at:at + len(buf)] = buf.data
            patch(meta, at, buf.fixups, self.address_of)
        for source in self.sources:
            source.resolve = self.address_of
        return Layout(bytes(meta), [r for r in regions if r.size], size, data_start, self.sources)

    # ---------------------------------------------------------------- headers
    def _header(self, node: Node, messages: list[tuple[int, int, Buf]], refcount: int) -> None:
        for attr in node.attrs:
            messages.append((S.MSG_ATTRIBUTE, 0, self._attribute(attr, node)))
        what = ("group " if node.kind == "group" else "dataset " if node.kind == "dataset" else
                "named datatype ") + node.display
        self.blocks.append((self.tree.header_key(node.path), S.object_header(messages, max(1, refcount), what)))

    def _attribute(self, attr: Attribute, node: Node) -> Buf:
        what = f"attribute {attr.name!r} of {node.display}"
        data = Buf()
        if attr.value is not None:
            encode_array(attr.value, attr.htype, data, self.heap, self.tree.ref_target)
        msg = S.attribute(attr.name, attr.htype.message(), S.dataspace(attr.shape), data)
        if len(msg) > 0xFFFF - 7:
            raise NotExpressible(f"{what}: its {len(msg)}-byte attribute message exceeds HDF5's 64 KiB limit for "
                                 "attributes in an object header", node.display)
        return msg

    # ----------------------------------------------------------------- groups
    def _group(self, node: Node, refcount: int) -> None:
        if node.track_order or any(m.kind == "external" for m in node.members):
            if len(node.members) <= 0xFFFF:
                self._compact_group(node, refcount)
                return
            if any(m.kind == "external" for m in node.members):
                raise NotExpressible(f"group {node.display}: external links in a group of more than 65535 "
                                     "members are not supported by the HDF5 view", node.display)
        path = node.path
        members = sorted(node.members, key=lambda m: m.name.encode("utf-8", "surrogatepass"))
        strings = [m.name.encode("utf-8", "surrogatepass") for m in members]
        soft = [m for m in members if m.kind == "soft"]
        strings += [m.target.encode("utf-8", "surrogatepass") for m in soft]
        heap, offsets = S.local_heap(("lheap", path), strings)
        name_offset = offsets[:len(members)]
        soft_offset = dict(zip((m.name for m in soft), offsets[len(members):]))
        entries = []
        for m, off in zip(members, name_offset):
            if m.kind == "hard":
                target = self.tree.nodes[m.target]
                if self._is_stab_group(target):
                    entries.append(S.symbol_entry(off, self.tree.header_key(m.target), S.CACHE_STAB,
                                                  ("gbt", m.target), ("lheap", m.target)))
                else:
                    entries.append(S.symbol_entry(off, self.tree.header_key(m.target)))
            else:
                entries.append(S.symbol_entry(off, None, S.CACHE_SOFT, link_offset=soft_offset[m.name]))
        messages = [(S.MSG_STAB, 0, S.symbol_table_message(("gbt", path), ("lheap", path)))]
        self._header(node, messages, refcount)
        self.blocks.append((("lheap", path), heap))
        # Symbol table nodes of up to 8 entries each, in name order.
        snods = [entries[i:i + _SNOD_FAN] for i in range(0, len(entries), _SNOD_FAN)]
        bounds = [name_offset[min(i + _SNOD_FAN, len(entries)) - 1] for i in range(0, len(entries), _SNOD_FAN)]
        for i, snod in enumerate(snods):
            self.blocks.append((("snod", path, i), S.symbol_node(snod)))
        # B-tree levels over them: (left key, right key, child key) per item.
        items: list[tuple[int, int, Hashable]] = [
            (bounds[i - 1] if i else 0, bounds[i], ("snod", path, i)) for i in range(len(snods))]
        level = 0
        while True:
            groups = [items[i:i + _NODE_FAN] for i in range(0, len(items), _NODE_FAN)] or [[]]
            keys_of = [("gbtn", path, level, j) for j in range(len(groups))]
            for j, group in enumerate(groups):
                keys = [group[0][0] if group else 0] + [it[1] for it in group]
                left = keys_of[j - 1] if j else None
                right = keys_of[j + 1] if j + 1 < len(groups) else None
                self.blocks.append((keys_of[j], S.group_btree_node(level, keys, [it[2] for it in group], left, right)))
            if len(groups) == 1:
                self.derived[("gbt", path)] = (keys_of[0], 0)
                break
            items = [(g[0][0], g[-1][1], keys_of[j]) for j, g in enumerate(groups)]
            level += 1

    @staticmethod
    def _is_stab_group(node: Node) -> bool:
        """True for groups kept as symbol tables (others are compact groups)."""
        return node.kind == "group" and not (
            (node.track_order or any(m.kind == "external" for m in node.members)) and len(node.members) <= 0xFFFF)

    def _compact_group(self, node: Node, refcount: int) -> None:
        """A group whose links are link messages in its own header (HDF5 1.8's
        "compact" storage): what creation order and external links need."""
        messages = [
            (S.MSG_LINFO, 0, S.link_info(len(node.members), node.track_order)),
            (S.MSG_GINFO, S.FLAG_CONSTANT, S.group_info(len(node.members))),
        ]
        for i, m in enumerate(node.members):
            order = i if node.track_order else None
            if m.kind == "hard":
                body = S.link_message(m.name, S.LINK_HARD, order, target=self.tree.header_key(m.target))
            elif m.kind == "soft":
                body = S.link_message(m.name, S.LINK_SOFT, order, value=m.target.encode("utf-8", "surrogatepass"))
            else:
                value = b"\x00" + m.filename.encode("utf-8", "surrogatepass") + b"\x00" + \
                    m.target.encode("utf-8", "surrogatepass") + b"\x00"
                body = S.link_message(m.name, S.LINK_EXTERNAL, order, value=value)
            messages.append((S.MSG_LINK, 0, body))
        self._header(node, messages, refcount)

    # --------------------------------------------------------------- datasets
    def _dataset(self, node: Node, refcount: int) -> None:
        info = node.dataset
        assert info is not None
        path = node.path
        key = ("ds", path)
        source = DatasetSource(key, info, node.display, self.cache, self.tree.ref_target)
        contiguous = info.contiguous
        if contiguous:
            source.force_decoded()
        self.sources.append(source)
        fill = Buf()
        if info.htype.native is not None or not _is_default(info.fill):
            encode_value(info.fill, info.dtype, info.htype, fill, self.heap, self.tree.ref_target)
        # else: empty strings or sequences, null references: HDF5's "default" fill.
        messages = [
            (S.MSG_DATASPACE, 0, S.dataspace(None if info.empty else info.shape, info.maxshape)),
            (S.MSG_DATATYPE, S.FLAG_CONSTANT, info.htype.message()),
            (S.MSG_FILL, S.FLAG_CONSTANT, S.fill_value(fill, alloc_time=2 if contiguous else 3)),
        ]
        if contiguous:
            messages.append((S.MSG_LAYOUT, 0, self._contiguous(node, source)))
        else:
            messages.append((S.MSG_LAYOUT, 0, self._chunked(node, source)))
            if source.filters:
                messages.append((S.MSG_PIPELINE, S.FLAG_CONSTANT, S.filter_pipeline(source.filters)))
        self._header(node, messages, refcount)

    def _chunked(self, node: Node, source: DatasetSource) -> Buf:
        info = source.info
        path = node.path
        if source.count == 0:
            return S.layout_chunked(None, info.chunks, info.htype.size)
        if source.unit_size > 0xFFFF_FFFF:
            raise NotExpressible(f"dataset {node.display}: chunks of {source.unit_size} bytes exceed HDF5's 4 GiB "
                                 "chunk limit", node.display)
        slot = source.unit_size + source.heap_reserve
        index = ChunkIndex(source.grid, info.chunks, source.unit_size, slot)
        btree_key, data_key = ("cbt", path), ("cdata", path)
        self.derived[("cbtroot", path)] = (btree_key, index.root_offset)
        if source.mode == "vlen":
            def heap_address(k: int, _key: Hashable = data_key) -> int:
                return self.address_of(_key) + k * slot + source.unit_size
            source.heap_address = heap_address

        def index_reader(address_of: Callable[[Hashable], int]) -> Callable[[int, int], bytes]:
            def read(off: int, length: int) -> bytes:
                return index.read(off, length, address_of(btree_key), address_of(data_key))
            return read

        def data_reader(address_of: Callable[[Hashable], int]) -> Callable[[int, int], bytes]:
            return _slotted(source, slot)

        self.lazy.append((btree_key, index.size, f"chunk index of {node.display}", index_reader))
        self.data.append((data_key, source.count * slot, f"chunks of {node.display}", data_reader))
        return S.layout_chunked(("cbtroot", path), info.chunks, info.htype.size)

    def _contiguous(self, node: Node, source: DatasetSource) -> Buf:
        info = source.info
        path = node.path
        total = math.prod(info.shape) * info.htype.size
        if info.empty or total == 0:
            return S.layout_contiguous(None, 0)
        data_key, heap_key = ("cdata", path), ("cheap", path)
        elements = ContiguousData(source)

        def data_reader(address_of: Callable[[Hashable], int]) -> Callable[[int, int], bytes]:
            return elements.read

        self.data.append((data_key, total, f"data of {node.display}", data_reader))
        if source.mode == "vlen":
            reserve = source.heap_reserve

            def heap_address(k: int) -> int:
                return self.address_of(heap_key) + k * reserve
            source.heap_address = heap_address

            def heap_reader(address_of: Callable[[Hashable], int]) -> Callable[[int, int], bytes]:
                def read(off: int, length: int) -> bytes:
                    return stepped(source, reserve, off, length, source.raw_size)
                return read

            self.data.append((heap_key, source.count * reserve, f"variable-length data of {node.display}", heap_reader))
        return S.layout_contiguous(data_key, total)


def _slotted(source: DatasetSource, slot: int) -> Callable[[int, int], bytes]:
    def read(off: int, length: int) -> bytes:
        return stepped(source, slot, off, length)
    return read


def _is_default(value: Any) -> bool:
    """True for the default fill of variable-length and reference types (and of
    compounds of such members and zeros)."""
    if value is None:
        return True
    if isinstance(value, (str, bytes)):
        return not value
    if isinstance(value, np.void) and value.dtype.names is not None:
        return all(_is_default(value[name]) for name in value.dtype.names)
    if isinstance(value, np.ndarray):
        return value.size == 0 or (value.dtype.kind != "O" and not value.any())
    if isinstance(value, (np.generic, int, float, complex)):
        return not value
    return not value if hasattr(value, "__sciswift_encode__") else False
