"""Copy variants: expand_soft, expand_refs, without_attrs, shallow, between two stored files."""
import os
import sys

import h5py
import numpy as np

path = sys.argv[1]
other = os.path.join(os.path.dirname(path), "copies.h5")
with h5py.File(path, "w") as f:
    src = f.create_group("src")
    src.attrs["kind"] = "source"
    d = src.create_dataset("values", data=np.arange(5.0))
    d.attrs["unit"] = "K"
    src["alias"] = h5py.SoftLink("/src/values")
    src.create_group("deep/deeper").create_dataset("leaf", data=[1, 2])
    src.create_dataset("refs", data=[d.ref], dtype=h5py.ref_dtype)
    f.copy("src", "plain")
    f.copy("src", "expanded", expand_soft=True)
    f.copy("src", "bare", without_attrs=True)
    f.copy("src", "shallow", shallow=True)
    with h5py.File(other, "w") as g:
        f.copy(f["src"], g, "from_other", expand_refs=True)
        g.copy(g["from_other/values"], g["/"], "values_top")

with h5py.File(path, "r") as f, h5py.File(other, "r") as g:
    for root in (f, g):
        def show(name, obj, root=root):
            link = obj.parent.get(name.rsplit("/", 1)[-1], getlink=True)
            kind = type(link).__name__
            if isinstance(obj, h5py.Dataset):
                data = obj[...].tolist() if obj.dtype.kind != "O" else [root[r].name for r in obj[...]]
                print(os.path.basename(root.filename), name, kind, data, dict(obj.attrs))
            else:
                print(os.path.basename(root.filename), name + "/", kind, dict(obj.attrs))
        root.visititems(show)
        print(os.path.basename(root.filename), "links:",
              sorted((k, type(root[g_].get(k, getlink=True)).__name__) for g_ in root
                     if isinstance(root[g_], h5py.Group) for k in root[g_]))
