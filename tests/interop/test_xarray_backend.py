"""``engine="sciswift"``: every kind of object sciswift opens, compared with xarray's
own engines on the same local file (h5netcdf for netCDF-4 and HDF5, scipy for
netCDF-3) or with the format's library; native files, to_zarr/to_netcdf round
trips, open_mfdataset, laziness and dask processes, on a LocalStore account and
on ``sciswift serve``."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import sciswift
import sciswift.h5py as sh5
from sciswift.interop.netcdf_rules import NetCDFView
from sciswift.interop.xarray_backend import SciSwiftArray, SciSwiftBackendEntrypoint
from sciswift.store import LocalStore, parse_location

xr = pytest.importorskip("xarray")
pd = pytest.importorskip("pandas")
h5netcdf = pytest.importorskip("h5netcdf")
netCDF4 = pytest.importorskip("netCDF4")

SITE = Path(np.__file__).parents[1]
NC4 = sorted(p for p in SITE.glob("sunpy/data/test/*.nc") if p.read_bytes()[:4] == b"\x89HDF")
NC3 = sorted([*SITE.glob("scipy/io/tests/data/*.nc"), *SITE.glob("xarray/tests/data/*.nc")])
H5 = sorted(SITE.glob("h5py/tests/data_files/*.h5"))

pytestmark = pytest.mark.filterwarnings("ignore::xarray.SerializationWarning", "ignore::UserWarning")


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStore, str]]:
    """A LocalStore account (marked root) with container ``objs``; its file:// base URL."""
    root = tmp_path_factory.mktemp("acct")
    store = LocalStore(root, mark_root=True)
    store.create_container("objs")
    yield store, f"{root.as_uri()}/objs"
    store.close()


def _upload(account: tuple[LocalStore, str], path: Path, name: str | None = None) -> str:
    store, base = account
    name = name or path.name
    store.put_object("objs", name, path.read_bytes())
    return f"{base}/{name}"


def _netcdf_c_file(path: Path) -> Path:
    with netCDF4.Dataset(path, "w") as nc:
        nc.title = "netCDF-C"
        nc.createDimension("time", None)
        nc.createDimension("lat", 3)
        nc.createDimension("nchar", 2)
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "hours since 2020-01-01"
        t[:] = [0, 6, 12]
        nc.createVariable("lat", "f4", ("lat",))[:] = [-10, 0, 10]
        v = nc.createVariable("temp", "i2", ("time", "lat"), zlib=True, fill_value=-1)
        v.scale_factor = 0.5
        v.coordinates = "station"
        v[:] = np.ma.masked_equal(np.arange(9, dtype="i2").reshape(3, 3), 4)
        nc.createVariable("station", str, ("lat",))[:] = np.array(["a", "bb", "ccc"], dtype=object)
        nc.createVariable("code", "S1", ("lat", "nchar"))[:] = netCDF4.stringtochar(np.array(["ab", "cd", "ef"], "S2"))
        g = nc.createGroup("forecast")
        g.createDimension("step", 2)
        g.createVariable("step", "i4", ("step",))[:] = [1, 2]
        g.createVariable("lead", "f8", ("time", "step"))[:] = np.arange(6.0).reshape(3, 2)
    return path


def test_registered_as_an_xarray_engine() -> None:
    engines = xr.backends.list_engines()
    assert isinstance(engines["sciswift"], SciSwiftBackendEntrypoint)
    entry = SciSwiftBackendEntrypoint()
    assert entry.guess_can_open("swift://c/x.nc") and entry.guess_can_open("memory://c/x")
    assert not entry.guess_can_open("/tmp/x.nc") and not entry.guess_can_open(b"CDF")


@pytest.mark.parametrize("path", NC4, ids=lambda p: p.name)
def test_netcdf4_objects_match_h5netcdf(account: Any, path: Path) -> None:
    ours = xr.open_dataset(_upload(account, path), engine="sciswift").load()
    xr.testing.assert_identical(ours, xr.open_dataset(path, engine="h5netcdf").load())
    assert not any(str(d).startswith("phony_dim") for d in ours.dims)


