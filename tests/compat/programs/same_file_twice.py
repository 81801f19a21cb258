"""A helper opens the file the caller already has open, and closes its own handle."""
import sys

import h5py

path = sys.argv[1]
with h5py.File(path, "w") as f:
    f["x"] = [1, 2, 3]


def peek(p):
    with h5py.File(p, "r") as g:
        return g["x"][0]


with h5py.File(path, "r") as f:
    print("peek:", peek(path))
    print("caller still open:", bool(f), f["x"][...].tolist())
