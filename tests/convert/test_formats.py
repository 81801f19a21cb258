"""import from, and export to, the other formats (through their plugins), checked
with each format's own library; HDF5 blobs in a store as import sources."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from roundtrip_compare import differences

import sciswift.h5py as sh5
from sciswift.convert import export_file, import_file
from sciswift.errors import AlreadyExists, NotSupported
from sciswift.store.url import parse_location


def _table() -> pa.Table:
    return pa.table({"ra": np.linspace(0, 360, 50), "dec": np.linspace(-90, 90, 50).astype("f4"),
                     "id": np.arange(50, dtype="i8"), "name": [f"star{i}" for i in range(50)]})


def _put(url: str, data: bytes) -> None:
    loc = parse_location(url)
    loc.store.create_container(loc.container)
    loc.store.put_object(loc.container, loc.prefix, data)


def _get(url: str) -> bytes:
    loc = parse_location(url)
    return loc.store.get_object(loc.container, loc.prefix)


def _bucket() -> str:
    return f"memory://sky-{uuid.uuid4().hex[:8]}"


def test_import_parquet_object_into_native_layout() -> None:
    """sciswift import swift://sky/table.parquet swift://sky/table.h5, on a MemoryStore."""
    bucket = _bucket()
    sink = io.BytesIO()
    pq.write_table(_table(), sink, row_group_size=20)
    _put(f"{bucket}/table.parquet", sink.getvalue())
    report = import_file(f"{bucket}/table.parquet", f"{bucket}/table.h5")
    assert report.datasets == 4
    with sh5.File(f"{bucket}/table.h5") as f:
        np.testing.assert_array_equal(f["ra"][()], np.linspace(0, 360, 50))
        assert f["dec"].dtype == np.dtype("f4")
        assert [v.decode() if isinstance(v, bytes) else v for v in f["name"][()]][:2] == ["star0", "star1"]
        assert f["id"].chunks == (20,)  # row groups became chunks


def test_import_local_fits(tmp_path: Path) -> None:
    from astropy.io import fits

    image = np.arange(24, dtype=">f4").reshape(4, 6)
    hdu = fits.PrimaryHDU(image)
    hdu.header["OBSERVER"] = "Hubble"
    hdu.writeto(tmp_path / "img.fits")
    import_file(str(tmp_path / "img.fits"), str(tmp_path / "img.native"))
    with sh5.File(str(tmp_path / "img.native")) as f:
        group = f[next(iter(f))]
        data = group["data"] if isinstance(group, sh5.Group) else group
        np.testing.assert_array_equal(data[()], image)
        assert group.attrs["OBSERVER"] == "Hubble"


def test_import_hdf5_blob_from_store(made: Callable[[str], Path], tmp_path: Path) -> None:
    """An HDF5 file stored as one object is read with h5py over ranged reads, so
    everything (references, hard links, filters) is kept."""
    bucket = _bucket()
    for kind in ("references", "filters"):
        src = made(kind)
        _put(f"{bucket}/{kind}.h5", src.read_bytes())
        import_file(f"{bucket}/{kind}.h5", f"{bucket}/{kind}.native")
        export_file(f"{bucket}/{kind}.native", str(tmp_path / f"{kind}.out.h5"))
        diffs = differences(src, tmp_path / f"{kind}.out.h5", allow={"layout:/compact"})
        assert diffs == ([] if kind == "references" else ["/scaleoffset_float: values differ"])


def _native_table(url: str) -> None:
    with sh5.File(url, "w") as f:
        f.attrs["source"] = "wind tunnel"
        f["speed"] = np.linspace(0, 10, 30)
        f["pressure"] = np.arange(30, dtype="i4")


def test_export_parquet_to_store_object() -> None:
    """sciswift export swift://wind/run1.h5 swift://wind/run1.parquet, on a MemoryStore."""
    bucket = _bucket()
    _native_table(f"{bucket}/run1.h5")
    export_file(f"{bucket}/run1.h5", f"{bucket}/run1.parquet")
    table = pq.read_table(io.BytesIO(_get(f"{bucket}/run1.parquet")))
    assert sorted(table.column_names) == ["pressure", "speed"]
    np.testing.assert_array_equal(table["speed"].to_numpy(), np.linspace(0, 10, 30))
    assert table.schema.metadata[b"source"] == b"wind tunnel"


@pytest.mark.parametrize("ext,fmt", [(".csv", None), (".nc", None), (".nc", "netcdf3")])
def test_export_flat_table_formats(ext: str, fmt: str | None, tmp_path: Path) -> None:
    native = str(tmp_path / "run1.h5")
    _native_table(native)
    out = tmp_path / f"run1{ext}"
    if ext == ".csv":
        with sh5.File(native, "r+") as f:
            del f.attrs["source"]  # CSV holds no attributes
    export_file(native, str(out), format=fmt)
    if ext == ".csv":
        import pyarrow.csv as pcsv

        table = pcsv.read_csv(out)
        np.testing.assert_allclose(table["speed"].to_numpy(), np.linspace(0, 10, 30))
        assert not (tmp_path / "run1.csv.attrs.json").exists()
    elif fmt == "netcdf3":
        from scipy.io import netcdf_file

        with netcdf_file(out, "r", mmap=False) as nc:
            np.testing.assert_array_equal(nc.variables["pressure"][:], np.arange(30))
            assert nc.source == b"wind tunnel"
    else:  # .nc is netCDF-4 by default
        import netCDF4

        with netCDF4.Dataset(out) as nc:
            assert nc.data_model == "NETCDF4"
            np.testing.assert_array_equal(nc.variables["pressure"][:], np.arange(30))
            assert nc.source == "wind tunnel"


