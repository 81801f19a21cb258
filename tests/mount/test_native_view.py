"""Native files (written by ``sciswift.h5py``, the Zarr-layout hierarchy) appear in
the mount as one read-only HDF5 file each, made by ``sciswift.h5view``: h5ls,
h5dump, ncdump and a C program read them, values equal to what was written; a
file the view cannot express fails to open with EIO and a log line naming it.

Needs ``sciswift.h5view`` (the HDF5 view of native files), developed alongside."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import sciswift.h5py as sh5py
from sciswift.h5view import open_view  # noqa: F401  (the view this file tests through the mount)

from .conftest import Mounted, Served, sciswift_cmd


@pytest.fixture
def native(mount: Callable[..., Mounted], served: Served,
           monkeypatch: pytest.MonkeyPatch) -> tuple[Mounted, str]:
    for k, v in served.env.items():
        monkeypatch.setenv(k, v)
    container = f"N{uuid.uuid4().hex[:8]}"
    served.store().create_container(container)
    with sh5py.File(f"swift://{container}/run1.h5", "w") as f:
        f.attrs["title"] = "native"
        g = f.create_group("fields")
        g.create_dataset("e", data=np.arange(60_000, dtype="f4").reshape(200, 300), chunks=(50, 100),
                         compression="gzip")
        g.create_dataset("ids", data=np.arange(1000, dtype="i8"))
        g["e"].attrs["units"] = "V/m"
    with sh5py.File(f"swift://{container}/nc.h5", "w") as f:  # netCDF-shaped: dimension scales
        t = f.create_dataset("time", data=np.arange(4, dtype="f8"))
        t.make_scale("time")
        v = f.create_dataset("temp", data=np.linspace(0, 1, 4, dtype="f4"))
        v.dims[0].attach_scale(t)
    with sh5py.File(f"swift://{container}/virtual.h5", "w") as f:  # the view has no virtual datasets
        f.create_dataset("a", data=np.arange(10, dtype="f4"))
        layout = sh5py.VirtualLayout(shape=(10,), dtype="f4")
        layout[:] = sh5py.VirtualSource(f["a"])
        f.create_virtual_dataset("v", layout)
    return mount(f"swift://{container}", env=served.env), container


def test_native_file_is_one_readonly_hdf5_file(native: tuple[Mounted, str], tmp_path: Path) -> None:
    m, _ = native
    names = os.listdir(m.path)
    assert "run1.h5" in names and (m.path / "run1.h5").is_file()
    assert os.stat(m.path / "run1.h5").st_size > 0
    listing = subprocess.run(["h5ls", "-r", str(m.path / "run1.h5")], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    assert "/fields/e" in listing.stdout and "{200, 300}" in listing.stdout
    out = tmp_path / "e.bin"
    dump = subprocess.run(["h5dump", "-d", "/fields/e", "-b", "LE", "-o", str(out), str(m.path / "run1.h5")],
                          capture_output=True, text=True)
    assert dump.returncode == 0, dump.stderr
    assert np.array_equal(np.fromfile(out, dtype="<f4").reshape(200, 300),
                          np.arange(60_000, dtype="f4").reshape(200, 300))
    attrs = subprocess.run(["h5dump", "-a", "/fields/e/units", str(m.path / "run1.h5")],
                           capture_output=True, text=True)
    assert "V/m" in attrs.stdout
    with pytest.raises(OSError) as exc:
        open(m.path / "run1.h5", "r+b")
    assert exc.value.errno == errno.EACCES


def test_netcdf_shaped_native_file_reads_with_ncdump(native: tuple[Mounted, str]) -> None:
    m, _ = native
    header = subprocess.run(["ncdump", "-h", str(m.path / "nc.h5")], capture_output=True, text=True)
    assert header.returncode == 0, header.stderr
    assert "time = 4" in header.stdout and "float temp(time)" in header.stdout


def test_inexpressible_native_file_is_eio_with_one_log_line(native: tuple[Mounted, str]) -> None:
    """EIO, and one log line naming the file, the dataset and the reason, however
    often tools stat and open the file (h5dump tries its drivers: ~70 lines
    for one h5dump before)."""
    m, _ = native
    path = m.path / "virtual.h5"
    with pytest.raises(OSError) as exc:
        path.read_bytes()
    assert exc.value.errno == errno.EIO
    for argv in (["ls", "-l", str(m.path)], ["h5dump", "-H", str(path)], ["ncdump", "-h", str(path)],
                 ["h5ls", "-r", str(path)]):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert argv[0] == "ls" or result.returncode != 0, argv
    with pytest.raises(OSError):
        path.read_bytes()
    lines = [line for line in m.log.splitlines() if "virtual.h5" in line]
    assert len(lines) == 1, lines
    assert "EIO open /virtual.h5: HDF5 cannot express this native file: dataset /v: virtual datasets" in lines[0]


def test_native_file_shows_when_its_metadata_was_stored(native: tuple[Mounted, str], served: Served) -> None:
    """A native file's time is its root document's (the last change of its
    metadata), as found by name and through a listing; not the epoch."""
    m, container = native
    stored = served.store().head_object(container, "run1.h5/zarr.json").timestamp
    assert os.stat(m.path / "run1.h5").st_mtime == pytest.approx(stored, abs=1e-3)
    (entry,) = [e for e in os.scandir(m.path) if e.name == "run1.h5"]
    assert entry.stat().st_mtime == pytest.approx(stored, abs=1e-3)


def _many_kinds(h5: object, f: object) -> None:
    """The same content through ``sciswift.h5py`` or the real h5py (module ``h5``,
    open file ``f``): the kinds of objects HDF5's and netCDF's tools meet."""
    g: object
    f.attrs["title"] = "kinds"  # type: ignore[attr-defined]
    f.attrs["int"] = np.int32(7)  # type: ignore[attr-defined]
    f.attrs["arr"] = np.arange(5, dtype="i2")  # type: ignore[attr-defined]
    f.attrs["names"] = ["a", "bcd"]  # type: ignore[attr-defined]
    g = f.create_group("a/b")  # type: ignore[attr-defined]
    g.attrs["u8"] = np.uint64(2**63 + 5)  # type: ignore[attr-defined]
    rec = np.zeros(4, dtype=[("x", "f8"), ("n", "i4"), ("tag", "S4")])
    rec["x"], rec["n"], rec["tag"] = np.arange(4) * 0.5, np.arange(4), b"ab"
    f.create_dataset("compound", data=rec)  # type: ignore[attr-defined]
    f.create_dataset("vlen", data=["alpha", "béta", ""], dtype=h5.string_dtype())  # type: ignore[attr-defined]
    f.create_dataset("fixedstr", data=np.array([b"ab", b"cde"], dtype="S3"))  # type: ignore[attr-defined]
    f.create_dataset("a/zip", data=np.arange(2000, dtype="f4").reshape(40, 50), chunks=(20, 25),  # type: ignore[attr-defined]
                     compression="gzip")
    f.create_dataset("a/b/contig", data=np.arange(100, dtype="<i8"))  # type: ignore[attr-defined]
    f.create_dataset("scalar", data=3.25)  # type: ignore[attr-defined]
    f.create_dataset("zero", shape=(0, 3), dtype="i4")  # type: ignore[attr-defined]
    f.create_dataset("fillv", shape=(30,), dtype="i4", fillvalue=-1, chunks=(10,))  # type: ignore[attr-defined]
    f["fillv"][0:5] = 1  # type: ignore[index]
    f.create_dataset("enum", data=np.array([0, 1, 1], dtype="i1"),  # type: ignore[attr-defined]
                     dtype=h5.enum_dtype({"RED": 0, "GREEN": 1}, basetype="i1"))  # type: ignore[attr-defined]
    contig = f["a/b/contig"]  # type: ignore[index]
    f.attrs["region"] = contig.regionref[10:20]  # type: ignore[attr-defined]
    regions = f.create_dataset("regions", shape=(3,), dtype=h5.regionref_dtype)  # type: ignore[attr-defined]
    regions[1] = contig.regionref[[1, 5, 6]]
    regions[2] = f["a/zip"].regionref[...]  # type: ignore[index]
    names = f.create_dataset("names", shape=(6,), dtype=h5.string_dtype(), chunks=(2,))  # type: ignore[attr-defined]
    names[0:2] = ["x", ""]  # the others never written: NULL strings


def _tool(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{argv[0]} failed ({result.returncode}): {result.stderr}"
    return result.stdout


def test_native_file_reads_as_the_file_h5py_writes(mount: Callable[..., Mounted], served: Served,
                                                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """h5diff finds no difference between the view of a native file and the same
    content written by the real h5py (region references included); h5dump prints
    the same values (NULL strings where nothing was written), and the same
    fill values (HDF5's default where h5py was given none: netCDF-C takes a
    user-defined fill of a fixed-length string dataset for a string pointer and
    frees it, so ncdump -h crashed on the view); ncdump -h prints the same."""
    import h5py

    for k, v in served.env.items():
        monkeypatch.setenv(k, v)
    container = f"N{uuid.uuid4().hex[:8]}"
    served.store().create_container(container)
    with sh5py.File(f"swift://{container}/kinds.h5", "w") as f:
        _many_kinds(sh5py, f)
    local = tmp_path / "kinds.h5"
    with h5py.File(local, "w") as f:
        _many_kinds(h5py, f)
    m = mount(f"swift://{container}", env=served.env)
    view = str(m.path / "kinds.h5")
    _tool("h5diff", str(local), view)

    def same(*argv: str) -> None:
        ours = _tool(*argv, view).replace(view, "F").replace("kinds", "K")
        theirs = _tool(*argv, str(local)).replace(str(local), "F").replace("kinds", "K")
        assert ours.splitlines()[1:] == theirs.splitlines()[1:], argv

    same("h5dump")
    fills = [line.strip() for line in _tool("h5dump", "-p", "-H", view).splitlines() if "VALUE  " in line]
    assert fills == [line.strip() for line in _tool("h5dump", "-p", "-H", str(local)).splitlines()
                     if "VALUE  " in line]
    assert "VALUE  H5D_FILL_VALUE_DEFAULT" in fills and "VALUE  -1" in fills
    same("ncdump", "-h")


def test_a_zarr_store_written_through_the_mount_stays_a_directory(mount: Callable[..., Mounted],
                                                                  served: Served) -> None:
    """zarr-python writing a Zarr v3 store into the mount makes its directories
    (mkdir's marker objects), then writes the root ``zarr.json``: the store stays
    a directory of files, written to and read back later, not a read-only native
    file (writes into it failed with ENOTDIR once its root was listed). The same
    hierarchy stored without directory markers (as ``sciswift.h5py`` and
    ``swift upload`` store it) is the native file."""
    zarr = pytest.importorskip("zarr")
    container = f"Z{uuid.uuid4().hex[:8]}"
    store = served.store()
    store.create_container(container)
    m = mount(f"swift://{container}", env=served.env)
    group = zarr.open_group(str(m.path / "made.zarr"), mode="w")
    group.attrs["title"] = "through the mount"
    assert os.path.isdir(m.path / "made.zarr")  # listed with its zarr.json, beyond the mount's 1 s memory:
    time.sleep(1.2)
    assert os.path.isdir(m.path / "made.zarr") and "made.zarr" in os.listdir(m.path)
    array = group.create_array("a", shape=(100,), chunks=(10,), dtype="i4")
    array[:] = np.arange(100)
    back = zarr.open_group(str(m.path / "made.zarr"), mode="r")
    assert np.array_equal(back["a"][:], np.arange(100)) and back.attrs["title"] == "through the mount"
    assert store.head_object(container, "made.zarr/").content_type == "application/directory"

    for obj in store.list_objects(container):  # the same objects, no directory markers
        if not obj.name.endswith("/"):
            store.put_object(container, "uploaded.zarr" + obj.name[len("made.zarr"):],
                             store.get_object(container, obj.name))
    time.sleep(1.2)
    assert os.path.isfile(m.path / "uploaded.zarr")
    listing = subprocess.run(["h5ls", "-r", str(m.path / "uploaded.zarr")], capture_output=True, text=True)
    assert listing.returncode == 0 and "/a" in listing.stdout, listing.stderr


def test_a_chunk_rewritten_in_place_is_seen_at_the_next_open(mount: Callable[..., Mounted], served: Served,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Close-to-open for native files: writing values into an existing chunk
    leaves the metadata (and the view's ETag) as it was, and the kernel kept
    the pages it had cached of the file, so h5dump went on printing the old
    values."""
    for k, v in served.env.items():
        monkeypatch.setenv(k, v)
    container = f"N{uuid.uuid4().hex[:8]}"
    served.store().create_container(container)
    url = f"swift://{container}/rw.h5"
    with sh5py.File(url, "w") as f:
        f.create_dataset("d", data=np.zeros(1000), chunks=(100,))
    m = mount(f"swift://{container}", env=served.env)
    path = str(m.path / "rw.h5")
    assert "(0): 0, 0, 0" in _tool("h5dump", "-d", "d", "-s", "0", "-c", "3", path)
    with sh5py.File(url, "a") as f:
        f["d"][0:3] = [7, 8, 9]
    assert "(0): 7, 8, 9" in _tool("h5dump", "-d", "d", "-s", "0", "-c", "3", path)


def test_a_damaged_chunk_is_eio_with_one_log_line(mount: Callable[..., Mounted], served: Served,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A zstd chunk that does not decode: reading its dataset fails (EIO, one
    log line naming the dataset and chunk, however often the kernel and HDF5
    retry: a dozen before); the other dataset and the metadata still read."""
    for k, v in served.env.items():
        monkeypatch.setenv(k, v)
    container = f"N{uuid.uuid4().hex[:8]}"
    store = served.store()
    store.create_container(container)
    with sh5py.File(f"swift://{container}/bad.h5", "w") as f:
        f.create_dataset("z", data=np.arange(4000.0), chunks=(1000,), compression="zstd")
        f.create_dataset("ok", data=np.arange(10))
    store.put_object(container, "bad.h5/z/c/1", b"not zstd")
    m = mount(f"swift://{container}", env=served.env)
    path = str(m.path / "bad.h5")
    assert "(0): 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in _tool("h5dump", "-d", "ok", path)
    assert "/z" in _tool("h5ls", "-r", path)
    for _ in range(2):
        failed = subprocess.run(["h5dump", "-d", "z", path], capture_output=True, text=True, timeout=60)
        assert failed.returncode != 0
    lines = [line for line in m.log.splitlines() if "bad.h5" in line]
    assert len(lines) == 1, lines
    assert "EIO read /bad.h5" in lines[0] and "dataset /z: chunk z/c/1 cannot be decoded" in lines[0]


_XARRAY_WRITER = """
import sys
import numpy as np, pandas as pd, xarray as xr
ds = xr.Dataset(
    {"temp": (("time", "lat", "lon"), np.arange(60, dtype="f4").reshape(5, 3, 4), {"units": "K"}),
     "flag": (("time",), np.array([1, 0, 1, 1, 0], "i1")),
     "name": (("lat",), np.array(["a", "bb", "ccc"], dtype=object))},
    coords={"time": pd.date_range("2000-01-01", periods=5), "lat": [-1.0, 0.0, 1.0], "lon": np.arange(4) * 0.5},
    attrs={"title": "xarray through sciswift run", "n": 3})
ds.to_netcdf(sys.argv[1], engine="h5netcdf",
             encoding={"temp": {"zlib": True, "complevel": 4, "chunksizes": (2, 3, 4), "_FillValue": -999.0}})
"""


def test_xarray_netcdf_written_through_sciswift_run_reads_as_the_local_one(
        mount: Callable[..., Mounted], served: Served, tmp_path: Path) -> None:
    """xarray's to_netcdf(engine="h5netcdf") run by ``sciswift run`` writes a
    native file; its view prints with ncdump (and h5diff compares) as the same
    program's local netCDF-4 file."""
    pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    script = tmp_path / "write.py"
    script.write_text(_XARRAY_WRITER)
    local = tmp_path / "local.nc"
    subprocess.run([sys.executable, str(script), str(local)], check=True, capture_output=True, timeout=120)
    container = f"N{uuid.uuid4().hex[:8]}"
    served.store().create_container(container)
    routed = tmp_path / "routed"
    routed.mkdir()
    env = {**os.environ, **served.env}
    done = subprocess.run(sciswift_cmd("run", "--mount", f"{routed}=swift://{container}", "--", "python",
                                       str(script), str(routed / "x.nc")),
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    m = mount(f"swift://{container}", env=served.env)
    view = str(m.path / "x.nc")
    assert _tool("ncdump", view).splitlines()[1:] == _tool("ncdump", str(local)).splitlines()[1:]
    _tool("h5diff", str(local), view)
