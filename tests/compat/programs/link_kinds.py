"""Soft, external and hard links in a results tree: relative external links to a
sibling file, links to links, dangling ones, what get(..., getlink=True) and
getclass=True say, visit versus visit_links, moving a linked group."""
import os
import sys

import h5py
import numpy as np

path = sys.argv[1]
folder = os.path.dirname(path)
calib = os.path.join(folder, "calib.h5")
with h5py.File(calib, "w") as c:
    c.create_dataset("gain", data=np.linspace(1, 2, 5))
    c.create_group("meta").attrs["version"] = 3
with h5py.File(path, "w") as f:
    data = f.create_dataset("raw/data", data=np.arange(10))
    f["raw/alias"] = h5py.SoftLink("/raw/data")
    f["alias_of_alias"] = h5py.SoftLink("/raw/alias")
    f["relative"] = h5py.SoftLink("raw/data")
    f["dangling"] = h5py.SoftLink("/nowhere")
    f["gain"] = h5py.ExternalLink("calib.h5", "/gain")
    f["calib_meta"] = h5py.ExternalLink("calib.h5", "/meta")
    f["missing_file"] = h5py.ExternalLink("no_such_file.h5", "/x")
    f["hard"] = data
    f.create_group("results")
with h5py.File(path, "a") as f:
    for name in ("raw/alias", "alias_of_alias", "relative", "dangling", "gain", "calib_meta", "missing_file", "hard"):
        link = f.get(name, getlink=True)
        try:
            cls = f.get(name, getclass=True)
            cls = cls.__name__ if cls else None
        except (RuntimeError, KeyError, OSError) as e:
            cls = "error " + type(e).__name__
        detail = getattr(link, "path", None), getattr(link, "filename", None)
        print(name, type(link).__name__, detail, cls, name in f)
    print(f["alias_of_alias"][:3].tolist(), f["gain"][...].round(2).tolist(), f["calib_meta"].attrs["version"])
    print("ext file:", os.path.basename(f["gain"].file.filename), f["gain"].name)
    try:
        f["missing_file"]
    except KeyError:
        print("missing ext: KeyError")
    seen, linked = [], []
    f.visit(seen.append)
    f.visit_links(linked.append)
    print("visit", seen)
    print("visit_links", linked)
    f.move("raw", "moved_raw")
    print("after move:", "raw/alias" in f, f.get("alias_of_alias") is None, "moved_raw/alias" in f,
          f.get("moved_raw/alias", getlink=True).path, f.get("moved_raw/alias", "gone"))
    print(f["hard"][-1], f["hard"] == f["moved_raw/data"])
    del f["dangling"]
    print(sorted(f.keys()))
