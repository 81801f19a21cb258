"""``python -m bench.h5view``: the HDF5 view of a native file against a real HDF5 file.

Workloads:

  dump     ``h5dump -d /x -b LE -o /dev/null`` of a 256 MiB float32 dataset
           (8192 x 8192, chunks 512 x 1024 = 2 MiB), uncompressed and gzip
           level 4: the view materialised into a local file (the bytes the
           mount serves) against the same data written by h5py with the same
           chunks and filters. Also the time to materialise the view (every
           byte read through ``HDF5View.read`` in 1 MiB pieces from a
           LocalStore), which is the view's own serving speed.
  open     ``open_view`` of a native file of 1,000 datasets (two attributes
           each) in 10 groups.

Each timing is the best of ``--repeat`` runs (the machine is shared); files
live in ``--workdir`` (default: a temporary directory on the same disk as
/tmp). The OS page cache is not dropped: every file was just written, alike.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

import sciswift.h5py as sh
from sciswift.h5view import open_view
from sciswift.store import parse_location

CHUNKS = (512, 1024)


def _best(fn: object, repeat: int) -> tuple[float, float]:
    """Best wall time and best CPU time (this process and its children) of ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        r0, c0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        walls.append(time.perf_counter() - t)
        r1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in ((r0, r1), (c0, c1))))
    return min(walls), min(cpus)


def _h5dump(path: Path) -> None:
    subprocess.run(["h5dump", "-d", "/x", "-b", "LE", "-o", "/dev/null", str(path)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _materialize(url: str, path: Path) -> None:
    view = open_view(parse_location(url))
    step = 1 << 20
    with open(path, "wb") as fh:
        for off in range(0, view.size, step):
            fh.write(view.read(off, step))
    view.close()


def dump(work: Path, mib: int, repeat: int) -> list[tuple[str, str]]:
    rows = int(mib * (1 << 20) // (8192 * 4))
    rng = np.random.default_rng(0)
    data = (np.sin(np.arange(rows * 8192, dtype="f4") / 5000).reshape(rows, 8192)
            + rng.random((rows, 8192), dtype="f4") * 0.01)
    out: list[tuple[str, str]] = []
    for label, kwargs in (("uncompressed", {}), ("gzip 4", {"compression": "gzip", "compression_opts": 4})):
        ref = work / f"ref-{len(out)}.h5"
        with h5py.File(ref, "w") as f:
            f.create_dataset("x", data=data, chunks=CHUNKS, **kwargs)
        url = str(work / f"native-{len(out)}.h5")
        with sh.File(url, "w") as f:
            f.create_dataset("x", data=data, chunks=CHUNKS, **kwargs)
        view = work / f"view-{len(out)}.h5"
        t_mat = _best(lambda u=url, v=view: _materialize(u, v), repeat)  # type: ignore[misc]
        t_ref = _best(lambda r=ref: _h5dump(r), repeat)  # type: ignore[misc]
        t_view = _best(lambda v=view: _h5dump(v), repeat)  # type: ignore[misc]
        with h5py.File(view, "r") as f:
            assert np.array_equal(f["x"][::97, ::89], data[::97, ::89])
        out.append((f"h5dump -d, {mib} MiB, {label}: view / h5py file, wall",
                    f"{t_view[0]:.2f} s / {t_ref[0]:.2f} s = {t_view[0] / t_ref[0]:.2f}x"))
        out.append((f"h5dump -d, {mib} MiB, {label}: view / h5py file, CPU",
                    f"{t_view[1]:.2f} s / {t_ref[1]:.2f} s = {t_view[1] / t_ref[1]:.2f}x"))
        out.append((f"materialise the view ({label}), {view.stat().st_size >> 20} MiB",
                    f"{t_mat[0]:.2f} s wall ({view.stat().st_size / t_mat[0] / (1 << 20):.0f} MiB/s), "
                    f"{t_mat[1]:.2f} s CPU"))
    return out


def open_many(work: Path, count: int, repeat: int) -> list[tuple[str, str]]:
    url = str(work / "many.h5")
    with sh.File(url, "w") as f:
        for i in range(count):
            d = f.create_dataset(f"g{i % 10}/d{i:04d}", data=np.arange(100, dtype="f8") + i)
            d.attrs["index"] = i
            d.attrs["name"] = f"dataset {i}"
    times, cpus = [], []
    for _ in range(max(5, repeat)):
        t, c = time.perf_counter(), time.process_time()
        view = open_view(parse_location(url))
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return [(f"open_view, {count} datasets ({view.metadata_size >> 10} KiB of metadata)",
             f"{min(times) * 1000:.0f} ms best, {statistics.median(times) * 1000:.0f} ms median wall; "
             f"{min(cpus) * 1000:.0f} ms CPU")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.h5view", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256, help="size of the dumped dataset (MiB)")
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    if shutil.which("h5dump") is None:
        print("h5dump not found (apt-get install hdf5-tools)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-h5view-", dir=args.workdir))
    try:
        results = open_many(work, args.datasets, args.repeat) + dump(work, args.mib, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(k) for k, _ in results)
    for k, v in results:
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
