"""Compound records with nested compounds and multi-dimensional sub-arrays,
written whole, by field and by element; read through fields(), names in the
index, and np.asarray; attributes of the same type."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
vec = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4")])
hit = np.dtype([("det", "<u1"), ("adc", "<i2", (2, 3)), ("where", vec), ("flags", "u1", (4,))])
event = np.dtype([("id", "<i8"), ("hits", hit, (2,)), ("energy", "<f8"), ("tag", "S3")])
with h5py.File(path, "w") as f:
    ev = np.zeros(4, dtype=event)
    ev["id"] = [10, 11, 12, 13]
    ev["energy"] = [1.5, 2.5, 3.5, 4.5]
    ev["tag"] = [b"a", b"bb", b"ccc", b"dd"]
    ev["hits"]["adc"] = np.arange(4 * 2 * 6).reshape(4, 2, 2, 3)
    ev["hits"]["where"]["z"] = np.arange(8).reshape(4, 2) * 0.5
    ev["hits"]["flags"] = np.arange(32).reshape(4, 2, 4) % 3
    d = f.create_dataset("events", data=ev, chunks=(2,), compression="gzip")
    d[1] = (99, ev[1]["hits"], -1.0, b"new")
    try:
        d[2, "energy"] = 7.0  # writing one field of a record
    except (TypeError, ValueError) as e:
        print("field write:", type(e).__name__, e)
    print("field read:", d[2, "energy"], d["energy", 2])
    d.attrs["template"] = ev[0]
    f.create_dataset("one", data=ev[3])
    print(d.dtype.names, d.dtype["hits"].shape, d.dtype["hits"].base.names)
with h5py.File(path, "r") as f:
    d = f["events"]
    print(d["id"].tolist(), d["energy"][:2].tolist(), d[1:3]["tag"].tolist())
    print(d["hits"].shape, d["hits"]["adc"][2].tolist())
    print(d.fields("energy")[...].tolist(), d.fields(["id", "tag"])[:2].tolist())
    print(d[0]["hits"]["where"].tolist())
    print(np.asarray(d)["hits"]["flags"][3].tolist())
    t = d.attrs["template"]
    print(type(t).__name__, t.dtype == d.dtype, t["id"], t["hits"]["adc"].sum())
    one = f["one"]
    print(one.shape, one[()]["tag"], one["energy"], one[()]["hits"]["where"]["z"].tolist())
