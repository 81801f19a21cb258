"""Strings in every form h5py writes: vlen str (utf-8) and bytes (ascii), fixed-length
ascii and utf-8, numpy 'S' arrays, enums over strings' codes; read back raw and with
asstr() under different encodings and errors=, astype to fixed bytes."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
words = ["alpha", "βeta", "γάμμα", "", "z"]
with h5py.File(path, "w") as f:
    f.create_dataset("vlen_utf8", data=words, dtype=h5py.string_dtype())
    f.create_dataset("vlen_ascii", data=[w.encode("ascii", "replace") for w in words],
                     dtype=h5py.string_dtype("ascii"))
    f.create_dataset("fixed_ascii", data=np.array([b"ab", b"cdef", b""], dtype="S4"))
    f.create_dataset("fixed_utf8", data=[w.encode("utf-8") for w in words], dtype=h5py.string_dtype("utf-8", 12))
    f.create_dataset("latin1_bytes", data=np.array(["caf\xe9".encode("latin-1"), b"plain"], dtype=object),
                     dtype=h5py.string_dtype("ascii"))
    colour = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="u1")
    f.create_dataset("colour", data=np.array([0, 42, 1, 42], dtype="u1"), dtype=colour)
    f.attrs["title"] = "Ünïcode title"
    f.attrs["bytes_title"] = b"bytes title"
    f.attrs["names"] = np.array([b"x", b"yy"], dtype="S2")
    f.attrs.create("fixed_attr", "fixé".encode(), dtype=h5py.string_dtype("utf-8", 8))
    f.attrs["str_list"] = ["one", "twö"]
with h5py.File(path, "r") as f:
    for name in ("vlen_utf8", "vlen_ascii", "fixed_ascii", "fixed_utf8", "latin1_bytes"):
        d = f[name]
        info = h5py.check_string_dtype(d.dtype)
        print(name, d.dtype, info.encoding, info.length, d[...].tolist())
    print(f["vlen_utf8"].asstr()[...].tolist(), f["fixed_utf8"].asstr()[1:3].tolist())
    print(f["latin1_bytes"].asstr("latin-1")[...].tolist(),
          f["latin1_bytes"].asstr(errors="replace")[...].tolist(),
          f["latin1_bytes"].asstr(errors="surrogateescape")[0].encode("utf-8", "surrogateescape"))
    try:
        f["latin1_bytes"].asstr()[...]
    except UnicodeDecodeError as e:
        print("strict decode:", e.reason)
    print(f["fixed_ascii"].astype("S2")[...].tolist(), f["fixed_ascii"][1], f["vlen_utf8"][1])
    c = f["colour"]
    print(h5py.check_enum_dtype(c.dtype), c[...].tolist(), c.dtype)
    for k in ("title", "bytes_title", "names", "fixed_attr", "str_list"):
        v = f.attrs[k]
        print(k, type(v).__name__, v if not isinstance(v, np.ndarray) else (v.dtype, v.tolist()))
