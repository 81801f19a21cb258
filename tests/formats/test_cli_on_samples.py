"""``sciswift ls``, ``dump``, ``import`` and ``export`` on shipped files holding what
sciswift or h5py cannot present (a pickled ``.npz`` member, HDF5 types with no NumPy
equivalent, filters h5py has no decoder for): the rest is listed, and what fails
says what and why, never a traceback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fmt_helpers import site_files

from sciswift.cli.main import cli


def run(*args: str) -> Result:
    """The sciswift command in-process; an exception escaping it fails the test."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def sample(tmp_path: Path, pattern: str) -> Path:
    """A local copy of an installed package's file (skip when it is not installed)."""
    found = site_files(pattern)
    if not found:
        pytest.skip(f"{pattern} is not installed")
    copy = tmp_path / Path(found[0]).name
    shutil.copyfile(found[0], copy)
    return copy


def test_pickled_npz_member_is_listed_unreadable(tmp_path: Path) -> None:
    """numpy's py3-objarr.npz holds one object (pickled) array: ls and dump list it
    as unreadable with the reason, instead of a NotSupported traceback."""
    path = sample(tmp_path, "numpy/lib/tests/data/py3-objarr.npz")
    listed = run("ls", "-r", "-v", str(path))
    assert listed.exit_code == 0, listed.output
    assert "/x  unreadable: " in listed.output and "pickle" in listed.output
    dumped = run("dump", str(path))
    assert dumped.exit_code == 0, dumped.output
    assert "/x: cannot be opened (" in dumped.output and "pickle" in dumped.output
    exported = run("export", str(path), str(tmp_path / "out.h5"))
    assert exported.exit_code == 1 and "x.npy: it holds Python objects" in exported.output


@pytest.mark.parametrize("name, unreadable, readable", [
    ("times-nested-be.h5", ["/earr32", "/earr64", "/tbl"], []),
    ("float.h5", ["/quadprecision"], ["/float16", "/float64"]),
])
def test_hdf5_types_without_numpy_dtype(tmp_path: Path, name: str, unreadable: list[str], readable: list[str]) -> None:
    """PyTables' files with H5T_TIME and 128-bit float datasets: ls and dump list
    the other datasets and these as unreadable; import fails naming the first one
    (h5py raised TypeError/ValueError from its dtype, a traceback)."""
    path = sample(tmp_path, f"tables/tests/{name}")
    listed = run("ls", "-r", str(path))
    assert listed.exit_code == 0, listed.output
    for ds in unreadable:
        assert re.search(rf"^  {ds} +unreadable: its datatype has no NumPy equivalent", listed.output, re.M), ds
    for ds in readable:
        assert re.search(rf"^  {ds} +Dataset ", listed.output, re.M), ds
    dumped = run("dump", "-H", str(path))
    assert dumped.exit_code == 0, dumped.output
    assert f"{unreadable[0]}: cannot be opened (its datatype has no NumPy equivalent" in dumped.output
    imported = run("import", "-q", str(path), str(tmp_path / "native"))
    assert imported.exit_code == 1
    assert f"cannot copy {unreadable[0]}: its HDF5 datatype has no NumPy equivalent" in imported.output
    assert not (tmp_path / "native").exists()  # nothing left of the failed copy


def test_pytables_blosc_file_exports_without_a_blosc_filter(tmp_path: Path) -> None:
    """PyTables' blosc_bigendian.h5 (filter 32001) exports and dumps though h5py
    has no blosc filter loaded: the file is read through the HDF5 plugin, which
    decodes blosc with numcodecs. The values are PyTables' own (read in another
    process, as importing PyTables registers its filters with HDF5 here)."""
    import json
    import subprocess
    import sys

    import h5py

    path = sample(tmp_path, "tables/tests/blosc_bigendian.h5")
    script = ("import json, sys, tables\n"
              "with tables.open_file(sys.argv[1]) as f:\n"
              "    print(json.dumps({n._v_pathname: n.read().tolist() for n in f.walk_nodes('/', 'Array')}))")
    want = json.loads(subprocess.run([sys.executable, "-c", script, str(path)], check=True, capture_output=True,
                                     text=True).stdout)
    # The CLI in a fresh process too: in this one, PyTables may have been imported.
    cli = [sys.executable, "-m", "sciswift.cli.main"]
    exported = subprocess.run([*cli, "export", "-q", str(path), str(tmp_path / "out.h5")], capture_output=True,
                              text=True)
    assert exported.returncode == 0, exported.stderr
    with h5py.File(tmp_path / "out.h5") as f:
        assert want and {name: f[name][()].tolist() for name in want} == want
    dumped = subprocess.run([*cli, "dump", "-d", "/i1", str(path)], capture_output=True, text=True)
    assert dumped.returncode == 0 and "cannot be read" not in dumped.stdout, dumped.stderr


