"""RangedFile: a seekable file over an object, fetched by byte ranges."""

from __future__ import annotations

import io
import os
import threading

import pytest
from fmt_helpers import CONTAINER, RemoteLikeStore

from sciswift.errors import PreconditionFailed
from sciswift.formats.ranged import RangedFile, TransferStats
from sciswift.store import MemoryStore

DATA = os.urandom(1 << 20)  # 1 MiB


@pytest.fixture
def rf(store: MemoryStore) -> RangedFile:
    store.put_object(CONTAINER, "blob", DATA)
    return RangedFile(store, CONTAINER, "blob")


def test_reads_like_a_file(rf: RangedFile) -> None:
    ref = io.BytesIO(DATA)
    for whence, offset, size in [(0, 0, 10), (1, 100, 5000), (2, -300, 1000), (0, 70000, 1), (1, -1, 2)]:
        assert rf.seek(offset, whence) == ref.seek(offset, whence)
        assert rf.read(size) == ref.read(size)
        assert rf.tell() == ref.tell()
    rf.seek(len(DATA) + 10)
    assert rf.read(5) == b""
    buf = bytearray(300)
    rf.seek(12345)
    assert rf.readinto(buf) == 300 and bytes(buf) == DATA[12345:12645]
    rf.seek(len(DATA) - 7)
    assert rf.read() == DATA[-7:]
    with pytest.raises(ValueError):
        rf.seek(-1)
    assert rf.seekable() and rf.readable() and not rf.writable()


def test_small_reads_share_one_fetch(rf: RangedFile) -> None:
    rf.stats.reset()
    for off in range(0, 60000, 3000):  # scattered, all inside the first 64 KiB
        rf.seek(off)
        assert rf.read(100) == DATA[off : off + 100]
    assert rf.stats.requests == 1
    assert rf.stats.bytes_fetched == rf.min_fetch
    assert rf.stats.cache_hits == 19


def test_sequential_reads_grow_readahead(rf: RangedFile) -> None:
    rf.stats.reset()
    rf.seek(0)
    while rf.read(2880):  # astropy reads FITS headers like this
        pass
    # 1 MiB in doubling windows (64K, 128K, 256K, 512K ...): a handful of requests.
    assert rf.stats.requests <= 6
    assert rf.stats.bytes_fetched == len(DATA)


def test_random_reads_do_not_read_ahead(rf: RangedFile) -> None:
    rf.stats.reset()
    for off in (500_000, 100_000, 900_000, 300_000):
        rf.seek(off)
        rf.read(10)
    assert rf.stats.requests == 4
    assert rf.stats.bytes_fetched == 4 * rf.min_fetch


def test_footer_read_takes_the_tail_once(rf: RangedFile) -> None:
    rf.stats.reset()
    rf.seek(-8, os.SEEK_END)  # Parquet: length + magic, then the footer before it
    assert rf.read(8) == DATA[-8:]
    rf.seek(-5000, os.SEEK_END)
    assert rf.read(4992) == DATA[-5000:-8]
    assert rf.stats.requests == 1


def test_large_reads_bypass_the_cache(rf: RangedFile) -> None:
    rf.direct_threshold = 256 * 1024
    rf.stats.reset()
    for _ in range(2):
        rf.seek(10)
        assert rf.read(300_000) == DATA[10:300_010]
    # Exactly what was asked, twice: nothing of it was kept.
    assert (rf.stats.requests, rf.stats.bytes_fetched) == (2, 600_000)
    assert rf._cache.total == 0


def test_cache_is_bounded(store: MemoryStore) -> None:
    store.put_object(CONTAINER, "blob", DATA)
    rf = RangedFile(store, CONTAINER, "blob", cache_bytes=128 * 1024, min_fetch=64 * 1024)
    for off in range(0, len(DATA), 64 * 1024):
        rf.seek(off)
        rf.read(1)
    assert rf._cache.total <= 128 * 1024
    rf.stats.reset()
    rf.seek(0)
    rf.read(1)  # evicted long ago
    assert rf.stats.requests == 1


def test_fetch_coalesces_near_spans(store: MemoryStore) -> None:
    store.put_object(CONTAINER, "blob", DATA)
    rf = RangedFile(store, CONTAINER, "blob", coalesce_gap=1000)
    spans = [(5000, 5100), (100, 200), (5500, 5600), (900_000, 900_010)]
    assert rf.fetch(spans) == [DATA[a:b] for a, b in spans]
    assert rf.stats.requests == 1 + 3  # HEAD, then 100-200 | 5000-5600 | 900000


def test_fetch_runs_concurrently_for_remote_stores() -> None:
    store = RemoteLikeStore()
    store.create_container(CONTAINER)
    store.put_object(CONTAINER, "blob", DATA)
    rf = RangedFile(store, CONTAINER, "blob")
    assert rf.coalesce_gap == 256 * 1024
    spans = [(i * 300_000, i * 300_000 + 10) for i in range(3)]
    assert rf.fetch(spans) == [DATA[a:b] for a, b in spans]
    assert rf.stats.requests == 1 + 3  # HEAD, then three GETs (gaps > 256 KiB)


