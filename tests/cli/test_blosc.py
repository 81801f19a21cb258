"""Blosc-compressed HDF5 datasets (filter 32001, as hdf5plugin and PyTables write
them) through the CLI when h5py has no blosc filter loaded: ``dump``, ``ls``,
``import`` and ``export`` read them through the HDF5 plugin's numcodecs decoder
(they opened the file with h5py alone, which cannot decode the chunks).

The command runs in its own process: importing PyTables (other tests do) registers
a blosc filter with HDF5 for the rest of the process, and then h5py decodes blosc
itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import sciswift.h5py as sh5

DATA = np.arange(2000, dtype="<f8").reshape(40, 50)


_WRITE_BLOSC = """
import sys
import h5py, numcodecs, numpy as np
data = np.arange(2000, dtype="<f8").reshape(40, 50)
codec = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
with h5py.File(sys.argv[1], "w") as f:
    # cd_values: filter version, blosc format, type size, chunk bytes, clevel, shuffle, compressor (lz4)
    ds = f.create_dataset("grp/b", shape=data.shape, dtype=data.dtype, chunks=(20, 25), compression=32001,
                          compression_opts=(2, 2, 8, 20 * 25 * 8, 5, 1, 1), allow_unknown_filter=True)
    for i in range(0, 40, 20):
        for j in range(0, 50, 25):
            ds.id.write_direct_chunk((i, j), codec.encode(np.ascontiguousarray(data[i:i + 20, j:j + 25])))
    ds.attrs["units"] = "m"
    f.create_dataset("plain", data=np.arange(5))
"""


@pytest.fixture
def blosc_h5(tmp_path: Path) -> Path:
    """An HDF5 file whose dataset is stored with the blosc filter, chunks written
    as hdf5plugin's filter stores them (one blosc buffer each, from numcodecs).
    Written in a fresh process without HDF5's plugin path (``_no_plugins``)."""
    path = tmp_path / "blosc.h5"
    subprocess.run([sys.executable, "-c", _WRITE_BLOSC, str(path)], check=True, timeout=120, env=_no_plugins())
    return path


def _no_plugins() -> dict[str, str]:
    """This process's environment without ``HDF5_PLUGIN_PATH``: importing netCDF4
    (other tests do) points it at netCDF4's bundled filter plugins, blosc among
    them, so a child's h5py would load that filter (whose set-local callback
    refuses the hand-made filter values above) and decode blosc itself."""
    return {k: v for k, v in os.environ.items() if k != "HDF5_PLUGIN_PATH"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The sciswift command in a fresh process that must not have a blosc filter."""
    check = "import h5py, sys; sys.exit(h5py.h5z.filter_avail(32001))"
    if subprocess.run([sys.executable, "-c", check], env=_no_plugins()).returncode:
        pytest.skip("h5py has a blosc filter in a fresh process (hdf5plugin?): the case is h5py without one")
    return subprocess.run([sys.executable, "-m", "sciswift.cli.main", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, env=_no_plugins())


def test_dump_shows_blosc_data(blosc_h5: Path) -> None:
    result = run("dump", "--data", str(blosc_h5))
    assert result.returncode == 0, result.stderr
    assert "cannot be read" not in result.stdout
    assert "1.999e+03" in result.stdout
    assert "blosc" in run("ls", "-r", "-v", str(blosc_h5)).stdout


def test_import_keeps_blosc_and_export_decodes(blosc_h5: Path, tmp_path: Path) -> None:
    native = tmp_path / "native"
    result = run("import", "-q", str(blosc_h5), str(native))
    assert result.returncode == 0, result.stderr
    with sh5.File(str(native)) as f:
        np.testing.assert_array_equal(f["grp/b"][()], DATA)
        assert f["grp/b"].compression == "blosc"
        assert f["grp/b"].compression_opts["cname"] == "lz4"
        assert f["grp/b"].attrs["units"] == "m"
    out = tmp_path / "out.h5"
    result = run("export", "-q", str(blosc_h5), str(out))
    assert result.returncode == 0, result.stderr
    with h5py.File(out) as f:
        np.testing.assert_array_equal(f["grp/b"][()], DATA)
        np.testing.assert_array_equal(f["plain"][()], np.arange(5))


def test_stored_blosc_blob_exports(blosc_h5: Path, tmp_path: Path) -> None:
    """The same file uploaded as one object (a blob in a LocalStore, as
    ``sciswift serve`` keeps them), exported by its store path."""
    from sciswift.store import LocalStore

    store = LocalStore(tmp_path / "acct", mark_root=True)
    store.create_container("data")
    store.put_object("data", "blosc.h5", blosc_h5.read_bytes())
    store.close()
    out = tmp_path / "from-store.nc"
    result = run("export", "-q", str(tmp_path / "acct" / "data" / "blosc.h5"), str(out))
    assert result.returncode == 0, result.stderr
    with h5py.File(out) as f:
        np.testing.assert_array_equal(f["grp/b"][()], DATA)
