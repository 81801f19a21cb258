"""Bulk I/O helpers: read_direct/write_direct with selections into preallocated
buffers, astype while reading, fancy indexing with lists and boolean masks on
several axes, iteration, len(), size and nbytes, and h5py's refusals."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
cube = np.arange(4 * 6 * 5, dtype="<f8").reshape(4, 6, 5)
with h5py.File(path, "w") as f:
    d = f.create_dataset("cube", data=cube, chunks=(2, 3, 5))
    buf = np.full((2, 2, 5), -1.0)
    d.read_direct(buf, np.s_[1:3, 2:4, :], np.s_[0:2, 0:2, :])
    print("read_direct", buf[:, :, 0].tolist())
    whole = np.empty((4, 6, 5))
    d.read_direct(whole)
    print("whole", bool((whole == cube).all()))
    d.write_direct(np.ones((2, 5)) * 7, np.s_[0:2, :], np.s_[3, 4:6, :])
    print("write_direct", d[3, 4:6, ::2].tolist())
    with_cast = d.astype("i2")[0, 0, :]
    print("astype", with_cast.dtype, with_cast.tolist())
    print("list idx", d[[0, 2], 1, 1:3].tolist(), d[1, [0, 4], :2].tolist())
    mask = np.array([True, False, True, False, False, True])
    print("mask", d[1, mask, 0].tolist())
    print("mask+list", d[[1, 3], :, 4][:, mask].tolist())
    print("bool full", d[d[...] > 115].tolist())
    print("neg", d[-1, -1, -2:].tolist(), d[..., 0][0].tolist())
    print(len(d), d.size, d.nbytes, d.ndim, [row.shape for row in d][:2])
    for bad in (np.s_[[2, 0], 0, 0], np.s_[[1, 1], 0, 0], np.s_[::-1], np.s_[0, 0, 9], np.s_[[0, 2], 1, [1, 3]]):
        try:
            d[bad]
            print("allowed", bad)
        except (TypeError, ValueError, IndexError) as e:
            print("refused", type(e).__name__)
    try:
        d.read_direct(np.empty((2, 2)), np.s_[0:2, 0, 0:3])
    except (TypeError, ValueError) as e:
        print("bad read_direct", type(e).__name__)
    f["flags"] = np.array([1, 0, 1, 1], dtype="?")
    print(f["flags"][np.array([True, True, False, True])].tolist())
    d[0, [0, 5], 0] = [-5, -6]
    print(d[0, :, 0].tolist())
