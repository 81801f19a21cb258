"""References stored the ways programs store them: a compound index with an object
reference field, region references in a dataset and an attribute, references to
groups and named types, null references, dereferencing through another handle."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
with h5py.File(path, "w") as f:
    img = f.create_dataset("img", data=np.arange(48, dtype="i4").reshape(6, 8))
    grp = f.create_group("grp")
    f["T"] = np.dtype("<f4")
    entry = np.dtype([("name", h5py.string_dtype()), ("obj", h5py.ref_dtype), ("weight", "<f4")])
    idx = f.create_dataset("catalog", shape=(4,), dtype=entry)
    idx[0] = ("image", img.ref, 1.0)
    idx[1] = ("group", grp.ref, 2.0)
    idx[2] = ("type", f["T"].ref, 3.0)
    idx[3] = ("none", h5py.Reference(), 4.0)
    regions = f.create_dataset("regions", (3,), dtype=h5py.regionref_dtype)
    regions[0] = img.regionref[0:2, 0:3]
    regions[1] = img.regionref[[1, 4], :]
    regions[2] = img.regionref[img[...] % 7 == 0]
    f.attrs["roi"] = img.regionref[5, ::2]
    grp.attrs["refs"] = np.array([img.ref, grp.ref], dtype=h5py.ref_dtype)
    vl = f.create_dataset("ref_lists", shape=(2,), dtype=h5py.vlen_dtype(h5py.ref_dtype))
    vl[0] = np.array([img.ref, grp.ref], dtype=h5py.ref_dtype)
    vl[1] = np.array([f["T"].ref], dtype=h5py.ref_dtype)

with h5py.File(path, "r") as f:
    cat = f["catalog"]
    for rec in cat[...]:
        name, ref, w = rec
        target = f[ref] if ref else None
        kind = type(target).__name__ if target is not None else None
        print(name.decode() if isinstance(name, bytes) else name, bool(ref), kind,
              target.name if target is not None else None, float(w))
    img = f["img"]
    for rr in f["regions"][...]:
        print("region", f[rr].name, img[rr].tolist(), img.regionref[rr].tolist() if False else "")
    roi = f.attrs["roi"]
    print("attr roi", type(roi).__name__, img[roi].tolist())
    refs = f["grp"].attrs["refs"]
    print("attr refs", refs.dtype, [f[r].name for r in refs])
    print("vlen refs", [[f[r].name for r in row] for row in f["ref_lists"][...]])
    try:
        f[h5py.Reference()]
    except ValueError as e:
        print("null deref:", type(e).__name__)
with h5py.File(path, "r") as f1, h5py.File(path, "r") as f2:
    r = f1["img"].ref
    print("other handle:", f2[r].name, f2[r][0, :3].tolist())