@pytest.mark.parametrize("name, dataset, code, filter_name", [
    ("Tables_lzo1.h5", "/group0/group1/tuple2", 305, "lzo"),
])
def test_filter_without_decoder_is_named(tmp_path: Path, name: str, dataset: str, code: int, filter_name: str) -> None:
    """A dataset whose HDF5 filter h5py cannot decode: import/export and dump name
    the filter, not HDF5's 'can't open directory (/usr/local/lib/plugin)'."""
    import h5py

    path = sample(tmp_path, f"tables/tests/{name}")
    want = f"compressed with HDF5 filter {code} ({filter_name}), which h5py cannot decode here"
    exported = run("export", "-q", str(path), str(tmp_path / "out.h5"))
    if h5py.h5z.filter_avail(code):
        # Importing PyTables (another test in this process) registers its blosc
        # filters with HDF5: then h5py decodes them and the export works.
        assert exported.exit_code == 0, exported.output
        return
    assert exported.exit_code == 1 and f"cannot read {dataset}[" in exported.output and want in exported.output
    dumped = run("dump", "-d", dataset, str(path))
    assert dumped.exit_code == 0, dumped.output
    assert f"DATA: cannot be read (it is {want}" in dumped.output


@pytest.mark.parametrize("name, dataset", [("ex-noattr.h5", "/columns/TDC"), ("attr-u16.h5", None)])
def test_undefined_fill_value(tmp_path: Path, name: str, dataset: str | None) -> None:
    """PyTables files with datasets of no defined fill value (h5py raises
    RuntimeError on ``.fillvalue``): ls -v and dump describe them, import and export
    copy them (before: a RuntimeError traceback from the storage line and the
    copy's fill value)."""
    import h5py
    import numpy as np

    path = sample(tmp_path, f"tables/tests/{name}")
    for args in (["ls", "-r", "-v", str(path)], ["dump", str(path)]):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert "torage: " in result.output  # the line that asked for the fill value
    assert run("import", "-q", str(path), str(tmp_path / "native")).exit_code == 0
    assert run("export", "-q", str(tmp_path / "native"), str(tmp_path / "back.h5")).exit_code == 0
    with h5py.File(path) as f, h5py.File(tmp_path / "back.h5") as g:
        names: list[str] = []
        f.visit(names.append)
        datasets = [n for n in names if isinstance(f[n], h5py.Dataset)]
        assert datasets and all(np.array_equal(f[n][()], g[n][()]) for n in datasets)
        if dataset is not None:
            assert dataset.lstrip("/") in datasets


def test_objects_in_a_marked_store_open_by_path(tmp_path: Path) -> None:
    """Below a marked LocalStore root (``sciswift serve --data``'s directories) a
    path names ``<container>/<object>``: an uploaded FITS or HDF5 object opens by
    that path with sciswift.h5py and the CLI, as its file:// URL already did with
    sciswift.h5py (the path gave FileNotFoundError / 'no such file or directory':
    LocalStore keeps objects in packs, not as files of that name)."""
    import h5py
    import numpy as np
    from astropy.io import fits

    import sciswift.h5py as sh5
    from sciswift.store import LocalStore

    fits_path = sample(tmp_path, "astropy/io/fits/tests/data/tb.fits")
    h5_path = sample(tmp_path, "h5py/tests/data_files/vlen_string_dset.h5")
    store = LocalStore(tmp_path / "data", mark_root=True, durable=False)
    store.create_container("sky")
    store.put_object("sky", "tb.fits", fits_path.read_bytes())
    store.put_object("sky", "strings.h5", h5_path.read_bytes())
    store.close()
    base = tmp_path / "data" / "sky"
    with sh5.File(str(base / "tb.fits")) as f, fits.open(fits_path) as want:
        assert list(f) == ["PRIMARY", "HDU1"]
        assert np.array_equal(f["HDU1/columns/c1"][()], want[1].data["c1"])
    with sh5.File(str(base / "strings.h5")) as f, h5py.File(h5_path) as want:
        assert list(f) == list(want) and f["DS1"][()].tolist() == want["DS1"][()].tolist()
    listed = run("ls", "-r", str(base / "tb.fits"))
    assert listed.exit_code == 0 and "HDU1/columns/c1" in listed.output, listed.output
    assert run("ls", str(base / "strings.h5")).exit_code == 0
    with pytest.raises(FileNotFoundError):
        sh5.File(str(base / "absent.fits"))
    assert "absent.fits" in run("ls", str(base / "absent.fits")).output
