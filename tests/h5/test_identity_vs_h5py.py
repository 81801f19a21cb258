"""Objects outlive their first name, as in HDF5: an object stays alive while a hard
link names it, and references and dimension-scale attachments follow moved
objects. Each scenario runs with real h5py and with sciswift.h5py, reopening the
file before looking, and what a program sees must be the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

Scenario = Callable[[Any, Any], Any]


def _delete_original(mod: Any, f: Any) -> Any:
    f["a"] = np.arange(3)
    f["b"] = f["a"]
    f["c"] = f["a"]
    del f["a"]
    f["b"][0] = 7  # one object: seen through every remaining name
    return None


def _delete_group_keeps_linked_member(mod: Any, f: Any) -> Any:
    f.create_group("g/sub").create_dataset("x", data=[5, 6])
    f["keep"] = f["g/sub/x"]
    f["alias"] = f["g"]
    del f["g"]
    del f["alias"]
    return None


def _delete_both_names(mod: Any, f: Any) -> Any:
    f["a"] = [1]
    f["b"] = f["a"]
    del f["a"]
    del f["b"]
    return None


def _move_original(mod: Any, f: Any) -> Any:
    f.create_group("grp").attrs["tag"] = "g"
    f["grp"].create_dataset("d", data=[1.5])
    f["link"] = f["grp"]
    f["inner"] = f["grp/d"]
    f.move("grp", "moved/grp2")
    return None


def _reference_after_delete(mod: Any, f: Any) -> Any:
    f["a"] = [1, 2]
    f["b"] = f["a"]
    f.attrs["ref"] = f["a"].ref
    del f["a"]
    return None


def _reference_after_move(mod: Any, f: Any) -> Any:
    f.create_group("g").create_dataset("d", data=[3])
    f.attrs["gref"] = f["g"].ref
    f.attrs["dref"] = f["g/d"].ref
    f.create_dataset("refs", data=[f["g/d"].ref], dtype=mod.ref_dtype)
    f.move("g", "h")
    return None


def _scales_follow_moves(mod: Any, f: Any) -> Any:
    x = f.create_dataset("x", data=np.arange(3.0))
    x.make_scale("x")
    v = f.create_dataset("v", data=np.zeros(3))
    v.dims[0].attach_scale(x)
    f.move("x", "coords/x")
    f.move("v", "data/v")
    return None


SCENARIOS = {
    "delete the original name": _delete_original,
    "delete a group, a member lives on": _delete_group_keeps_linked_member,
    "delete every name": _delete_both_names,
    "move the original": _move_original,
    "reference after delete": _reference_after_delete,
    "references after move": _reference_after_move,
    "dimension scales after moves": _scales_follow_moves,
}


def _view(f: Any) -> dict[str, Any]:
    """Every name, what it holds, and where references and scales lead."""
    out: dict[str, Any] = {}

    def visit(name: str, obj: Any) -> None:
        entry: dict[str, Any] = {"kind": type(obj).__name__}
        if hasattr(obj, "shape") and obj.shape is not None:
            data = obj[()]
            entry["data"] = [f[r].name for r in data] if data.dtype.kind == "O" else data.tolist()
            if obj.ndim:
                entry["scales"] = [[s.name for s in d.values()] for d in obj.dims]
        attrs = {}
        for k in sorted(obj.attrs):
            v = obj.attrs[k]
            if k == "REFERENCE_LIST":
                v = sorted((f[r].name, int(a)) for r, a in v)
            elif k == "DIMENSION_LIST":
                v = [[f[r].name for r in refs] for refs in v]
            elif type(v).__name__ == "Reference":
                v = f[v].name
            attrs[k] = repr(v)
        entry["attrs"] = attrs
        out[name] = entry

    for name in sorted(f):
        visit(name, f[name])
    f.visititems(lambda n, o: visit(n, o) if n not in out else None)
    for key in sorted(f.attrs):
        v = f.attrs[key]
        out["/" + key] = f[v].name if type(v).__name__ == "Reference" else repr(v)
    return out


@pytest.mark.parametrize("scenario", [pytest.param(s, id=k) for k, s in SCENARIOS.items()])
def test_object_identity_as_h5py(both: Any, scenario: Scenario) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            scenario(mod, f)
            during = _view(f)
        with mod.File(path, "r") as f:
            return during, _view(f)

    expected, got = both(run)
    assert got == expected


def test_open_object_survives_losing_its_name(ss_name: Callable[[str], str]) -> None:
    import sciswift.h5py as h5

    with h5.File(ss_name("open.h5"), "w") as f:
        a = f.create_dataset("a", data=[1, 2])
        f["b"] = a
        del f["a"]
        a[1] = 9
        assert a.name == "/b" and f["b"][()].tolist() == [1, 9]
