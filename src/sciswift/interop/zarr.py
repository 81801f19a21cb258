"""``zarr_store(url)``: a zarr-python 3 Store over any sciswift location.

So that ``zarr.open_group(store=sciswift.zarr_store("swift://wind/run1.h5"))`` and
``xarray.open_zarr(sciswift.zarr_store(url))`` read (and write) what sciswift keeps,
and sciswift reads what zarr-python writes. zarr-python calls are async; the
sciswift Store is synchronous and thread-safe, so each call runs in a worker
thread (``asyncio.to_thread``) and many of zarr-python's concurrent requests are
in flight at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, Store, SuffixByteRequest
from zarr.core.buffer import Buffer, BufferPrototype

from sciswift.engine.kv import KV
from sciswift.errors import NotFound, RangeNotSatisfiable
from sciswift.store.types import ByteRange
from sciswift.store.url import Location, parse_location

__all__ = ["SciSwiftZarrStore", "zarr_store"]


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
        await asyncio.to_thread(self._kv.set, key, value.to_bytes())

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        self._check_writable()
        if not await self.exists(key):
            await self.set(key, value)

    async def delete(self, key: str) -> None:
        self._check_writable()
        await asyncio.to_thread(self._kv.delete, key)

    async def delete_dir(self, prefix: str) -> None:
        self._check_writable()
        prefix = prefix.rstrip("/")
        keys = await asyncio.to_thread(self._kv.list_prefix, prefix + "/" if prefix else "")
        await asyncio.to_thread(self._kv.delete_many, keys)

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
