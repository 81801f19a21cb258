"""Object and region references: an index of datasets, regions of interest, deref."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
with h5py.File(path, "w") as f:
    runs = f.create_group("runs")
    for i in range(3):
        d = runs.create_dataset(f"run{i}", data=np.arange(10 * (i + 1), dtype="f4").reshape(-1, 5) + i)
        d.attrs["index"] = i
    img = f.create_dataset("image", data=np.arange(64, dtype="u2").reshape(8, 8))
    index = f.create_dataset("index", shape=(4,), dtype=h5py.ref_dtype)
    for i in range(3):
        index[i] = runs[f"run{i}"].ref
    index[3] = runs.ref
    rois = f.create_dataset("rois", shape=(3,), dtype=h5py.regionref_dtype)
    rois[0] = img.regionref[1:3, 2:5]
    rois[1] = img.regionref[::4, 7]
    rois[2] = img.regionref[5, :]
    f.attrs["best"] = runs["run1"].ref
    img.attrs["self"] = img.ref

with h5py.File(path, "r") as f:
    index = f["index"]
    print("index dtype:", index.dtype, h5py.check_ref_dtype(index.dtype) is not None)
    for ref in index[...]:
        obj = f[ref]
        kind = "dataset" if isinstance(obj, h5py.Dataset) else "group"
        print("ref ->", obj.name, kind, bool(ref), isinstance(ref, h5py.Reference))
        if kind == "dataset":
            print("   attr index:", obj.attrs["index"], obj[0].tolist())
    print("null ref:", bool(h5py.Reference()))
    best = f.attrs["best"]
    print("best:", type(best).__name__, f[best].name, f[best][-1].tolist())
    img = f["image"]
    print("self ref:", f[img.attrs["self"]].name, f[img.attrs["self"]] == img)
    rois = f["rois"]
    print("rois dtype:", h5py.check_ref_dtype(rois.dtype).__name__)
    for r in rois[...]:
        sel = img[r]
        print("roi:", f[r].name, sel.shape, sel.tolist(), isinstance(r, h5py.RegionReference))
    print("regionref shape:", img.regionref.shape(rois[0]), img.regionref.selection(rois[1]))
