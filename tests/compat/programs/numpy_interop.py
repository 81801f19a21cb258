"""Everyday numpy interplay: positional shape/dtype, dtype char codes, np.array(ds),
ufuncs on reads, broadcasting writes, auto chunks, shrinking and regrowing."""
import pathlib
import sys

import h5py
import numpy as np

path = pathlib.Path(sys.argv[1])
with h5py.File(path, "w") as f:
    a = f.create_dataset("a", (6, 4), "f")
    b = f.create_dataset("b", (8,), dtype="i")
    c = f.create_dataset("c", (5,), np.dtype("u1"), fillvalue=3)
    a[...] = 1.0
    a[1] = np.arange(4)
    a[:, 2] = -2
    b[::2] = 7
    big = f.create_dataset("auto", data=np.arange(1000.0).reshape(100, 10), chunks=True)
    ext = f.create_dataset("ext", shape=(10,), maxshape=(None,), dtype="i2")
    gz = f.create_dataset("gz", data=np.zeros((64, 64)), compression="gzip")
    ext[...] = np.arange(10)
    ext.resize((4,))
    ext.resize((7,))
    like = f.create_dataset_like("like", big)
    print("kinds:", a.dtype, b.dtype, c.dtype, c[...].tolist())
    print("chunks:", big.chunks, ext.chunks is not None, gz.chunks is not None, like.chunks, like.shape, like.dtype, a.chunks)

with h5py.File(str(path), "r") as f:
    a = f["a"]
    arr = np.array(a)
    print("np.array:", arr.dtype, arr.shape, arr.sum(), np.array(a, dtype="f8").dtype)
    print("ufunc:", np.sqrt(np.abs(a[...])).round(3).tolist()[1])
    print("b:", f["b"][...].tolist(), f["b"][...].dtype.str)
    print("regrown:", f["ext"][...].tolist(), f["ext"].maxshape)
    print("stats:", float(f["auto"][...].mean()), f["auto"][50:52, ::3].tolist())
    print("like:", f["like"][0, :3].tolist(), f["like"].fillvalue)
    print("path ok:", isinstance(f, h5py.File), f.name, len(f), sorted(f))
    print("bytes key:", f[b"a"].shape, b"b" in f)
