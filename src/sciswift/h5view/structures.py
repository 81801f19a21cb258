"""HDF5 file structures in the oldest format every reader takes (HDF5 1.8's
defaults with the "earliest" library bounds), as ``Buf`` objects.

Sizes: offsets and lengths are 8 bytes. The superblock is version 0, so the
B-tree ranks are HDF5's defaults: group leaf K = 4 (symbol table nodes hold 8
entries), group internal K = 16 (32 children per group B-tree node), chunk
B-tree K = 32 (64 children per node).

References: the HDF5 File Format Specification, version 2.0 (superblock
version 0, object header version 1, messages 0x0001 dataspace, 0x0003 datatype,
0x0005 fill value, 0x0008 layout (version 3), 0x000B filter pipeline (version 1),
0x000C attribute (version 1), 0x0011 symbol table; v1 B-trees of types 0 and 1,
symbol table nodes, local heaps, global heap collections).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from sciswift.h5view.buffer import UNDEF, Buf
from sciswift.h5view.errors import NotExpressible

__all__ = [
    "SIGNATURE",
    "SUPERBLOCK_SIZE",
    "GROUP_LEAF_K",
    "GROUP_NODE_K",
    "CHUNK_K",
    "SYMBOL_ENTRY_SIZE",
    "SNOD_SIZE",
    "superblock",
    "object_header",
    "dataspace",
    "fill_value",
    "layout_chunked",
    "layout_contiguous",
    "filter_pipeline",
    "attribute",
    "symbol_table_message",
    "local_heap",
    "symbol_entry",
    "symbol_node",
    "group_btree_node",
    "group_btree_node_size",
    "chunk_key_size",
    "chunk_btree_node_size",
    "MSG_DATASPACE",
    "MSG_DATATYPE",
    "MSG_FILL",
    "MSG_LAYOUT",
    "MSG_PIPELINE",
    "MSG_ATTRIBUTE",
    "MSG_STAB",
    "MSG_LINFO",
    "MSG_GINFO",
    "MSG_LINK",
    "link_info",
    "group_info",
    "link_message",
    "LINK_HARD",
    "LINK_SOFT",
    "LINK_EXTERNAL",
    "FLAG_CONSTANT",
    "CACHE_NONE",
    "CACHE_STAB",
    "CACHE_SOFT",
]

SIGNATURE = b"\x89HDF\r\n\x1a\n"
SUPERBLOCK_SIZE = 96
GROUP_LEAF_K = 4
GROUP_NODE_K = 16
CHUNK_K = 32
SYMBOL_ENTRY_SIZE = 40
SNOD_SIZE = 8 + 2 * GROUP_LEAF_K * SYMBOL_ENTRY_SIZE

MSG_DATASPACE = 0x0001
MSG_DATATYPE = 0x0003
MSG_FILL = 0x0005
MSG_LAYOUT = 0x0008
MSG_PIPELINE = 0x000B
MSG_ATTRIBUTE = 0x000C
MSG_STAB = 0x0011
MSG_LINFO = 0x0002
MSG_GINFO = 0x000A
MSG_LINK = 0x0006
FLAG_CONSTANT = 0x01

# Symbol table entry cache types.
CACHE_NONE = 0
CACHE_STAB = 1
CACHE_SOFT = 2

_MAX_MESSAGE = 0xFFFF


# --------------------------------------------------------------- superblock

def superblock(eof: int, root_header: Hashable, root_btree: Hashable | None, root_heap: Hashable | None) -> Buf:
    """Superblock version 0 with the root group's symbol table entry (its B-tree
    and heap cached when the root is a symbol table group, else None)."""
    buf = Buf()
    buf.raw(SIGNATURE)
    buf.u8(0).u8(0).u8(0).u8(0)  # superblock, free-space, root entry, reserved
    buf.u8(0).u8(8).u8(8).u8(0)  # shared header version, size of offsets, size of lengths, reserved
    buf.u16(GROUP_LEAF_K).u16(GROUP_NODE_K).u32(0)  # consistency flags
    buf.u64(0)  # base address
    buf.u64(UNDEF)  # free-space info
    buf.u64(eof)
    buf.u64(UNDEF)  # driver information block
    cache = CACHE_STAB if root_btree is not None else CACHE_NONE
    buf.append(symbol_entry(0, root_header, cache, root_btree, root_heap))
    assert len(buf) == SUPERBLOCK_SIZE
    return buf


# ------------------------------------------------------------ object header

def object_header(messages: Sequence[tuple[int, int, Buf]], refcount: int, what: str) -> Buf:
    """A version 1 object header holding ``messages`` (type, flags, body) in one
    chunk. NotExpressible naming ``what`` if a message exceeds HDF5's 64 KiB."""
    body = Buf()
    for mtype, flags, data in messages:
        size = len(data) + (-len(data) % 8)
        if size > _MAX_MESSAGE:
            raise NotExpressible(
                f"{what}: a header message of {len(data)} bytes exceeds HDF5's limit of {_MAX_MESSAGE}", what)
        body.u16(mtype).u16(size).u8(flags).zeros(3)
        body.append(data)
        body.pad(8)
    buf = Buf()
    buf.u8(1).u8(0).u16(len(messages)).u32(refcount).u32(len(body)).zeros(4)
    buf.append(body)
    return buf


