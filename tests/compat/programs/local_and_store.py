"""A pipeline reading a local input file and writing results next to it in the store
(under sciswift run, argv[1] is on the mount and argv[2] a real local directory)."""
import os
import sys

import h5py
import numpy as np

out_path = sys.argv[1]
local_dir = sys.argv[2]
os.makedirs(local_dir, exist_ok=True)
in_path = os.path.join(local_dir, "input.h5")
with h5py.File(in_path, "w") as f:
    f.create_dataset("frames", data=np.arange(4 * 6 * 6, dtype="u2").reshape(4, 6, 6), chunks=(1, 6, 6))
    f["frames"].attrs["exposure"] = 0.25
    f.attrs["source"] = "local"

with h5py.File(in_path, "r") as src, h5py.File(out_path, "w") as dst:
    frames = src["frames"]
    print("input:", frames.shape, frames.dtype, isinstance(frames, h5py.Dataset), src.filename.endswith("input.h5"))
    res = dst.create_dataset("mean_frame", data=frames[...].mean(axis=0))
    res.attrs.update(frames.attrs)
    dst.attrs.update(src.attrs)
    dst.attrs["derived_from"] = os.path.basename(src.filename)
    copy = dst.create_dataset("frames_copy", shape=frames.shape, dtype=frames.dtype, chunks=frames.chunks)
    for i in range(frames.shape[0]):
        copy[i] = frames[i]
    dst["link_back"] = h5py.SoftLink("/mean_frame")

with h5py.File(out_path, "r") as dst, h5py.File(in_path, "r") as src:
    print("output:", sorted(dst.keys()), dict(dst.attrs))
    print("mean:", dst["mean_frame"][0].tolist(), dict(dst["mean_frame"].attrs))
    print("copy equal:", bool(np.array_equal(dst["frames_copy"][...], src["frames"][...])))
    print("same classes:", type(dst["mean_frame"]).__name__, type(src["frames"]).__name__,
          isinstance(dst["link_back"], h5py.Dataset), isinstance(src, h5py.Group))
    print("is_hdf5:", h5py.is_hdf5(in_path), h5py.is_hdf5(out_path))
