"""Survey a hierarchy: visit/visititems with isinstance checks, properties of every
object, early exit from visit, parent/name/file relations."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
with h5py.File(path, "w") as f:
    for run in ("run_b", "run_a"):
        g = f.create_group(run)
        g.attrs["started"] = "2024-01-01"
        for j, shape in enumerate([(4,), (2, 3), (2, 2, 2)]):
            g.create_dataset(f"det{j}", data=np.ones(shape, dtype=["i2", "f4", "c8"][j]) * j,
                             compression="gzip" if j == 1 else None)
        g.create_group("empty")
    f.create_dataset("meta/scalar", data=3.5)
    f.create_dataset("meta/nothing", data=h5py.Empty("i4"))
    f["meta/alias"] = h5py.SoftLink("/run_a/det1")

with h5py.File(path, "r") as f:
    stats = {"groups": 0, "datasets": 0, "bytes": 0}

    def survey(name, obj):
        if isinstance(obj, h5py.Group):
            stats["groups"] += 1
            print(f"G {name}: members={len(obj)} keys={list(obj.keys())} parent={obj.parent.name}")
        elif isinstance(obj, h5py.Dataset):
            stats["datasets"] += 1
            stats["bytes"] += obj.nbytes
            print(f"D {name}: shape={obj.shape} ndim={obj.ndim} size={obj.size} dtype={obj.dtype} "
                  f"nbytes={obj.nbytes} compression={obj.compression} same_file={obj.file == f} "
                  f"basename={obj.name.rsplit('/', 1)[-1]}")
        else:
            print("other", name, type(obj))

    f.visititems(survey)
    print("stats:", stats)
    names = []
    f.visit(names.append)
    print("visit order:", names)
    first_dataset = f.visit(lambda n: n if isinstance(f[n], h5py.Dataset) else None)
    print("first dataset:", first_dataset)
    print("alias:", f["meta/alias"].name, f["meta/alias"][...].tolist())
    print("scalar:", f["meta/scalar"][()], f["meta/scalar"].shape, f["meta/scalar"].size)
    nothing = f["meta/nothing"]
    print("empty:", nothing.shape, nothing.size, repr(nothing[()]), nothing.dtype)
    print("contains:", "run_a/det2" in f, "/run_b" in f, "run_c" in f, "meta/alias" in f)
    print("get class:", f.get("run_a", getclass=True) == h5py.Group, f.get("run_a/det0", getclass=True) == h5py.Dataset)
    print("group names:", sorted(k for k, v in f.items() if isinstance(v, h5py.Group)))
    print("equality:", f["run_a"] == f["/run_a"], f["run_a"] != f["run_b"], f["run_a"].file.name)
