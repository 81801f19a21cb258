"""Compound, nested, vlen, enum and string dtypes with h5py's dtype helpers."""
import sys

import h5py
import numpy as np

d = sys.argv[1]
point = np.dtype([("x", "<f4"), ("y", "<f4")])
particle = np.dtype([("id", "<i8"), ("pos", point), ("tag", "S4"), ("w", "<f8", (2,))])
utf8 = h5py.string_dtype()
ascii10 = h5py.string_dtype("ascii", 10)
ragged = h5py.vlen_dtype(np.dtype("i4"))
color = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i1")
legacy_str = h5py.special_dtype(vlen=str)
legacy_bytes = h5py.special_dtype(vlen=bytes)

with h5py.File(f"{d}/types.h5", "w") as f:
    parts = np.zeros(4, dtype=particle)
    parts["id"] = [10, 20, 30, 40]
    parts["pos"]["x"] = [0.5, 1.5, 2.5, 3.5]
    parts["pos"]["y"] = [-1, -2, -3, -4]
    parts["tag"] = [b"a", b"bb", b"ccc", b"dddd"]
    parts["w"] = np.arange(8).reshape(4, 2)
    f.create_dataset("particles", data=parts)
    f.create_dataset("names", data=["alpha", "βeta", "gamma"], dtype=utf8)
    f.create_dataset("codes", data=[b"ABC", b"DEFGHIJ"], dtype=ascii10)
    r = f.create_dataset("ragged", shape=(3,), dtype=ragged)
    r[0] = [1, 2, 3]
    r[1] = []
    r[2] = np.arange(5, dtype="i4")
    f.create_dataset("colors", data=np.array([0, 42, 1, 1], dtype="i1"), dtype=color)
    s = f.create_dataset("legacy", shape=(2,), dtype=legacy_str)
    s[0] = "first"
    s[1] = "second"
    b = f.create_dataset("legacyb", shape=(2,), dtype=legacy_bytes)
    b[:] = [b"x\x01", b"yy"]
    f.create_dataset("scalar_str", data="just one", dtype=utf8)

with h5py.File(f"{d}/types.h5", "r") as f:
    p = f["particles"]
    print("particles dtype:", p.dtype)
    print("row:", p[1])
    print("field pos:", p["pos"].tolist(), "id:", p["id"].tolist())
    print("fields():", p.fields(["id", "tag"])[:2].tolist())
    print("names raw:", f["names"][()].tolist())
    print("names asstr:", f["names"].asstr()[()].tolist())
    print("check names:", h5py.check_string_dtype(f["names"].dtype))
    print("codes:", f["codes"][()].tolist(), h5py.check_string_dtype(f["codes"].dtype))
    print("ragged:", [x.tolist() for x in f["ragged"][()]], h5py.check_vlen_dtype(f["ragged"].dtype))
    print("colors:", f["colors"][()].tolist(), sorted(h5py.check_enum_dtype(f["colors"].dtype).items()))
    print("legacy:", f["legacy"][()].tolist(), h5py.check_dtype(vlen=f["legacy"].dtype))
    print("legacyb:", f["legacyb"][()].tolist())
    print("scalar str:", f["scalar_str"][()], f["scalar_str"].asstr()[()])
    print("astype:", f["colors"].astype("i8")[()].tolist(), f["ragged"].dtype.kind)
    print("check plain:", h5py.check_string_dtype(np.dtype("f4")), h5py.check_vlen_dtype(np.dtype("f4")))
