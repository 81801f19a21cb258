"""Context managers, close/reopen, append mode, flush: the life cycle of a file."""
import sys

import h5py
import numpy as np

d = sys.argv[1]
path = f"{d}/life.h5"

with h5py.File(path, "w") as f:
    f.create_dataset("counts", data=np.arange(12, dtype="i8").reshape(3, 4))
    f.attrs["version"] = 1
    print("inside:", bool(f), f.mode, sorted(f.keys()))
print("after with:", bool(f))
try:
    f["counts"]
except (ValueError, KeyError) as e:
    print("closed file access:", type(e).__name__)

with h5py.File(path, "a") as f:
    f.attrs["version"] = f.attrs["version"] + 1
    g = f.require_group("runs")
    g.create_dataset("r0", data=[1.5, 2.5])
    f.flush()
    print("append:", sorted(f.keys()), int(f.attrs["version"]))

f = h5py.File(path, "r+")
f["counts"][1, :] = -1
f["runs"].create_dataset("r1", data=np.linspace(0, 1, 5))
print("r+ members:", list(f["runs"]))
f.close()
f.close()  # closing twice is harmless

with h5py.File(path, "a") as f:
    f.require_group("runs")
    dset = f.require_dataset("runs/r0", shape=(2,), dtype="f8")
    print("require_dataset:", dset.shape, dset.dtype, dset[()].tolist())
    del f["runs/r1"]
    f["runs/r2"] = np.array([7, 8, 9], dtype="u2")

with h5py.File(path, "r") as f:
    print("final:", f["counts"][()].tolist(), sorted(f["runs"]), repr(f))
    print("len/contains:", len(f), "runs/r2" in f, "runs/r1" in f, "/counts" in f)
    print("name/parent:", f["runs/r2"].name, f["runs/r2"].parent.name, f["runs"].file == f)

with h5py.File(f"{d}/new.h5", "w-") as f:
    f["x"] = 1
print("done")
