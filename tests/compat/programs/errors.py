"""Exceptions caught the way h5py raises them."""
import sys

import h5py
import numpy as np

d = sys.argv[1]


def attempt(label, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the point is which class
        kinds = [c.__name__ for c in (KeyError, ValueError, TypeError, OSError, FileNotFoundError,
                                      FileExistsError, IndexError, RuntimeError) if isinstance(e, c)]
        print(f"{label}: {','.join(kinds) or 'other'}")
    else:
        print(f"{label}: no error")


attempt("open missing for reading", lambda: h5py.File(f"{d}/missing.h5", "r"))
attempt("open missing r+", lambda: h5py.File(f"{d}/missing.h5", "r+"))
with h5py.File(f"{d}/err.h5", "w") as f:
    f["x"] = np.arange(10)
    f.create_group("g")
    attempt("missing member", lambda: f["nope"])
    attempt("missing nested", lambda: f["g/nope/deeper"])
    attempt("create existing dataset", lambda: f.create_dataset("x", data=[1]))
    attempt("create existing group", lambda: f.create_group("g"))
    attempt("missing attribute", lambda: f.attrs["nope"])
    attempt("delete missing", lambda: f.__delitem__("nope"))
    attempt("bad mode", lambda: h5py.File(f"{d}/other.h5", "q"))
    attempt("index out of range", lambda: f["x"][20])
    attempt("too many indices", lambda: f["x"][1, 2])
    attempt("shape mismatch on write", lambda: f["x"].__setitem__(slice(0, 3), np.arange(4)))
    attempt("bad name type", lambda: f[3.5])
    attempt("require_group over dataset", lambda: f.require_group("x"))
    attempt("require_dataset wrong shape", lambda: f.require_dataset("x", shape=(3,), dtype="i8"))
    attempt("len of scalar", lambda: len(f.create_dataset("s", data=1.0)))
    attempt("no data no shape", lambda: f.create_dataset("bad"))
attempt("create with w- on existing", lambda: h5py.File(f"{d}/err.h5", "w-"))
attempt("create with x on existing", lambda: h5py.File(f"{d}/err.h5", "x"))
with h5py.File(f"{d}/err.h5", "r") as f:
    attempt("write to read-only", lambda: f.create_group("new"))
    attempt("attr write to read-only", lambda: f.attrs.__setitem__("a", 1))
    dset = f["x"]
attempt("dataset of closed file", lambda: dset[0])
print("still readable:", h5py.File(f"{d}/err.h5", "r")["x"][-1])
