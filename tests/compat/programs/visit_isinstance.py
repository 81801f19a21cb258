"""visititems callbacks that test isinstance against h5py's classes, links, named types."""
import sys

import h5py
import numpy as np

d = sys.argv[1]
with h5py.File(f"{d}/other.h5", "w") as f:
    f.create_dataset("remote", data=np.arange(3))

with h5py.File(f"{d}/tree.h5", "w") as f:
    f.create_group("a/b/c")
    f["a/x"] = np.ones((2, 2))
    f["a/b/y"] = np.arange(5, dtype="i2")
    f["a/b/c/z"] = b"bytes"
    f["t"] = np.dtype([("p", "<f4"), ("q", "<i8")])
    f["a/typed"] = np.zeros(2, dtype=f["t"].dtype)
    f["soft"] = h5py.SoftLink("/a/b/y")
    f["dangling"] = h5py.SoftLink("/nowhere")
    f["ext"] = h5py.ExternalLink("other.h5", "/remote")
    f["hard"] = f["a/x"]

with h5py.File(f"{d}/tree.h5", "r") as f:
    kinds = {}

    def classify(name, obj):
        if isinstance(obj, h5py.Dataset):
            kinds[name] = f"dataset {obj.shape} {obj.dtype}"
        elif isinstance(obj, h5py.Group):
            kinds[name] = f"group {len(obj)}"
        elif isinstance(obj, h5py.Datatype):
            kinds[name] = f"datatype {obj.dtype}"
        else:
            kinds[name] = "other"
        assert isinstance(obj, h5py.HLObject)

    f.visititems(classify)
    for k in sorted(kinds):
        print(k, "->", kinds[k])
    names = []
    f.visit(names.append)
    print("visit count:", len(names))
    print("stop early:", f.visit(lambda n: n if n.endswith("y") else None))
    for name in ("soft", "dangling", "ext", "hard", "a"):
        link = f.get(name, getlink=True)
        print(name, type(link).__name__, isinstance(link, h5py.SoftLink), isinstance(link, h5py.ExternalLink),
              isinstance(link, h5py.HardLink))
    print("soft target:", f["soft"][()].tolist(), "ext target:", f["ext"][()].tolist())
    print("dangling in f:", "dangling" in f, f.get("dangling"))
    print("getclass:", f.get("a", getclass=True).__name__, f.get("a/x", getclass=True).__name__)
    print("is File:", isinstance(f, h5py.File), isinstance(f, h5py.Group), isinstance(f["a"], h5py.File))
    print("issubclass:", issubclass(type(f["a/x"]), h5py.Dataset), issubclass(type(f), h5py.Group))
    print("hard == original:", f["hard"] == f["a/x"])
    print("values:", [type(v).__name__ for v in f["a"].values()])
    print("items:", [(k, isinstance(v, h5py.Group)) for k, v in f["a/b"].items()])
