"""The mount's store keeps a connection for every thread that may send a
request at once, so parallel reads never discard connections (urllib3's
"Connection pool is full" warning, and a new TCP connection for the next
request): counted over an emulated 50 ms link (``support.latency_proxy``)
in front of ``sciswift serve``, with native files' HDF5 views read at once
(the engine's I/O threads and the fetcher's together passed the 64
connections a SwiftStore kept by default)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import sciswift.h5py as sh5py
from sciswift.engine.kv import AHEAD_WORKERS, io_workers
from sciswift.mount.connections import pool_size
from sciswift.mount.namespace import HEAD_AHEAD
from sciswift.mount.reader import FETCH_WORKERS, FILL_STREAMS
from sciswift.mount.uploader import UPLOAD_WORKERS
from sciswift.store.swift.store import BULK_WORKERS, SEGMENT_WORKERS
from support.latency_proxy import LatencyProxy

from .conftest import Mounted, Served

FILES = 6


def test_pool_covers_every_thread_that_sends_requests() -> None:
    mount_threads = 8 + FETCH_WORKERS + FILL_STREAMS + 2 * UPLOAD_WORKERS + HEAD_AHEAD
    engine_threads = io_workers() + AHEAD_WORKERS
    assert pool_size("swift", 8) == mount_threads + engine_threads + BULK_WORKERS + SEGMENT_WORKERS


def _read_views_at_once(mount: Callable[..., Mounted], served: Served, monkeypatch: pytest.MonkeyPatch,
                        scheme: str) -> tuple[Mounted, int]:
    """Mount a container of ``FILES`` native files through a 50 ms link and
    read their HDF5 views at once: the mount, and the connections it opened."""
    for k, v in served.env.items():
        monkeypatch.setenv(k, v)
    container = f"p{uuid.uuid4().hex[:8]}"  # lower case: a valid S3 bucket name
    served.store().create_container(container)
    rng = np.random.default_rng(0)
    for i in range(FILES):
        # 16 KiB chunks: one 1 MiB read of the view asks for 64 chunk objects at once
        with sh5py.File(f"swift://{container}/n{i}.h5", "w") as f:
            f.create_dataset("x", data=rng.random((256, 1024)), chunks=(16, 128))
    port = int(served.server.url.rsplit(":", 1)[1])
    with LatencyProxy(("127.0.0.1", port), rtt=0.05) as link:
        if scheme == "s3":
            env = {"AWS_ACCESS_KEY_ID": "test:tester", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_ENDPOINT_URL": link.url, "AWS_DEFAULT_REGION": "us-east-1"}
        else:
            env = {**served.env, "ST_AUTH": f"{link.url}/auth/v1.0"}
        m = mount(f"{scheme}://{container}", "--threads", "8", env=env)
        before = link.connections
        sizes: dict[str, int] = {}

        def read(path: Path) -> None:
            with open(path, "rb") as f:
                sizes[path.name] = sum(len(block) for block in iter(lambda: f.read(1 << 20), b""))

        readers = [threading.Thread(target=read, args=(m.path / f"n{i}.h5",)) for i in range(FILES)]
        for t in readers:
            t.start()
        for t in readers:
            t.join()
        opened = link.connections - before
        result = m.umount()
        assert result.returncode == 0, result.stderr
    assert len(sizes) == FILES and min(sizes.values()) > 256 * 1024 * 8  # each view read whole
    return m, opened


def test_parallel_reads_of_native_views_discard_no_connection(
        mount: Callable[..., Mounted], served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """SwiftStore: 12-13 discards and 73-74 new connections before (64 kept),
    none and 66 now."""
    m, opened = _read_views_at_once(mount, served, monkeypatch, "swift")
    assert "Connection pool is full" not in m.log, [line for line in m.log.splitlines() if "pool" in line][:3]
    # a connection per request in flight at most: none opened again after a discard
    assert opened <= pool_size("swift", 8), opened


def test_parallel_reads_over_s3_do_not_wait_for_a_connection(
        mount: Callable[..., Mounted], served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3Store waits for a free connection instead (``block=True``): with 32
    kept, at most 31-32 requests were in flight (the same reads 5.2-6.0 s,
    3.5-3.8 s now)."""
    _, opened = _read_views_at_once(mount, served, monkeypatch, "s3")
    assert 32 < opened <= pool_size("s3", 8), opened
