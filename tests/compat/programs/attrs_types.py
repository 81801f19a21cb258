"""Attributes of many types, written and read back as h5py returns them."""
import sys

import h5py
import numpy as np

d = sys.argv[1]
values = {
    "i1": np.int8(-5), "u1": np.uint8(250), "i2": np.int16(-30000), "u2": np.uint16(65000),
    "i4": np.int32(-2**31), "u4": np.uint32(2**32 - 1), "i8": np.int64(-2**63), "u8": np.uint64(2**64 - 1),
    "f2": np.float16(1.5), "f4": np.float32(3.25), "f8": 2.718281828459045, "c8": np.complex64(1 + 2j),
    "c16": complex(3, -4), "bool": True, "npbool": np.bool_(False), "int": 42, "str": "héllo wörld",
    "bytes": b"raw\x01bytes", "npbytes": np.bytes_(b"fixed"), "list": [1, 2, 3], "floats": [0.5, 1.5],
    "array2d": np.arange(6, dtype="f4").reshape(2, 3), "strlist": ["a", "bc", "def"],
    "byteslist": [b"x", b"yz"], "empty": h5py.Empty("f4"), "emptyarr": np.zeros(0, dtype="i4"),
    "compound": np.array([(1, 2.5)], dtype=[("a", "<i4"), ("b", "<f8")])[0],
    "vlenstr": np.array(["one", "three"], dtype=h5py.string_dtype()),
    "fixedascii": np.array([b"ab", b"c"], dtype=h5py.string_dtype("ascii", 2)),
    "scalar_array": np.array(7.0),
}
with h5py.File(f"{d}/attrs.h5", "w") as f:
    g = f.create_group("g")
    for k, v in values.items():
        g.attrs[k] = v
    g.attrs.create("explicit", data=[1, 2, 3, 4], shape=(2, 2), dtype="i2")
    g.attrs.modify("int", 43)
    del g.attrs["list"]
    f.attrs["count"] = len(g.attrs)

with h5py.File(f"{d}/attrs.h5", "r") as f:
    g = f["g"]
    print("count:", f.attrs["count"], len(g.attrs), "list" in g.attrs, "int" in g.attrs)
    for k in sorted(g.attrs):
        v = g.attrs[k]
        dt = getattr(v, "dtype", None)
        if isinstance(v, h5py.Empty):
            shown = f"Empty {v.dtype}"
        elif isinstance(v, np.ndarray):
            shown = f"ndarray {v.dtype} {v.shape} {v.tolist()!r}"
        else:
            shown = f"{type(v).__name__} {dt} {v!r}"
        print(f"{k}: {shown}")
    print("get missing:", g.attrs.get("missing", "default"))
    print("order:", sorted(g.attrs.keys()) == sorted(list(g.attrs)))
