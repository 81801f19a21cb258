"""VPIC-IO: N processes each write their slice of 8 particle arrays into one file.

A plain h5py program (the I/O kernel of the VPIC plasma code, as in the VPIC-IO
benchmark): the particle arrays x, y, z, px, py, pz (float32), id1 (int32) and
id2 (int64), one dataset each in one file; process r of N writes elements
[r*n, (r+1)*n) of every array. Process 0 creates the file and the datasets, then
all processes open it and write their hyperslabs at the same time.

    python vpic_io.py OUTPUT.h5 [PARTICLES_PER_PROCESS] [PROCESSES]
    mpirun -n 4 python vpic_io.py OUTPUT.h5 1000000 --mpi

Local HDF5 files allow one writer at a time (HDF5 locks the file), so a process
that finds the file locked waits and tries again, as h5py programs commonly do.
With --mpi the processes are the MPI ranks (mpi4py); if h5py was built with MPI,
the file is opened collectively with the 'mpio' driver, as VPIC-IO does.

Chunks are --chunk elements (default 1000003, a prime) so slab edges fall inside
chunks: several processes update the same chunk. The data are a deterministic
function of (rank, index), so bdcats.py can check every byte. Prints one line
per array with its CRC-32 and the time taken.

Run against the object store, unchanged:
    sciswift run --mount /scratch/run1=swift://wind/run1 -- python vpic_io.py /scratch/run1/particles.h5 1000000 4
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.pool
import sys
import time
import zlib

import h5py
import numpy as np

ARRAYS = (("x", "f4"), ("y", "f4"), ("z", "f4"), ("px", "f4"), ("py", "f4"), ("pz", "f4"),
          ("id1", "i4"), ("id2", "i8"))
DOMAIN = (0.0, 0.0, 0.0, 1.0e3, 1.0e3, 1.0e3)  # VPIC-IO's x/y/z box corner and size


def particles(rank: int, lo: int, hi: int, n: int) -> dict[str, np.ndarray]:
    """Elements [lo, hi) of rank ``rank``'s slice (``n`` per rank) of every array:
    the same values whoever computes them."""
    i = np.arange(lo, hi, dtype=np.int64)
    gid = rank * n + i
    t = (gid % 1000003).astype(np.float64) / 1000003.0
    out = {
        "x": (DOMAIN[3] * t).astype("f4"),
        "y": (DOMAIN[4] * ((t * 7.0) % 1.0)).astype("f4"),
        "z": (DOMAIN[5] * ((t * 13.0) % 1.0)).astype("f4"),
        "px": np.sin(gid * 0.001).astype("f4"),
        "py": np.cos(gid * 0.002).astype("f4"),
        "pz": (np.sin(gid * 0.003) * np.cos(gid * 0.0005)).astype("f4"),
        "id1": (gid % (2**31 - 1)).astype("i4"),
        "id2": (gid * 2654435761 + rank).astype("i8"),
    }
    return out


def open_when_unlocked(path: str, mode: str, timeout: float = 600.0) -> h5py.File:
    """h5py.File(path, mode), waiting while another process holds the HDF5 file lock."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            return h5py.File(path, mode)
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def create(path: str, n: int, procs: int, chunk: int) -> None:
    total = n * procs
    with h5py.File(path, "w") as f:
        f.attrs["benchmark"] = "VPIC-IO"
        f.attrs["particles_per_process"] = np.int64(n)
        f.attrs["processes"] = np.int64(procs)
        step = f.create_group("Timestep_0")
        for name, dtype in ARRAYS:
            step.create_dataset(name, shape=(total,), dtype=dtype, chunks=(max(1, min(chunk, total)),))


def write_slice(path: str, rank: int, n: int) -> dict[str, int]:
    """Write rank ``rank``'s slice of every array; returns each slice's CRC-32."""
    data = particles(rank, 0, n, n)
    with open_when_unlocked(path, "r+") as f:
        step = f["Timestep_0"]
        for name, _ in ARRAYS:
            step[name][rank * n:(rank + 1) * n] = data[name]
    return {name: zlib.crc32(data[name].tobytes()) for name, _ in ARRAYS}


def _worker(args: tuple[str, int, int]) -> dict[str, int]:
    return write_slice(*args)


def combined_crcs(path: str) -> dict[str, int]:
    with h5py.File(path, "r") as f:
        return {name: zlib.crc32(f["Timestep_0"][name][()].tobytes()) for name, _ in ARRAYS}


def report(path: str, seconds: float, procs: int, n: int) -> None:
    for name, crc in combined_crcs(path).items():
        print(f"{name:4s} crc32={crc:08x}")
    nbytes = n * procs * sum(np.dtype(d).itemsize for _, d in ARRAYS)
    print(f"wrote {n * procs} particles ({nbytes} bytes) with {procs} processes in {seconds:.3f} s", file=sys.stderr)


def _ready(_: int) -> int:
    return 0


def started_pool(procs: int, start_method: str) -> multiprocessing.pool.Pool:
    """A pool whose workers have all started (and imported h5py), so timings
    measure I/O rather than process start-up."""
    pool = multiprocessing.get_context(start_method).Pool(procs)
    pool.map(_ready, range(procs), chunksize=1)
    return pool


def run_multiprocessing(path: str, n: int, procs: int, chunk: int, start_method: str) -> None:
    pool = started_pool(procs, start_method) if procs > 1 else None
    t0 = time.perf_counter()
    create(path, n, procs, chunk)
    if pool is None:
        write_slice(path, 0, n)
    else:
        with pool:
            pool.map(_worker, [(path, r, n) for r in range(procs)])
    report(path, time.perf_counter() - t0, procs, n)


def run_mpi(path: str, n: int, chunk: int) -> None:
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, procs = comm.Get_rank(), comm.Get_size()
    t0 = time.perf_counter()
    if h5py.get_config().mpi:
        with h5py.File(path, "w", driver="mpio", comm=comm) as f:
            step = f.create_group("Timestep_0")
            f.attrs["benchmark"] = "VPIC-IO"
            f.attrs["particles_per_process"] = np.int64(n)
            f.attrs["processes"] = np.int64(procs)
            data = particles(rank, 0, n, n)
            for name, dtype in ARRAYS:
                dset = step.create_dataset(name, shape=(n * procs,), dtype=dtype, chunks=(min(chunk, n * procs),))
                with dset.collective:
                    dset[rank * n:(rank + 1) * n] = data[name]
    else:
        if rank == 0:
            create(path, n, procs, chunk)
        comm.Barrier()
        write_slice(path, rank, n)
    comm.Barrier()
    if rank == 0:
        report(path, time.perf_counter() - t0, procs, n)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("output", help="the HDF5 file to write")
    p.add_argument("particles", nargs="?", type=int, default=1 << 20, help="particles per process (default 1048576)")
    p.add_argument("procs", nargs="?", type=int, default=4, help="number of processes (default 4)")
    p.add_argument("--chunk", type=int, default=1000003, help="chunk length in elements (default 1000003)")
    p.add_argument("--start-method", default="spawn", choices=("spawn", "forkserver", "fork"))
    p.add_argument("--mpi", action="store_true", help="the processes are MPI ranks (mpirun); needs mpi4py")
    a = p.parse_args(argv)
    if a.particles < 1 or a.procs < 1 or a.chunk < 1:
        p.error("particles, procs and chunk must be positive")
    if a.mpi:
        run_mpi(a.output, a.particles, a.chunk)
    else:
        run_multiprocessing(a.output, a.particles, a.procs, a.chunk, a.start_method)


if __name__ == "__main__":
    main()
