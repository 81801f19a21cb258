"""In-memory HDF5 (h5py.File(io.BytesIO())) as a staging area: built in memory,
its bytes checked, then copied member by member into the output file; reading an
HDF5 image from bytes back; a tempfile-backed file object."""
import io
import sys
import tempfile

import h5py
import numpy as np

path = sys.argv[1]
bio = io.BytesIO()
with h5py.File(bio, "w") as mem:
    mem.create_dataset("frames", data=np.arange(24, dtype="u2").reshape(2, 3, 4), compression="gzip")
    mem["frames"].attrs["exposure"] = 0.25
    mem.create_group("meta").attrs["instrument"] = "cam-7"
raw = bio.getvalue()
print("image starts with HDF5 signature:", raw[:8] == b"\x89HDF\r\n\x1a\n", len(raw) > 1000)
with h5py.File(io.BytesIO(raw), "r") as mem, h5py.File(path, "w") as out:
    for name, obj in mem.items():
        if isinstance(obj, h5py.Dataset):
            dst = out.create_dataset(name, data=obj[...], compression=obj.compression)
        else:
            dst = out.create_group(name)
        dst.attrs.update(obj.attrs)
    print(sorted(out), out["frames"].compression, dict(out["meta"].attrs))
with tempfile.TemporaryFile() as tf:
    with h5py.File(tf, "w") as t:
        t["x"] = np.arange(3)
    tf.seek(0)
    with h5py.File(tf, "r") as t:
        print("tempfile", t["x"][...].tolist())
with h5py.File(path, "r") as f:
    print(f["frames"][1, 2].tolist(), f["frames"].attrs["exposure"], f.filename.endswith("data.h5"))
