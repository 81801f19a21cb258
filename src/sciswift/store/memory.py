"""MemoryStore: a Store held in a Python dict, for tests and scratch data.

It is the reference model of the Store contracts: small, obviously correct, and
thread-safe through one lock. Everything is lost when the process exits.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sciswift.errors import (
    AlreadyExists,
    ChecksumMismatch,
    ContainerNotEmpty,
    NotFound,
    PreconditionFailed,
)
from sciswift.store.base import BytesReader, ObjectReader, PutData, Store, iter_chunks
from sciswift.store.listing import apply_listing, utf8_key
from sciswift.store.metarules import lower_keys, merge_metadata, replaced_metadata
from sciswift.store.names import check_container_name, check_object_name
from sciswift.store.types import (
    CREATE,
    OVERWRITE,
    AccountInfo,
    ByteRange,
    ContainerInfo,
    IfMatch,
    ListingParams,
    ObjectInfo,
    PutMode,
    Subdir,
)

__all__ = ["MemoryStore"]


@dataclass
class _Container:
    timestamp: float
    metadata: dict[str, str] = field(default_factory=dict)
    system: dict[str, str] = field(default_factory=dict)
    objects: dict[str, tuple[ObjectInfo, bytes]] = field(default_factory=dict)


class MemoryStore(Store):
    """A Store in memory. ``MemoryStore.named(name)`` returns one shared per process,
    which is what ``memory://`` URLs open."""

    listing_metadata = True
    keeps_links = True

    _registry: dict[str, MemoryStore] = {}
    _registry_lock = threading.Lock()

    def __init__(self, name: str = "") -> None:
        self.url = f"memory://{name}" if name else "memory://"
        self._lock = threading.RLock()
        self._containers: dict[str, _Container] = {}
        self._meta: dict[str, str] = {}
        self._system: dict[str, str] = {}
        self._timestamp = time.time()

    def __reduce__(self) -> tuple[Any, ...]:
        # Its objects live in this process: a copy elsewhere would be an empty
        # store of the same name, silently.
        raise TypeError(
            f"cannot pickle the MemoryStore {self.url}: its objects live in this process's memory, and "
            "another process (a dask worker, multiprocessing) would see an empty store. Use a LocalStore "
            "path, file:// or swift:// for data shared between processes, or a threaded scheduler"
        )

    def __copy__(self) -> MemoryStore:
        return self  # one store, as the process-wide named ones are

    def __deepcopy__(self, memo: dict[int, Any]) -> MemoryStore:
        return self

    @classmethod
    def named(cls, name: str = "") -> MemoryStore:
        """The process-wide MemoryStore called ``name`` (created on first use)."""
        with cls._registry_lock:
            store = cls._registry.get(name)
            if store is None:
                store = cls._registry[name] = cls(name)
            return store

    # ---------------------------------------------------------------- account
    def account_info(self) -> AccountInfo:
        with self._lock:
            objects = sum(len(c.objects) for c in self._containers.values())
            used = sum(i.size for c in self._containers.values() for i, _ in c.objects.values())
            return AccountInfo(
                container_count=len(self._containers),
                object_count=objects,
                bytes_used=used,
                timestamp=self._timestamp,
                metadata=dict(self._meta),
                system=dict(self._system),
            )

    def post_account(
        self, metadata: Mapping[str, str] | None = None, system: Mapping[str, str] | None = None
    ) -> None:
        with self._lock:
            merge_metadata(self._meta, metadata)
            merge_metadata(self._system, system)

    def list_containers(self, params: ListingParams = ListingParams()) -> list[ContainerInfo | Subdir]:
        with self._lock:
            names = sorted(self._containers, key=utf8_key, reverse=params.reverse)
            infos = [self._info(n) for n in names]
        return apply_listing(infos, lambda c: c.name, params)

    # -------------------------------------------------------------- container
    def _get(self, container: str) -> _Container:
        check_container_name(container)
        try:
            return self._containers[container]
        except KeyError:
            raise NotFound(f"container {container!r} does not exist", container) from None

    def _info(self, container: str) -> ContainerInfo:
        c = self._containers[container]
        return ContainerInfo(
            name=container,
            object_count=len(c.objects),
            bytes_used=sum(i.size for i, _ in c.objects.values()),
            timestamp=c.timestamp,
            metadata=dict(c.metadata),
            system=dict(c.system),
        )

    def create_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> bool:
        check_container_name(container)
        with self._lock:
            c = self._containers.get(container)
            created = c is None
            if c is None:
                c = self._containers[container] = _Container(timestamp=time.time())
            merge_metadata(c.metadata, metadata)
            merge_metadata(c.system, system)
            return created

    def delete_container(self, container: str) -> None:
        with self._lock:
            c = self._get(container)
            if c.objects:
                raise ContainerNotEmpty(
                    f"container {container!r} holds {len(c.objects)} objects", container
                )
            del self._containers[container]

    def head_container(self, container: str) -> ContainerInfo:
        with self._lock:
            self._get(container)
            return self._info(container)

    def post_container(
        self,
        container: str,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
    ) -> None:
        with self._lock:
            c = self._get(container)
            merge_metadata(c.metadata, metadata)
            merge_metadata(c.system, system)

    def list_objects(
        self, container: str, params: ListingParams = ListingParams()
    ) -> list[ObjectInfo | Subdir]:
        with self._lock:
            c = self._get(container)
            names = sorted(c.objects, key=utf8_key, reverse=params.reverse)
            infos = [c.objects[n][0] for n in names]
        return apply_listing(infos, lambda i: i.name, params)

    # ----------------------------------------------------------------- object
    def _entry(self, container: str, name: str) -> tuple[ObjectInfo, bytes]:
        check_object_name(name)
        c = self._get(container)
        try:
            return c.objects[name]
        except KeyError:
            raise NotFound(f"object {container}/{name} does not exist", f"{container}/{name}") from None

    def head_object(self, container: str, name: str) -> ObjectInfo:
        with self._lock:
            return self._entry(container, name)[0]

    def open_object(
        self, container: str, name: str, byte_range: ByteRange | None = None, *, need_etag: bool = True
    ) -> ObjectReader:
        with self._lock:
            info, data = self._entry(container, name)
        start, stop = (byte_range or ByteRange()).resolve(info.size)
        return BytesReader(info, data, start, stop)

    def put_object(
        self,
        container: str,
        name: str,
        data: PutData,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        system: Mapping[str, str] | None = None,
        mode: PutMode = OVERWRITE,
        etag: str | None = None,
    ) -> ObjectInfo:
        check_container_name(container)
        check_object_name(name)
        body = b"".join(iter_chunks(data))
        digest = hashlib.md5(body).hexdigest()
        if etag is not None and etag.strip('"').lower() != digest:
            raise ChecksumMismatch(
                f"body of {container}/{name} has MD5 {digest}, not {etag}", f"{container}/{name}"
            )
        info = ObjectInfo(
            name=name,
            size=len(body),
            etag=digest,
            timestamp=time.time(),
            content_type=content_type or "application/octet-stream",
            metadata=lower_keys(metadata),
            system=lower_keys(system),
        )
        with self._lock:
            c = self._get(container)
            self._check_mode(c, container, name, mode)
            c.objects[name] = (info, body)
        return info

    @staticmethod
    def _check_mode(c: _Container, container: str, name: str, mode: PutMode) -> None:
        current = c.objects.get(name)
        if mode == CREATE and current is not None:
            raise AlreadyExists(f"object {container}/{name} already exists", f"{container}/{name}")
        if isinstance(mode, IfMatch) and (current is None or current[0].etag != mode.etag.strip('"')):
            raise PreconditionFailed(
                f"object {container}/{name} does not have ETag {mode.etag}", f"{container}/{name}"
            )

    def delete_object(self, container: str, name: str) -> None:
        with self._lock:
            self._entry(container, name)
            del self._containers[container].objects[name]

    def post_object(
        self,
        container: str,
        name: str,
        *,
        metadata: Mapping[str, str],
        content_type: str | None = None,
        system: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        with self._lock:
            info, body = self._entry(container, name)
            sysmeta = dict(info.system)
            merge_metadata(sysmeta, system)
            new = replace(
                info,
                timestamp=time.time(),
                content_type=content_type or info.content_type,
                metadata=replaced_metadata(metadata),
                system=sysmeta,
            )
            self._containers[container].objects[name] = (new, body)
            return new
