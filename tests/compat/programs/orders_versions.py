"""Creation order where the program asks for it (track_order on files, groups and
attributes, and through h5py.get_config()), libver bounds, userblock size, the
core driver with and without a backing store, and driver reports."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
folder = path.rsplit("/", 1)[0]
names = ["zeta", "Alpha", "mid", "10", "2", "beta"]
with h5py.File(path, "w", track_order=True, libver=("earliest", "v110")) as f:
    for n in names:
        f.create_group(n)
        f.attrs[n] = len(n)
    plain = f.create_group("plain", track_order=False)
    for n in names:
        plain[n] = np.arange(2)
        plain.attrs[n] = 0
    print(list(f)[:6], list(f.attrs))
    print(list(plain), list(plain.attrs))
    f.attrs["zeta"] = "replaced"
    del f.attrs["Alpha"]
    f.attrs["Alpha"] = 1
    print(list(f.attrs))
with h5py.File(path, "r") as f:
    print(list(f)[:6], list(f.attrs), list(f["plain"]))
cfg = h5py.get_config()
cfg.track_order = True
try:
    with h5py.File(f"{folder}/global_order.h5", "w") as g:
        for n in names:
            g.create_dataset(n, data=[1])
        sub = g.create_group("sub")
        for n in reversed(names):
            sub.attrs[n] = 1
        print("global", list(g), list(sub.attrs))
finally:
    cfg.track_order = False
with h5py.File(f"{folder}/ub.h5", "w", userblock_size=1024) as u:
    u["x"] = 1
    print("userblock", u.userblock_size)
with h5py.File(f"{folder}/ub.h5", "r") as u:
    print("userblock reopened", u.userblock_size, u["x"][()])
with h5py.File(f"{folder}/core.h5", "w", driver="core") as c:
    c["y"] = np.arange(3)
with h5py.File(f"{folder}/core.h5", "r") as c:
    print("core backed", c["y"][...].tolist())
with h5py.File(f"{folder}/scratch.h5", "w", driver="core", backing_store=False) as s:
    s["z"] = [1, 2]
    print("scratch", s["z"][...].tolist())
try:
    h5py.File(f"{folder}/scratch.h5", "r")
    print("scratch persisted")
except OSError:
    print("scratch not persisted")
for bad in ({"userblock_size": 100}, {"libver": "v999"}):
    try:
        h5py.File(f"{folder}/bad.h5", "w", **bad)
        print("accepted", bad)
    except (ValueError, TypeError, KeyError) as e:
        print("refused", list(bad), type(e).__name__)