def dataspace(shape: Sequence[int] | None, maxshape: Sequence[int | None] | None = None) -> Buf:
    """Dataspace message: version 1 for simple and scalar spaces, version 2 for a
    null one (``shape`` None). ``maxshape`` None entries are unlimited."""
    buf = Buf()
    if shape is None:
        return buf.u8(2).u8(0).u8(0).u8(2)
    has_max = maxshape is not None and tuple(maxshape) != tuple(shape)
    buf.u8(1).u8(len(shape)).u8(1 if has_max else 0).zeros(5)
    for n in shape:
        buf.u64(n)
    if has_max:
        assert maxshape is not None
        for m in maxshape:
            buf.u64(UNDEF if m is None else m)
    return buf


def fill_value(value: Buf | None, *, alloc_time: int, fill_time: int = 2) -> Buf:
    """Fill value message, version 2. ``alloc_time`` 1 early, 2 late, 3
    incremental; ``fill_time`` 0 on allocation, 1 never, 2 if set."""
    buf = Buf().u8(2).u8(alloc_time).u8(fill_time)
    if value is None:
        return buf.u8(0)
    buf.u8(1).u32(len(value))
    return buf.append(value)


def layout_chunked(btree: Hashable | None, chunks: Sequence[int], element_size: int) -> Buf:
    """Layout message version 3, chunked (v1 B-tree index); ``btree`` None when
    no chunk is allocated."""
    buf = Buf().u8(3).u8(2).u8(len(chunks) + 1)
    buf.addr(btree)
    for c in chunks:
        buf.u32(c)
    return buf.u32(element_size)


def layout_contiguous(data: Hashable | None, size: int) -> Buf:
    """Layout message version 3, contiguous; ``data`` None: not allocated."""
    buf = Buf().u8(3).u8(1)
    buf.addr(data)
    return buf.u64(size)


#: Names HDF5 writes for its built-in filters (a pipeline without them makes
#: HDF5 1.10's object copy, h5copy and h5repack, crash).
FILTER_NAMES = {1: b"deflate", 2: b"shuffle", 3: b"fletcher32", 4: b"szip", 5: b"nbit", 6: b"scaleoffset"}


def filter_pipeline(filters: Sequence[tuple[int, int, Sequence[int]]]) -> Buf:
    """Filter pipeline message version 1: ``(filter id, flags, client values)``."""
    buf = Buf().u8(1).u8(len(filters)).zeros(6)
    for fid, flags, values in filters:
        name = FILTER_NAMES.get(fid, b"")
        padded = len(name) + 1 + (-(len(name) + 1) % 8) if name else 0
        buf.u16(fid).u16(padded).u16(flags).u16(len(values))
        if name:
            buf.raw(name).zeros(padded - len(name))
        for v in values:
            buf.u32(v)
        if len(values) % 2:
            buf.u32(0)
    return buf


def attribute(name: str, dtype: Buf, space: Buf, data: Buf) -> Buf:
    """Attribute message version 1 (name, datatype and dataspace each padded to 8)."""
    raw = name.encode("utf-8", "surrogatepass") + b"\x00"
    buf = Buf().u8(1).u8(0).u16(len(raw)).u16(len(dtype)).u16(len(space))
    buf.raw(raw).pad(8)
    buf.append(dtype).pad(8)
    buf.append(space).pad(8)
    return buf.append(data)


def symbol_table_message(btree: Hashable, heap: Hashable) -> Buf:
    return Buf().addr(btree).addr(heap)


# ------------------------------------------------------------------ groups

LINK_HARD = 0
LINK_SOFT = 1
LINK_EXTERNAL = 64


