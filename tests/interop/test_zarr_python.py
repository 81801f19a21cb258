"""zarr-python 3.1 and xarray read what the engine writes, and the engine reads
what zarr-python writes (the layout is plain Zarr v3)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
import zarr

import sciswift
from sciswift.engine import ArrayMeta, Hierarchy, build_codecs, describe
from sciswift.engine.dtypes import default_fill
from sciswift.store.url import parse_location

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


def _url(tmp_path, kind: str, name: str) -> str:  # type: ignore[no-untyped-def]
    return f"memory://interop-{tmp_path.name}/{name}" if kind == "memory" else str(tmp_path / name)


@pytest.fixture(params=["memory", "local"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def _make(h, path, dt, shape, chunks, dims=None, **filters):  # type: ignore[no-untyped-def]
    info = describe(np.dtype(dt))
    codecs, _ = build_codecs(info, **filters)
    meta = ArrayMeta.create(shape, chunks, info, codecs, default_fill(info.dtype), dimension_names=dims)
    return h.create_array(path, meta)


CASES = [
    ("f4", {"compression": "gzip", "shuffle": True}, np.arange(60, dtype="f4").reshape(6, 10)),
    (">i8", {"compression": "zstd"}, np.arange(60, dtype=">i8").reshape(6, 10)),
    ("?", {}, (np.arange(60) % 3 == 0).reshape(6, 10)),
    ("c16", {"compression": "blosc"}, (np.arange(60) * (1 + 1j)).reshape(6, 10)),
    ("S4", {"fletcher32": True}, np.array([[b"ab%d" % i for i in range(10)]] * 6)),
    ([("a", "<i4"), ("b", "<f8")], {}, np.zeros((6, 10), dtype=[("a", "<i4"), ("b", "<f8")])),
]


@pytest.mark.parametrize("dt,filters,data", CASES, ids=lambda c: str(c)[:20])
def test_zarr_python_reads_engine_arrays(tmp_path, kind, dt, filters, data) -> None:  # type: ignore[no-untyped-def]
    url = _url(tmp_path, kind, "ours.h5")
    h = Hierarchy(parse_location(url), "w")
    h.create_group("grp", {"units": "m/s"})
    _make(h, "grp/x", dt, (6, 10), (4, 3), **filters).write((slice(None), slice(None)), data)
    h.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = zarr.open_group(store=sciswift.zarr_store(url, read_only=True), mode="r")
        assert dict(g["grp"].attrs) == {"units": "m/s"}
        got = g["grp/x"][:]
    # zarr-python hands back native byte order; values and type must match.
    assert got.dtype == np.dtype(dt).newbyteorder("=")
    assert np.array_equal(got, data)


def test_engine_reads_zarr_python_arrays(tmp_path, kind) -> None:  # type: ignore[no-untyped-def]
    url = _url(tmp_path, kind, "theirs.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = zarr.open_group(store=sciswift.zarr_store(url), mode="w", attributes={"origin": "zarr-python"})
        a = root.create_array("sub/temp", shape=(9, 7), chunks=(4, 4), dtype="f8", fill_value=np.nan)
        a[:5, :] = np.arange(35).reshape(5, 7)
        s = root.create_array("names", shape=(3,), chunks=(2,), dtype=str)
        s[:] = ["x", "yy", "zzz"]
        sh = root.create_array("sharded", shape=(8, 8), chunks=(2, 2), shards=(4, 4), dtype="i2")
        sh[:] = np.arange(64).reshape(8, 8)
    h = Hierarchy(parse_location(url), "r")
    assert h.children("") == ["names", "sharded", "sub"]
    assert h.get("")["attributes"] == {"origin": "zarr-python"}
    got = h.array("sub/temp").read((slice(None), slice(None)))
    assert np.array_equal(got[:5], np.arange(35).reshape(5, 7))
    assert np.isnan(got[5:]).all()
    assert h.array("names").read((slice(None),)).tolist() == ["x", "yy", "zzz"]
    assert np.array_equal(h.array("sharded").read((slice(None), slice(None))), np.arange(64).reshape(8, 8))


def test_xarray_open_zarr_uses_dimension_names(tmp_path, kind) -> None:  # type: ignore[no-untyped-def]
    url = _url(tmp_path, kind, "xr.h5")
    h = Hierarchy(parse_location(url), "w")
    _make(h, "time", "f8", (5,), (5,), dims=["time"]).write((slice(None),), np.arange(5.0))
    _make(h, "temp", "f4", (5, 3), (2, 3), dims=["time", "station"]).write(
        (slice(None), slice(None)), np.ones((5, 3))
    )
    h.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.open_zarr(sciswift.zarr_store(url, read_only=True), consolidated=True)
        assert ds["temp"].dims == ("time", "station")
        assert ds["temp"].shape == (5, 3)
        assert float(ds["temp"].sum()) == 15.0
        assert ds["time"].values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_nodes_zarr_python_adds_to_an_existing_file_are_seen(tmp_path, kind: str) -> None:  # type: ignore[no-untyped-def]
    # sciswift opens a file from its root's consolidated metadata; zarr-python
    # writes only the new node's zarr.json (and rewrites the root with the
    # consolidated view it loaded at open), so arrays it added used to be
    # invisible to sciswift.h5py (KeyError) and engine="sciswift".
    import dask.array as da

    import sciswift.h5py as h5py

    url = _url(tmp_path, kind, "grown.h5")
    with h5py.File(url, "w") as f:
        f["keep"] = np.arange(5)
        f.create_group("vpic")["x"] = np.ones(3)
    store = sciswift.zarr_store(url)
    g = zarr.open_group(store, mode="a")
    g.create_array("new/arr", shape=(4,), dtype="i4")[:] = [1, 2, 3, 4]
    g.attrs["title"] = "grown"  # zarr-python rewrites the root with its stale consolidated view
    y = da.arange(1000, chunks=100).reshape(10, 100)
    y.to_zarr(sciswift.zarr_store(url), component="vpic/y")
    with h5py.File(url, "r") as f:
        assert sorted(f) == ["keep", "new", "vpic"] and sorted(f["vpic"]) == ["x", "y"]
        np.testing.assert_array_equal(f["new/arr"][...], [1, 2, 3, 4])
        np.testing.assert_array_equal(f["vpic/y"][...], np.arange(1000).reshape(10, 100))
        np.testing.assert_array_equal(f["keep"][...], np.arange(5))
        assert f.attrs["title"] == "grown"
    with xr.open_dataset(url, engine="sciswift", group="vpic") as ds:  # closed: an open file is shared
        assert set(ds.variables) == {"x", "y"}
    g["vpic/x"].resize((5,))
    del g["new"]
    with h5py.File(url, "r") as f:
        assert sorted(f) == ["keep", "vpic"] and f["vpic/x"].shape == (5,)
    with h5py.File(url, "a") as f:  # sciswift's own writers still merge with it
        f["more"] = np.zeros(2)
    assert sorted(zarr.open_group(sciswift.zarr_store(url), mode="r").keys()) == ["keep", "more", "vpic"]
