"""Small arrays packed together: where their chunks live, and how that is recorded.

On a remote store every object costs a request (a real Swift cluster: 5-20 ms per
PUT), so a file of a thousand tiny datasets would cost two thousand objects. An
array whose one chunk holds it whole and is at most ``PACK_MAX_CHUNK`` bytes
decoded, and that cannot be resized, is therefore *packed* there when the file is
one of many such arrays (``PACK_MIN_ARRAYS`` new ones before a flush, or packed
ones already):

- its stored chunk goes into a *pack*, one object ``.sciswift-packs/<id>`` holding
  the chunks of many such arrays back to back (about ``PACK_TARGET`` bytes each),
  or, if the stored chunk is at most ``INLINE_MAX`` bytes, into the metadata
  itself (inlined);
- its ``zarr.json`` is not written as an object of its own, and neither is that of
  a group all of whose members are packed (*hidden* nodes); their documents live in
  the root ``zarr.json``, beside the chunk table, under the root attribute
  ``_sciswift_packed``.

Other Zarr readers therefore do not see packed arrays (rather than seeing them
with the wrong data): consolidated metadata and the per-node documents list only
ordinary nodes, whose chunks stay ordinary objects. The format of the attribute
is in docs/layout.md ("Packed small arrays").

``PackTable`` is the in-memory form of the chunk table; ``KV`` consults it for
every chunk key of a packed array, and ``Hierarchy`` reads and writes it with the
root document.
"""

from __future__ import annotations

import base64
import builtins
import json
import lzma
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sciswift.errors import CorruptData

__all__ = [
    "PACKED_ATTR", "PACKS_DIR", "INLINE_MAX", "EMBED_MAX", "EMBED_BUDGET", "PACK_MAX_CHUNK", "PACK_MIN_ARRAYS",
    "PACK_TARGET",
    "Ref", "PackTable", "hidden_nodes", "split_root", "new_pack_id",
]

#: Root attribute holding hidden nodes and the chunk table.
PACKED_ATTR = "_sciswift_packed"
#: Key prefix (relative to the file) of the pack objects.
PACKS_DIR = ".sciswift-packs/"
#: Stored chunks up to this many bytes are kept in the metadata itself.
INLINE_MAX = 256
#: Larger packed chunks are inlined too while all the inlined chunks of the file
#: total at most this many bytes...
EMBED_MAX = 256 << 10
#: ... and compress (xz, as the table is stored) to at most this many bytes. The
#: root is what an open waits for, and a TCP connection's first round trip
#: carries ~14 KB: 100 datasets of 100 float64 values (80 KB; 5.7 KB compressed)
#: then come with the root, and reading one costs no request of its own (the
#: ranged GET of its pack took 5-6 ms on the Swift all-in-one, one round trip
#: elsewhere), while the root of incompressible data is never pushed into more
#: round trips than the one GET it saves.
EMBED_BUDGET = 8 << 10
#: Arrays whose single chunk is at most this big (decoded) are packed.
PACK_MAX_CHUNK = 64 << 10
#: Small arrays are packed once a file gets at least this many new ones before a
#: flush (or already has packed ones): a file of a few small arrays (coordinates
#: of a netCDF-like file) stays ordinary Zarr throughout.
PACK_MIN_ARRAYS = 100
#: A pack object is closed once it holds this many bytes.
PACK_TARGET = 1 << 20
#: Format version of the ``_sciswift_packed`` attribute: 1 is the table itself,
#: 2 the same table compressed (``COMPRESS_OVER``), 3 compressed with the inlined
#: chunks as raw bytes after it (they compress 2-3x better than as base64).
VERSION = 3
#: A table whose JSON is longer than this is stored compressed (version 2): xz
#: (preset 1) in base85. The root is what an open waits for, and a TCP
#: connection's first round trip carries ~14 KB (10 segments): 1,000 small
#: arrays' table is 97 KB of JSON, 5 KB so (3.5 ms to compress, 0.4 ms to
#: expand), so the root comes in one round trip instead of four (50 ms RTT:
#: open + list 1,000 datasets 302 -> 150 ms, docs/benchmarks.md). zlib gets 13 KB.
COMPRESS_OVER = 8 << 10
#: The most a compressed table may expand to (a million packed arrays' table is
#: ~100 MB): a crafted root cannot make a reader allocate without bound.
EXPANDED_MAX = 1 << 30


