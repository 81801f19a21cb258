"""numpy unicode arrays (dtype '<U'), which h5py refuses, and the usual workarounds."""
import sys

import h5py
import numpy as np

path = sys.argv[1]
labels = np.array(["cat", "dog", "émeu"])
with h5py.File(path, "w") as f:
    for what, fn in [
        ("dataset from <U array", lambda: f.create_dataset("u", data=labels)),
        ("attribute from <U array", lambda: f.attrs.__setitem__("u", labels)),
        ("attribute from <U scalar", lambda: f.attrs.__setitem__("s", np.str_("x"))),
        ("dataset via astype S", lambda: f.create_dataset("w", data=np.char.encode(labels, "utf-8"))),
        ("attribute list of str", lambda: f.attrs.__setitem__("l", list(labels))),
        ("dataset via astype object", lambda: f.create_dataset("o", data=labels.astype(object),
                                                               dtype=h5py.string_dtype())),
        ("fixed str dtype write", lambda: f.create_dataset("fx", shape=(3,), dtype="S5").__setitem__(
            slice(None), labels)),
    ]:
        try:
            fn()
            print(what, "ok")
        except (TypeError, ValueError, UnicodeError) as e:
            print(what, type(e).__name__)
with h5py.File(path, "r") as f:
    for k in sorted(f):
        print(k, f[k].dtype, f[k][...].tolist(), f[k].asstr(errors="replace")[...].tolist() if f[k].dtype.kind in "OS" else "")
    for k in sorted(f.attrs):
        v = f.attrs[k]
        print("attr", k, type(v).__name__, getattr(v, "dtype", None), v.tolist() if hasattr(v, "tolist") else v)