def test_export_npy_and_npz(tmp_path: Path) -> None:
    native = str(tmp_path / "arr")
    with sh5.File(native, "w") as f:
        f["grid"] = np.arange(12, dtype="<f8").reshape(3, 4)
    export_file(native, str(tmp_path / "grid.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "grid.npy"), np.arange(12.0).reshape(3, 4))
    with sh5.File(native, "r+") as f:
        f.create_group("sub")["v"] = np.arange(3)
    export_file(native, str(tmp_path / "all.npz"))
    with np.load(tmp_path / "all.npz") as z:
        assert sorted(z.files) == ["grid", "sub/v"]
        np.testing.assert_array_equal(z["sub/v"], np.arange(3))


def test_export_fits_image(tmp_path: Path) -> None:
    from astropy.io import fits

    native = str(tmp_path / "img")
    with sh5.File(native, "w") as f:
        f["PRIMARY"] = np.arange(20, dtype="i2").reshape(4, 5)
    export_file(native, str(tmp_path / "img.fits"))
    with fits.open(tmp_path / "img.fits") as hdul:
        np.testing.assert_array_equal(hdul[0].data, np.arange(20).reshape(4, 5))


def test_export_refuses_what_does_not_fit(tmp_path: Path) -> None:
    native = str(tmp_path / "nested")
    with sh5.File(native, "w") as f:
        f.create_group("grp")["temperature"] = np.zeros((3, 3))
    out = tmp_path / "nested.parquet"
    with pytest.raises(NotSupported, match="/grp"):
        export_file(native, str(out))
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".sciswift-export")] == []
    with pytest.raises(NotSupported, match="pass --format"):
        export_file(native, str(tmp_path / "nested.unknown"))
    with sh5.File(native, "r+") as f:
        f["grp/temperature"].attrs["units"] = "K"
    with pytest.raises(NotSupported, match="grp/temperature has attributes"):
        export_file(native, str(tmp_path / "nested.npz"))


def test_failed_export_keeps_the_old_file(tmp_path: Path) -> None:
    native = str(tmp_path / "nested")
    with sh5.File(native, "w") as f:
        f.create_group("grp")["temperature"] = np.zeros((3, 3))
    out = tmp_path / "old.parquet"
    out.write_bytes(b"previous contents")
    with pytest.raises(AlreadyExists):
        export_file(native, str(out))
    with pytest.raises(NotSupported):
        export_file(native, str(out), overwrite=True)
    assert out.read_bytes() == b"previous contents"


def test_export_hdf5_to_store_object(made: Callable[[str], Path], tmp_path: Path) -> None:
    bucket = _bucket()
    src = made("structure")
    import_file(str(src), f"{bucket}/run1.h5")
    export_file(f"{bucket}/run1.h5", f"{bucket}/run1-copy.h5")
    (tmp_path / "copy.h5").write_bytes(_get(f"{bucket}/run1-copy.h5"))
    assert differences(src, tmp_path / "copy.h5") == []
    # the blob opens again as a source (h5py over ranged reads)
    with pytest.raises(AlreadyExists):
        export_file(f"{bucket}/run1.h5", f"{bucket}/run1-copy.h5")


def test_export_never_hides_a_native_file(tmp_path: Path) -> None:
    bucket = _bucket()
    _native_table(f"{bucket}/run1.h5")
    with pytest.raises(Exception, match="native sciswift file has that name"):
        export_file(f"{bucket}/run1.h5", f"{bucket}/run1.h5", overwrite=True)
    assert os.path.exists(tmp_path)
    with sh5.File(f"{bucket}/run1.h5") as f:
        assert "speed" in f


def test_h5py_reads_the_export_of_a_format_import(tmp_path: Path) -> None:
    """parquet -> native -> .h5: the chain the issue describes, checked with h5py."""
    pq.write_table(_table(), tmp_path / "t.parquet")
    import_file(str(tmp_path / "t.parquet"), str(tmp_path / "t.native"))
    export_file(str(tmp_path / "t.native"), str(tmp_path / "t.h5"))
    with h5py.File(tmp_path / "t.h5") as f:
        np.testing.assert_array_equal(f["id"][()], np.arange(50))
        assert f["name"].asstr()[0] == "star0"


def test_import_root_jagged_branches(tmp_path: Path) -> None:
    """ROOT through its plugin: TTree branches become datasets, jagged ones vlen."""
    import skhep_testdata
    import uproot

    path = skhep_testdata.data_path("uproot-HZZ.root")
    report = import_file(path, str(tmp_path / "hzz"))
    assert report.datasets == 51
    with uproot.open(path) as f:
        expected = f["events"]["Muon_Px"].array(library="np")
    with sh5.File(str(tmp_path / "hzz")) as f:
        ds = f["events/Muon_Px"]
        assert sh5.check_vlen_dtype(ds.dtype) == np.dtype("f4")
        got = ds[()]
        assert len(got) == len(expected) == 2421
        for a, b in zip(got[:50], expected[:50]):
            np.testing.assert_array_equal(a, b)
