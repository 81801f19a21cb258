"""One HDF5-style file in the native layout: a Zarr v3 hierarchy under a Location.

Opening a file costs one request: the root ``zarr.json`` carries consolidated
metadata (every node's ``zarr.json``, zarr-python's inline format), so the whole
tree is known without listing. Changes to metadata (new groups and arrays,
attributes, resizes) are kept in memory and written at ``flush``/``close``, as
HDF5 keeps its metadata cache: each changed node's own ``zarr.json`` (what other
Zarr readers use) and then the root with the consolidated view.

Several processes may change one file at once: ``flush`` merges this process's
changes into the latest consolidated view and writes the root with a
compare-and-swap on its ETag, retrying on conflict, so no process's new nodes are
lost. Chunk data is written straight away by ``Array``.

A hierarchy written by another tool without consolidated metadata is read lazily
(listing the store) and gets consolidated metadata on its first flush.

On remote stores, small arrays are packed (``engine.packing``): their chunks go
into shared pack objects or the metadata, and their documents (and those of
groups holding only such arrays) into the root's ``_sciswift_packed`` attribute,
so a file of a thousand tiny datasets is a handful of objects.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import wait
from typing import Any

from sciswift.engine import zarr2
from sciswift.engine.array import Array, ChunkCache
from sciswift.engine.kv import KV
from sciswift.engine.metadata import (
    ArrayMeta,
    ParsedMemo,
    chunk_key_encoder,
    dump_json,
    group_json,
    parse_json,
)
from sciswift.engine.packing import (
    PACK_MAX_CHUNK,
    PACK_MIN_ARRAYS,
    PACKED_ATTR,
    PACKS_DIR,
    PackTable,
    hidden_nodes,
    packed_attribute,
    split_root,
)
from sciswift.engine.schema import CheckedMemo, check_node
from sciswift.errors import (
    AlreadyExists,
    Conflict,
    CorruptData,
    InvalidInput,
    NotFound,
    NotSupported,
    PreconditionFailed,
    SciSwiftError,
)
from sciswift.store.types import CREATE, IfMatch
from sciswift.store.url import Location

__all__ = ["Hierarchy", "MODES", "join", "parent_of", "META_KEY", "use_packed"]

MODES = ("r", "r+", "w", "w-", "x", "a")
META_KEY = "zarr.json"
_ASK = object()  # see Hierarchy._known_root


def join(parent: str, name: str) -> str:
    """Node path of ``name`` under ``parent`` ("" is the root)."""
    return f"{parent}/{name}" if parent else name


#: How many small sibling arrays one remote read fetches ahead (see
#: Hierarchy.prefetch_small_siblings).
PREFETCH_SIBLINGS = 64


def parent_of(path: str) -> str:
    return path.rpartition("/")[0]


def _meta_key(path: str) -> str:
    return f"{path}/{META_KEY}" if path else META_KEY


class Hierarchy:
    """The tree of one file. Paths are "" (root) or "a/b" (no leading slash)."""

    def __init__(self, location: Location, mode: str = "r", *, cache_bytes: int = 64 << 20,
                 pack_small: bool | None = None, root: bytes | None = None) -> None:
        """``root``: the bytes of the root ``zarr.json`` if the caller has fetched
        them already (then opening costs no request)."""
        if mode not in MODES:
            raise ValueError(f"Invalid mode; must be one of r, r+, w, w-, x, a (got {mode!r})")
        self.location = location
        self.kv = KV(location)
        self.mode = mode
        self.writable = mode != "r"
        self.cache = ChunkCache(cache_bytes)
        self._lock = threading.RLock()
        self._nodes: dict[str, dict[str, Any] | None] = {}
        #: Nodes whose document was checked against the layout (engine.schema):
        #: each is checked when first used, so damage in one leaves the rest
        #: of the file readable.
        self._checked: set[str] = set()
        #: Array documents checked and parsed, by template (``engine.packing``):
        #: a file's many small arrays share theirs (see check_node, ArrayMeta.from_json).
        self._checked_memo: CheckedMemo = {}
        self._parsed_memo: ParsedMemo = {}
        self._children: dict[str, list[str]] = {}
        self._complete = False
        self._changed: set[str] = set()
        self._deleted: set[str] = set()
        self._arrays: dict[str, Array] = {}
        self._prefetched: set[str] = set()  # arrays whose chunk was fetched ahead
        #: What each Array calls before a remote read of its single small chunk
        #: (one bound method for all: a file may list thousands of arrays).
        self._prefetch = self.prefetch_small_siblings
        #: Pack new small arrays (engine.packing): by default on remote stores,
        #: unless SCISWIFT_PACK_SMALL=0.
        if pack_small is None:
            pack_small = os.environ.get("SCISWIFT_PACK_SMALL", "1") not in ("0", "no", "false")
        self.pack_small = pack_small and not self.kv.local
        self._packed: set[str] = set()  # paths of packed arrays
        self._candidates: dict[str, str] = {}  # new small arrays, not decided yet: path -> chunk key
        self.kv.before_flush = self._decide_packing
        self._hidden: set[str] = set()  # nodes whose documents are only in the root (as last read/written)
        self.closed = False
        #: 3, or 2 for a Zarr v2 hierarchy written by another tool (read-only).
        self.zarr_format = 3
        #: The root document as this writer last knew it in the store, for the
        #: next compare-and-swap of the root (``_write_root``): None when it is
        #: known to be absent, ``(bytes, ETag)`` after our own write, ``_ASK``
        #: when the store must be asked. Used once, then asked again: a stale
        #: guess only costs the failed write and the GET it saved.
        self._known_root: tuple[bytes, str] | None | object = _ASK
        self._container_exists: bool | None = None
        self._open(mode, root)

    # ------------------------------------------------------------------ open
    def _open(self, mode: str, raw: bytes | None) -> None:
        # One request when the file exists: the root document (a missing container
        # answers 404 too, so it need not be asked about first).
        root = self._fetch_root(raw, creating=mode not in ("r", "r+"))
        display = self.location.display
        if self.zarr_format == 2 and mode != "r":
            raise NotSupported(
                f"{display!r} is a Zarr v2 hierarchy, which sciswift only reads; open it with mode 'r' "
                "or convert it with `sciswift import`",
                display,
            )
        if mode in ("r", "r+"):
            if root is None:
                raise NotFound(f"Unable to open file {display!r}: no such file in the store", display)
        elif mode in ("w-", "x"):
            if root is not None:
                raise AlreadyExists(f"Unable to create file {display!r}: file exists", display)
        if mode == "w" and root is not None:
            self._truncate()
            root = None
        if root is None and mode != "r" and mode != "r+":
            if not self._container_exists:
                self.kv.ensure_container()
            self._nodes = {"": group_json()}
            self._children = {"": []}
            self._complete = True
            self._changed.add("")
            self.flush()

    def _fetch_root(self, raw: bytes | None = None, creating: bool = False) -> dict[str, Any] | None:
        """The root document (None if there is none). ``creating``: a mode that
        creates the file when missing, so the listing below is likely needed and
        is sent beside the GET of the root (one round trip for both)."""
        listing = self.kv.submit(self.kv.prefix_occupied) if raw is None and creating else None
        if raw is None:
            try:
                raw = self.kv.get(META_KEY)
            finally:
                if listing is not None and not listing.done():
                    wait([listing])  # never left running past this call
        if raw is None:
            # No root document: a new file (nothing under its prefix, or no
            # container), or a Zarr v2 hierarchy. One listing of one name tells
            # which; a new file then costs no more requests until its root is
            # created (was: a HEAD of the container and four GETs of Zarr v2
            # documents, in turn, then a PUT of the container and a GET of the
            # root before writing it: 9 round trips to create a file, now 3).
            occupied = listing.result() if listing is not None else self.kv.prefix_occupied()
            self._container_exists = occupied is not None
            root = self._fetch_v2_root() if occupied else None
            if root is None:
                self._known_root = None
            return root
        self._container_exists = True
        doc = parse_json(raw, self.kv.describe(META_KEY))
        self._load_root(doc)
        return doc

    def _fetch_v2_root(self) -> dict[str, Any] | None:
        nodes = zarr2.load_consolidated(self.kv)
        if nodes is not None and "" in nodes:
            self.zarr_format = 2
            self._nodes = dict(nodes)
            self._complete = True
            self._reindex()
            return self._nodes[""]
        root = zarr2.load_node(self.kv, "")
        if root is None:
            return None
        self.zarr_format = 2
        self._nodes = {"": root}
        self._complete = False
        return root

    def _load_root(self, doc: dict[str, Any]) -> None:
        cons = doc.pop("consolidated_metadata", None)
        hidden, table = split_root(doc, self.kv.describe(META_KEY))
        self._nodes = {"": doc}
        self._checked = set()
        self._checked_memo = {}
        self._parsed_memo = {}
        self._children = {}
        if isinstance(cons, dict) and isinstance(cons.get("metadata"), dict):
            what = self.kv.describe(META_KEY)
            for path, meta in cons["metadata"].items():
                if not path or path != path.strip("/") or "//" in path:
                    raise CorruptData(f"metadata {what} is malformed: consolidated metadata names a node {path!r}",
                                      what)
                if not isinstance(meta, dict) or meta.get("node_type") not in ("group", "array"):
                    raise CorruptData(f"metadata {what} is malformed: the consolidated entry for /{path} is not a "
                                      "Zarr group or array document", what)
                meta = dict(meta)
                meta.pop("consolidated_metadata", None)
                self._nodes[path] = meta
            self._nodes.update(hidden)
            self._complete = True
            self._reindex()
        else:
            self._complete = False
        self._adopt_packed(hidden, table)

    def _adopt_packed(self, hidden: dict[str, dict[str, Any]], table: PackTable) -> None:
        """Take the packed arrays among ``hidden`` and the chunk table as this
        file's (after reading or merging the root)."""
        self._hidden = set(hidden)
        packed = {p for p, d in hidden.items() if d.get("node_type") == "array"}
        _register_packed(self.kv, {p: hidden[p] for p in packed - self._packed}, table)
        self._packed |= packed

    def _single_chunk_key(self, path: str, doc: dict[str, Any]) -> str:
        return _single_chunk_key(self.kv, path, doc)

    def _reindex(self) -> None:
        children: dict[str, list[str]] = {}
        for path, doc in self._nodes.items():
            if doc is None:
                continue
            if doc.get("node_type") == "group":
                children.setdefault(path, [])
            if path:
                children.setdefault(parent_of(path), []).append(path.rpartition("/")[2])
        self._children = children

    def _truncate(self) -> None:
        self._candidates.clear()
        prefix = ""
        self.kv.delete_many(self.kv.list_prefix(prefix))
        self.cache.clear()
        self.kv.unpack_keys([k for k in self.kv.packs.refs])
        self.kv.attach_packs(PackTable(), fresh=True)
        self._packed.clear()
        self._hidden.clear()

    # ----------------------------------------------------------------- reads
    def get(self, path: str) -> dict[str, Any] | None:
        """The ``zarr.json`` document of the node at ``path``, None if there is none.
        CorruptData if it is not a document of the layout (engine.schema)."""
        with self._lock:
            if path in self._nodes:
                doc = self._nodes[path]
            elif self._complete:
                return None
            elif self.zarr_format == 2:
                doc = self._nodes[path] = zarr2.load_node(self.kv, path)
            else:
                raw = self.kv.get(_meta_key(path))
                doc = parse_json(raw, self.kv.describe(_meta_key(path))) if raw is not None else None
                self._nodes[path] = doc
            if doc is not None and path not in self._checked:
                check_node(doc, self._describe(path), self._checked_memo)
                self._checked.add(path)
            return doc

    def _describe(self, path: str) -> str:
        """The document of the node at ``path`` for messages: its object, or its
        entry in the root's consolidated metadata."""
        if path and self._complete and self.zarr_format == 3:
            return f"{self.kv.describe(META_KEY)} (consolidated entry /{path})"
        return self.kv.describe(_meta_key(path))

    def kind(self, path: str) -> str | None:
        """"group", "array" or None."""
        doc = self.get(path)
        return None if doc is None else doc["node_type"]

    def children(self, path: str) -> list[str]:
        """Names of the nodes directly under the group at ``path`` (sorted by UTF-8)."""
        with self._lock:
            if path in self._children:
                return sorted(self._children[path], key=lambda s: s.encode("utf-8", "surrogatepass"))
            if self._complete:
                return []
            _, dirs = self.kv.list_dir(f"{path}/" if path else "")
            names = [d for d in dirs if self.get(join(path, d)) is not None]
            self._children[path] = names
            return sorted(names, key=lambda s: s.encode("utf-8", "surrogatepass"))

    def walk(self, path: str = "") -> Iterator[str]:
        """Every node path under ``path`` (excluded), parents before children."""
        for name in self.children(path):
            child = join(path, name)
            yield child
            if self.kind(child) == "group":
                yield from self.walk(child)

    def array(self, path: str) -> Array:
        """The Array at ``path`` (one object per path, shared by all callers)."""
        with self._lock:
            arr = self._arrays.get(path)
            if arr is not None:
                return arr
            doc = self.get(path)
            if doc is None or doc["node_type"] != "array":
                raise NotFound(f"no array at /{path} in {self.location.display}", path)
            meta = ArrayMeta.from_json(doc, f"{self.location.display}:/{path}", self._parsed_memo)
            arr = Array(self.kv, path, meta, self.cache, self._prefetch)
            self._arrays[path] = arr
            return arr

    def prefetch_small_siblings(self, arr: Array) -> None:
        """When ``arr``'s single small chunk is about to be read from a remote
        store, start fetching, in the background, those of the next
        ``PREFETCH_SIBLINGS`` small single-chunk arrays of its group (in name
        order, not fetched ahead yet): a file of many tiny datasets (H5Boss-like)
        is then read in a few concurrent batches instead of one request after the
        other. The read of ``arr`` itself never waits for them: it is sent at
        once, as if nothing were fetched ahead. At most ``PREFETCH_SIBLINGS`` x
        64 KiB are fetched ahead per call; what is never read costs that transfer
        only. Packed arrays are left out (their packs are read ahead instead)."""
        parent = parent_of(arr.path)
        with self._lock:
            if arr.path in self._prefetched or arr.path in self._packed:
                return
            self._prefetched.add(arr.path)
            names = sorted(
                p for p, doc in self._nodes.items()
                if p and doc is not None and doc.get("node_type") == "array" and parent_of(p) == parent
                and p > arr.path and p not in self._prefetched and p not in self._packed
            )
        keys: list[str] = []
        for path in names:
            if len(keys) >= PREFETCH_SIBLINGS:
                break
            try:
                sibling = self.array(path)
            except (NotFound, SciSwiftError):
                continue
            if not sibling.is_small_single_chunk:
                continue
            key = sibling.chunk_key((0,) * len(sibling.shape))
            with self._lock:
                self._prefetched.add(path)
            if self.cache.get(key) is None:
                keys.append(key)
        if keys:
            self.kv.prefetch_later(keys)

    def reload_array(self, path: str) -> None:
        """Read the array's ``zarr.json`` again from the store (a reader following a
        writer in another process, as HDF5's SWMR ``refresh``): its shape and
        attributes are replaced and its cached chunks dropped. Nothing happens for
        a writable hierarchy (it holds the newest metadata) or when the array's
        document is gone (the old view stays)."""
        with self._lock:
            if self.writable or self.closed:
                return
            if path in self._packed:
                # A packed array's document and chunk are in the root.
                raw = self.kv.get(META_KEY)
                if raw is None:
                    return
                root = parse_json(raw, self.kv.describe(META_KEY))
                root.pop("consolidated_metadata", None)
                hidden, table = split_root(root, self.kv.describe(META_KEY))
                found = hidden.get(path)
                if found is None:
                    return
                self._adopt_packed(hidden, table)
                doc = check_node(found, self.kv.describe(META_KEY))
            else:
                raw = self.kv.get(_meta_key(path))
                if raw is None:
                    return
                doc = check_node(parse_json(raw, self.kv.describe(_meta_key(path))), self.kv.describe(_meta_key(path)))
            if doc.get("node_type") != "array":
                return
            meta = ArrayMeta.from_json(doc, f"{self.location.display}:/{path}")
            self._nodes[path] = doc
            arr = self._arrays.get(path)
            if arr is not None:
                arr.meta.shape = meta.shape
                arr.meta.attributes = meta.attributes
                arr.meta.doc = doc
            self.cache.discard_prefix(path + "/")
            # Where its chunks were found too: a writer may have replaced them.
            self.kv.forget_hints(path + "/" if path else "")

    # ---------------------------------------------------------------- writes
    def _check_writable(self) -> None:
        if self.closed:
            raise ValueError("file is closed")
        if not self.writable:
            raise ValueError(f"file {self.location.display!r} is open read-only")

    def _set(self, path: str, doc: dict[str, Any]) -> None:
        new = self._nodes.get(path) is None
        self._nodes[path] = doc
        self._checked.add(path)  # made here
        self._changed.add(path)
        self._deleted.discard(path)
        if new and path:
            parent = parent_of(path)
            siblings = self._children.setdefault(parent, [])
            name = path.rpartition("/")[2]
            if name not in siblings:
                siblings.append(name)
        if doc["node_type"] == "group":
            self._children.setdefault(path, [])

    def create_group(self, path: str, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
        """Add a group (its parent must exist). AlreadyExists if the name is taken."""
        with self._lock:
            self._check_writable()
            self._check_new(path)
            doc = group_json(attributes)
            self._set(path, doc)
            return doc

    def create_array(self, path: str, meta: ArrayMeta, *, packable: bool = True) -> Array:
        """Add an array described by ``meta``. AlreadyExists if the name is taken.

        On a remote store a small array (one chunk holds it, at most
        ``PACK_MAX_CHUNK`` bytes) is packed (``engine.packing``) unless
        ``packable`` is False (the caller says it may grow: a resizable dataset)."""
        with self._lock:
            self._check_writable()
            self._check_new(path)
            self._set(path, meta.to_json())
            meta.doc = self._nodes[path]  # type: ignore[assignment]
            arr = Array(self.kv, path, meta, self.cache, self._prefetch)
            if packable and self.pack_small and _packs(arr):
                key = arr.chunk_key((0,) * len(arr.shape))
                self._candidates[path] = key
                self.kv.hold_keys([key])
            self._arrays[path] = arr
            return arr

    def _decide_packing(self) -> None:
        """Before chunks are written out: the new small arrays are packed if there
        are ``PACK_MIN_ARRAYS`` of them, or the file has packed arrays already;
        otherwise they become ordinary arrays (and stay so)."""
        with self._lock:
            if not self._candidates:
                return
            chosen, self._candidates = self._candidates, {}
            if len(chosen) >= PACK_MIN_ARRAYS or self._packed:
                self._packed.update(chosen)
                self.kv.pack_keys(chosen.values())
            else:
                self.kv.unpack_keys(chosen.values())

    def is_packed(self, path: str) -> bool:
        """The array at ``path`` is packed (its chunk is in a pack or the metadata;
        decided for new arrays at the next flush)."""
        return path in self._packed

    def _check_new(self, path: str) -> None:
        if not path:
            raise AlreadyExists("the root group always exists", "/")
        if self.get(path) is not None:
            raise AlreadyExists(f"Unable to create /{path}: name already exists", path)
        parent = parent_of(path)
        if self.kind(parent) != "group":
            raise NotFound(f"Unable to create /{path}: parent group /{parent} does not exist", path)

    def set_attributes(self, path: str, attributes: dict[str, Any]) -> None:
        """Replace the attributes of the node at ``path``."""
        with self._lock:
            self._check_writable()
            doc = self.get(path)
            if doc is None:
                raise NotFound(f"no node at /{path}", path)
            doc = dict(doc)
            doc["attributes"] = attributes
            self._nodes[path] = doc
            self._changed.add(path)
            arr = self._arrays.get(path)
            if arr is not None:
                arr.meta.attributes = attributes
                arr.meta.doc = doc

    def update_array(self, path: str) -> None:
        """Record that the Array at ``path`` changed its metadata (shape, attributes)."""
        with self._lock:
            self._check_writable()
            arr = self._arrays[path]
            doc = arr.meta.to_json()
            arr.meta.doc = doc
            self._nodes[path] = doc
            self._changed.add(path)

    def resize(self, path: str, shape: tuple[int, ...]) -> None:
        with self._lock:
            self._check_writable()
            self.array(path).resize(shape)
            self.update_array(path)

    def delete(self, path: str) -> None:
        """Remove the node at ``path`` and everything under it, data included."""
        with self._lock:
            self._check_writable()
            if not path:
                raise InvalidInput("cannot delete the root group", "/")
            if self.get(path) is None:
                raise NotFound(f"no node at /{path}", path)
            doomed = [path, *self.walk(path)] if self.kind(path) == "group" else [path]
            self.kv.discard_pending(path + "/")
            keys = set(self.kv.list_prefix(path + "/"))
            # Hidden nodes (engine.packing) have no document of their own to delete.
            keys.update(_meta_key(p) for p in doomed if p not in self._hidden and p not in self._packed)
            self.kv.delete_many(sorted(keys))
            self.cache.discard_prefix(path + "/")
            for p in doomed:
                if p in self._candidates:
                    self.kv.unpack_keys([self._candidates.pop(p)])
                if p in self._packed:
                    self._packed.discard(p)
                    self.kv.unpack_keys([self._single_chunk_key(p, self._nodes[p])])  # type: ignore[arg-type]
                self._nodes[p] = None
                self._children.pop(p, None)
                self._arrays.pop(p, None)
                self._changed.discard(p)
                self._deleted.add(p)
            siblings = self._children.get(parent_of(path), [])
            name = path.rpartition("/")[2]
            if name in siblings:
                siblings.remove(name)

    def move(self, src: str, dst: str) -> None:
        """Rename a node (and its subtree). Objects are copied, then the source removed."""
        with self._lock:
            self._check_writable()
            if self.get(src) is None:
                raise NotFound(f"no node at /{src}", src)
            if dst == src or dst.startswith(src + "/"):
                raise InvalidInput(f"cannot move /{src} into itself", src)
            self._check_new(dst)
            subtree = [src, *self.walk(src)] if self.kind(src) == "group" else [src]
            docs = {p: self._nodes[p] for p in subtree}
            for p in subtree:
                moved = dst + p[len(src):]
                if p in self._packed:
                    self._packed.add(moved)
                    self.kv.pack_keys([self._single_chunk_key(moved, docs[p])])  # type: ignore[arg-type]
                elif p in self._candidates:
                    key = self._single_chunk_key(moved, docs[p])  # type: ignore[arg-type]
                    self._candidates[moved] = key
                    self.kv.hold_keys([key])
            for key in self.kv.list_prefix(src + "/"):
                if key.endswith("/" + "zarr.json") and key[: -len("/zarr.json")] in docs:
                    continue
                self.kv.copy(key, dst + key[len(src):])
            for p, doc in docs.items():
                self._set(dst + p[len(src):], dict(doc))  # type: ignore[arg-type]
            self.delete(src)

    # ----------------------------------------------------------------- flush
    def _load_everything(self) -> None:
        for path in list(self.walk("")):
            self.get(path)
        self._complete = True

    def flush(self) -> None:
        """Write changed metadata: each node's zarr.json, then the consolidated root."""
        with self._lock:
            if self.writable:
                # Chunks first: metadata a reader sees never runs ahead of the data.
                self._decide_packing()
                self.kv.flush()
            if not self.writable or (not self._changed and not self._deleted and not self.kv.packs.changed):
                return
            if not self._complete:
                self._load_everything()
            changed = {p: self._nodes[p] for p in self._changed if self._nodes.get(p) is not None}
            self._write_root(changed, set(self._deleted))
            self._changed.clear()
            self._deleted.clear()

    def _write_root(self, changed: dict[str, Any], deleted: set[str]) -> None:
        """Write the changed nodes' own documents and then the root (consolidated
        metadata, and the packed part: ``engine.packing``), merged with what other
        writers stored meanwhile where the store checks conditional writes
        (atomically, or just before the write as on real Swift: without the merge
        there, a writer that opened the file before another closed it replaced
        that writer's groups and datasets with its own view)."""
        concurrent = self.kv.merges_writers
        written: set[str] = set()
        for _ in range(100):
            if concurrent:
                known, self._known_root = self._known_root, _ASK
                if known is _ASK:
                    got = self.kv.get_with_etag(META_KEY)
                else:
                    got = known  # type: ignore[assignment]
                etag = got[1] if got else None
                if got is not None:
                    latest = parse_json(got[0], self.kv.describe(META_KEY))
                    cons = (latest.pop("consolidated_metadata", None) or {}).get("metadata") or {}
                    their_hidden, their_table = split_root(latest, self.kv.describe(META_KEY))
                    merged: dict[str, Any] = {"": latest, **cons, **their_hidden}
                    packed = self._packed | {p for p, d in their_hidden.items() if d.get("node_type") == "array"}
                    table = self.kv.packs.merged_into(their_table)
                    was_hidden = set(their_hidden)
                else:
                    merged, packed, table, was_hidden = {}, set(self._packed), self.kv.packs, set()
                for p in deleted:
                    for q in [q for q in merged if q == p or q.startswith(p + "/")]:
                        del merged[q]
                merged.update(changed)
                if "" not in merged:
                    merged[""] = self._nodes[""]
            else:
                etag = None
                merged = {p: d for p, d in self._nodes.items() if d is not None}
                packed, table, was_hidden = set(self._packed), self.kv.packs, self._hidden
            hidden = hidden_nodes(merged, packed & set(merged))
            # Own documents: of the visible nodes that changed, or that were hidden
            # until now (a group that got an ordinary member).
            own = {_meta_key(p): dump_json(d) for p, d in merged.items()
                   if p and p not in hidden and (p in changed or p in was_hidden) and _meta_key(p) not in written}
            if own:
                self.kv.set_many(own)
                written.update(own)
            root = dict(merged[""])
            if hidden or table.refs:
                root["attributes"] = {**(root.get("attributes") or {}),
                                      PACKED_ATTR: packed_attribute({p: merged[p] for p in hidden}, table)}
            root["consolidated_metadata"] = {
                "kind": "inline",
                "must_understand": False,
                "metadata": {p: d for p, d in sorted(merged.items()) if p and p not in hidden},
            }
            data = dump_json(root)
            try:
                if concurrent:
                    info = self.kv.set(META_KEY, data, mode=CREATE if etag is None else IfMatch(etag),
                                       content_type="application/json")
                    if info.etag:
                        self._known_root = (data, info.etag)
                else:
                    self.kv.set(META_KEY, data, content_type="application/json")
            except (PreconditionFailed, AlreadyExists):
                continue
            # Others' nodes become visible to us too.
            for p, d in merged.items():
                if p not in self._nodes or self._nodes[p] is None and p not in deleted:
                    self._nodes[p] = d
            self._reindex()
            self._adopt_packed({p: merged[p] for p in hidden}, table)
            table.written()
            dead = self.kv.take_dead_packs()
            if dead:
                # No chunk in them any more, and the root just written names none.
                self.kv.delete_many([PACKS_DIR + p for p in sorted(dead)])
            return
        raise Conflict(
            f"could not update the metadata of {self.location.display}: other writers kept changing it "
            "(retry the close or flush)", self.location.display,
        )

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                self.flush()
            finally:
                self.closed = True
                self.cache.clear()
                self._arrays.clear()


def _packs(arr: Array) -> bool:
    """``arr`` is small enough to pack: one chunk holds it whole, at most
    ``PACK_MAX_CHUNK`` bytes decoded."""
    return arr.pipeline_chunk_bytes <= PACK_MAX_CHUNK and all(
        s <= c for s, c in zip(arr.shape, arr.chunks, strict=False))


def _single_chunk_key(kv: KV, path: str, doc: dict[str, Any]) -> str:
    """The key of the one chunk of the (packed) array at ``path``: what
    ``Array.chunk_key`` makes of grid position 0, from the document alone
    (opening a file of a thousand packed arrays builds no Array for it)."""
    kind, sep = chunk_key_encoder(doc)
    shape = doc.get("shape")
    if not isinstance(shape, list):
        raise CorruptData(f"array /{path} in {kv.location.display} has no shape", path)
    zeros = ["0"] * len(shape)
    base = f"{path}/" if path else ""
    if kind == "default":
        return base + "c" + (sep + sep.join(zeros) if zeros else "")
    return base + (sep.join(zeros) if zeros else "0")


def _register_packed(kv: KV, arrays: dict[str, dict[str, Any]], table: PackTable) -> None:
    keys = []
    for path, doc in arrays.items():
        try:
            keys.append(_single_chunk_key(kv, path, doc))
        except SciSwiftError:
            continue  # an unreadable document fails where the array is opened
    kv.pack_keys(keys)
    kv.attach_packs(table)


def use_packed(kv: KV, root: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For readers of a file's root document other than Hierarchy (the HDF5
    view): take the packed part off ``root`` (in place), make ``kv`` read the
    packed chunks, and return the hidden nodes' documents (path -> doc)."""
    hidden, table = split_root(root, kv.describe(META_KEY))
    _register_packed(kv, {p: d for p, d in hidden.items() if d.get("node_type") == "array"}, table)
    return hidden
