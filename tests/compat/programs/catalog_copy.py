"""Build a catalog with visititems, copy members between two files (renamed,
shallow, without attributes, whole groups and the root), require_dataset with
exact=False/True and require_group over a dataset."""
import os
import sys

import h5py
import numpy as np

path = sys.argv[1]
other = os.path.join(os.path.dirname(path), "copy_target.h5")
with h5py.File(path, "w") as f:
    for i in range(3):
        g = f.create_group(f"sample{i}")
        g.attrs["temperature"] = 270.0 + i
        d = g.create_dataset("counts", data=np.arange(5, dtype="i4") * i, chunks=(5,), compression="gzip")
        d.attrs["units"] = "counts/s"
        g.create_group("empty")
    f["sample0/link"] = h5py.SoftLink("/sample1/counts")

    catalog = []

    def visitor(name, obj):
        kind = "G" if isinstance(obj, h5py.Group) else "D"
        extra = (obj.shape, str(obj.dtype)) if kind == "D" else (len(obj),)
        catalog.append((name, kind, extra, dict(obj.attrs)))
        return None

    f.visititems(visitor)
    for entry in catalog:
        print(entry)
    first = f.visititems(lambda name, obj: name if name.endswith("empty") else None)
    print("first match:", first)

with h5py.File(path, "r") as src, h5py.File(other, "w") as dst:
    src.copy("sample0", dst)
    src.copy(src["sample1"], dst, name="renamed")
    src.copy("sample2", dst, name="shallow", shallow=True)
    src.copy("sample2/counts", dst, name="noattrs", without_attrs=True)
    src.copy("sample0", dst, name="expanded", expand_soft=True)
    dst.copy(dst["renamed/counts"], dst["sample0"], name="copied_within")
    src.copy(src, dst, name="whole")
    names = []
    dst.visit(names.append)
    print(sorted(names))
    print(dict(dst["noattrs"].attrs), dict(dst["renamed/counts"].attrs), dst["renamed/counts"].compression)
    print(list(dst["shallow"]), dst.get("sample0/link", getlink=True).__class__.__name__,
          dst.get("expanded/link", getlink=True).__class__.__name__)
    print(dst["whole/sample2/counts"][...].tolist(), dict(dst["whole/sample1"].attrs))

with h5py.File(other, "a") as f:
    d = f.require_dataset("req", shape=(3,), dtype="i4", data=[1, 2, 3])
    same = f.require_dataset("req", shape=(3,), dtype="i2", exact=False)
    print("exact=False:", same.dtype, same[...].tolist(), same == d)
    for kwargs in ({"dtype": "i2", "exact": True}, {"dtype": "f8"}, {"dtype": "i4", "shape": (4,)}):
        try:
            f.require_dataset("req", **{"shape": (3,), **kwargs})
            print("ok", kwargs)
        except TypeError as e:
            print("TypeError", kwargs, str(e)[:40])
    try:
        f.require_group("req")
    except TypeError:
        print("require_group on dataset: TypeError")
    print(f.require_group("sample0") == f["sample0"], "new" in f, f.require_group("new").name)
