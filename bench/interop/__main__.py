"""``python -m bench.interop``: a small dask.distributed computation on sciswift data
against the same computation on local files.

A ``LocalCluster`` of 2 worker processes (1 thread each) computes the mean of a
float32 array (default 4096 x 4096, 64 MiB, gzip, chunks of 256 rows) read:

- ``zarr_store serve``: ``da.from_zarr(sciswift.zarr_store("swift://..."))`` against
  a ``sciswift serve`` started for the run (local backend, 127.0.0.1);
- ``h5py-API serve``: ``da.from_array(sciswift.h5py.File("swift://...")["x"])``
  (the dataset pickles by address to the workers);
- ``zarr_store local`` / ``h5py-API local``: the same on a sciswift file by path
  (LocalStore, no server);
- ``zarr-python local``: ``da.from_zarr`` of a Zarr directory zarr-python wrote;
- ``h5py local``: a real HDF5 file, each task opening it with h5py and reading
  its rows (h5py objects cannot be pickled, so this is how dask users read one).

Each cell is the best of ``--repeat`` computations, each on a fresh cluster
whose workers have the libraries imported (no file left open and no decoded
chunk cached from a previous run); the ratio is to ``h5py local``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _h5py_block(path: str, start: int, stop: int) -> np.ndarray[Any, Any]:
    import h5py

    with h5py.File(path, "r") as f:
        return f["x"][start:stop]  # type: ignore[no-any-return]


def _warm_imports() -> None:
    import dask.array  # noqa: F401
    import h5py  # noqa: F401
    import zarr  # noqa: F401

    import sciswift.h5py  # noqa: F401
    import sciswift.interop.zarr  # noqa: F401
    import sciswift.store.swift  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interop", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4096, help="rows and columns of the array (default 4096)")
    parser.add_argument("--rows", type=int, default=256, help="rows per chunk (default 256)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    import h5py
    import zarr
    from dask.distributed import Client, LocalCluster

    import sciswift
    import sciswift.h5py as sh5
    from sciswift.server.spawn import spawn

    work = Path(tempfile.mkdtemp(prefix="bench-interop-"))
    server = spawn(["--data", str(work / "serve"), "--quiet"])
    auth = {"auth_url": server.auth_url, "user": "test:tester", "key": "testing"}
    try:
        data = np.random.default_rng(0).random((args.size, args.size), dtype="f4")
        chunks = (args.rows, args.size)
        os.environ.update(ST_AUTH=auth["auth_url"], ST_USER=auth["user"], ST_KEY=auth["key"])
        swift_url, local_url = "swift://bench/run1.h5", str(work / "run1.h5")
        for url in (swift_url, local_url):
            with sh5.File(url, "w") as f:
                f.create_dataset("x", data=data, chunks=chunks, compression="gzip")
        with h5py.File(work / "real.h5", "w") as f:
            f.create_dataset("x", data=data, chunks=chunks, compression="gzip")
        z = zarr.create_array(str(work / "zarr-python.zarr"), shape=data.shape, chunks=chunks, dtype="f4")
        z[:] = data
        swift_file, local_file = sh5.File(swift_url, "r"), sh5.File(local_url, "r")
        for key in ("ST_AUTH", "ST_USER", "ST_KEY"):
            os.environ.pop(key)  # the workers get the account from the pickles only

        def real_h5py() -> Any:
            blocks = [da.from_delayed(dask.delayed(_h5py_block)(str(work / "real.h5"), s, min(s + args.rows, args.size)),
                                      (min(s + args.rows, args.size) - s, args.size), "f4")
                      for s in range(0, args.size, args.rows)]
            return da.concatenate(blocks)

        ways: dict[str, Callable[[], Any]] = {
            "zarr_store serve": lambda: da.from_zarr(sciswift.zarr_store(swift_url, read_only=True, **auth),
                                                     component="x"),
            "h5py-API serve": lambda: da.from_array(swift_file["x"], chunks=chunks),
            "zarr_store local": lambda: da.from_zarr(sciswift.zarr_store(local_url, read_only=True), component="x"),
            "h5py-API local": lambda: da.from_array(local_file["x"], chunks=chunks),
            "zarr-python local": lambda: da.from_zarr(str(work / "zarr-python.zarr")),
            "h5py local": real_h5py,
        }
        want = float(data.mean(dtype="f8"))
        best = dict.fromkeys(ways, float("inf"))
        for _ in range(args.repeat):
            # Round robin, so a busy moment of the machine falls on every way alike;
            # a fresh cluster per run (no file left open, no decoded chunk cached from
            # the last run), its workers with the libraries imported.
            for name, make in ways.items():
                with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as lc, Client(lc) as client:
                    client.run(_warm_imports)
                    start = time.perf_counter()
                    got = float(client.compute(make().mean()).result())
                    best[name] = min(best[name], time.perf_counter() - start)
                assert abs(got - want) < 1e-5, (name, got, want)
        swift_file.close()
        local_file.close()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    mib = args.size * args.size * 4 / 2**20
    print(f"dask LocalCluster (2 worker processes), mean of a {args.size}x{args.size} float32 array "
          f"({mib:.0f} MiB, gzip, {args.rows}-row chunks), best of {args.repeat}")
    print(f"{'way':<20}{'seconds':>10}{'MiB/s':>10}{'vs h5py':>10}")
    base = best["h5py local"]
    for name, t in best.items():
        print(f"{name:<20}{t:>10.3f}{mib / t:>10.0f}{t / base:>9.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
