"""The ``.id`` stand-ins, ``attrs.get_id``, ``h5ds`` and the dimension-scale
attributes, each compared with what real h5py answers for the same file."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

DTYPES = {
    "int32": lambda m: np.dtype("i4"), "float64": lambda m: np.dtype("f8"), "complex64": lambda m: np.dtype("c8"),
    "bool": lambda m: np.dtype("?"), "fixed string": lambda m: np.dtype("S3"), "opaque": lambda m: np.dtype("V4"),
    "vlen str": lambda m: m.string_dtype(), "vlen bytes": lambda m: m.string_dtype("ascii"),
    "vlen int": lambda m: m.vlen_dtype(np.dtype("i4")), "reference": lambda m: m.ref_dtype,
    "region reference": lambda m: m.regionref_dtype, "enum": lambda m: m.enum_dtype({"a": 1}),
    "compound": lambda m: np.dtype([("a", "i4"), ("b", "f8")]), "subarray": lambda m: np.dtype(("i4", (2,))),
}


@pytest.mark.parametrize("make", [pytest.param(m, id=k) for k, m in DTYPES.items()])
def test_dataset_type_class_and_size(both: Any, make: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            d = f.create_dataset("d", shape=(2,), dtype=make(mod))
            t = d.id.get_type()
            return t.get_class(), t.get_size(), d.id.get_type() == f["d"].id.get_type()

    expected, got = both(run)
    assert got == expected


def test_ids_of_groups_and_datasets(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w", track_order=True) as f:
            g = f.create_group("g", track_order=True)
            h = f.create_group("h")
            d = f.create_dataset("d", data=np.zeros((3, 2)), maxshape=(None, 2), chunks=(1, 2))
            c = f.create_dataset("c", data=[1, 2])
            space = d.id.get_space()
            return (
                f["/"].id.get_create_plist().get_attr_creation_order(),
                g.id.get_create_plist().get_attr_creation_order(),
                g.id.get_create_plist().get_link_creation_order(),
                h.id.get_create_plist().get_attr_creation_order(),
                d.id.shape, d.id.rank, space.get_simple_extent_type(), space.get_simple_extent_ndims(),
                space.get_simple_extent_dims(), space.get_simple_extent_dims(True),
                d.id.get_create_plist().get_layout(), c.id.get_create_plist().get_layout(),
                d.id.get_create_plist().get_chunk(),
                f["d"].id == d.id, hash(f["d"].id) == hash(d.id), d.id == c.id, bool(d.id),
                f.create_dataset("s", data=1.5).id.get_space().get_simple_extent_type(),
            )

    expected, got = both(run)
    assert got == expected


ATTRS = {
    "float32": lambda m: np.float32(1.5),
    "str": lambda m: "text",
    "fixed bytes": lambda m: np.bytes_(b"abc"),
    "int list": lambda m: [1, 2, 3],
    "enum": lambda m: np.array(1, dtype=m.enum_dtype({"A": 0, "B": 1}, basetype="i2")),
    "Empty": lambda m: m.Empty("f4"),
    "subarray": lambda m: np.zeros((2, 3)),
}


@pytest.mark.parametrize("make", [pytest.param(m, id=k) for k, m in ATTRS.items()])
def test_attribute_get_id(both: Any, make: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            if make is ATTRS["subarray"]:
                f.attrs.create("a", make(mod), dtype=np.dtype(("f8", (3,))))
            else:
                f.attrs["a"] = make(mod)
        with mod.File(path, "r") as f:
            aid = f.attrs.get_id("a")
            meta = {k: getattr(v, "__name__", v) for k, v in (aid.dtype.metadata or {}).items()}
            return (repr(aid.dtype), meta, aid.shape, aid.get_type().get_class(),
                    aid.get_space().get_simple_extent_type(), aid.get_storage_size())

    expected, got = both(run)
    assert got == expected


def _scales(mod: Any, f: Any) -> None:
    x = f.create_dataset("x", data=np.arange(3.0))
    x.attrs["before"] = 1
    x.make_scale("xname")
    y = f.create_dataset("y", data=np.arange(2.0))
    mod.h5ds.set_scale(y.id)
    v = f.create_dataset("v", data=np.zeros((3, 2)))
    v.attrs["first"] = 1
    v.dims[0].attach_scale(x)
    mod.h5ds.attach_scale(v.id, y.id, 1)
    v.dims[0].label = "lab"
    w = f.create_dataset("w", data=np.zeros(3))
    w.dims[0].attach_scale(x)


def _scale_view(mod: Any, f: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("x", "y", "v", "w"):
        obj = f[name]
        entry: dict[str, Any] = {"attrs": list(obj.attrs), "is_scale": mod.h5ds.is_scale(obj.id)}
        for key in obj.attrs:
            value = obj.attrs[key]
            aid = obj.attrs.get_id(key)
            if key == "REFERENCE_LIST":
                shown: Any = [(f[r].name, type(a).__name__, int(a)) for r, a in value]
                shown.append(str(value.dtype))
            elif key == "DIMENSION_LIST":
                shown = [[f[r].name for r in refs] for refs in value]
            else:
                shown = (type(value).__name__, repr(value))
            entry[key] = (shown, str(aid.dtype), aid.shape, aid.get_type().get_class())
        out[name] = entry
    v, x, y = f["v"], f["x"], f["y"]
    out["h5ds"] = (mod.h5ds.get_scale_name(x.id), mod.h5ds.get_scale_name(y.id), mod.h5ds.get_label(v.id, 0),
                   mod.h5ds.is_attached(v.id, x.id, 0), mod.h5ds.is_attached(v.id, y.id, 0),
                   mod.h5ds.get_num_scales(v.id, 0), v.dims[0].keys(), v.dims[1].keys(),
                   mod.h5ds.iterate(v.id, 1, lambda sid: mod.h5ds.get_scale_name(sid)))
    return out


def test_dimension_scales_as_h5py_shows_them(both: Any) -> None:
    def run(mod: Any, path: str) -> Any:
        with mod.File(path, "w") as f:
            _scales(mod, f)
        with mod.File(path, "r+") as f:
            before = _scale_view(mod, f)
            mod.h5ds.detach_scale(f["w"].id, f["x"].id, 0)
            after_detach = _scale_view(mod, f)
        return before, after_detach

    expected, got = both(run)
    assert got == expected
