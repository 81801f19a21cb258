"""``sciswift ls`` and ``sciswift dump`` on local HDF5 files, native files and
other formats; plain output when not on a terminal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import Result

from sciswift.convert import import_file


def test_ls_lists_members(run: Callable[..., Result], h5file: Path) -> None:
    result = run("ls", str(h5file))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"{h5file}  (HDF5 file)"
    assert any(line.split() == ["grp", "Group", "(2", "members)"] for line in lines)
    assert any("link" in line and "Soft Link {/grp/small}" in line for line in lines)
    assert "temperature" not in result.output  # not recursive


def test_ls_recursive_verbose(run: Callable[..., Result], h5file: Path) -> None:
    out = run("ls", "-r", "-v", str(h5file)).output
    lines = out.splitlines()
    assert lines[1:3] == ["  @ref: object reference = <object reference to /grp>",
                          "  @title: string (vlen, utf-8) = 'sample'"]
    assert "  /alias            Dataset {40, 50} float32" in lines  # h5py's order: by name
    assert "    Storage: chunks (10, 25), shuffle + gzip(5), fill -1.0" in lines
    assert "    @units: string (vlen, utf-8) = 'K'" in lines
    assert "  /grp/small        Dataset {3} int16 (big-endian)" in lines
    assert "  /grp/temperature  Hard Link, same as /alias" in lines


def test_ls_native_file_matches_hdf5(run: Callable[..., Result], h5file: Path, tmp_path: Path) -> None:
    native = tmp_path / "native.h5"
    import_file(str(h5file), str(native))
    a = run("ls", "-r", "-v", str(h5file)).output.splitlines()[1:]
    b = run("ls", "-r", "-v", str(native)).output.splitlines()[1:]
    assert a == b


def test_ls_parquet_and_path_argument(run: Callable[..., Result], tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": np.arange(5), "s": ["a", "b", "c", "d", "e"]}), tmp_path / "t.parquet")
    out = run("ls", str(tmp_path / "t.parquet")).output
    assert "(parquet file)" in out
    assert "x  Dataset {5} int64" in out
    out = run("ls", "-v", str(tmp_path / "t.parquet"), "/x").output
    assert "Dataset {5} int64" in out and "Storage:" in out


def test_dump_shows_structure_attributes_and_capped_data(run: Callable[..., Result], h5file: Path) -> None:
    out = run("dump", str(h5file)).output
    assert "GROUP /" in out and "GROUP /grp" in out
    assert "@title: string (vlen, utf-8) = 'sample'" in out
    assert "DATASET /alias  {40, 50} float32" in out
    assert "DATA [0:1, 0:50] of 2000 elements (use --data for all):" in out
    assert "1999" not in out  # the cap held
    assert "SOFTLINK /link -> /grp/small" in out
    assert "HARDLINK /grp/temperature -> /alias" in out
    assert "['alpha', 'beta']" in out


def test_dump_one_dataset_with_all_data(run: Callable[..., Result], h5file: Path) -> None:
    out = run("dump", "-d", "/grp/temperature", "--data", str(h5file)).output
    assert "GROUP" not in out
    assert "1.999e+03]]" in out and "..." not in out


def test_dump_header_only(run: Callable[..., Result], h5file: Path) -> None:
    out = run("dump", "-H", str(h5file)).output
    assert "DATA:" not in out and "DATA [" not in out and "storage: chunks (10, 25)" in out


def test_tree_view_when_asked(run: Callable[..., Result], h5file: Path) -> None:
    out = run("ls", "--tree", str(h5file)).output
    assert "├──" in out or "└──" in out


def test_clear_errors(run: Callable[..., Result], tmp_path: Path, h5file: Path) -> None:
    result = run("ls", str(tmp_path / "missing.h5"))
    assert result.exit_code == 1
    assert "missing.h5: no such file or directory" in result.output
    assert "Traceback" not in result.output
    result = run("dump", "-d", "/nope", str(h5file))
    assert result.exit_code == 1 and "nothing called '/nope'" in result.output
    result = run("dump", "--data", "-H", str(h5file))
    assert result.exit_code == 2


def test_ls_and_dump_root_file(run: Callable[..., Result]) -> None:
    import skhep_testdata

    path = skhep_testdata.data_path("uproot-HZZ.root")
    out = run("ls", "-r", path).output
    assert "(root file)" in out
    assert "  /events/Jet_Px                       Dataset {2421} vlen<float32>" in out.splitlines()
    out = run("dump", "-d", "/events/NJet", "--max-elements", "5", path).output
    assert "DATASET /events/NJet  {2421} int32" in out
    assert "DATA [0:5] of 2421 elements" in out


def test_ls_fits_object_in_a_store(run: Callable[..., Result]) -> None:
    import io
    import uuid

    from astropy.io import fits

    from sciswift.store.url import parse_location

    sink = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(np.zeros((3, 4), dtype=">i2"))]).writeto(sink)
    url = f"memory://sky-{uuid.uuid4().hex[:8]}/image.fits"
    loc = parse_location(url)
    loc.store.create_container(loc.container)
    loc.store.put_object(loc.container, loc.prefix, sink.getvalue())
    out = run("ls", "-r", url).output
    assert f"{url}  (fits file)" in out
    assert "  /PRIMARY/data  Dataset {3, 4} int16" in out.splitlines()
