"""Scalars, empty and zero-size datasets and the numeric types h5py maps exactly."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
with h5py.File(path, "w") as f:
    f["pi"] = np.pi
    f["count"] = np.int16(-3)
    f["flag"] = True
    f["name"] = b"fixed bytes"
    f.create_dataset("none", data=h5py.Empty("i8"))
    f.create_dataset("zero", shape=(0, 3), dtype="f4")
    f.create_dataset("grow0", shape=(0,), maxshape=(None,), dtype="u8")
    for code in ("i1", "u2", ">i8", "<u8", "f2", ">f4", "c8", ">c16", "?"):
        f.create_dataset("t_" + code.replace(">", "be").replace("<", "le").replace("?", "bool"),
                         data=np.arange(3).astype(code))

with h5py.File(path, "r") as f:
    for name in ("pi", "count", "flag", "name"):
        d = f[name]
        v = d[()]
        print(name, d.shape, d.dtype, type(v).__name__, repr(v), d.size, d.ndim)
    try:
        f["pi"][0]
    except (ValueError, IndexError, TypeError) as e:
        print("index scalar:", type(e).__name__)
    print("pi via [...]:", type(f["pi"][...]).__name__, f["pi"][...].shape)
    n = f["none"]
    print("empty:", n.shape, n.size, n.ndim if hasattr(n, "ndim") else None, repr(n[()]))
    z = f["zero"]
    print("zero:", z.shape, z[...].shape, z.size, len(z), list(iter(z)))
    print("grow0:", f["grow0"].shape, f["grow0"][...].tolist(), f["grow0"].maxshape)
    for name in sorted(k for k in f if k.startswith("t_")):
        d = f[name]
        v = d[...]
        print(name, d.dtype, d.dtype.byteorder, v.dtype, v.tolist(), type(d[0]).__name__)
