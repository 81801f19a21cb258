"""Selections scientists use: index lists, masks, steps, read_direct/write_direct,
astype, np.asarray, fields, and the errors h5py raises for unsupported ones."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
grid = np.arange(10 * 12, dtype="f4").reshape(10, 12)
with h5py.File(path, "w") as f:
    ds = f.create_dataset("grid", data=grid, chunks=(4, 5))
    ds.write_direct(np.full((2, 3), -1, dtype="f4"), source_sel=np.s_[0:2, 0:3], dest_sel=np.s_[8:10, 9:12])
    ds[[1, 4, 7], ::3] = 0.5
    ds[np.array([True, False] * 5), 0] = 99
    ints = f.create_dataset("ints", data=np.arange(50, dtype=">i4"))

with h5py.File(path, "r") as f:
    ds = f["grid"]
    print("steps:", ds[1:9:3, ::5].tolist())
    print("index list:", ds[[0, 3, 9], 2].tolist(), ds[5, [1, 2, 11]].tolist())
    rowmask = ds[:, 0] > 50
    print("row mask:", rowmask.tolist(), ds[rowmask, 1].tolist())
    print("2d mask count:", int(ds[...][ds[...] < 0].size), ds[ds[...] == 99].shape if False else "skip")
    out = np.zeros((3, 4), dtype="f4")
    ds.read_direct(out, source_sel=np.s_[2:5, 4:8])
    print("read_direct:", out.tolist())
    big = np.zeros((10, 12), dtype="f4")
    ds.read_direct(big)
    print("read_direct all:", float(big.sum()))
    part = np.ones((5, 5), dtype="f4")
    ds.read_direct(part, np.s_[0:2, 0:2], np.s_[3:5, 3:5])
    print("read_direct dest_sel:", part.tolist())
    print("astype:", ds.astype("i2")[2, :4].tolist(), ds.astype("f8")[0:1, 0:2].dtype)
    arr = np.asarray(ds)
    print("asarray:", arr.shape, arr.dtype, float(arr.mean()))
    print("array dtype arg:", np.array(ds, dtype="f8")[9, 11])
    ints = f["ints"]
    print("big-endian:", ints.dtype, ints[45:].tolist(), ints[::10].dtype)
    print("scalar index:", ints[7], type(ints[7]).__name__, ints[-1])
    for label, sel in [("negative step", np.s_[::-1]), ("unsorted list", [3, 1, 2]),
                       ("repeated list", [1, 1, 2]), ("out of range", 50), ("two lists", ([0, 1], [0, 1])),
                       ("newaxis", np.s_[None, 0:2]), ("float index", 1.5)]:
        try:
            src = ints if label != "two lists" else ds
            res = src[sel]
            print(label, "->", np.asarray(res).tolist())
        except (TypeError, ValueError, IndexError) as e:
            print(label, "->", type(e).__name__)
