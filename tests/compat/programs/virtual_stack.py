"""Stacking per-detector files into one virtual dataset (h5py.VirtualLayout)."""
import os
import sys

import h5py
import numpy as np

path = sys.argv[1]
folder = os.path.dirname(path)
sources = []
for i in range(3):
    name = os.path.join(folder, f"det{i}.h5")
    with h5py.File(name, "w") as f:
        f.create_dataset("frames", data=np.arange(8, dtype="i4") + 100 * i)
    sources.append(name)

layout = h5py.VirtualLayout(shape=(3, 8), dtype="i4")
for i, name in enumerate(sources):
    layout[i] = h5py.VirtualSource(name, "frames", shape=(8,))
with h5py.File(path, "w") as f:
    vds = f.create_virtual_dataset("stack", layout, fillvalue=-1)
    print("virtual:", vds.is_virtual, vds.shape, vds.dtype)
    half = h5py.VirtualLayout(shape=(6,), dtype="i4")
    half[0:3] = h5py.VirtualSource(sources[0], "frames", shape=(8,))[0:3]
    f.create_virtual_dataset("partial", half, fillvalue=-9)

with h5py.File(path, "r") as f:
    s = f["stack"]
    print("data:", s[...].tolist())
    print("column:", s[:, 5].tolist(), "sum:", int(s[...].sum()))
    print("sources:", [(os.path.basename(v.file_name), v.dset_name) for v in s.virtual_sources()])
    print("partial:", f["partial"][...].tolist(), f["partial"].is_virtual)
