"""The HDF5 view of a native file against the file the real h5py writes with
the same calls (tests/h5view/twin_cases.py: every type, layout, filter, link,
reference and attribute kind), read by HDF5's and netCDF's C tools: a C
program (h5walk.c: every dataset and attribute read with its native type,
checksummed) prints the same, h5diff finds no difference, h5dump prints the
same text (data, and with -p the same types, fill values, layouts and
filters), ncdump -h the same header.

Normalised away: file addresses (h5dump prints a reference's target address)
and storage sizes (the view declares every chunk of the grid allocated, and a
deflated chunk at zlib's bound: docs/h5view.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
from twin_cases import TWINS
from view_helpers import H5DUMP, NCDUMP, view_file

import sciswift.h5py as sh
from sciswift.store import parse_location


@pytest.fixture(scope="session")
def h5walk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/h5view/h5walk.c built with Debian's HDF5 compiler wrapper."""
    cc = shutil.which("h5pcc") or shutil.which("h5cc")
    if cc is None:
        pytest.fail("h5pcc/h5cc not found: install libhdf5-openmpi-dev (see .ci/run)")
    out = tmp_path_factory.mktemp("walk") / "h5walk"
    src = Path(__file__).with_name("h5walk.c")
    subprocess.run([cc, "-o", str(out), str(src)], check=True, capture_output=True, timeout=120, cwd=out.parent)
    return out


def _tool(argv: list[str], path: Path) -> tuple[int, str]:
    proc = subprocess.run([*argv, str(path)], capture_output=True, text=True, timeout=120, errors="replace")
    text = proc.stdout.replace(str(path), "FILE")
    text = re.sub(r"\b(DATASET|GROUP|DATATYPE) \d+ ", r"\1 ADDR ", text)
    text = re.sub(r"\bOFFSET \d+", "OFFSET N", text)
    text = re.sub(r"\bSIZE \d+( \([\d.]+:1 COMPRESSION\))?", "SIZE N", text)
    return proc.returncode, text


def _twins(name: str, tmp_path: Path) -> tuple[Path, Path]:
    """(the view of the native file, materialised; the file h5py wrote)."""
    (tmp_path / "store").mkdir()
    native = str(tmp_path / "store" / f"{name}.h5")
    with sh.File(native, "w") as f:
        TWINS[name](sh, f)
    reference = tmp_path / f"{name}.h5"
    with h5py.File(reference, "w") as f:
        TWINS[name](h5py, f)
    return view_file(parse_location(native), tmp_path / f"{name}.view.h5"), reference


@pytest.mark.parametrize("name", sorted(TWINS))
def test_c_tools_read_the_view_as_the_file_h5py_writes(name: str, tmp_path: Path, h5walk: Path) -> None:
    view, reference = _twins(name, tmp_path)
    walked = _tool([str(h5walk)], view)
    assert walked[0] == 0, walked[1]
    assert walked == _tool([str(h5walk)], reference)
    diff = subprocess.run(["h5diff", str(reference), str(view)], capture_output=True, text=True, timeout=120)
    assert diff.returncode == 0, diff.stdout[-3000:] + diff.stderr[-1000:]
    for argv in ([H5DUMP], [H5DUMP, "-p", "-H"], [NCDUMP, "-h"]):
        ours, theirs = _tool(argv, view), _tool(argv, reference)
        assert ours[0] == theirs[0], (argv, ours, theirs)
        # (ncdump's first line names the file)
        assert ours[1].splitlines()[1:] == theirs[1].splitlines()[1:], argv


def test_a_zero_long_double_fill_is_hdf5s_default(tmp_path: Path) -> None:
    """numpy leaves the 6 padding bytes of an x87 long double undefined, so a
    zero fill value had non-zero bytes and was declared a user-defined fill
    (h5dump -p: ``VALUE 0`` where h5py's file says H5D_FILL_VALUE_DEFAULT)."""
    (tmp_path / "store").mkdir()
    native = str(tmp_path / "store" / "ld.h5")
    reference = tmp_path / "ld.h5"
    for h5, where in ((sh, native), (h5py, reference)):
        with h5.File(where, "w") as f:
            f.create_dataset("ld", shape=(5,), dtype=np.longdouble, chunks=(2,))
            f.create_dataset("ld_fill", shape=(5,), dtype=np.longdouble, chunks=(2,), fillvalue=1.5)
    view = view_file(parse_location(native), tmp_path / "ld.view.h5")
    fills = [_tool([H5DUMP, "-p", "-H"], p)[1].splitlines() for p in (view, reference)]
    assert [line for line in fills[0] if "VALUE" in line] == [line for line in fills[1] if "VALUE" in line]
    assert any("H5D_FILL_VALUE_DEFAULT" in line for line in fills[0])
    assert any("VALUE  1.5" in line for line in fills[0])
