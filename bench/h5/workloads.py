"""The four workloads, written once against h5py's API (see backends.py).

Each ``run_*`` gets a Backend, a fresh location and the size parameters, and
returns ``{phase: seconds}``. Data is generated before the clock starts; every
read is checked against what was written after the clock stops. Opening and
closing the file are inside the timed phases (a close is where sciswift writes
its metadata, and h5py flushes).
"""

from __future__ import annotations

import gc
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.h5.backends import Backend

__all__ = ["Size", "SIZES", "WORKLOADS", "Workload", "PHASE_HOOKS"]

#: ``(start(phase), stop(phase))`` pairs called around every timed phase, outside
#: the clock (the worker's profiler uses them to profile timed code only).
PHASE_HOOKS: list[tuple[Callable[[str], None], Callable[[str], None]]] = []


@dataclass(frozen=True)
class Size:
    bulk_n: int          # (a) bulk_n x bulk_n float32 ...
    bulk_chunk: int      # ... chunked bulk_chunk x bulk_chunk
    random_reads: int    # (b) this many random windows ...
    window: int          # ... of window x window
    small_count: int     # (c) datasets of small_len float64, one attribute each
    small_len: int
    vpic_arrays: int     # (d) 1-D float32 arrays of vpic_len ...
    vpic_len: int
    vpic_chunk: int      # ... chunked vpic_chunk for every library (like with like)


SIZES = {
    "full": Size(4096, 256, 200, 64, 1000, 100, 8, 8 * 2**20, 2**20),
    "small": Size(1024, 256, 200, 64, 200, 100, 8, 2**20, 2**18),
    "tiny": Size(256, 64, 20, 16, 20, 100, 8, 2**14, 2**12),
}


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    run: Callable[[Backend, str, Size, np.random.Generator], dict[str, float]]
    #: bytes moved per phase, for MB/s columns
    volume: Callable[[Size], int]


@contextmanager
def _timed(out: dict[str, float], phase: str) -> Iterator[None]:
    gc.collect()
    # Dirty pages of earlier runs (hundreds of MB) are written back in the
    # background, and on ext4 (data=ordered) every file creation then waits for
    # that writeback: measured 20 us -> 700 us per create. Start each phase, for
    # every backend alike, with nothing pending.
    os.sync()
    for before, _ in PHASE_HOOKS:
        before(phase)
    start = time.perf_counter()
    try:
        yield
    finally:
        out[phase] = time.perf_counter() - start
        for _, after in PHASE_HOOKS:
            after(phase)


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(f"read-back check failed: {what}")


# ---------------------------------------------------------------- (a) bulk
def run_bulk(b: Backend, loc: str, s: Size, rng: np.random.Generator) -> dict[str, float]:
    data = rng.random((s.bulk_n, s.bulk_n), dtype=np.float32)
    t: dict[str, float] = {}
    with _timed(t, "write"):
        f = b.open(loc, "w")
        ds = f.create_dataset("data", shape=data.shape, dtype="f4", chunks=(s.bulk_chunk, s.bulk_chunk))
        ds[...] = data
        f.close()
    with _timed(t, "read"):
        f = b.open(loc, "r")
        out = f["data"][...]
        f.close()
    _check(np.array_equal(out, data), "bulk dataset")
    return t


# -------------------------------------------------------------- (b) random
def run_random(b: Backend, loc: str, s: Size, rng: np.random.Generator) -> dict[str, float]:
    data = rng.random((s.bulk_n, s.bulk_n), dtype=np.float32)
    f = b.open(loc, "w")  # set-up, not timed
    f.create_dataset("data", shape=data.shape, dtype="f4", chunks=(s.bulk_chunk, s.bulk_chunk))[...] = data
    f.close()
    corners = rng.integers(0, s.bulk_n - s.window, size=(s.random_reads, 2))
    blocks = []
    t: dict[str, float] = {}
    with _timed(t, "read"):
        f = b.open(loc, "r")
        ds = f["data"]
        for y, x in corners:
            blocks.append(ds[y:y + s.window, x:x + s.window])
        f.close()
    for (y, x), block in zip(corners, blocks):
        _check(np.array_equal(block, data[y:y + s.window, x:x + s.window]), f"window at {y},{x}")
    return t


