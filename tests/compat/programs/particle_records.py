"""Structured particle records with nested compound fields and sub-arrays."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
vec3 = np.dtype([("x", "<f8"), ("y", "<f8"), ("z", "<f8")])
species = np.dtype([("name", "S8"), ("charge", "<i1"), ("mass", "<f4")])
particle = np.dtype([
    ("pid", "<u8"),
    ("pos", vec3),
    ("vel", vec3),
    ("kind", species),
    ("history", "<f4", (2, 3)),
    ("flags", "u1"),
])

n = 12
data = np.zeros(n, dtype=particle)
data["pid"] = np.arange(1000, 1000 + n)
for i, axis in enumerate("xyz"):
    data["pos"][axis] = np.linspace(0, 1, n) * (i + 1)
    data["vel"][axis] = -np.arange(n) * 0.25 * (i + 1)
data["kind"]["name"] = [b"electron", b"proton"] * (n // 2)
data["kind"]["charge"] = [-1, 1] * (n // 2)
data["kind"]["mass"] = [0.000544, 1.0] * (n // 2)
data["history"] = np.arange(n * 6, dtype="f4").reshape(n, 2, 3)
data["flags"] = np.arange(n) % 4

with h5py.File(path, "w") as f:
    grp = f.create_group("step_0000")
    ds = grp.create_dataset("particles", data=data, chunks=(5,))
    ds.attrs["units"] = np.array([b"m", b"m/s"])
    ds[3] = np.array((7, (9, 9, 9), (0, 0, 0), (b"muon", -1, 0.1), np.ones((2, 3)), 255), dtype=particle)
    f["step_0000/typed"] = np.dtype(particle)
    grp.create_dataset("centre", data=np.array((0.5, 0.5, 0.5), dtype=vec3))

with h5py.File(path, "r") as f:
    ds = f["step_0000/particles"]
    print("dtype names:", ds.dtype.names)
    print("nested:", ds.dtype["pos"].names, ds.dtype["history"].shape, ds.dtype.itemsize)
    print("pids:", ds["pid"].tolist())
    print("x of pos:", ds["pos"]["x"][:4].tolist())
    print("two fields:", ds.fields(["pid", "flags"])[2:5].tolist())
    row = ds[3]
    print("row 3:", type(row).__name__, row["kind"]["name"], row["history"].tolist(), int(row["flags"]))
    electrons = ds[...][ds["kind"]["charge"] < 0]
    print("electrons:", len(electrons), electrons["pid"].tolist())
    print("kinetic: %.6f" % float((ds["vel"]["x"] ** 2).sum()))
    print("names:", sorted(set(ds["kind"]["name"].tolist())))
    print("units:", ds.attrs["units"].tolist())
    centre = f["step_0000/centre"][()]
    print("centre:", type(centre).__name__, centre.dtype.names, tuple(centre.tolist()))
    t = f["step_0000/typed"]
    print("named type:", isinstance(t, h5py.Datatype), t.dtype == particle)
