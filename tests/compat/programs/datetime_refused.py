"""A program that relies on h5py refusing numpy datetimes and falls back to strings."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
stamps = np.array(["2024-03-01T12:00", "2024-03-02T06:30"], dtype="M8[m]")
with h5py.File(path, "w") as f:
    try:
        f.create_dataset("time", data=stamps)
        print("stored as datetime64")
    except TypeError:
        f.create_dataset("time", data=stamps.astype(str).astype("S"))
        print("stored as strings")
with h5py.File(path, "r") as f:
    print(f["time"].dtype, f["time"][...].tolist())
