"""``zarr_store(url)``: a zarr-python 3 Store over any sciswift location.

So that ``zarr.open_group(store=sciswift.zarr_store("swift://wind/run1.h5"))`` and
``xarray.open_zarr(sciswift.zarr_store(url))`` read (and write) what sciswift keeps,
and sciswift reads what zarr-python writes. zarr-python calls are async; the
sciswift Store is synchronous and thread-safe, so each call runs in a worker
thread (``asyncio.to_thread``) and many of zarr-python's concurrent requests are
in flight at once.

A sciswift file's root ``zarr.json`` carries the consolidated metadata of every
node, and sciswift opens a file from it alone (one request). zarr-python writes
a new or changed node's own ``zarr.json`` only, so each such write (and each
delete of a node) through this Store is also merged into the root's consolidated
metadata, with a compare-and-swap on the root's ETag where the store offers it
(retried on conflict, as sciswift's own writers do): arrays that dask's
``da.to_zarr(store, component=...)`` or ``zarr.create_array`` add to an existing
file are then seen by ``sciswift.h5py``, ``engine="sciswift"`` and the data API.
A root without consolidated metadata (a hierarchy zarr-python made) is left as
it is.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterable
from typing import Any

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, Store, SuffixByteRequest
from zarr.core.buffer import Buffer, BufferPrototype

from sciswift.engine.kv import KV
from sciswift.engine.metadata import dump_json, parse_json
from sciswift.errors import (
    AlreadyExists,
    Conflict,
    CorruptData,
    NotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
)
from sciswift.store.types import OVERWRITE, ByteRange, IfMatch
from sciswift.store.url import Location, parse_location

__all__ = ["SciSwiftZarrStore", "zarr_store"]

#: The root group's document, which holds the consolidated metadata.
_ROOT = "zarr.json"
_NODE_SUFFIX = "/zarr.json"


def _byte_range(req: ByteRequest | None) -> ByteRange | None:
    if req is None:
        return None
    if isinstance(req, RangeByteRequest):
        return ByteRange(req.start, req.end)
    if isinstance(req, OffsetByteRequest):
        return ByteRange(req.offset)
    if isinstance(req, SuffixByteRequest):
        return ByteRange.last(req.suffix)
    raise TypeError(f"unexpected byte request {req!r}")


class SciSwiftZarrStore(Store):
    """A zarr-python Store whose keys are objects under a sciswift Location."""

    supports_writes = True
    supports_deletes = True
    supports_listing = True
    supports_partial_writes = False

    def __init__(self, location: Location, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self.location = location
        self._kv = KV(location)
        # Serialises this process's root updates (the CAS covers other writers,
        # and stores without conditional puts).
        self._root_lock = threading.Lock()

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SciSwiftZarrStore)
            and other.location.store is self.location.store
            and other.location.container == self.location.container
            and other.location.prefix == self.location.prefix
        )

    def __repr__(self) -> str:
        return f"SciSwiftZarrStore({self.location.display!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # By address (the Location pickles its store by address): dask sends zarr
        # arrays over this store to worker processes.
        return _reopen, (self.location, self.read_only)

    def with_read_only(self, read_only: bool = False) -> SciSwiftZarrStore:
        return SciSwiftZarrStore(self.location, read_only=read_only)

    async def _open(self) -> None:
        if not self.read_only:
            await asyncio.to_thread(self._kv.ensure_container)
        self._is_open = True

    # ------------------------------------------------------------------ reads
    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        try:
            return self._kv.get(key, _byte_range(byte_range))
        except RangeNotSatisfiable:
            return b""

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        data = await asyncio.to_thread(self._get, key, byte_range)
        return None if data is None else prototype.buffer.from_bytes(data)

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Buffer | None]:
        return list(await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges)))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(lambda: self._kv.head(key) is not None)

    async def getsize(self, key: str) -> int:
        info = await asyncio.to_thread(self._kv.head, key)
        if info is None:
            raise FileNotFoundError(key)
        return info.size

    # ----------------------------------------------------------------- writes
    @property
    def supports_consolidated_metadata(self) -> bool:
        return True

    async def set(self, key: str, value: Buffer) -> None:
        self._check_writable()
        data = value.to_bytes()
        if key == _ROOT:
            await asyncio.to_thread(self._set_root, data)
            return
        await asyncio.to_thread(self._kv.set, key, data)
        if key.endswith(_NODE_SUFFIX):
            await asyncio.to_thread(self._consolidate, key[:-len(_NODE_SUFFIX)], data)

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        self._check_writable()
        if not await self.exists(key):
            await self.set(key, value)

    async def delete(self, key: str) -> None:
        self._check_writable()
        await asyncio.to_thread(self._kv.delete, key)
        if key.endswith(_NODE_SUFFIX):
            await asyncio.to_thread(self._consolidate, key[:-len(_NODE_SUFFIX)], None)

    async def delete_dir(self, prefix: str) -> None:
        self._check_writable()
        prefix = prefix.rstrip("/")
        keys = await asyncio.to_thread(self._kv.list_prefix, prefix + "/" if prefix else "")
        await asyncio.to_thread(self._kv.delete_many, keys)
        if prefix:
            await asyncio.to_thread(self._consolidate, prefix, None)

    def _set_root(self, data: bytes) -> None:
        """Store the root document zarr-python wrote. zarr-python writes the
        consolidated metadata it loaded when it opened the group (an attribute
        change or a deletion rewrites it), so the nodes this Store merged into
        the stored root since are kept: its entries replace or join the new
        document's (a node zarr-python deleted is gone from both)."""
        with self._root_lock:
            for _ in range(100):
                got = self._kv.get_with_etag(_ROOT)
                out = data
                if got is not None:
                    try:
                        new, old = parse_json(data, "zarr.json"), parse_json(got[0], self._kv.describe(_ROOT))
                    except CorruptData:
                        new = old = {}
                    theirs = (new.get("consolidated_metadata") or {}).get("metadata")
                    ours = (old.get("consolidated_metadata") or {}).get("metadata")
                    if isinstance(theirs, dict) and isinstance(ours, dict) and any(
                            theirs.get(p) != d for p, d in ours.items()):
                        # The stored entries win: nodes written through this Store
                        # (and sciswift's writers) keep them current.
                        new["consolidated_metadata"]["metadata"] = dict(sorted({**theirs, **ours}.items()))
                        out = dump_json(new)
                mode = IfMatch(got[1]) if got is not None and self._kv.concurrent_writes else OVERWRITE
                try:
                    self._kv.set(_ROOT, out, mode=mode, content_type="application/json")
                    return
                except (PreconditionFailed, AlreadyExists):
                    continue
        raise Conflict(f"could not write the root metadata of {self.location.display}: other writers kept "
                       "changing it", self.location.display)

    def _consolidate(self, path: str, doc: bytes | None) -> None:
        """Make the root's consolidated metadata say what node ``path`` now is:
        ``doc`` (its new document), or gone with everything below it (None).
        Nothing to do when the root has no consolidated metadata or already
        says so. Conflict if other writers keep changing the root."""
        node = None if doc is None else parse_json(doc, self._kv.describe(path + _NODE_SUFFIX))
        if node is not None:
            node.pop("consolidated_metadata", None)
        with self._root_lock:
            for _ in range(100):
                got = self._kv.get_with_etag(_ROOT)
                if got is None:
                    return
                try:
                    root = parse_json(got[0], self._kv.describe(_ROOT))
                except CorruptData:
                    return  # sciswift reports a damaged root when it opens the file
                cons = root.get("consolidated_metadata")
                if not isinstance(cons, dict) or not isinstance(cons.get("metadata"), dict):
                    return
                meta: dict[str, Any] = cons["metadata"]
                if node is None:
                    gone = [p for p in meta if p == path or p.startswith(path + "/")]
                    if not gone:
                        return
                    for p in gone:
                        del meta[p]
                elif meta.get(path) == node:
                    return
                else:
                    meta[path] = node
                    cons["metadata"] = dict(sorted(meta.items()))
                mode = IfMatch(got[1]) if self._kv.concurrent_writes else OVERWRITE
                try:
                    self._kv.set(_ROOT, dump_json(root), mode=mode, content_type="application/json")
                    return
                except (PreconditionFailed, AlreadyExists):
                    continue
        raise Conflict(f"could not update the consolidated metadata of {self.location.display} for /{path}: "
                       "other writers kept changing it", self.location.display)

    # --------------------------------------------------------------- listings
    async def list(self) -> AsyncIterator[str]:
        for key in await asyncio.to_thread(self._kv.list_prefix, ""):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for key in await asyncio.to_thread(self._kv.list_prefix, prefix):
            yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        prefix = prefix.rstrip("/")
        try:
            keys, dirs = await asyncio.to_thread(self._kv.list_dir, prefix + "/" if prefix else "")
        except NotFound:
            return
        for name in sorted([*keys, *dirs]):
            yield name


def _reopen(location: Location, read_only: bool) -> SciSwiftZarrStore:
    return SciSwiftZarrStore(location, read_only=read_only)


def zarr_store(url: str, *, read_only: bool = False, **options: Any) -> SciSwiftZarrStore:
    """A zarr-python 3 Store over the sciswift URL or path ``url`` (``swift://``,
    ``file://``, ``memory://`` or a plain path), for zarr-python and xarray."""
    return SciSwiftZarrStore(parse_location(url, **options), read_only=read_only)
