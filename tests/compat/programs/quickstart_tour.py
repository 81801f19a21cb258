"""The h5py quick-start tour, as people type it into a script, with reprs printed."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
f = h5py.File(path, "w")
dset = f.create_dataset("mydataset", (100,), dtype="i")
print(dset.name, f.name, dset.shape, dset.dtype)
grp = f.create_group("subgroup")
dset2 = grp.create_dataset("another_dataset", (50,), dtype="f")
print(dset2.name)
dset3 = f.create_dataset("subgroup2/dataset_three", (10,), dtype="i")
print(dset3.name)
dataset_three = f["subgroup2/dataset_three"]
for name in f:
    print(name)
print("mydataset" in f, "somethingelse" in f, "subgroup/another_dataset" in f)
f.visit(print)
dset.attrs["temperature"] = 99.5
print(dset.attrs["temperature"], "temperature" in dset.attrs)
dset[...] = np.arange(100)
print(dset[0], dset[10], dset[0:100:10])
print(f)
print(dset)
print(grp)
print(f.keys())
print(list(f.items())[0][1])
print(type(dset.attrs).__name__, len(dset.attrs))
f.close()
print(f)
f = h5py.File(path, "r")
print(f["mydataset"][-3:], f["subgroup"]["another_dataset"].dtype, len(f))
f.close()
