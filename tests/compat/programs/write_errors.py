"""Bad writes a program catches: shape mismatch, wrong types, read-only file, bad names."""
import sys

import h5py
import numpy as np

path = sys.argv[1]


def expect(label, fn):
    try:
        fn()
    except (ValueError, TypeError, KeyError, OSError, IndexError, RuntimeError) as e:
        print(f"{label}: {[c.__name__ for c in (ValueError, TypeError, KeyError, OSError, IndexError, RuntimeError) if isinstance(e, c)]}")
    else:
        print(f"{label}: accepted")


with h5py.File(path, "w") as f:
    d = f.create_dataset("d", shape=(4, 3), dtype="i4")
    s = f.create_dataset("s", shape=(2,), dtype=h5py.string_dtype())
    c = f.create_dataset("c", shape=(2,), dtype=[("a", "i4"), ("b", "f4")])
    expect("shape mismatch", lambda: d.__setitem__(np.s_[0:2], np.ones((3, 3))))
    expect("broadcast row", lambda: d.__setitem__(np.s_[:], np.arange(3)))
    expect("string into int", lambda: d.__setitem__(0, "abc"))
    expect("float into int", lambda: d.__setitem__(1, [1.7, 2.2, -3.9]))
    expect("out of range write", lambda: d.__setitem__(4, 1))
    expect("int into vlen str", lambda: s.__setitem__(0, 5))
    expect("bytes into vlen str", lambda: s.__setitem__(1, b"bytes"))
    expect("wrong compound fields", lambda: c.__setitem__(0, np.array((1, 2.0), dtype=[("x", "i4"), ("y", "f4")])))
    expect("tuple into compound", lambda: c.__setitem__(1, (7, 0.5)))
    expect("data vs shape", lambda: f.create_dataset("bad", shape=(3,), data=np.arange(4)))
    expect("bad dtype", lambda: f.create_dataset("bad2", shape=(3,), dtype="not-a-type"))
    expect("chunks too big", lambda: f.create_dataset("bad4", shape=(3,), chunks=(4,)))
    expect("maxshape smaller", lambda: f.create_dataset("bad5", shape=(5,), maxshape=(3,)))
    expect("delete missing", lambda: f.__delitem__("nope"))
    expect("delete missing attr", lambda: f.attrs.__delitem__("nope"))
    expect("empty name", lambda: f.create_group(""))
    expect("dataset over group", lambda: f.create_dataset("d/inner", data=[1]))
    print("d:", d[...].tolist())
    print("s:", s[...].tolist())
    print("c:", c[...].tolist())
    print("created:", sorted(f.keys()))

with h5py.File(path, "r") as f:
    expect("write read-only", lambda: f["d"].__setitem__(0, 1))
    expect("resize read-only", lambda: f["d"].resize((5, 3)))
    expect("delete read-only", lambda: f.__delitem__("d"))
