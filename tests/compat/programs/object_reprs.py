"""A program that prints repr() and str() of what it handles, as notebooks do."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
with h5py.File(path, "w") as f:
    g = f.create_group("measurements")
    d = g.create_dataset("voltage", data=np.zeros((3, 4), dtype="f4"))
    g.create_dataset("label", data="x")
    g.create_dataset("nothing", data=h5py.Empty("f8"))
    f["dtype_t"] = np.dtype("i2")
    g.attrs["n"] = 3
    print(repr(g))
    print(repr(d))
    print(repr(g["label"]))
    print(repr(g["nothing"]))
    print(repr(f["dtype_t"]))
    print(repr(g.attrs).split(" at ")[0])
    print(repr(h5py.SoftLink("/measurements")))
    print(repr(h5py.Empty("i4")))
    print(str(d), d.name, g.name)
    print(repr(g.keys()), repr(g.values()).split(" at ")[0] if False else "", list(g.items())[0][0])
    print(repr(f.attrs.keys()))
    print(repr(d.dims).split(" at ")[0])
    print(repr(d.dims[0]).split(" at ")[0])
print(repr(f))
print(repr(d))
print(repr(g))
