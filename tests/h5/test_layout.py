"""The stored layout is what docs/layout.md says: ordinary Zarr v3 that
zarr-python reads, with HDF5's extras under the reserved key."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

import sciswift.h5py as h5py
from sciswift.store.url import parse_location


def _doc(name: str, key: str) -> dict:  # type: ignore[type-arg]
    loc = parse_location(name)
    return json.loads(loc.store.get_object(loc.container, loc.key(key)))  # type: ignore[no-any-return]


def test_reserved_entries_match_the_spec() -> None:
    name = f"memory://layout-{uuid.uuid4().hex[:8]}/run1.h5"
    with h5py.File(name, "w") as f:
        g = f.create_group("g", track_order=True)
        g.create_dataset("b", data=np.arange(4), maxshape=(None,))
        g.create_dataset("a", (3, 3), "f4")
        g["soft"] = h5py.SoftLink("/g/a")
        g["ext"] = h5py.ExternalLink("other.h5", "/x")
        g.attrs["plain"] = 1
        g.attrs["typed"] = np.arange(3, dtype="i2")
        g.create_dataset("e", data=h5py.Empty("f8"))
        g.create_dataset("z", data=np.ones(10), compression="gzip", shuffle=True)
    root = _doc(name, "zarr.json")
    assert root["consolidated_metadata"]["kind"] == "inline"
    assert set(root["consolidated_metadata"]["metadata"]) == {"g", "g/a", "g/b", "g/e", "g/z"}
    g = _doc(name, "g/zarr.json")
    res = g["attributes"]["_sciswift"]
    assert res["track_order"] is True and res["order"] == ["b", "a", "soft", "ext", "e", "z"]
    assert res["links"] == {"soft": ["soft", "/g/a"], "ext": ["external", "other.h5", "/x"]}
    assert g["attributes"]["plain"] == 1 and g["attributes"]["typed"] == [0, 1, 2]
    assert res["attrs"]["typed"]["dtype"] == "<i2" and res["attrs"]["typed"]["shape"] == [3]
    assert "plain" not in res["attrs"]
    assert _doc(name, "g/b/zarr.json")["attributes"]["_sciswift"]["maxshape"] == [None]
    assert _doc(name, "g/a/zarr.json")["attributes"]["_sciswift"]["layout"] == "contiguous"
    assert _doc(name, "g/e/zarr.json")["attributes"]["_sciswift"]["empty"] is True
    z = _doc(name, "g/z/zarr.json")
    assert z["attributes"]["_sciswift"]["filters"]["compression"] == "gzip"
    assert [c["name"] for c in z["codecs"]] == ["bytes", "numcodecs.shuffle", "gzip"]


def test_zarr_python_reads_what_h5py_api_wrote() -> None:
    zarr = pytest.importorskip("zarr")
    from sciswift.interop.zarr import zarr_store

    name = f"memory://layout-{uuid.uuid4().hex[:8]}/run1.h5"
    data = np.random.default_rng(1).random((50, 40)).astype("f4")
    with h5py.File(name, "w") as f:
        d = f.create_dataset("vpic/x", data=data, chunks=(16, 16), compression="gzip")
        d.dims[0].label = "t"
        d.attrs["units"] = "m/s"
        f["vpic"].attrs["timestep"] = 42
        f.create_dataset("names", data=["a", "bcd"], dtype=h5py.string_dtype())
    grp = zarr.open_group(store=zarr_store(name, read_only=True), mode="r")
    arr = grp["vpic/x"]
    np.testing.assert_array_equal(arr[:], data)
    assert arr.attrs["units"] == "m/s" and grp["vpic"].attrs["timestep"] == 42
    assert arr.metadata.dimension_names == ("t", None)
    assert list(grp["names"][:]) == ["a", "bcd"]


def test_h5py_api_reads_what_zarr_python_wrote() -> None:
    zarr = pytest.importorskip("zarr")
    from sciswift.interop.zarr import zarr_store

    name = f"memory://layout-{uuid.uuid4().hex[:8]}/z.zarr"
    root = zarr.open_group(store=zarr_store(name), mode="w")
    a = root.create_array("grp/a", shape=(10, 4), chunks=(5, 2), dtype="i4")
    a[:] = np.arange(40).reshape(10, 4)
    root["grp"].attrs["title"] = "from zarr"
    with h5py.File(name, "r") as f:
        np.testing.assert_array_equal(f["grp/a"][2:7, 1:3], np.arange(40).reshape(10, 4)[2:7, 1:3])
        assert f["grp"].attrs["title"] == "from zarr"
        assert f["grp/a"].chunks == (5, 2)
