"""Editing attributes over a file's life: modify to other types and shapes, create over
existing names, empty lists, 0-d arrays, attributes on named types, get_id, iteration."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
with h5py.File(path, "w") as f:
    f["T"] = np.dtype("<f8")
    d = f.create_dataset("d", data=np.arange(4))
    a = d.attrs
    a["count"] = 1
    a.modify("count", 2.5)
    a.modify("new_via_modify", [1, 2])
    a.create("count", data=np.arange(3, dtype="u2"))
    a["zero_d"] = np.array(3.25)
    a["empty_list"] = np.array([], dtype="f8")
    a["long_text"] = "x" * 5000
    a["ünïcode_name"] = "value"
    a["nested_list"] = [[1, 2], [3, 4]]
    f["T"].attrs["unit"] = "m/s"
    del a["new_via_modify"]
    a["new_via_modify"] = "back"
    print("len:", len(a), "in:", "count" in a, "missing" in a)

with h5py.File(path, "r") as f:
    a = f["d"].attrs
    for k in sorted(a):
        v = a[k]
        shape = getattr(v, "shape", None)
        print(k, type(v).__name__, getattr(v, "dtype", None), shape,
              (v.tolist() if hasattr(v, "tolist") else v) if k != "long_text" else len(v))
    aid = a.get_id("count")
    print("get_id:", aid.shape, aid.dtype, aid.get_storage_size())
    print("type attrs:", dict(f["T"].attrs), f["T"].dtype)
    print("iteration:", sorted(iter(a)) == sorted(a.keys()), len(list(a.values())))
