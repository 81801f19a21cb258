"""A growing catalog whose records hold variable-length strings and arrays (a compound
with vlen fields), appended in batches with resize, edited in place, iterated by
chunks, and filtered with a boolean mask built from one field."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
rec = np.dtype([("name", h5py.string_dtype()), ("samples", h5py.vlen_dtype("f4")), ("n", "<i4"),
                ("tags", h5py.string_dtype("ascii"))])
with h5py.File(path, "w") as f:
    cat = f.create_dataset("catalog", shape=(0,), maxshape=(None,), dtype=rec, chunks=(3,))
    for batch in range(3):
        rows = np.empty(batch + 2, dtype=rec)
        for i in range(len(rows)):
            k = batch * 10 + i
            rows[i] = (f"obj-{k}-é", np.arange(k % 4, dtype="f4") / 2, k, f"b{batch}".encode())
        start = cat.shape[0]
        cat.resize((start + len(rows),))
        cat[start:] = rows
    cat[1] = ("renamed", np.array([9.5], dtype="f4"), -1, b"edit")
    notes = f.create_dataset("notes", shape=(2,), maxshape=(None,), dtype=h5py.string_dtype(), fillvalue="")
    notes[0] = "first"
    notes.resize((4,))
    notes[3] = "fourth ☃"
    print(cat.shape, cat.dtype.names, notes[...].tolist())
with h5py.File(path, "r") as f:
    cat = f["catalog"]
    for sl in cat.iter_chunks():
        part = cat[sl]
        print(sl, [r["name"] for r in part], [r["samples"].tolist() for r in part])
    n = cat["n"]
    keep = n % 2 == 0
    print("even:", cat["name"][keep].tolist() if keep.any() else [])
    print(cat.fields(["n", "tags"])[-2:].tolist(), cat[1]["samples"].dtype, type(cat[0]["name"]).__name__)
    print(f["notes"].asstr()[...].tolist(), f["notes"].fillvalue)
