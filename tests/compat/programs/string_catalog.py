"""Strings in all their h5py forms: vlen str, fixed bytes, special_dtype, asstr()."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
names = ["Andromeda", "Messier 87", "Triangulum", "NGC 1300", "Ωmega Centauri"]
with h5py.File(path, "w") as f:
    cat = f.create_group("catalog")
    cat.create_dataset("name", data=names, dtype=h5py.string_dtype())
    cat.create_dataset("code", data=np.array([b"M31", b"M87", b"M33", b"N1300", b"N5139"], dtype="S6"))
    legacy = cat.create_dataset("notes", shape=(len(names),), dtype=h5py.special_dtype(vlen=str))
    legacy[0] = "spiral"
    legacy[1:3] = ["elliptical, jet", ""]
    raw = cat.create_dataset("blobs", shape=(2,), dtype=h5py.special_dtype(vlen=bytes))
    raw[0] = b"\x7f\xfebinary"
    raw[1] = b""
    cat.create_dataset("fixed_ascii", data=["a", "bb", "ccc"], dtype=h5py.string_dtype("ascii", 4))
    cat.create_dataset("grid", data=np.array([["x", "yy"], ["zzz", ""]], dtype=object),
                       dtype=h5py.string_dtype())
    cat.attrs["survey"] = "SDSS"
    cat.attrs["bands"] = ["u", "g", "r", "i", "z"]
    cat.attrs["bytes_attr"] = b"raw"
    cat.attrs["fixed_attr"] = np.bytes_("fixed-len")
    f.create_dataset("scalar_str", data="just one string")

with h5py.File(path, "r") as f:
    cat = f["catalog"]
    name = cat["name"]
    print("name dtype:", name.dtype, h5py.check_string_dtype(name.dtype))
    print("raw read:", name[:2].tolist())
    print("asstr:", name.asstr()[...].tolist())
    print("asstr one:", repr(name.asstr()[4]))
    print("code:", cat["code"].dtype, cat["code"][...].tolist(), cat["code"].asstr()[1:3].tolist())
    print("notes:", cat["notes"][...].tolist(), h5py.check_vlen_dtype(cat["notes"].dtype))
    print("blobs:", cat["blobs"][...].tolist(), h5py.check_string_dtype(cat["blobs"].dtype))
    print("fixed ascii:", cat["fixed_ascii"].dtype, cat["fixed_ascii"][...].tolist(),
          h5py.check_string_dtype(cat["fixed_ascii"].dtype))
    print("astype S:", cat["fixed_ascii"].astype("S2")[...].tolist())
    print("grid:", cat["grid"].asstr()[...].tolist(), cat["grid"].shape)
    for key in sorted(cat.attrs):
        v = cat.attrs[key]
        print("attr", key, type(v).__name__, repr(v), getattr(v, "dtype", None))
    s = f["scalar_str"]
    print("scalar str:", repr(s[()]), s.shape, repr(s.asstr()[()]))
    print("asstr encoding:", cat["code"].asstr("ascii")[0], cat["notes"].asstr(errors="replace")[1])
