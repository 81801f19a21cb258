"""BD-CATS-IO: N processes read back, in parallel slices, the particles vpic_io.py wrote.

A plain h5py program (the I/O kernel of the BD-CATS clustering code): each
process opens the file read-only and reads its contiguous slice of all 8 arrays
(the slices follow the reader count, not the writer count, so they cut across
the writers' slabs and the chunks), then checks every element against the values
VPIC-IO computes for it, and reports a CRC-32 of its slice and a small summary
(the bounding box of its particles, as the clustering step begins with).

    python bdcats.py INPUT.h5 [PROCESSES]
    mpirun -n 4 python bdcats.py INPUT.h5 --mpi

Prints one line per array saying whether every byte matched, with the CRC-32 of
each slice, and one line per slice with its bounding box; exits 1 on a mismatch.

    sciswift run --mount /scratch/run1=swift://wind/run1 -- python bdcats.py /scratch/run1/particles.h5 4
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib

import h5py
import numpy as np
from vpic_io import ARRAYS, particles, started_pool


def expected(lo: int, hi: int, n: int) -> dict[str, np.ndarray]:
    """VPIC-IO's values of global elements [lo, hi), across writer slabs of ``n``."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in ARRAYS}
    pos = lo
    while pos < hi:
        rank, start = divmod(pos, n)
        stop = min(n, start + (hi - pos))
        for name, values in particles(rank, start, stop, n).items():
            parts[name].append(values)
        pos += stop - start
    return {name: (np.concatenate(v) if v else np.empty(0, dtype)) for (name, dtype), v in zip(ARRAYS, parts.values())}


def read_slice(path: str, rank: int, procs: int) -> dict[str, object]:
    """Read and check reader ``rank``'s slice of every array."""
    with h5py.File(path, "r") as f:
        n = int(f.attrs["particles_per_process"])
        step = f["Timestep_0"]
        total = step["x"].shape[0]
        lo, hi = total * rank // procs, total * (rank + 1) // procs
        data = {name: step[name][lo:hi] for name, _ in ARRAYS}
    want = expected(lo, hi, n)
    bad = [name for name, _ in ARRAYS if data[name].tobytes() != want[name].tobytes()]
    box = [(float(data[a].min()), float(data[a].max())) if hi > lo else (0.0, 0.0) for a in ("x", "y", "z")]
    return {"range": (lo, hi), "crc": {name: zlib.crc32(data[name].tobytes()) for name, _ in ARRAYS},
            "bad": bad, "box": box}


def _worker(args: tuple[str, int, int]) -> dict[str, object]:
    return read_slice(*args)


def report(results: list[dict[str, object]], seconds: float) -> int:
    status = 0
    for name, _ in ARRAYS:
        ok = all(name not in r["bad"] for r in results)  # type: ignore[operator]
        status |= 0 if ok else 1
        crcs = " ".join(f"{r['crc'][name]:08x}" for r in results)  # type: ignore[index]
        print(f"{name:4s} {'ok' if ok else 'MISMATCH'} slice crc32 {crcs}")
    nbytes = 0
    for r in results:
        lo, hi = r["range"]  # type: ignore[misc]
        nbytes += (hi - lo) * sum(np.dtype(d).itemsize for _, d in ARRAYS)
        box = " ".join(f"[{a:.3f},{b:.3f}]" for a, b in r["box"])  # type: ignore[attr-defined]
        print(f"slice {lo}:{hi} box {box}")
    print(f"read {nbytes} bytes with {len(results)} processes in {seconds:.3f} s", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="the file vpic_io.py wrote")
    p.add_argument("procs", nargs="?", type=int, default=4, help="number of processes (default 4)")
    p.add_argument("--start-method", default="spawn", choices=("spawn", "forkserver", "fork"))
    p.add_argument("--mpi", action="store_true", help="the processes are MPI ranks (mpirun); needs mpi4py")
    a = p.parse_args(argv)
    if a.procs < 1:
        p.error("procs must be positive")
    pool = started_pool(a.procs, a.start_method) if a.procs > 1 and not a.mpi else None
    t0 = time.perf_counter()
    if a.mpi:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        mine = read_slice(a.input, comm.Get_rank(), comm.Get_size())
        results = comm.gather(mine, root=0)
        if comm.Get_rank() != 0:
            return
    elif a.procs == 1:
        results = [read_slice(a.input, 0, 1)]
    else:
        assert pool is not None
        with pool:
            results = pool.map(_worker, [(a.input, r, a.procs) for r in range(a.procs)])
    sys.exit(report(results, time.perf_counter() - t0))


if __name__ == "__main__":
    main()