def link_info(count: int, track_order: bool) -> Buf:
    """Link info message version 0 of a compact group (links kept as link messages
    in its header): creation order tracked (not indexed), no dense storage."""
    buf = Buf().u8(0).u8(1 if track_order else 0)
    if track_order:
        buf.u64(max(0, count - 1))
    return buf.u64(UNDEF).u64(UNDEF)


def group_info(count: int) -> Buf:
    """Group info message version 0, with a compact limit that holds every link."""
    return Buf().u8(0).u8(1).u16(min(0xFFFF, max(8, count))).u16(6)


def link_message(name: str, kind: int, order: int | None, *, target: Hashable | None = None,
                 value: bytes = b"") -> Buf:
    """Link message version 1: a hard link to ``target``'s header, a soft link to
    path ``value``, or an external link (``value``: the encoded file and path)."""
    raw = name.encode("utf-8", "surrogatepass")
    width = 0 if len(raw) < 0x100 else 1 if len(raw) < 0x10000 else 2
    flags = width | 0x08 | 0x10 | (0x04 if order is not None else 0)
    buf = Buf().u8(1).u8(flags).u8(kind)
    if order is not None:
        buf.u64(order)
    buf.u8(0 if raw.isascii() else 1)
    if width == 0:
        buf.u8(len(raw))
    elif width == 1:
        buf.u16(len(raw))
    else:
        buf.u32(len(raw))
    buf.raw(raw)
    if kind == LINK_HARD:
        buf.addr(target)
    else:
        buf.u16(len(value)).raw(value)
    return buf


def local_heap(self_key: Hashable, strings: Sequence[bytes]) -> tuple[Buf, list[int]]:
    """A local heap holding the empty string at offset 0 and ``strings`` (each
    NUL-terminated, padded to 8), its data segment right after its 32-byte
    header. Returns the heap and each string's offset."""
    data = bytearray(8)
    offsets = []
    for s in strings:
        offsets.append(len(data))
        data += s + b"\x00"
        data += bytes(-len(data) % 8)
    buf = Buf().raw(b"HEAP").u8(0).zeros(3).u64(len(data)).u64(1)  # 1: no free block
    buf.addr(self_key, 32)
    buf.raw(data)
    return buf, offsets


def symbol_entry(name_offset: int, header: Hashable | None, cache: int = CACHE_NONE,
                 btree: Hashable | None = None, heap: Hashable | None = None, link_offset: int = 0) -> Buf:
    """A 40-byte symbol table entry. Groups cache their B-tree and heap addresses;
    a soft link (no header) keeps the heap offset of its value."""
    buf = Buf().u64(name_offset).addr(header).u32(cache).u32(0)
    if cache == CACHE_STAB:
        buf.addr(btree).addr(heap)
    elif cache == CACHE_SOFT:
        buf.u32(link_offset).zeros(12)
    else:
        buf.zeros(16)
    return buf


def symbol_node(entries: Sequence[Buf]) -> Buf:
    """A symbol table node ("SNOD") of up to 2*GROUP_LEAF_K entries, padded to
    its full size."""
    assert len(entries) <= 2 * GROUP_LEAF_K
    buf = Buf().raw(b"SNOD").u8(1).u8(0).u16(len(entries))
    for e in entries:
        buf.append(e)
    return buf.zeros(SNOD_SIZE - len(buf))


def group_btree_node_size() -> int:
    return 24 + (2 * GROUP_NODE_K + 1) * 8 + 2 * GROUP_NODE_K * 8


def group_btree_node(level: int, keys: Sequence[int], children: Sequence[Hashable],
                     left: Hashable | None, right: Hashable | None) -> Buf:
    """A v1 B-tree node of type 0 (group): ``len(children)+1`` keys (local heap
    offsets of names), interleaved with child addresses, padded to full size."""
    assert len(keys) == len(children) + 1 and len(children) <= 2 * GROUP_NODE_K
    buf = Buf().raw(b"TREE").u8(0).u8(level).u16(len(children)).addr(left).addr(right)
    for key, child in zip(keys, children):
        buf.u64(key).addr(child)
    buf.u64(keys[-1])
    return buf.zeros(group_btree_node_size() - len(buf))


# ------------------------------------------------------------------ chunks

def chunk_key_size(rank: int) -> int:
    """A chunk B-tree key: chunk size (4), filter mask (4), rank+1 offsets (8)."""
    return 8 + 8 * (rank + 1)


def chunk_btree_node_size(rank: int) -> int:
    return 24 + (2 * CHUNK_K + 1) * chunk_key_size(rank) + 2 * CHUNK_K * 8
