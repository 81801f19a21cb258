"""How many HTTP connections the mount's store keeps: one per thread that may
send a request at once.

SwiftStore and S3Store keep ``pool_size`` keep-alive connections. A SwiftStore
thread that finds none idle opens one more (``block=False``), and when it is
done finds the pool full and closes it (urllib3's "Connection pool is full,
discarding connection" warning): the next request pays a new TCP (and TLS)
handshake. An S3Store thread waits for one instead (``block=True``).

The mount's threads that send requests: FUSE's workers, the fetcher's
(``reader.FETCH_WORKERS``) and a fill's streams (``reader.FILL_STREAMS``), the
uploader's two pools (``uploader.UPLOAD_WORKERS``), the namespace's HEADs ahead
of a listing (``namespace.HEAD_AHEAD``), the engine's I/O and read-ahead pools
reading native files for their HDF5 view (``engine.kv.io_workers``,
``AHEAD_WORKERS``), and the store's own bulk and segment pools. With the
default 64 connections, four native files' HDF5 views read at once over a
50 ms link discarded connections (6 warnings, 67 new connections for 64 at
most in use: ``tests/mount/test_connections.py``). A connection is only opened
when a request finds none idle, so a larger pool opens no more of them than the
mount ever uses at once; it only stops closing them.
"""

from __future__ import annotations

from sciswift.engine.kv import AHEAD_WORKERS, io_workers
from sciswift.mount.namespace import HEAD_AHEAD
from sciswift.mount.reader import FETCH_WORKERS, FILL_STREAMS
from sciswift.mount.uploader import UPLOAD_WORKERS

__all__ = ["pool_size"]


def pool_size(scheme: str, fuse_threads: int) -> int:
    """Connections for a mount of a ``scheme`` (``swift``, ``s3``) store
    served by ``fuse_threads`` FUSE workers: every thread that may use the
    store at once, the store's own pools included."""
    if scheme == "s3":
        from sciswift.store.s3.store import BULK_WORKERS, PART_WORKERS

        own = BULK_WORKERS + PART_WORKERS
    else:
        from sciswift.store.swift.store import BULK_WORKERS, SEGMENT_WORKERS

        own = BULK_WORKERS + SEGMENT_WORKERS
    mount = max(1, fuse_threads) + FETCH_WORKERS + FILL_STREAMS + 2 * UPLOAD_WORKERS + HEAD_AHEAD
    return mount + io_workers() + AHEAD_WORKERS + own
