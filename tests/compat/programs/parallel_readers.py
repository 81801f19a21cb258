"""A multiprocessing pool whose workers each open the file read-only and reduce a slab."""
import multiprocessing as mp
import sys

import h5py
import numpy as np


def slab_sum(args):
    path, start, stop = args
    with h5py.File(path, "r") as f:
        d = f["field"]
        block = d[start:stop]
        return start, float(block.sum()), block.shape, str(d.dtype), int(d.attrs["step"])


def main():
    path = sys.argv[1]
    with h5py.File(path, "w") as f:
        d = f.create_dataset("field", data=np.arange(40 * 16, dtype="f4").reshape(40, 16), chunks=(8, 16))
        d.attrs["step"] = 7
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.map(slab_sum, [(path, s, s + 10) for s in range(0, 40, 10)])
    for r in sorted(results):
        print("slab", r)
    with h5py.File(path, "r") as f:
        print("total:", float(f["field"][...].sum()), sum(r[1] for r in results))


if __name__ == "__main__":
    main()