def test_netcdf_c_file_with_groups(account: Any, tmp_path: Path) -> None:
    path = _netcdf_c_file(tmp_path / "c.nc")
    url = _upload(account, path)
    ours = xr.open_dataset(url, engine="sciswift").load()
    xr.testing.assert_identical(ours, xr.open_dataset(path, engine="h5netcdf").load())
    assert set(ours.coords) == {"time", "lat", "station"} and bool(ours["temp"].isnull()[1, 1])
    sub = xr.open_dataset(url, engine="sciswift", group="forecast").load()
    xr.testing.assert_identical(sub, xr.open_dataset(path, engine="h5netcdf", group="forecast").load())
    tree = xr.open_datatree(url, engine="sciswift")
    assert set(tree.groups) == {"/", "/forecast"}
    xr.testing.assert_identical(tree["forecast"].to_dataset(inherit=False).load(), sub)
    with pytest.raises(KeyError, match="no group '/nowhere'"):
        xr.open_dataset(url, engine="sciswift", group="nowhere")


def test_compression_encoding_matches_h5netcdf(account: Any, tmp_path: Path) -> None:
    # The filter pipeline of an HDF5/netCDF-4 object is h5py's: complevel and
    # shuffle reach xarray's encoding (and so a later to_netcdf) as h5netcdf
    # gives them; they used to be dropped (compression name only).
    path = tmp_path / "packed.nc"
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("t", 6)
        nc.createDimension("x", 5)
        nc.createVariable("z", "f4", ("t", "x"), zlib=True, complevel=6, shuffle=True, chunksizes=(2, 5))[:] = 1
        nc.createVariable("f", "f8", ("t",), zlib=True, complevel=1, shuffle=False, fletcher32=True)[:] = 2
        nc.createVariable("plain", "i4", ("x",))[:] = 3
    url = _upload(account, path)
    ours = xr.open_dataset(url, engine="sciswift")
    theirs = xr.open_dataset(path, engine="h5netcdf")
    for name in ("z", "f", "plain"):
        for key in ("zlib", "complevel", "shuffle", "fletcher32", "chunksizes", "contiguous"):
            assert bool(ours[name].encoding.get(key)) == bool(theirs[name].encoding.get(key)), (name, key)
            if theirs[name].encoding.get(key):
                assert ours[name].encoding[key] == theirs[name].encoding[key], (name, key)
    assert ours["z"].encoding["complevel"] == 6 and ours["z"].encoding["shuffle"] is True
    with sh5.File(url, "r") as f, h5py.File(path, "r") as g:
        for name in ("z", "f", "plain"):
            for prop in ("compression", "compression_opts", "shuffle", "fletcher32", "scaleoffset"):
                assert getattr(f[name], prop) == getattr(g[name], prop), (name, prop)


@pytest.mark.parametrize("path", NC3, ids=lambda p: f"{p.parent.parent.name}-{p.name}")
def test_netcdf3_objects_match_scipy(account: Any, path: Path) -> None:
    url = _upload(account, path, f"{path.parent.parent.name}-{path.name}")
    ours = xr.open_dataset(url, engine="sciswift").load()
    xr.testing.assert_identical(ours, xr.open_dataset(path, engine="scipy").load())
    assert all("_dims" not in v.attrs for v in ours.variables.values())


