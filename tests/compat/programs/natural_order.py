"""Order of members and attributes as a program sees it without sorting: names with
capitals, digits, underscores, unicode; attribute order; after deletes and renames."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
names = ["beta", "Alpha", "_hidden", "10", "9", "ébène", "zeta", "a b", "B2", "b1"]
with h5py.File(path, "w") as f:
    for n in names:
        f.create_group(n)
        f.attrs[n] = len(n)
    d = f.create_dataset("data", data=np.arange(3))
    for n in reversed(names):
        d.attrs[n] = n
    print("groups:", list(f.keys()))
    print("attrs:", list(f.attrs.keys()))
    print("dataset attrs:", list(d.attrs))
    f.move("zeta", "Zeta")
    del f["9"]
    del f.attrs["beta"]
    f.attrs["beta"] = 0
    print("after edits:", list(f), list(f.attrs)[:4])

with h5py.File(path, "r") as f:
    print("reopened:", list(f))
    print("attrs:", list(f.attrs))
    print("items:", [(k, v) for k, v in f.attrs.items()][:5])
    print("values:", [type(v).__name__ for v in f.values()][:3])
    print("dataset attrs:", list(f["data"].attrs))
    seen = []
    f.visit(seen.append)
    print("visit:", seen)
