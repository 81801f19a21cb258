"""Zarr v2 hierarchies written by zarr-python open read-only in the engine."""

from __future__ import annotations

import warnings

import numcodecs
import numpy as np
import pytest

from sciswift.engine import Hierarchy
from sciswift.errors import NotSupported
from sciswift.store.url import Location

zarr = pytest.importorskip("zarr")


def _write_v2(location: Location, consolidated: bool) -> dict[str, np.ndarray]:
    from sciswift.interop.zarr import SciSwiftZarrStore

    data = {
        "temp": np.arange(7 * 5, dtype="<f8").reshape(7, 5),
        "big": np.arange(12, dtype=">i4"),
        "forder": np.asfortranarray(np.arange(24, dtype="<i2").reshape(4, 6)),
        "names": np.array(["a", "bb", "ccc"], dtype=object),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = SciSwiftZarrStore(location)
        root = zarr.open_group(store=store, mode="w", zarr_format=2, attributes={"title": "v2"})
        sub = root.create_group("sub", attributes={"level": 1})
        a = sub.create_array("temp", shape=(7, 5), chunks=(3, 2), dtype="<f8", fill_value=np.nan)
        a[:] = data["temp"]
        b = root.create_array("big", shape=(12,), chunks=(5,), dtype=">i4", fill_value=-1,
                              compressors=numcodecs.Zlib(level=3))
        b[:10] = data["big"][:10]
        data["big"] = data["big"].copy()
        data["big"][10:] = -1
        f = root.create_array("forder", shape=(4, 6), chunks=(3, 4), dtype="<i2", order="F")
        f[:] = data["forder"]
        s = root.create_array("names", shape=(3,), chunks=(2,), dtype=str)
        s[:] = data["names"]
        if consolidated:
            zarr.consolidate_metadata(store)
    return data


@pytest.mark.parametrize("consolidated", [True, False])
def test_reads_zarr_python_v2(location: Location, consolidated: bool) -> None:
    data = _write_v2(location, consolidated)
    h = Hierarchy(location, "r")
    assert h.zarr_format == 2
    assert sorted(h.children("")) == ["big", "forder", "names", "sub"]
    assert h.get("")["attributes"] == {"title": "v2"}
    assert h.get("sub")["attributes"] == {"level": 1}
    assert np.array_equal(h.array("sub/temp").read((slice(None), slice(None))), data["temp"])
    big = h.array("big")
    assert big.dtype == np.dtype(">i4")
    assert big.read((slice(None),)).tolist() == data["big"].tolist()
    assert np.array_equal(h.array("forder").read((slice(None), slice(None))), data["forder"])
    assert h.array("names").read((slice(None),)).tolist() == ["a", "bb", "ccc"]


def test_v2_is_read_only(location: Location) -> None:
    _write_v2(location, True)
    with pytest.raises(NotSupported) as ei:
        Hierarchy(location, "r+")
    assert "v2" in str(ei.value)