def test_prefetch_then_reads_hit_the_cache(rf: RangedFile) -> None:
    rf.stats.reset()
    spans = [(i * 16384, i * 16384 + 400) for i in range(20)]
    rf.prefetch(spans, gap=0)
    fetched = rf.stats.requests
    for a, b in spans:
        rf.seek(a)
        assert rf.read(b - a) == DATA[a:b]
    assert rf.stats.requests == fetched == 20
    assert rf.stats.bytes_fetched == 20 * 400
    rf.prefetch(spans)  # already there
    assert rf.stats.requests == 20


def test_replaced_object_is_not_mixed(store: MemoryStore) -> None:
    store.put_object(CONTAINER, "blob", DATA)
    rf = RangedFile(store, CONTAINER, "blob")
    rf.read(10)
    store.put_object(CONTAINER, "blob", DATA[::-1])
    rf.seek(500_000)
    with pytest.raises(PreconditionFailed, match="replaced while being read"):
        rf.read(10)


def test_shared_stats_total_several_files(store: MemoryStore) -> None:
    store.put_object(CONTAINER, "a", b"x" * 100)
    store.put_object(CONTAINER, "b", b"y" * 50)
    stats = TransferStats()
    for name in ("a", "b"):
        RangedFile(store, CONTAINER, name, stats=stats).read()
    assert (stats.requests, stats.bytes_fetched) == (4, 150)


def test_from_fileobj_reads_local_files() -> None:
    rf = RangedFile.from_fileobj(io.BytesIO(DATA), "local.bin")
    rf.seek(1000)
    assert rf.read(10) == DATA[1000:1010]
    assert rf.fetch([(5, 9)]) == [DATA[5:9]]
    assert rf.size == len(DATA) and rf.display == "local.bin"


def test_threads_read_consistently(rf: RangedFile) -> None:
    errors: list[str] = []

    def worker(seed: int) -> None:
        for i in range(200):
            off = (seed * 7919 + i * 104729) % (len(DATA) - 100)
            if rf.pread(off, 100) != DATA[off : off + 100]:
                errors.append(f"{seed}:{off}")

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_empty_object(store: MemoryStore) -> None:
    store.put_object(CONTAINER, "empty", b"")
    rf = RangedFile(store, CONTAINER, "empty")
    assert rf.read() == b"" and rf.read(10) == b""
    assert rf.stats.requests == 1  # the HEAD only


def test_small_remote_object_is_fetched_whole_once() -> None:
    """On a remote store an object of at most ``whole_below`` bytes costs one GET,
    however its reads jump about; a larger one is still read by ranges."""
    store = RemoteLikeStore()
    store.create_container(CONTAINER)
    store.put_object(CONTAINER, "small", DATA)  # 1 MiB
    rf = RangedFile(store, CONTAINER, "small")
    rf.stats.reset()  # the HEAD of the open
    assert rf.whole_below >= len(DATA)
    for off in (900_000, 10, 500_000, len(DATA) - 100, 0):
        rf.seek(off)
        assert rf.read(2 * 1024 * 1024) == DATA[off:]
    assert (rf.stats.requests, rf.stats.bytes_fetched) == (1, len(DATA))
    big = os.urandom(5 << 20)
    store.put_object(CONTAINER, "big", big)
    rf = RangedFile(store, CONTAINER, "big")
    rf.stats.reset()
    rf.seek(3 << 20)
    assert rf.read(100) == big[3 << 20:(3 << 20) + 100]
    assert rf.stats.requests == 1 and rf.stats.bytes_fetched == rf.min_fetch < len(big)
    local = MemoryStore()
    local.create_container(CONTAINER)
    local.put_object(CONTAINER, "small", DATA)
    rf = RangedFile(local, CONTAINER, "small")  # local: ranges, as before
    rf.stats.reset()
    rf.read(100)
    assert rf.stats.bytes_fetched == rf.min_fetch


def test_own_read_function_replaces_the_store(store: MemoryStore) -> None:
    """``read=`` serves the bytes (a large object's segments) where the store
    holds something else (its manifest); only the ranges asked for are read."""
    from sciswift.store.types import ObjectInfo

    store.put_object(CONTAINER, "manifest", b"[]")
    asked: list[tuple[int, int]] = []

    def read(start: int, stop: int) -> bytes:
        asked.append((start, stop))
        return DATA[start:stop]

    with pytest.raises(ValueError, match="needs the info"):
        RangedFile(store, CONTAINER, "manifest", read=read)
    info = ObjectInfo(name="manifest", size=len(DATA), etag="slo-etag", timestamp=0.0)
    rf = RangedFile(store, CONTAINER, "manifest", info=info, read=read, min_fetch=4096)
    rf.seek(500_000)
    assert rf.read(100) == DATA[500_000:500_100]
    assert rf.fetch([(10, 20), (900_000, 900_010)], gap=0) == [DATA[10:20], DATA[900_000:900_010]]
    assert asked == [(500_000, 504_096), (10, 20), (900_000, 900_010)]
