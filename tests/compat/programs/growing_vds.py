"""A detector writes frames into one file per module while a virtual dataset,
mapped with h5py.UNLIMITED, stacks the modules; a reader sees the frames written
so far, after each module file grows."""
import os
import sys

import h5py
import numpy as np

path = sys.argv[1]
folder = os.path.dirname(path)
modules = [os.path.join(folder, f"module{i}.h5") for i in range(3)]
for i, name in enumerate(modules):
    with h5py.File(name, "w") as m:
        m.create_dataset("frames", data=np.full((1, 4), i), maxshape=(None, 4), dtype="i4", chunks=(2, 4), fillvalue=-1)
with h5py.File(path, "w", libver="latest") as f:
    layout = h5py.VirtualLayout(shape=(3, 1, 4), dtype="i4", maxshape=(3, None, 4))
    for i, name in enumerate(modules):
        source = h5py.VirtualSource(os.path.basename(name), "frames", shape=(1, 4), maxshape=(None, 4))
        layout[i, :h5py.UNLIMITED, :] = source[:h5py.UNLIMITED, :]
    f.create_virtual_dataset("stack", layout, fillvalue=-7)
    print("created", f["stack"].shape, f["stack"].maxshape, f["stack"].is_virtual)
for step in range(3):
    for i, name in enumerate(modules):
        with h5py.File(name, "a") as m:
            d = m["frames"]
            n = step + i % 2  # modules run at different speeds
            d.resize(d.shape[0] + n, axis=0)
            if n:
                d[-n:] = 100 * i + 10 * step + np.arange(n * 4).reshape(n, 4) % 4
    with h5py.File(path, "r") as f:
        s = f["stack"]
        print("step", step, s.shape, s[:, -1, 0].tolist() if s.shape[1] else [])
with h5py.File(path, "r") as f:
    s = f["stack"]
    print(s[...].tolist())
    print(sorted((os.path.basename(v.file_name), v.dset_name) for v in s.virtual_sources()))
