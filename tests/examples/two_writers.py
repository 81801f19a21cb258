"""Two processes update one file in a fixed interleaving (a plain h5py program).

    python two_writers.py FILE chunk   B reads a chunk, A rewrites part of it, then B
                                       writes another part of the same chunk
    python two_writers.py FILE groups  A and B open the file, A adds a group and closes,
                                       then B adds another and closes

Prints the outcome. Both updates must survive. A local HDF5 file cannot run this
(HDF5 locks the file against the second writer); object stores take it.
"""

import multiprocessing
import sys

import h5py
import numpy as np

WAIT = 60


def chunk_a(path, b_ready, a_done):
    assert b_ready.wait(WAIT)
    with h5py.File(path, "r+") as f:
        f["x"][0:3] = 1
    a_done.set()


def chunk_b(path, b_ready, a_done):
    with h5py.File(path, "r+") as f:
        before = f["x"][:].tolist()  # B has now seen the chunk as it was
        b_ready.set()
        assert a_done.wait(WAIT)
        f["x"][5:8] = 2
    print("B saw", before, flush=True)


def groups_a(path, b_ready, a_done):
    with h5py.File(path, "a") as f:
        assert b_ready.wait(WAIT)
        f.create_group("from_a").attrs["who"] = "a"
    a_done.set()


def groups_b(path, b_ready, a_done):
    with h5py.File(path, "a") as f:
        b_ready.set()
        assert a_done.wait(WAIT)
        f.create_group("from_b").attrs["who"] = "b"


if __name__ == "__main__":
    path, case = sys.argv[1], sys.argv[2]
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(10, "i4"), chunks=(10,))
    ctx = multiprocessing.get_context("spawn")
    b_ready, a_done = ctx.Event(), ctx.Event()
    a_fn, b_fn = {"chunk": (chunk_a, chunk_b), "groups": (groups_a, groups_b)}[case]
    procs = [ctx.Process(target=fn, args=(path, b_ready, a_done)) for fn in (a_fn, b_fn)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(2 * WAIT)
    if any(p.exitcode != 0 for p in procs):
        sys.exit(f"a writer failed: exit codes {[p.exitcode for p in procs]}")
    with h5py.File(path, "r") as f:
        print("x", f["x"][()].tolist())
        print("groups", sorted(k for k in f if k != "x"))
