"""Lossless scale-offset filter on integers, core driver, dtype metadata a program inspects, and
string broadcasts."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
temps = np.round(np.linspace(-20.123, 40.987, 12), 3)
with h5py.File(path, "w", driver="core") as f:
    so = f.create_dataset("scaled", data=temps, chunks=(6,))
    si = f.create_dataset("scaled_int", data=np.arange(0, 1200, 100, dtype="i4"), scaleoffset=0)
    gz = f.create_dataset("gz_default", data=np.zeros(10), compression="gzip")
    s = f.create_dataset("labels", shape=(4,), dtype=h5py.string_dtype())
    s[...] = "same"
    s[2] = "other"
    u = f.create_dataset("utf8_fixed", shape=(2,), dtype=h5py.string_dtype("utf-8", 8))
    u[0] = "héllo".encode()
    print("filters:", so.scaleoffset, si.scaleoffset, gz.compression, gz.compression_opts, so.chunks is not None)

with h5py.File(path, "r") as f:
    print("scaled:", f["scaled"][...].tolist())
    print("scaled_int:", f["scaled_int"][...].tolist())
    print("labels:", f["labels"][...].tolist(), f["labels"].dtype.metadata)
    print("utf8 fixed:", f["utf8_fixed"][...].tolist(), f["utf8_fixed"].dtype.metadata,
          f["utf8_fixed"].asstr()[0])
    print("metadata:", f["scaled"].dtype.metadata, h5py.check_string_dtype(f["utf8_fixed"].dtype))
