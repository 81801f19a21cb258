"""sciswift's benchmark suites, run by ``make bench`` (``python -m bench``).

Each suite is a package here with a ``__main__`` (``python -m bench.<suite>``) that
prints its own table and writes JSON under ``bench/results/``:

- ``bench.h5``: HDF5-style workloads, sciswift against h5py and zarr-python.
- ``bench.load``: load on ``sciswift serve`` (request rates, latencies).
- ``bench.workloads``: application I/O kernels.

Benchmarks are not tests: ``make test`` only checks that they run at tiny sizes.
"""
