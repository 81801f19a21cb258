"""Object stores: one interface (``Store``), several backends.

- ``LocalStore``: a directory on disk (the embedded default).
- ``MemoryStore``: a dict, for tests.
- ``SwiftStore``: any OpenStack Swift API endpoint.
- ``S3Store``: any S3 endpoint (``sciswift serve``'s S3 API, Swift's s3api, Ceph RGW, AWS).

``parse_location(url)`` and ``open_store(url)`` turn URLs and paths into stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sciswift.store.base import BytesReader, ObjectReader, PutData, Store
from sciswift.store.large import SegmentRef, content_etag, content_size, is_large_object, segments_container
from sciswift.store.memory import MemoryStore
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
    ReadHints,
    Subdir,
)
from sciswift.store.url import Location, open_store, parse_location

if TYPE_CHECKING:
    from sciswift.store.local import LocalStore
    from sciswift.store.s3 import S3Store
    from sciswift.store.swift import SwiftStore

__all__ = [
    "Store",
    "ObjectReader",
    "BytesReader",
    "PutData",
    "MemoryStore",
    "LocalStore",
    "SwiftStore",
    "S3Store",
    "AccountInfo",
    "ByteRange",
    "ContainerInfo",
    "ListingParams",
    "ObjectInfo",
    "ReadHints",
    "Subdir",
    "PutMode",
    "OVERWRITE",
    "CREATE",
    "IfMatch",
    "SegmentRef",
    "is_large_object",
    "content_size",
    "content_etag",
    "segments_container",
    "Location",
    "open_store",
    "parse_location",
]


def __getattr__(name: str) -> Any:
    # The disk and network backends import more; load them when first named.
    if name == "LocalStore":
        from sciswift.store.local import LocalStore

        return LocalStore
    if name == "SwiftStore":
        from sciswift.store.swift import SwiftStore

        return SwiftStore
    if name == "S3Store":
        from sciswift.store.s3 import S3Store

        return S3Store
    raise AttributeError(name)
