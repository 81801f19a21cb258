"""Fill values of many types, unwritten regions, and dataset iteration rules."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
rec = np.dtype([("id", "<i4"), ("score", "<f4")])
with h5py.File(path, "w") as f:
    f.create_dataset("ints", shape=(3, 4), dtype="i2", fillvalue=-3)[1, 1:3] = 7
    f.create_dataset("floats", shape=(5,), dtype="f4", fillvalue=np.nan)[::2] = 1.5
    f.create_dataset("recs", shape=(3,), dtype=rec, fillvalue=np.array((9, 0.5), dtype=rec))[1] = (1, 2.0)
    f.create_dataset("fixed", shape=(2,), dtype="S3", fillvalue=b"abc")
    f.create_dataset("vstr", shape=(2,), dtype=h5py.string_dtype())
    f.create_dataset("cplx", shape=(2,), dtype="c8", fillvalue=1 + 2j)
    f.create_dataset("flags", shape=(3,), dtype=bool, fillvalue=True)
    f.create_dataset("scalar", data=4.5)
    f.create_dataset("contig", data=np.arange(6))

with h5py.File(path, "r") as f:
    for name in sorted(f):
        d = f[name]
        fv = d.fillvalue
        print(name, d.dtype, type(fv).__name__, repr(fv) if not isinstance(fv, float) or fv == fv else "nan",
              np.asarray(d[()]).tolist() if name != "floats" else np.isnan(d[...]).tolist())
    ints = f["ints"]
    print("rows:", [row.tolist() for row in ints], "len:", len(ints), ints.len())
    try:
        len(f["scalar"])
    except TypeError:
        print("len of scalar: TypeError")
    try:
        list(iter(f["scalar"]))
    except TypeError:
        print("iterate scalar: TypeError")
    try:
        list(f["contig"].iter_chunks())
    except TypeError:
        print("iter_chunks contiguous: TypeError")
    print("chunks of contig:", f["contig"].chunks, f["scalar"].chunks)
    print("records:", [tuple(r) for r in f["recs"]], f["recs"]["score"].tolist())
