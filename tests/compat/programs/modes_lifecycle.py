"""File modes and lifecycle: w, w-/x, a, r+, r; explicit close; is_hdf5; filename; flags."""
import os
import sys

import h5py
import numpy as np

path = sys.argv[1]
base = os.path.basename(path)


def attempt(label, fn):
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001
        print(f"{label}: {type(e).__mro__[1].__name__ if type(e).__name__.startswith('_') else type(e).__name__}")
        return None
    print(f"{label}: ok")
    return out


print("is_hdf5 before:", h5py.is_hdf5(path))
f = h5py.File(path, "w")
f["a"] = np.arange(3)
print("mode w:", f.mode, f.filename.endswith(base), bool(f), f.name)
f.close()
print("closed:", bool(f), repr(f))
print("is_hdf5 after:", h5py.is_hdf5(path))
attempt("w- on existing", lambda: h5py.File(path, "w-"))
attempt("x on existing", lambda: h5py.File(path, "x"))
attempt("bad mode", lambda: h5py.File(path, "q"))

f = h5py.File(path, "r")
print("mode r:", f.mode, list(f), f["a"][...].tolist())
attempt("write in r", lambda: f.create_dataset("b", data=[1]))
attempt("attr in r", lambda: f.attrs.__setitem__("x", 1))
f.close()

with h5py.File(path, "r+") as f:
    f["a"][0] = 100
    f.create_dataset("b", data=[1.5])
    print("mode r+:", f.mode, sorted(f))
with h5py.File(path, "a") as f:
    del f["b"]
    f.create_group("g").attrs["k"] = "v"
    print("mode a:", f.mode, sorted(f))
new = os.path.join(os.path.dirname(path), "fresh.h5")
with h5py.File(new, "a") as f:
    print("a creates:", f.mode, list(f))
attempt("x on the file a created", lambda: h5py.File(new, "x"))
print("fresh is hdf5:", h5py.is_hdf5(new))
with h5py.File(path) as f:
    print("default mode:", f.mode, f["a"][...].tolist(), f["g"].attrs["k"])
    ds = f["a"]
dead = attempt("dataset after close", lambda: ds[...])
attempt("open missing r", lambda: h5py.File(os.path.join(os.path.dirname(path), "nope.h5"), "r"))
f1 = h5py.File(path, "r")
f2 = h5py.File(path, "r")
print("two handles:", f1["a"][...].tolist() == f2["a"][...].tolist())
f2.close()
f1.close()
print("both closed:", bool(f1), bool(f2))
