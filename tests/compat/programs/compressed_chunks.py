"""Chunked, compressed datasets: filters, fill values of unwritten chunks, iter_chunks
over a selection, partial chunk updates, and dataset properties."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
rng = np.random.default_rng(7)
field = np.round(rng.normal(size=(30, 20)), 3).astype("f8")
with h5py.File(path, "w") as f:
    a = f.create_dataset("gzip", data=field, chunks=(8, 6), compression="gzip", compression_opts=6, shuffle=True)
    b = f.create_dataset("lzf", data=field.astype("f4"), compression="lzf")
    c = f.create_dataset("checked", data=np.arange(100, dtype="i8"), chunks=(16,), fletcher32=True)
    s = f.create_dataset("sparse", shape=(40, 40), dtype="i2", chunks=(10, 10), fillvalue=-7,
                         compression="gzip")
    s[5:15, 5:15] = 1
    s[39, 39] = 2
    a[2:4, 3:5] = 0.0
    print("props:", a.compression, a.compression_opts, a.shuffle, a.chunks, b.compression, c.fletcher32,
          s.fillvalue, a.scaleoffset)

with h5py.File(path, "r") as f:
    a = f["gzip"]
    print("gzip sum: %.3f" % a[...].sum(), a[2:4, 3:5].tolist())
    print("lzf equal:", bool(np.array_equal(f["lzf"][...], field.astype("f4"))), f["lzf"].chunks is not None)
    print("fletcher sum:", int(f["checked"][...].sum()))
    s = f["sparse"]
    print("sparse:", int((s[...] == -7).sum()), int(s[...].sum()), s[0, 0], s[39, 39])
    sums = []
    for sel in s.iter_chunks(np.s_[8:22, 30:40]):
        block = s[sel]
        sums.append((sel[0].start, sel[0].stop, sel[1].start, sel[1].stop, int(block.sum())))
    print("iter_chunks sel:", sums)
    print("n chunks:", len(list(a.iter_chunks())))
    print("nbytes:", a.nbytes, s.nbytes, s.size)