def _plain_file(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "plain"
        f["a"] = np.arange(6.0).reshape(2, 3)
        f["a"].attrs["units"] = b"m"
        f["b"] = np.arange(3)
        f["s"] = np.array(["x", "yy"], dtype=h5py.string_dtype())
        g = f.create_group("g")
        g["c"] = np.arange(4)
        g["d"] = np.zeros((4, 2), "i2")
        x = f.create_dataset("x", data=np.array([1.0, 2.0, 3.0]))
        x.make_scale("x")
        f["scaled"] = np.ones(3)
        f["scaled"].dims[0].attach_scale(x)
    return path


@pytest.mark.parametrize("mode", ["access", "sort"])
def test_plain_hdf5_objects_match_h5netcdf_phony_dims(account: Any, tmp_path: Path, mode: str) -> None:
    files = [_plain_file(tmp_path / "plain.h5"), *H5]
    checked = 0
    for path in files:
        url = _upload(account, path, f"h5-{path.name}")
        try:
            want = xr.open_dataset(path, engine="h5netcdf", phony_dims=mode).load()
        except Exception:  # noqa: BLE001 - h5netcdf cannot read every HDF5 file; compare where it can
            continue
        xr.testing.assert_identical(xr.open_dataset(url, engine="sciswift", phony_dims=mode).load(), want)
        with h5py.File(path) as f:
            for g in [k for k in f if isinstance(f[k], h5py.Group)]:
                want = xr.open_dataset(path, engine="h5netcdf", phony_dims=mode, group=g).load()
                got = xr.open_dataset(url, engine="sciswift", phony_dims=mode, group=g).load()
                xr.testing.assert_identical(got, want)
        checked += 1
    assert checked >= 3


def test_the_rules_are_h5netcdfs_on_real_h5py(tmp_path: Path) -> None:
    """netcdf_rules on real h5py objects name what h5netcdf names (its own oracle)."""
    for path in [_plain_file(tmp_path / "p.h5"), _netcdf_c_file(tmp_path / "c.nc"), *NC4]:
        for mode in ("access", "sort"):
            with h5py.File(path) as f, h5netcdf.File(path, "r", phony_dims=mode) as hf:
                view = NetCDFView(f, h5py, mode)
                for group in view.walk("/"):
                    theirs = hf[group.path] if group.path != "/" else hf
                    assert {n: d.size for n, d in group.dimensions.items()} == \
                        {n: d.size for n, d in theirs.dimensions.items()}, (path, group.path)
                    assert {n: group.dims_of(n) for n in group.variables} == \
                        {n: v.dimensions for n, v in theirs.variables.items()}, (path, group.path)


def test_unscaled_datasets_refused_without_phony_dims(account: Any, tmp_path: Path) -> None:
    url = _upload(account, _plain_file(tmp_path / "plain.h5"), "refuse.h5")
    with pytest.raises(ValueError, match="variable 'a' has no dimension scale associated with axis 0"):
        xr.open_dataset(url, engine="sciswift", phony_dims=None)
    with pytest.raises(TypeError, match="opens URLs and paths"):
        xr.open_dataset(open(tmp_path / "plain.h5", "rb"), engine="sciswift")  # noqa: SIM115


def test_tables_and_fits(account: Any, tmp_path: Path) -> None:
    from astropy.io import fits

    df = pd.DataFrame({"x": np.arange(5), "y": np.linspace(0, 1, 5), "s": list("abcde")})
    df.to_parquet(tmp_path / "t.parquet")
    df.to_csv(tmp_path / "t.csv", index=False)
    for name in ("t.parquet", "t.csv"):
        ds = xr.open_dataset(_upload(account, tmp_path / name), engine="sciswift").load()
        assert list(ds.dims) == ["phony_dim_0"] and ds.sizes["phony_dim_0"] == 5
        pd.testing.assert_frame_equal(ds.to_dataframe().reset_index(drop=True)[["x", "y", "s"]], df)
    sample = next(SITE.glob("astropy/io/fits/tests/data/tb.fits"))
    url = _upload(account, sample)
    with fits.open(sample) as hdus:
        table = hdus[1].data
        cols = xr.open_dataset(url, engine="sciswift", group="HDU1/columns").load()
        for col in table.columns.names:
            got = cols[col].values
            if got.dtype.kind == "S":  # FITS text as fixed-length bytes (docs/formats.md); astropy strips and decodes
                got = np.char.rstrip(np.char.decode(got, "ascii"))
            want = np.asarray(table[col])
            want = np.char.rstrip(want) if want.dtype.kind == "U" else want
            assert np.array_equal(got, want), col
        assert xr.open_dataset(url, engine="sciswift", group="HDU1").data_vars == {}  # the compound is not a variable
    image = next(SITE.glob("astropy/io/fits/tests/data/test0.fits"))
    with fits.open(image) as hdus:
        got = xr.open_dataset(_upload(account, image), engine="sciswift", group="SCI").load()
        assert np.array_equal(got["data"].values, hdus["SCI"].data)
        assert got.attrs["EXTNAME"] == "SCI"


def _write_native(mod: Any, f: Any) -> None:
    """The same program for real h5py and sciswift.h5py: a netCDF-like file made
    with dimension scales, and one dataset without any."""
    time = f.create_dataset("time", data=np.arange(4.0))
    time.make_scale("time")
    time.attrs["units"] = "days since 2000-01-01"
    lat = f.create_dataset("lat", data=np.array([-5.0, 5.0]))
    lat.make_scale("lat")
    temp = f.create_dataset("temp", data=np.arange(8, dtype="f4").reshape(4, 2), chunks=(2, 2))
    temp.dims[0].attach_scale(time)
    temp.dims[1].attach_scale(lat)
    temp.attrs["units"] = "K"
    f["loose"] = np.arange(5)


def test_native_files_read_as_h5netcdf_reads_the_same_h5py_program(tmp_path: Path) -> None:
    url = str(tmp_path / "native.h5")
    with sh5.File(url, "w") as f:
        _write_native(sh5, f)
    with h5py.File(tmp_path / "real.h5", "w") as f:
        _write_native(h5py, f)
    ours = xr.open_dataset(url, engine="sciswift").load()
    xr.testing.assert_identical(ours, xr.open_dataset(tmp_path / "real.h5", engine="h5netcdf",
                                                      phony_dims="access").load())
    assert ours["temp"].dims == ("time", "lat") and np.issubdtype(ours["time"].dtype, np.datetime64)


def test_native_files_written_before_dimension_names_still_open(tmp_path: Path) -> None:
    url = str(tmp_path / "old.h5")
    with sh5.File(url, "w") as f:
        _write_native(sh5, f)
    # As a file written before dimension scales named the Zarr dimensions.
    loc = parse_location(url)
    for key in ("temp/zarr.json", "time/zarr.json", "lat/zarr.json"):
        doc = json.loads(loc.store.get_object(loc.container, key))
        doc.pop("dimension_names", None)
        doc["attributes"].get("_sciswift", {}).pop("labels", None)
        loc.store.put_object(loc.container, key, json.dumps(doc).encode())
    loc.store.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(KeyError, match="dimension_names"):
            xr.open_zarr(sciswift.zarr_store(url), consolidated=False)
    ours = xr.open_dataset(url, engine="sciswift").load()
    assert ours["temp"].dims == ("time", "lat") and set(ours.coords) == {"time", "lat"}


def _dataset() -> Any:
    return xr.Dataset(
        {"t": (("time", "x"), np.arange(12.0).reshape(4, 3), {"units": "K"}),
         "n": (("x",), np.array([1, 2, 3], "i4")),
         "lab": (("x",), np.array(["a", "bb", "ccc"], object))},
        coords={"time": pd.date_range("2024-01-01", periods=4), "x": [10.0, 20.0, 30.0]},
        attrs={"title": "round trip"},
    )


@pytest.fixture
def swift_opts(sciswift_server: Any) -> dict[str, str]:
    return {"auth_url": sciswift_server.auth_url, "user": sciswift_server.user, "key": sciswift_server.key}


def test_round_trips_on_the_server(swift_opts: dict[str, str], tmp_path: Path) -> None:
    import fsspec

    ds = _dataset()
    fs = fsspec.filesystem("swift", **swift_opts)
    fs.mkdir("xarray-rt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(sciswift.zarr_store("swift://xarray-rt/a.zarr", **swift_opts), mode="w")
        ds.to_zarr("swift://xarray-rt/b.zarr", mode="w", storage_options=swift_opts)
        zarr_view = xr.open_zarr(sciswift.zarr_store("swift://xarray-rt/a.zarr", **swift_opts)).load()
    for url in ("swift://xarray-rt/a.zarr", "swift://xarray-rt/b.zarr"):
        ours = xr.open_dataset(url, engine="sciswift", storage_options=swift_opts).load()
        xr.testing.assert_identical(ours, ds)
        xr.testing.assert_identical(ours, zarr_view)
    fs.pipe("swift://xarray-rt/c.nc", bytes(ds.to_netcdf(engine="h5netcdf")))
    fs.pipe("swift://xarray-rt/d.nc", bytes(ds.drop_vars("lab").to_netcdf(engine="scipy")))
    xr.testing.assert_identical(
        xr.open_dataset("swift://xarray-rt/c.nc", engine="sciswift", storage_options=swift_opts).load(), ds)
    xr.testing.assert_identical(
        xr.open_dataset("swift://xarray-rt/d.nc", engine="sciswift", storage_options=swift_opts).load(),
        ds.drop_vars("lab"))


def test_to_netcdf_of_a_swift_url_says_which_call_to_use(sciswift_server: Any, swift_opts: dict[str, str]) -> None:
    """``ds.to_netcdf("swift://...", engine="h5netcdf")``: xarray opens the URL
    through fsspec in text mode (and as ``NAME/0.part``), and h5py writes bytes
    into it. That crashed the interpreter (as on fsspec's memory://); now it is
    a TypeError naming the call to use, nothing is stored, and the call it
    names writes the object. In a child process, should it crash again."""
    import subprocess
    import sys

    import fsspec

    fs = fsspec.filesystem("swift", **swift_opts)
    fs.mkdir("xarray-out")
    program = (
        "import numpy as np, xarray as xr\n"
        "ds = xr.Dataset({'v': (('t',), np.arange(4.0))})\n"
        "try:\n"
        "    ds.to_netcdf('swift://xarray-out/out.nc', engine='h5netcdf')\n"
        "except TypeError as e:\n"
        "    print('refused:', e)\n"
        "import gc; gc.collect()\n"
    )
    env = dict(os.environ, ST_AUTH=sciswift_server.auth_url, ST_USER=sciswift_server.user,
               ST_KEY=sciswift_server.key)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: swift://xarray-out/out.nc/0.part was opened in text mode" in done.stdout
    assert "with fsspec.open(url, 'wb') as f: ds.to_netcdf(f, engine='h5netcdf')" in done.stdout
    assert fs.find("xarray-out") == []
    ds = _dataset()
    with fsspec.open("swift://xarray-out/out.nc", "wb", **swift_opts) as f:  # the call it names
        ds.to_netcdf(f, engine="h5netcdf")
    back = xr.open_dataset("swift://xarray-out/out.nc", engine="sciswift", storage_options=swift_opts).load()
    xr.testing.assert_identical(back, ds)
    with fs.open("xarray-out/notes.txt", "w") as text:  # text stays text
        text.write("text\n")
        assert text.tell() == 5
    assert fs.cat("xarray-out/notes.txt") == b"text\n"


def test_open_mfdataset_over_objects(swift_opts: dict[str, str], tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("swift", **swift_opts)
    fs.mkdir("xarray-mf")
    ds = _dataset()
    urls, paths = [], []
    for i in range(4):
        data = bytes(ds.isel(time=[i]).to_netcdf(engine="h5netcdf"))
        fs.pipe(f"swift://xarray-mf/part{i}.nc", data)
        (tmp_path / f"part{i}.nc").write_bytes(data)
        urls.append(f"swift://xarray-mf/part{i}.nc")
        paths.append(tmp_path / f"part{i}.nc")
    found = sorted("swift://" + p for p in fs.glob("swift://xarray-mf/part*.nc"))
    assert found == urls
    ours = xr.open_mfdataset(found, engine="sciswift", combine="by_coords", data_vars="minimal", coords="minimal",
                             compat="override",
                             storage_options=swift_opts)
    local = xr.open_mfdataset(paths, engine="h5netcdf", combine="by_coords", data_vars="minimal",
                              coords="minimal", compat="override")
    xr.testing.assert_identical(ours.load(), local.load())


def test_reads_are_lazy_and_by_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = str(tmp_path / "lazy.h5")
    with sh5.File(url, "w") as f:
        _write_native(sh5, f)
    keys: list[Any] = []
    real = SciSwiftArray._getitem

    def spy(self: SciSwiftArray, key: Any) -> Any:
        keys.append(key)
        return real(self, key)

    monkeypatch.setattr(SciSwiftArray, "_getitem", spy)
    ds = xr.open_dataset(url, engine="sciswift")
    keys.clear()  # index coordinates are read at open
    assert float(ds["temp"][2, 1]) == 5.0
    assert keys == [(2, 1)]
    picked = ds["temp"].isel(time=[3, 0]).values
    assert picked.tolist() == [[6.0, 7.0], [0.0, 1.0]] and keys[-1][0].tolist() == [0, 3]


def test_dask_chunks_compute_in_worker_processes(swift_opts: dict[str, str]) -> None:
    pytest.importorskip("dask")
    import fsspec

    fs = fsspec.filesystem("swift", **swift_opts)
    fs.mkdir("xarray-dask")
    ds = _dataset()
    fs.pipe("swift://xarray-dask/c.nc", bytes(ds.to_netcdf(engine="h5netcdf")))
    lazy = xr.open_dataset("swift://xarray-dask/c.nc", engine="sciswift", chunks={"time": 2},
                           storage_options=swift_opts)
    assert lazy["t"].data.chunks == ((2, 2), (3,))
    env = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(("ST_", "OS_"))}
    try:
        total = lazy["t"].sum().compute(scheduler="processes", num_workers=2)
    finally:
        os.environ.update(env)
    assert float(total) == float(ds["t"].sum())


def _sum_of_t(ds: Any) -> float:
    return float(ds["t"].sum())


def test_lazily_loaded_datasets_pickle(account: Any, swift_opts: dict[str, str], tmp_path: Path) -> None:
    # A Dataset keeps its data store (for close()), so pickling a lazily loaded
    # Dataset pickles the store, as xarray's own engines allow; ours used to fail
    # with "cannot pickle 'module' object".
    import pickle

    path = _netcdf_c_file(tmp_path / "c.nc")
    url = _upload(account, path)
    for kwargs in ({}, {"chunks": {}}, {"group": "forecast"}):
        lazy = xr.open_dataset(url, engine="sciswift", **kwargs)
        again = pickle.loads(pickle.dumps(lazy))
        xr.testing.assert_identical(again.load(), xr.open_dataset(path, engine="h5netcdf", **kwargs).load())
        again.close()
        lazy.close()
    tree = xr.open_datatree(url, engine="sciswift")
    xr.testing.assert_identical(pickle.loads(pickle.dumps(tree)).load(), xr.open_datatree(path, engine="h5netcdf").load())
    # In another process, reached by address with no Swift variables there.
    dask = pytest.importorskip("dask")
    import fsspec

    fs = fsspec.filesystem("swift", **swift_opts)
    fs.mkdir("xarray-pickle")
    ds = _dataset()
    fs.pipe("swift://xarray-pickle/c.nc", bytes(ds.to_netcdf(engine="h5netcdf")))
    lazy = xr.open_dataset("swift://xarray-pickle/c.nc", engine="sciswift", storage_options=swift_opts)
    env = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(("ST_", "OS_"))}
    try:
        total = dask.delayed(_sum_of_t)(lazy).compute(scheduler="processes", num_workers=1)
    finally:
        os.environ.update(env)
    assert total == float(ds["t"].sum())


def test_file_urls_of_local_files_open_as_their_paths(tmp_path: Path) -> None:
    # A file:// URL names what its path names; a regular local file there used
    # to be taken for a LocalStore container of that name (FileNotFoundError).
    path = _netcdf_c_file(tmp_path / "with space.nc")
    url = path.as_uri()
    assert "%20" in url
    xr.testing.assert_identical(xr.open_dataset(url, engine="sciswift").load(),
                                xr.open_dataset(path, engine="h5netcdf").load())
    with sh5.File(url, "r") as f, h5py.File(path, "r") as g:
        assert f.filename == url
        np.testing.assert_array_equal(f["lat"][...], g["lat"][...])
    with pytest.raises(FileNotFoundError):
        sh5.File((tmp_path / "missing.nc").as_uri(), "r")


def test_lock_is_taken_as_by_xarrays_hdf5_engines(account: Any, tmp_path: Path) -> None:
    # Programs written for engine="h5netcdf"/"netcdf4" often pass lock=False
    # (with dask); it used to be a TypeError here.
    path = _netcdf_c_file(tmp_path / "c.nc")
    url = _upload(account, path)
    for lock in (False, None):
        ours = xr.open_dataset(url, engine="sciswift", lock=lock, chunks={})
        xr.testing.assert_identical(ours.compute(), xr.open_dataset(path, engine="h5netcdf", lock=lock).load())
    assert set(xr.open_datatree(url, engine="sciswift", lock=False).groups) == {"/", "/forecast"}
