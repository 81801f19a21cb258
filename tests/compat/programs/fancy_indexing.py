"""Indexing: steps, lists, boolean masks, Ellipsis, read_direct, broadcasting writes."""
import sys

import h5py
import numpy as np

d = sys.argv[1]
base = np.arange(6 * 7 * 5, dtype="f8").reshape(6, 7, 5)
with h5py.File(f"{d}/idx.h5", "w") as f:
    dset = f.create_dataset("cube", data=base, chunks=(4, 3, 2))
    dset[0, :, :] = 0
    dset[:, 1, ::2] = -1
    dset[[1, 3, 4], 2, :] = 5.5
    dset[2, 3] = np.arange(5)
    dset[..., 4] = 9
    dset[5, 6, 0] = 123
    dset[3:5, 4:6, 1:3] = np.array([[1.0, 2.0], [3.0, 4.0]])  # broadcast over the first axis
    flat = f.create_dataset("flat", data=np.arange(20, dtype="i4"))
    flat[np.arange(20) % 3 == 0] = 0
    flat[[2, 4, 8]] = [-2, -4, -8]

with h5py.File(f"{d}/idx.h5", "r") as f:
    c = f["cube"]
    print("slice step:", c[1:6:2, 0, 1:5:3].tolist())
    print("list:", c[[0, 2, 5], 3, 1].tolist())
    print("mask:", f["flat"][f["flat"][()] > 10].tolist(), c[1][c[1, :, :] > 70].tolist())
    print("ellipsis:", c[..., 0].sum(), c[2, ...].shape, c[...].shape)
    print("negative:", c[-1, -1, -1], c[-2:, -1, 0].tolist())
    print("newaxis-free scalar:", c[2, 3, 4], type(c[2, 3, 4]).__name__)
    print("empty slice:", c[3:3].shape, c[:, 7:].shape)
    out = np.zeros((2, 5))
    c.read_direct(out, np.s_[1:3, 2, :], np.s_[0:2, :])
    print("read_direct:", out.tolist())
    print("flat:", f["flat"][()].tolist())
    print("iter rows:", [row.sum() for row in f["flat"][:6].reshape(2, 3)])
    print("len/iter:", len(c), [r.shape for r in c][:2])
    print("astype:", c.astype("i2")[0, 1].tolist())
    print("sum all:", float(c[()].sum()), float(np.asarray(c).sum()))
