"""Blosc-compressed HDF5 datasets (filter 32001, as hdf5plugin and PyTables write
them) through the CLI when h5py has no blosc filter loaded: ``dump``, ``ls``,
``import`` and ``export`` read them through the HDF5 plugin's numcodecs decoder
(they opened the file with h5py alone, which cannot decode the chunks)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numcodecs
import numpy as np
import pytest
from click.testing import Result

import sciswift.h5py as sh5

DATA = np.arange(2000, dtype="<f8").reshape(40, 50)


@pytest.fixture
def blosc_h5(tmp_path: Path) -> Path:
    """An HDF5 file whose dataset is stored with the blosc filter, chunks written
    as hdf5plugin's filter stores them (one blosc buffer each, from numcodecs)."""
    path = tmp_path / "blosc.h5"
    codec = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
    with h5py.File(path, "w") as f:
        # cd_values: filter version, blosc format, type size, chunk bytes, clevel, shuffle, compressor (lz4)
        ds = f.create_dataset("grp/b", shape=DATA.shape, dtype=DATA.dtype, chunks=(20, 25), compression=32001,
                              compression_opts=(2, 2, 8, 20 * 25 * 8, 5, 1, 1), allow_unknown_filter=True)
        for i in range(0, 40, 20):
            for j in range(0, 50, 25):
                ds.id.write_direct_chunk((i, j), codec.encode(np.ascontiguousarray(DATA[i:i + 20, j:j + 25])))
        ds.attrs["units"] = "m"
        f.create_dataset("plain", data=np.arange(5))
    return path


@pytest.fixture(autouse=True)
def _no_blosc_in_h5py() -> None:
    if h5py.h5z.filter_avail(32001):
        pytest.skip("h5py has a blosc filter here (hdf5plugin): the case is h5py without one")


def test_dump_shows_blosc_data(run: Callable[..., Result], blosc_h5: Path) -> None:
    result = run("dump", "--data", str(blosc_h5))
    assert result.exit_code == 0, result.output
    assert "cannot be read" not in result.output
    assert "1.999e+03" in result.output
    assert "blosc" in run("ls", "-r", "-v", str(blosc_h5)).output


def test_import_keeps_blosc_and_export_decodes(run: Callable[..., Result], blosc_h5: Path, tmp_path: Path) -> None:
    native = tmp_path / "native"
    result = run("import", "-q", str(blosc_h5), str(native))
    assert result.exit_code == 0, result.output
    with sh5.File(str(native)) as f:
        np.testing.assert_array_equal(f["grp/b"][()], DATA)
        assert f["grp/b"].compression == "blosc"
        assert f["grp/b"].compression_opts["cname"] == "lz4"
        assert f["grp/b"].attrs["units"] == "m"
    out = tmp_path / "out.h5"
    result = run("export", "-q", str(blosc_h5), str(out))
    assert result.exit_code == 0, result.output
    with h5py.File(out) as f:
        np.testing.assert_array_equal(f["grp/b"][()], DATA)
        np.testing.assert_array_equal(f["plain"][()], np.arange(5))


def test_stored_blosc_blob_exports(run: Callable[..., Result], blosc_h5: Path, tmp_path: Path) -> None:
    import uuid

    from sciswift.store.url import parse_location

    url = f"memory://blosc-{uuid.uuid4().hex[:8]}/blosc.h5"
    loc = parse_location(url)
    loc.store.create_container(loc.container)
    loc.store.put_object(loc.container, loc.prefix, blosc_h5.read_bytes())
    out = tmp_path / "from-store.nc"
    result = run("export", "-q", url, str(out))
    assert result.exit_code == 0, result.output
    with h5py.File(out) as f:
        np.testing.assert_array_equal(f["grp/b"][()], DATA)
