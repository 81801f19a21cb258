"""Enumerated states (a quality-flag convention), in datasets, attributes and a named type."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
quality = h5py.enum_dtype({"GOOD": 0, "SUSPECT": 1, "BAD": 2, "MISSING": 127}, basetype="i1")
phase = h5py.special_dtype(enum=(np.dtype("u2"), {"SOLID": 1, "LIQUID": 2, "GAS": 3}))

with h5py.File(path, "w") as f:
    q = f.create_dataset("quality", shape=(4, 5), dtype=quality, fillvalue=127)
    q[0] = [0, 1, 2, 0, 0]
    q[2, ::2] = 1
    f.create_dataset("phase", data=np.array([1, 1, 2, 3, 2], dtype="u2"), dtype=phase)
    f["Quality"] = quality
    f.create_dataset("via_named", data=[2, 2, 0], dtype=f["Quality"])
    f["phase"].attrs.create("default", 2, dtype=phase)
    f.attrs.create("worst", [2, 127], dtype=quality)

with h5py.File(path, "r") as f:
    q = f["quality"]
    mapping = h5py.check_enum_dtype(q.dtype)
    print("mapping:", mapping, q.dtype, q.fillvalue)
    inverse = {v: k for k, v in mapping.items()}
    print("labels:", [[inverse[int(x)] for x in row] for row in q[...]])
    counts = {inverse[int(k)]: int(c) for k, c in zip(*np.unique(q[...], return_counts=True))}
    print("counts:", sorted(counts.items()))
    p = f["phase"]
    print("phase:", p.dtype, sorted(h5py.check_enum_dtype(p.dtype).items()), p[...].tolist())
    d = p.attrs["default"]
    print("attr default:", type(d).__name__, d, h5py.check_enum_dtype(p.attrs.get_id("default").dtype))
    w = f.attrs["worst"]
    print("attr worst:", w.tolist(), sorted(h5py.check_enum_dtype(w.dtype).items()))
    t = f["Quality"]
    print("named:", isinstance(t, h5py.Datatype), sorted(h5py.check_enum_dtype(t.dtype).items()))
    print("via named:", f["via_named"][...].tolist(), sorted(h5py.check_enum_dtype(f["via_named"].dtype)))
