"""Dispatch on the class h5py returns, compared by identity."""
import sys

import h5py

path = sys.argv[1]
with h5py.File(path, "w") as f:
    f.create_group("g")
    f["d"] = [1.0]
    for name in ("g", "d"):
        cls = f.get(name, getclass=True)
        print(name, "group" if cls is h5py.Group else "dataset" if cls is h5py.Dataset else "unknown")
