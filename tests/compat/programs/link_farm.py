"""Soft, hard and external links: latest-result aliases, a master file linking
per-run files, dangling links, getlink inspection."""
import os
import sys

import h5py
import numpy as np

path = sys.argv[1]
folder = os.path.dirname(path)
for run in range(2):
    with h5py.File(os.path.join(folder, f"run{run}.h5"), "w") as r:
        r.create_dataset("data/values", data=np.arange(4) + 10 * run)
        r["data"].attrs["run"] = run

with h5py.File(path, "w") as f:
    f.create_dataset("results/v1", data=[1.0, 2.0])
    f.create_dataset("results/v2", data=[3.0, 4.0, 5.0])
    f["latest"] = h5py.SoftLink("/results/v2")
    f["results/relative"] = h5py.SoftLink("v1")
    f["hard_v1"] = f["results/v1"]
    f["broken"] = h5py.SoftLink("/results/v9")
    for run in range(2):
        f[f"runs/run{run}"] = h5py.ExternalLink(f"run{run}.h5", "/data")
    f["runs/missing"] = h5py.ExternalLink("nofile.h5", "/data")
    f["latest"].attrs["note"] = "attr set through a soft link"

with h5py.File(path, "r") as f:
    for name in ("latest", "results/relative", "hard_v1", "broken", "runs/run0", "runs/missing", "results"):
        link = f.get(name, getlink=True)
        desc = type(link).__name__
        if isinstance(link, h5py.SoftLink):
            desc += " -> " + link.path
        elif isinstance(link, h5py.ExternalLink):
            desc += " -> " + link.filename + ":" + link.path
        print(f"{name}: {desc}; in file: {name in f}; get: {f.get(name) is not None}")
    print("latest:", f["latest"][...].tolist(), f["latest"].name, dict(f["results/v2"].attrs))
    print("relative:", f["results/relative"][...].tolist())
    print("hard link same object:", f["hard_v1"] == f["results/v1"])
    for run in range(2):
        g = f[f"runs/run{run}"]
        print("external:", isinstance(g, h5py.Group), g["values"][...].tolist(), int(g.attrs["run"]),
              g.file.filename.rsplit("/", 1)[-1], g.name)
    try:
        f["broken"]
    except KeyError:
        print("broken soft link: KeyError")
    try:
        f["runs/missing"]
    except KeyError:
        print("missing external file: KeyError")
    print("keys:", sorted(f.keys()), sorted(f["runs"].keys()))
    print("link types:", sorted((k, type(f.get(k, getlink=True)).__name__) for k in f))
