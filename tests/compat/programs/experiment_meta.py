"""Experiment metadata stored as attributes: a dict of settings of many types,
read back with items(), get(), membership, and printed as repr()."""
import json
import sys

import h5py
import numpy as np

path = sys.argv[1]
settings = {
    "operator": "dr. k",
    "temperature_K": np.float32(4.2),
    "n_cycles": np.int64(12),
    "gain": 1.5e-3,
    "enabled": np.bool_(True),
    "channels": np.array([1, 2, 4, 8], dtype="u1"),
    "calibration": np.eye(3, dtype="f8") * 2,
    "labels": ["x", "y", "z"],
    "config_json": json.dumps({"mode": "scan", "steps": [1, 2]}),
    "serial": b"SN-00123",
    "offsets": [0.25, -0.5],
    "complex_gain": np.complex128(1 - 0.5j),
    "mixed_ints": [1, 2, 300000000000],
    "flags": [True, False, True],
    "half": np.float16(0.099976),
    "unsigned": np.uint32(4000000000),
}
with h5py.File(path, "w") as f:
    exp = f.create_group("experiment")
    exp.attrs.update(settings)
    exp.attrs.create("window", data=[[0, 10], [20, 30]], dtype="<i2")
    exp.attrs.create("threshold", 0.5, dtype="f4")
    exp.attrs.create("ascii_name", "probe", dtype=h5py.string_dtype("ascii"))
    exp.attrs["n_cycles"] = exp.attrs["n_cycles"] + 1
    exp.attrs.modify("gain", 2.5e-3)
    d = exp.create_dataset("signal", data=np.sin(np.linspace(0, 3, 16)))
    d.attrs["units"] = "V"
    d.attrs["valid_range"] = np.array([-1.0, 1.0])
    del exp.attrs["offsets"]

with h5py.File(path, "r") as f:
    exp = f["experiment"]
    print("n attrs:", len(exp.attrs), "has gain:", "gain" in exp.attrs, "has offsets:", "offsets" in exp.attrs)
    for key in sorted(exp.attrs.keys()):
        v = exp.attrs[key]
        dt = getattr(v, "dtype", None)
        print(f"{key}: {type(v).__name__} {dt} {v!r}")
    print("get missing:", exp.attrs.get("nope", "default"))
    print("config:", json.loads(exp.attrs["config_json"])["steps"])
    print("items:", sorted((k, type(v).__name__) for k, v in exp.attrs.items()))
    print("values types:", sorted(type(v).__name__ for v in exp.attrs.values()))
    d = exp["signal"]
    print("signal attrs:", dict(sorted((k, repr(v)) for k, v in d.attrs.items())))
    lo, hi = d.attrs["valid_range"]
    print("in range:", bool(((d[...] >= lo) & (d[...] <= hi)).all()), round(float(d[...].sum()), 10))
