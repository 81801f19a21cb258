"""LocalStore speed: listings of a 100,000-object container, and per-operation costs.

Listing pages are range queries, so their cost must not grow with the container:
the bounds asserted here are generous (tens of times the measured values) so that
a loaded CI machine passes, while a listing that loaded every name (~100-300 ms
for 100k) would fail.

The per-operation costs are printed, not asserted (run with ``-s`` to see them, or
``python tests/store/test_local_perf.py`` for the table alone).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sciswift.store.local import LocalStore
from sciswift.store.types import ListingParams, ObjectInfo, Subdir

GROUPS, DATASETS, CHUNKS = 10, 10, 1000  # 100,000 objects: grpGG/dsetDD/c/N
PAGE = 1000


def _names() -> list[str]:
    return [f"grp{g:02d}/dset{d:02d}/c/{i}" for g in range(GROUPS) for d in range(DATASETS) for i in range(CHUNKS)]


def _median_ms(fn: Callable[[], Any], repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStore, list[str], float]]:
    root = tmp_path_factory.mktemp("big")
    # Durable, as `sciswift serve` keeps it: every ETag is in the index, so a page is
    # the range query alone. (A non-durable store's batched puts leave ETags to be
    # settled from the records when listed: ~18 µs more an entry, 1.5 -> 19 ms a page.)
    store = LocalStore(root, durable=True)
    store.create_container("c")
    names = _names()
    t = time.perf_counter()
    for i in range(0, len(names), 10_000):
        store.put_many("c", {n: b"chunk" for n in names[i : i + 10_000]})
    yield store, names, time.perf_counter() - t
    store.close()
    shutil.rmtree(root)  # 100,000 files: do not leave them to pytest's retained tmp dirs


@pytest.mark.slow  # building the container takes 6-12 s on the 2-core machine
def test_listing_100k_objects(big: tuple[LocalStore, list[str], float]) -> None:
    store, names, build_s = big
    ordered = sorted(names, key=lambda s: s.encode())
    assert store.head_container("c").object_count == len(names)

    mid = ordered[50_000]
    page = store.list_objects("c", ListingParams(marker=mid, limit=PAGE))
    assert [e.name for e in page] == ordered[50_001 : 50_001 + PAGE]
    rev = store.list_objects("c", ListingParams(reverse=True, limit=PAGE))
    assert [e.name for e in rev] == ordered[::-1][:PAGE]
    sub = store.list_objects("c", ListingParams(prefix="grp05/", delimiter="/"))
    assert [e.name for e in sub] == [f"grp05/dset{d:02d}/" for d in range(DATASETS)]
    assert all(isinstance(e, Subdir) for e in sub)
    top = store.list_objects("c", ListingParams(delimiter="/"))
    assert [e.name for e in top] == [f"grp{g:02d}/" for g in range(GROUPS)]
    deep = store.list_objects("c", ListingParams(prefix="grp03/dset07/c/", delimiter="/", limit=PAGE))
    assert len(deep) == PAGE and all(isinstance(e, ObjectInfo) for e in deep)

    timings = {
        "page of 1000 after a marker": _median_ms(
            lambda: store.list_objects("c", ListingParams(marker=mid, limit=PAGE))
        ),
        "reverse page of 1000": _median_ms(lambda: store.list_objects("c", ListingParams(reverse=True, limit=PAGE))),
        "prefix+delimiter (10 subdirs of 10,000 objects each)": _median_ms(
            lambda: store.list_objects("c", ListingParams(prefix="grp05/", delimiter="/"))
        ),
        "delimiter at top (10 subdirs)": _median_ms(lambda: store.list_objects("c", ListingParams(delimiter="/"))),
        "head_container (totals)": _median_ms(lambda: store.head_container("c")),
    }
    t = time.perf_counter()
    marker, seen = "", 0
    while True:
        page = store.list_objects("c", ListingParams(marker=marker, limit=PAGE))
        seen += len(page)
        if len(page) < PAGE:
            break
        marker = page[-1].name
    full_ms = (time.perf_counter() - t) * 1000
    assert seen == len(names)

    print(f"\nbuilt 100,000 objects with put_many in {build_s:.1f} s ({build_s / len(names) * 1e6:.0f} µs/object)")
    for label, ms in timings.items():
        print(f"  {label}: {ms:.2f} ms")
    print(f"  paging through all 100,000 in pages of 1000: {full_ms:.0f} ms")
    for label, ms in timings.items():
        assert ms < 50, f"{label} took {ms:.1f} ms"
    assert full_ms < 5000


def filesystem_floor(root: str, n: int) -> float:
    """µs to create, write and rename one 4 KiB file with bare system calls: the
    least any atomic file-per-object put can cost on this filesystem right now."""
    os.makedirs(f"{root}/floor-tmp")
    os.makedirs(f"{root}/floor-dst")
    data = os.urandom(4096)
    t = time.perf_counter()
    for i in range(n):
        fd = os.open(f"{root}/floor-tmp/{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(fd, data)
        os.close(fd)
        os.rename(f"{root}/floor-tmp/{i}", f"{root}/floor-dst/{i}")
    return (time.perf_counter() - t) / n * 1e6


def measure_ops(root: str, n: int = 2000, durable: bool = False) -> dict[str, float]:
    """µs per operation for small (4 KiB) objects (and the filesystem floor)."""
    out: dict[str, float] = {"filesystem floor (bare create+write+rename)": filesystem_floor(root, n)}
    store = LocalStore(os.path.join(root, "store"), durable=durable)
    store.create_container("c")
    data = os.urandom(4096)
    names = [f"grp/dset/c/{i}/0" for i in range(n)]

    def timed(label: str, fn: Callable[[], Any], count: int = n) -> Any:
        t = time.perf_counter()
        result = fn()
        out[label] = (time.perf_counter() - t) / count * 1e6
        return result

    timed("put (new object)", lambda: [store.put_object("c", x, data) for x in names])
    timed("put (overwrite)", lambda: [store.put_object("c", x, data) for x in names])
    got = timed("get", lambda: [store.get_object("c", x) for x in names])
    assert all(g == data for g in got)
    timed("head", lambda: [store.head_object("c", x) for x in names])
    batch = {f"many/{i}": data for i in range(n)}
    timed("put_many (per object)", lambda: store.put_many("c", batch))
    got_many = timed("get_many (per object)", lambda: store.get_many("c", list(batch)))
    assert got_many == batch
    assert timed("delete_many (per object)", lambda: store.delete_many("c", list(batch))) == n
    timed("delete", lambda: [store.delete_object("c", x) for x in names])
    assert store.head_container("c").object_count == 0
    store.close()
    return out


def test_small_object_costs(tmp_path: Path) -> None:
    costs = measure_ops(str(tmp_path / "ops"))
    print("\nLocalStore(durable=False), 4 KiB objects:")
    for label, us in costs.items():
        print(f"  {label}: {us:.0f} µs/op")
    assert set(costs) >= {"put (new object)", "get", "put_many (per object)"}


def churn_files(root: str, count: int) -> float:
    """Create then delete ``count`` small files under ``root``; returns the µs per
    create. On ext4 the next file creations nearby then cost 10-50x more for a while
    (the inode allocator skips recently freed inodes one by one)."""
    d = os.path.join(root, f"churn-{os.getpid()}-{time.monotonic_ns()}")
    os.makedirs(d)
    t = time.perf_counter()
    for i in range(count):
        fd = os.open(f"{d}/{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(fd, b"x" * 100)
        os.close(fd)
    per_create = (time.perf_counter() - t) / max(count, 1) * 1e6
    shutil.rmtree(d)
    return per_create


def create_cost(root: str, count: int) -> float:
    """µs to create one small file under ``root`` right now (files are kept)."""
    d = os.path.join(root, f"probe-{time.monotonic_ns()}")
    os.makedirs(d)
    t = time.perf_counter()
    for i in range(count):
        os.close(os.open(f"{d}/{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return (time.perf_counter() - t) / count * 1e6


def measure_batches(root: str, churn: int = 0, durable: bool = False) -> dict[str, float]:
    """The engine's path: ``put_many`` of 1,000 x 1 KiB and of 256 x 256 KiB objects
    (ms per batch, each into a fresh container), and ``get_object`` of objects stored
    by ``put_many`` vs by ``put_object`` (µs/op). With ``churn``, that many files are
    created and deleted under ``root`` first (the slow-create state of ext4)."""
    out: dict[str, float] = {}
    if churn:
        out["churn: µs per create while making the files"] = churn_files(root, churn)
    out["bare file create right now (µs)"] = create_cost(root, 200)
    store = LocalStore(os.path.join(root, f"store-{time.monotonic_ns()}"), durable=durable)
    small = {f"grp/ds{i}/c/0": os.urandom(1024) for i in range(1000)}
    big = {f"big/c/{i // 16}/{i % 16}": os.urandom(256 << 10) for i in range(256)}
    for label, items, container in (
        ("put_many 1000 x 1 KiB (ms)", small, "small"),
        ("put_many 256 x 256 KiB (ms)", big, "big"),
    ):
        store.create_container(container)
        t = time.perf_counter()
        store.put_many(container, items)
        out[label] = (time.perf_counter() - t) * 1000
    store.create_container("plain")
    for name, body in small.items():
        store.put_object("plain", name, body)
    for label, container in (("get_object, put_many'd 1 KiB (µs)", "small"), ("get_object, put_object'd 1 KiB (µs)", "plain")):
        names = list(small)
        t = time.perf_counter()
        got = [store.get_object(container, n) for n in names]
        out[label] = (time.perf_counter() - t) / len(names) * 1e6
        assert got == list(small.values())
    names = list(big)
    t = time.perf_counter()
    got = [store.get_object("big", n) for n in names]
    out["get_object, put_many'd 256 KiB (µs)"] = (time.perf_counter() - t) / len(names) * 1e6
    assert got == list(big.values())
    store.close()
    return out


if __name__ == "__main__":
    # python tests/store/test_local_perf.py [N] [--durable]: medians of 5 runs
    # python tests/store/test_local_perf.py batches DIR [--churn N] [--durable] [--runs R]
    durable = "--durable" in sys.argv
    if len(sys.argv) > 2 and sys.argv[1] == "batches":
        churn = int(sys.argv[sys.argv.index("--churn") + 1]) if "--churn" in sys.argv else 0
        runs_n = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
        batch_runs = []
        # Nothing is deleted until the end: deletions would slow down the next run.
        with tempfile.TemporaryDirectory(dir=sys.argv[2]) as d:
            for _ in range(runs_n):
                os.sync()
                batch_runs.append(measure_batches(d, churn, durable))
        print(f"LocalStore(durable={durable}) batches in {sys.argv[2]}, churn={churn}: median of {runs_n} (min-max)")
        for label in batch_runs[0]:
            values = [r[label] for r in batch_runs]
            print(f"{label:44s} {statistics.median(values):8.1f}  ({min(values):.1f}-{max(values):.1f})")
        sys.exit(0)
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 5000
    runs = []
    for _ in range(5):
        with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as d:
            runs.append(measure_ops(d, count, durable))
    print(f"LocalStore(durable={durable}), 4 KiB objects, {count} each, median of 5 runs (min-max)")
    for label in runs[0]:
        values = [r[label] for r in runs]
        print(f"{label:44s} {statistics.median(values):7.1f} µs/op  ({min(values):.0f}-{max(values):.0f})")
