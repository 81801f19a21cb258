"""A file used as a nested dict: get with defaults, membership of paths, keys,
values, items, len, parent/name/file, object equality and hashing, attrs as a
dict (update, pop, setdefault, get), Empty values, scalar reads."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
with h5py.File(path, "w") as f:
    f["a/b/c"] = np.arange(3)
    f["a/scalar"] = 2.5
    f["a/empty"] = h5py.Empty("f4")
    f["top"] = "text"
    f.attrs.update({"k1": 1, "k2": [1.5, 2.5], "k3": "v"})
    print(f.get("nothing"), f.get("nothing", "dflt"), "a/b/c" in f, "a/b/x" in f, "/a" in f)
    print(sorted(f.keys()), len(f), len(f["a"]), [type(v).__name__ for v in f.values()])
    print([(k, type(v).__name__) for k, v in f["a"].items()])
    c = f["a/b/c"]
    print(c.name, c.parent.name, c.parent.parent == f["a"], c.file == f, f["/a/b"] is not f["a/b"])
    print(hash(f["a"]) == hash(f["/a"]), {f["a"]: 1}.get(f["/a"]), f["a"] != f["a/b"])
    print(f["a/scalar"][()], f["a/scalar"].shape, f["a/empty"].shape, f["a/empty"][()])
    print(f["top"][()], f["top"].asstr()[()], f["top"].dtype)
    a = f.attrs
    print(a.get("missing", 9), a.pop("k1"), "k1" in a, a.setdefault("k4", 4) if hasattr(a, "setdefault") else None)
    print(sorted(a.keys()), a["k2"].tolist(), type(a["k3"]).__name__)
    print(dict(a.items())["k4"], list(a.values())[0] if len(a) else None)
    a["empty"] = h5py.Empty("i8")
    print(type(a["empty"]).__name__, a["empty"].dtype)
    del f["a/b"]
    print(sorted(f["a"].keys()), f.get("a/b/c", default=-1))
    g = f.create_group("x/y/z")
    print(g.name, f["x"].name, f["x/y"].parent.name)
    try:
        f.create_group("x/y")
    except ValueError:
        print("exists: ValueError")
    try:
        f["a/scalar"]["sub"]
    except (TypeError, KeyError, ValueError) as e:
        print("index dataset by name:", type(e).__name__)
