"""The keyword arguments real programs pass to h5py.File and create_group/dataset:
libver, track_order, driver=None, rdcc_*, locking, swmr on reading; then insertion order."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
with h5py.File(path, "w", libver="latest", track_order=True, driver=None) as f:
    for name in ("zulu", "alpha", "mike", "bravo"):
        f.create_dataset(name, data=np.arange(3) * len(name))
    g = f.create_group("ordered", track_order=True)
    for name in ("c", "a", "b"):
        g.attrs[name] = name.upper()
        g.create_group(name)
    u = f.create_group("unordered")
    for name in ("c", "a", "b"):
        u.create_group(name)
    f.attrs["z_first"] = 1
    f.attrs["a_second"] = 2
    print("write keys:", list(f.keys()), list(g.keys()), list(u.keys()))

with h5py.File(path, "r", rdcc_nbytes=4 * 1024**2, rdcc_nslots=521, rdcc_w0=0.75, locking=False) as f:
    print("read keys:", list(f.keys()), list(f["ordered"].keys()), list(f["unordered"].keys()))
    print("attr order:", list(f.attrs.keys()), list(f["ordered"].attrs.keys()))
    print("values:", [f[k][-1] for k in f if isinstance(f[k], h5py.Dataset)])

with h5py.File(path, "r", swmr=True) as f:
    d = f["zulu"]
    d.refresh()
    print("swmr read:", d[...].tolist(), d.shape)

with h5py.File(path, "a", libver=("earliest", "latest")) as f:
    f.create_dataset("appended", data=[1], track_order=True)
    print("append keys:", list(f.keys())[-2:], "n:", len(f))
