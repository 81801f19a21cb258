"""Exception classes on closed and read-only files, each case run with real h5py
and with sciswift.h5py: the class must be the one h5py 3.16 raises (or both must
succeed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

Case = Callable[[Any, Any, Any, Any, Any], Any]


def _setup(mod: Any, path: str) -> None:
    with mod.File(path, "w") as f:
        f["x"] = [1, 2]
        f.create_dataset("grow", data=[1, 2], maxshape=(None,))
        f.attrs["a"] = 1
        f.create_group("g")


CLOSED: dict[str, Case] = {
    "f[name]": lambda mod, f, x, g, a: f["x"],
    "dset[0]": lambda mod, f, x, g, a: x[0],
    "dset[0] = v": lambda mod, f, x, g, a: x.__setitem__(0, 1),
    "dset.shape": lambda mod, f, x, g, a: x.shape,
    "dset.dtype": lambda mod, f, x, g, a: x.dtype,
    "np.asarray(dset)": lambda mod, f, x, g, a: np.asarray(x),
    "dset.attrs[name]": lambda mod, f, x, g, a: x.attrs["a"],
    "attrs[name]": lambda mod, f, x, g, a: a["a"],
    "attrs[name] = v": lambda mod, f, x, g, a: a.__setitem__("b", 1),
    "list(attrs)": lambda mod, f, x, g, a: list(a),
    "len(file)": lambda mod, f, x, g, a: len(f),
    "list(file)": lambda mod, f, x, g, a: list(f),
    "create_group": lambda mod, f, x, g, a: g.create_group("h"),
    "create_dataset": lambda mod, f, x, g, a: f.create_dataset("y", data=[1]),
    "del f[name]": lambda mod, f, x, g, a: f.__delitem__("x"),
    "dset.name is None": lambda mod, f, x, g, a: x.name is None or 1 / 0,
    "file.filename": lambda mod, f, x, g, a: f.filename,
    "file.mode": lambda mod, f, x, g, a: f.mode,
    "file.attrs": lambda mod, f, x, g, a: f.attrs,
    "dset.file": lambda mod, f, x, g, a: x.file,
    "dset.parent": lambda mod, f, x, g, a: x.parent,
    "name in file": lambda mod, f, x, g, a: "x" in f,
}

READ_ONLY: dict[str, Case] = {
    "attrs[name] = v": lambda mod, f, x, g, a: a.__setitem__("b", 1),
    "attrs.create": lambda mod, f, x, g, a: a.create("b", 2),
    "attrs.modify": lambda mod, f, x, g, a: a.modify("a", 2),
    "del attrs[name]": lambda mod, f, x, g, a: a.__delitem__("a"),
    "dset[0] = v": lambda mod, f, x, g, a: x.__setitem__(0, 1),
    "create_group": lambda mod, f, x, g, a: f.create_group("h"),
    "require_group": lambda mod, f, x, g, a: f.require_group("h"),
    "create_dataset": lambda mod, f, x, g, a: f.create_dataset("h", data=[1]),
    "f[name] = data": lambda mod, f, x, g, a: f.__setitem__("y", 1),
    "f[name] = SoftLink": lambda mod, f, x, g, a: f.__setitem__("l", mod.SoftLink("/x")),
    "f[name] = ExternalLink": lambda mod, f, x, g, a: f.__setitem__("l", mod.ExternalLink("o.h5", "/x")),
    "f[name] = object (hard link)": lambda mod, f, x, g, a: f.__setitem__("h", x),
    "del f[name]": lambda mod, f, x, g, a: f.__delitem__("x"),
    "move": lambda mod, f, x, g, a: f.move("x", "z"),
    "resize contiguous": lambda mod, f, x, g, a: x.resize((3,)),
    "resize chunked": lambda mod, f, x, g, a: f["grow"].resize((3,)),
    "make_scale": lambda mod, f, x, g, a: x.make_scale("q"),
}


def _outcome(mod: Any, path: str, case: Case, closed: bool) -> type[BaseException] | None:
    _setup(mod, path)
    f = mod.File(path, "r+" if closed else "r")
    x, g, a = f["x"], f["g"], f.attrs
    if closed:
        f.close()
    try:
        case(mod, f, x, g, a)
    except Exception as e:  # noqa: BLE001 - the class is the result
        return type(e)
    finally:
        if not closed:
            f.close()
    return None


@pytest.mark.parametrize("closed, case", [
    *[pytest.param(True, c, id=f"closed-{k}") for k, c in CLOSED.items()],
    *[pytest.param(False, c, id=f"read-only-{k}") for k, c in READ_ONLY.items()],
])
def test_exception_class_as_h5py(both: Any, closed: bool, case: Case) -> None:
    expected, got = both(lambda mod, path: _outcome(mod, path, case, closed))
    assert got is expected, f"h5py: {expected}, sciswift: {got}"
