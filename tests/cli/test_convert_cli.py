"""``sciswift import`` and ``sciswift export`` from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
from click.testing import Result


def test_import_then_export(run: Callable[..., Result], h5file: Path, tmp_path: Path) -> None:
    native, out = tmp_path / "native.h5", tmp_path / "out.h5"
    result = run("import", str(h5file), str(native))
    assert result.exit_code == 0
    assert f"imported {h5file} -> {native}: 1 groups, 3 datasets" in result.output
    result = run("export", str(native), str(out))
    assert result.exit_code == 0 and "exported" in result.output
    with h5py.File(out) as f:
        np.testing.assert_array_equal(f["grp/temperature"][()], np.arange(2000, dtype="f4").reshape(40, 50))
        assert f["grp/temperature"].compression_opts == 5
        assert f[f.attrs["ref"]] == f["grp"]


def test_progress_bar_on_request(run: Callable[..., Result], h5file: Path, tmp_path: Path) -> None:
    result = run("import", "--progress", str(h5file), str(tmp_path / "n"))
    assert result.exit_code == 0
    assert "importing" in result.output and "datasets" in result.output and "3/3" in result.output


def test_quiet_and_notes(run: Callable[..., Result], tmp_path: Path) -> None:
    src = tmp_path / "compact.h5"
    with h5py.File(src, "w") as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        h5py.h5d.create(f.id, b"c", h5py.h5t.STD_I32LE, h5py.h5s.create_simple((4,)), dcpl=dcpl)
    result = run("import", "-q", str(src), str(tmp_path / "n"))
    assert result.exit_code == 0
    assert result.output.strip() == "note: /c: compact storage is not kept; the data is stored contiguous"


def test_errors_are_one_line(run: Callable[..., Result], h5file: Path, tmp_path: Path) -> None:
    run("import", "-q", str(h5file), str(tmp_path / "n"))
    result = run("import", str(h5file), str(tmp_path / "n"))
    assert result.exit_code == 1
    assert "a file exists there (use --overwrite to replace it)" in result.output
    result = run("export", str(tmp_path / "n"), str(tmp_path / "x.parquet"))
    assert result.exit_code == 1
    assert "Error: cannot write" in result.output and "/grp" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.parquet").exists()
    result = run("export", "--format", "nosuch", str(tmp_path / "n"), str(tmp_path / "x.bin"))
    assert result.exit_code == 1 and "unknown format 'nosuch'" in result.output
