"""The SWMR writer pattern: libver='latest', switch swmr_mode on, append and flush,
while a reader opened with swmr=True refreshes its view."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
f = h5py.File(path, "w", libver="latest")
ds = f.create_dataset("samples", shape=(0,), maxshape=(None,), dtype="f8", chunks=(8,))
f.swmr_mode = True
print("swmr on:", f.swmr_mode)
reader = h5py.File(path, "r", swmr=True)
rds = reader["samples"]
for step in range(3):
    n = ds.shape[0]
    ds.resize((n + 4,))
    ds[n:] = np.arange(4) + 10 * step
    ds.flush()
    rds.refresh()
    print("reader sees:", rds.shape, float(rds[...].sum()))
print("reader swmr:", reader.swmr_mode)
reader.close()
f.close()
with h5py.File(path, "r") as g:
    print("final:", g["samples"][...].tolist())
