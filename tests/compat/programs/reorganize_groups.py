"""Reorganising a file: copy and move within a file and into a second store file,
require_group/require_dataset, deleting and recreating members."""
import os
import sys

import h5py
import numpy as np

path = sys.argv[1]
archive = os.path.join(os.path.dirname(path), "archive.h5")
with h5py.File(path, "w") as f:
    raw = f.create_group("raw")
    for i in range(3):
        d = raw.create_dataset(f"shot{i}", data=np.arange(6, dtype="i4") * (i + 1), chunks=(3,))
        d.attrs["shot"] = i
    raw.attrs["origin"] = "detector"
    f.create_group("processed")
    f.copy("raw/shot0", f["processed"])
    try:
        f.copy("raw/shot0", "processed")
    except RuntimeError:
        print("copy onto existing name: RuntimeError")
    f.copy(raw["shot1"], f["processed"], name="renamed1")
    f.copy("raw", "raw_backup", shallow=True)
    f.copy("raw", "raw_noattrs", without_attrs=True)
    f.move("raw/shot2", "processed/shot2_moved")
    f["processed"].move("renamed1", "final1")
    g = f.require_group("processed")
    d = g.require_dataset("final1", shape=(6,), dtype="i4")
    d2 = g.require_dataset("counts", shape=(4,), dtype="f8", fillvalue=1.5)
    d3 = g.require_dataset("counts", shape=(4,), dtype="f4", exact=False)
    print("require:", d.name, d2.name, d3.dtype, d3[...].tolist())
    try:
        g.require_dataset("counts", shape=(5,), dtype="f8")
    except TypeError:
        print("require shape mismatch: TypeError")
    try:
        g.require_dataset("counts", shape=(4,), dtype="f4", exact=True)
    except TypeError:
        print("require exact dtype mismatch: TypeError")
    try:
        f.require_group("raw/shot0")
    except TypeError:
        print("require_group on dataset: TypeError")
    del f["raw_noattrs/shot1"]
    f["raw_noattrs/shot1"] = np.zeros(2)

with h5py.File(path, "r") as src, h5py.File(archive, "w") as dst:
    src.copy("processed", dst)
    src.copy(src["raw"], dst, name="raw_copy")
    dst.copy(dst["raw_copy/shot1"], dst, "top_level")
    print("archive:", sorted(dst.keys()), sorted(dst["processed"].keys()))

with h5py.File(path, "r") as f, h5py.File(archive, "r") as a:
    def show(name, obj):
        if isinstance(obj, h5py.Dataset):
            print(" ", obj.file.filename.rsplit("/", 1)[-1], name, obj[...].tolist(), dict(obj.attrs), obj.chunks)
        else:
            print(" ", obj.file.filename.rsplit("/", 1)[-1], name + "/", dict(obj.attrs))
    f.visititems(show)
    a.visititems(show)