def new_pack_id() -> str:
    """A fresh pack name: unique across writers, so packs are never overwritten."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Ref:
    """Where one packed chunk is: ``length`` bytes at ``offset`` of pack ``pack``,
    or, for an inlined chunk, ``data`` itself (``pack`` None)."""

    pack: str | None
    offset: int
    length: int
    data: bytes | None = None


class PackTable:
    """Chunk key -> Ref for the packed chunks of one file, and which of them
    changed since the table was last written (for merging with other writers)."""

    def __init__(self) -> None:
        self.refs: dict[str, Ref] = {}
        #: Keys set or removed since the last ``written()``.
        self.changed: set[str] = set()
        #: Bytes of the inlined chunks.
        self.inline_bytes = 0
        #: What the inlined chunks compress to, at most (None: not worked out yet).
        self._inline_cost: int | None = None

    def __len__(self) -> int:
        return len(self.refs)

    def get(self, key: str) -> Ref | None:
        return self.refs.get(key)

    def set(self, key: str, ref: Ref) -> None:
        self._count(self.refs.get(key), -1)
        self.refs[key] = ref
        self._count(ref, 1)
        self.changed.add(key)

    def remove(self, key: str) -> bool:
        self.changed.add(key)
        old = self.refs.pop(key, None)
        self._count(old, -1)
        return old is not None

    def _inlined(self) -> list[bytes]:
        """The bytes of every inlined chunk."""
        return [r.data for r in self.refs.values() if r.data is not None]

    def _count(self, ref: Ref | None, sign: int) -> None:
        if ref is not None and ref.data is not None:
            self.inline_bytes += sign * len(ref.data)

    def can_embed(self, chunks: Iterable[bytes]) -> bool:
        """Whether the stored ``chunks`` (of packed arrays, about to be written)
        may all be inlined: the file's inlined chunks then stay within
        ``EMBED_MAX`` bytes and compress to at most ``EMBED_BUDGET``. If so, their
        cost is counted from now on. Chunks they replace still count (an upper
        bound, worked out again when the table is next read)."""
        chunks = list(chunks)
        raw = sum(len(c) for c in chunks)
        if not raw or self.inline_bytes + raw > EMBED_MAX:
            return False
        if self._inline_cost is None:
            self._inline_cost = _compressed_size(self._inlined())
        cost = self._inline_cost + _compressed_size(chunks)
        if cost > EMBED_BUDGET:
            return False
        self._inline_cost = cost
        return True

    def keys_under(self, prefix: str) -> list[str]:
        return [k for k in self.refs if k.startswith(prefix)]

    def packs(self) -> builtins.set[str]:
        """The packs some chunk still lives in."""
        return {r.pack for r in self.refs.values() if r.pack is not None}

    def pack_order(self) -> list[str]:
        """Packs in the order their chunks were written (for reading ahead)."""
        seen: dict[str, None] = {}
        for r in self.refs.values():
            if r.pack is not None:
                seen.setdefault(r.pack, None)
        return list(seen)

    def written(self) -> None:
        self.changed.clear()

    def merged_into(self, latest: PackTable) -> PackTable:
        """``latest`` (another writer's newer table) with this table's changes on top."""
        out = PackTable()
        out.refs = dict(latest.refs)
        for key in self.changed:
            ref = self.refs.get(key)
            if ref is None:
                out.refs.pop(key, None)
            else:
                out.refs[key] = ref
        out.inline_bytes = sum(map(len, out._inlined()))
        return out

    # ----------------------------------------------------------- JSON form
    def to_json(self, blob: bytearray | None = None) -> dict[str, Any]:
        """``{"packs": [...], "chunks": {key: [pack index, offset, length] | "base64"}}``.
        With ``blob``, inlined chunks are appended to it instead of written in
        base64, and named ``[-1, offset, length]`` (version 3)."""
        order = self.pack_order()
        index = {p: i for i, p in enumerate(order)}
        chunks: dict[str, Any] = {}
        for key in sorted(self.refs):
            ref = self.refs[key]
            if ref.pack is not None:
                chunks[key] = [index[ref.pack], ref.offset, ref.length]
            elif blob is not None:
                chunks[key] = [-1, len(blob), len(ref.data or b"")]
                blob += ref.data or b""
            else:
                chunks[key] = base64.b64encode(ref.data or b"").decode("ascii")
        return {"packs": order, "chunks": chunks}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], what: str, blob: bytes = b"") -> PackTable:
        """The table of ``doc`` (``to_json``'s form); ``blob``: the inlined chunks'
        bytes of a version-3 table."""
        table = cls()
        refs = table.refs
        try:
            packs = [str(p) for p in doc.get("packs") or []]
            for key, entry in (doc.get("chunks") or {}).items():
                if isinstance(entry, str):
                    data = base64.b64decode(entry.encode("ascii"), validate=True)
                    refs[str(key)] = Ref(None, 0, len(data), data)
                    continue
                i, offset, length = (int(v) for v in entry)
                if offset < 0 or length < 0:
                    raise ValueError(f"chunk {key!r} at {offset} of length {length}")
                if i == -1:
                    if offset + length > len(blob):
                        raise ValueError(f"chunk {key!r} ends past the inlined bytes")
                    data = blob[offset:offset + length]
                    refs[str(key)] = Ref(None, 0, length, data)
                elif 0 <= i < len(packs):
                    refs[str(key)] = Ref(packs[i], offset, length)
                else:
                    raise IndexError(f"chunk {key!r} names pack {i} of {len(packs)}")
        except (ValueError, TypeError, IndexError, KeyError) as e:
            raise CorruptData(f"{what}: the packed-chunk table in {PACKED_ATTR} is unreadable ({e})", what) from None
        table.inline_bytes = sum(map(len, table._inlined()))
        return table


def _compressed_size(parts: list[bytes]) -> int:
    """What ``parts`` compress to back to back, as a table is stored."""
    if not parts:
        return 0
    return len(lzma.compress(b"".join(parts), format=lzma.FORMAT_XZ, preset=1))


def split_root(root: dict[str, Any], what: str) -> tuple[dict[str, dict[str, Any]], PackTable]:
    """Take the ``_sciswift_packed`` attribute off the root document ``root`` (in
    place) and return the hidden nodes' documents (path -> doc) and the chunk
    table it holds (both empty for a file without packed arrays)."""
    attrs = root.get("attributes")
    if not isinstance(attrs, dict) or PACKED_ATTR not in attrs:
        return {}, PackTable()
    ext = attrs.pop(PACKED_ATTR)
    if not isinstance(ext, dict) or not isinstance(ext.get("nodes", {}), dict):
        raise CorruptData(f"{what}: root attribute {PACKED_ATTR} is not a packed-node table", what)
    if int(ext.get("version", VERSION)) > VERSION:
        raise CorruptData(f"{what}: {PACKED_ATTR} has version {ext.get('version')}, newer than this "
                          f"sciswift understands ({VERSION}); upgrade sciswift", what)
    blob = b""
    if "xz" in ext:
        ext, blob = _expand(ext["xz"], what)
    templates = ext.get("templates") or []
    nodes: dict[str, dict[str, Any]] = {}
    try:
        for path, entry in (ext.get("nodes") or {}).items():
            if isinstance(entry, list):
                index, attributes = entry
                nodes[str(path)] = {**templates[int(index)], "attributes": dict(attributes)}
            elif isinstance(entry, dict):
                nodes[str(path)] = dict(entry)
    except (ValueError, TypeError, IndexError) as e:
        raise CorruptData(f"{what}: a node of {PACKED_ATTR} is unreadable ({e})", what) from None
    return nodes, PackTable.from_json(ext, what, blob)


def packed_attribute(nodes: Mapping[str, dict[str, Any]], table: PackTable) -> dict[str, Any]:
    """The ``_sciswift_packed`` attribute value for hidden ``nodes`` and ``table``.

    Documents are stored as ``[template, attributes]``: the many small arrays of
    one file mostly share everything but their attributes, and a root a quarter
    the size is read and parsed a quarter as long (1,000 arrays: 410 -> ~100 KB)."""
    templates: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    out: dict[str, Any] = {}
    for path in sorted(nodes):
        doc = nodes[path]
        rest = {k: v for k, v in doc.items() if k != "attributes"}
        shape = json.dumps(rest, sort_keys=True, allow_nan=False)
        index = seen.get(shape)
        if index is None:
            index = seen[shape] = len(templates)
            templates.append(rest)
        out[path] = [index, doc.get("attributes") or {}]
    blob = bytearray()
    table_json = table.to_json(blob)
    plain = {"version": 1, "templates": templates, "nodes": out, **table_json}
    text = json.dumps(plain, separators=(",", ":"), allow_nan=False).encode()
    if len(text) + len(blob) * 4 // 3 <= COMPRESS_OVER:
        return {**plain, **table.to_json()}  # small: readable as it stands (base64 inline)
    version = 2
    if blob:
        # JSON never holds a NUL (json.dumps escapes control characters): the
        # table ends at the first one, the inlined chunks follow.
        text, version = text + b"\0" + blob, 3
    packed = base64.b85encode(lzma.compress(text, format=lzma.FORMAT_XZ, preset=1)).decode("ascii")
    return {"version": version, "xz": packed}


def _expand(packed: object, what: str) -> tuple[dict[str, Any], bytes]:
    """The version-1 table a version-2 or -3 attribute's ``xz`` member holds,
    and the inlined chunks' bytes after it (version 3; empty otherwise)."""
    try:
        if not isinstance(packed, str):
            raise TypeError("not a string")
        expander = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        text = expander.decompress(base64.b85decode(packed.encode("ascii")), max_length=EXPANDED_MAX)
        if not expander.eof:  # cut short, or a bomb: not a table this writer made
            raise ValueError(f"truncated, or over {EXPANDED_MAX >> 20} MiB expanded")
        text, _, blob = text.partition(b"\0")
        doc = json.loads(text)
    except (ValueError, TypeError, lzma.LZMAError) as e:  # UnicodeError is a ValueError
        raise CorruptData(f"{what}: the compressed table in {PACKED_ATTR} is unreadable ({e})", what) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes", {}), dict):
        raise CorruptData(f"{what}: the compressed table in {PACKED_ATTR} is not a packed-node table", what)
    return doc, blob


def hidden_nodes(nodes: Mapping[str, dict[str, Any] | None], packed: Iterable[str]) -> set[str]:
    """The paths whose documents are kept only in the root: the packed arrays
    among ``nodes``, and every group (not the root) with at least one member,
    all of whose members are hidden."""
    packed_set = {p for p in packed if nodes.get(p) is not None}
    children: dict[str, list[str]] = {}
    for path, doc in nodes.items():
        if path and doc is not None:
            children.setdefault(path.rpartition("/")[0], []).append(path)
    hidden: set[str] = set()

    def visit(path: str) -> bool:
        doc = nodes.get(path)
        if doc is None:
            return False
        if doc.get("node_type") == "array":
            is_hidden = path in packed_set
        else:
            kids = children.get(path, [])
            results = [visit(k) for k in kids]
            is_hidden = bool(kids) and all(results) and path != ""
        if is_hidden:
            hidden.add(path)
        return is_hidden

    visit("")
    return hidden


def pack_chunks(items: Iterable[tuple[str, bytes]], *,
                embed: bool = False) -> Iterator[tuple[str | None, bytes, dict[str, Ref]]]:
    """Group stored chunks into inlined refs (pack None) and packs of about
    ``PACK_TARGET`` bytes: yields ``(pack id, pack bytes, refs)``. ``embed``:
    inline them all (``PackTable.can_embed`` said so)."""
    inline: dict[str, Ref] = {}
    refs: dict[str, Ref] = {}
    parts: list[bytes] = []
    size = 0
    pack = new_pack_id()
    for key, data in items:
        data = bytes(data)
        if embed or len(data) <= INLINE_MAX:
            inline[key] = Ref(None, 0, len(data), data)
            continue
        refs[key] = Ref(pack, size, len(data))
        parts.append(data)
        size += len(data)
        if size >= PACK_TARGET:
            yield pack, b"".join(parts), refs
            refs, parts, size, pack = {}, [], 0, new_pack_id()
    if refs:
        yield pack, b"".join(parts), refs
    if inline:
        yield None, b"", inline