# ------------------------------------------------------------ (c) small
def _small_paths(count: int) -> list[tuple[str, str, str]]:
    fan = max(1, math.ceil(count ** (1 / 3)))
    out: list[tuple[str, str, str]] = []
    for i in range(fan):
        for j in range(fan):
            for k in range(fan):
                if len(out) == count:
                    return out
                out.append((f"g{i}", f"s{j}", f"d{k}"))
    return out


def run_small(b: Backend, loc: str, s: Size, rng: np.random.Generator) -> dict[str, float]:
    paths = _small_paths(s.small_count)
    values = rng.random((len(paths), s.small_len))
    t: dict[str, float] = {}
    with _timed(t, "write"):
        f = b.open(loc, "w")
        groups: dict[str, Any] = {}
        for n, (g, sub, d) in enumerate(paths):
            parent = groups.get(f"{g}/{sub}")
            if parent is None:
                top = groups.get(g)
                if top is None:
                    top = groups[g] = f.create_group(g)
                parent = groups[f"{g}/{sub}"] = top.create_group(sub)
            ds = parent.create_dataset(d, shape=(s.small_len,), dtype="f8")
            ds[...] = values[n]
            ds.attrs["index"] = n
        f.close()
    read: list[np.ndarray[Any, Any]] = []
    attrs: list[Any] = []
    with _timed(t, "read"):
        f = b.open(loc, "r")
        for g, sub, d in paths:
            ds = f[f"{g}/{sub}/{d}"]
            read.append(ds[...])
            attrs.append(ds.attrs["index"])
        f.close()
    _check(np.array_equal(np.stack(read), values), "small datasets")
    _check([int(a) for a in attrs] == list(range(len(paths))), "small dataset attributes")
    return t


# ------------------------------------------------------------ (d) VPIC-like
def _vpic(b: Backend, loc: str, s: Size, rng: np.random.Generator, chunks: tuple[int, ...] | None) -> dict[str, float]:
    # VPIC-IO writes eight particle properties (x, y, z, id1, id2, px, py, pz) as
    # 1-D arrays.
    names = ["x", "y", "z", "id1", "id2", "px", "py", "pz"][: s.vpic_arrays]
    names += [f"p{i}" for i in range(len(names), s.vpic_arrays)]
    arrays = [rng.random(s.vpic_len, dtype=np.float32) for _ in names]
    t: dict[str, float] = {}
    with _timed(t, "write"):
        f = b.open(loc, "w")
        for name, arr in zip(names, arrays):
            f.create_dataset(name, shape=arr.shape, dtype="f4", chunks=chunks)[...] = arr
        f.close()
    out = []
    with _timed(t, "read"):
        f = b.open(loc, "r")
        for name in names:
            out.append(f[name][...])
        f.close()
    _check(all(np.array_equal(a, o) for a, o in zip(arrays, out)), "VPIC arrays")
    return t


def run_vpic(b: Backend, loc: str, s: Size, rng: np.random.Generator) -> dict[str, float]:
    """Every library with the same chunks: the like-with-like comparison."""
    return _vpic(b, loc, s, rng, (s.vpic_chunk,))


def run_vpic_default(b: Backend, loc: str, s: Size, rng: np.random.Generator) -> dict[str, float]:
    """Each library's default layout (h5py: one contiguous 32 MiB dataset per
    array; sciswift and zarr: chunked). Not like with like: h5py's contiguous
    read is one large read whose freshly faulted pages cost most of its time
    on this VM; shown for what a user gets without choosing chunks."""
    return _vpic(b, loc, s, rng, None)


WORKLOADS: dict[str, Workload] = {
    "bulk": Workload("bulk", "(a) N x N float32, chunks 256 x 256", run_bulk, lambda s: s.bulk_n**2 * 4),
    "random": Workload("random", "(b) random 64 x 64 reads", run_random,
                       lambda s: s.random_reads * s.window**2 * 4),
    "small": Workload("small", "(c) small datasets in nested groups", run_small,
                      lambda s: s.small_count * s.small_len * 8),
    "vpic": Workload("vpic", "(d) VPIC-like 1-D float32 arrays, same chunks for all", run_vpic,
                     lambda s: s.vpic_arrays * s.vpic_len * 4),
    "vpic_default": Workload("vpic_default", "(e) VPIC-like, each library's default layout", run_vpic_default,
                             lambda s: s.vpic_arrays * s.vpic_len * 4),
}
