"""HDF5's SWMR pattern across processes: a writer appends and calls
``Dataset.flush``; a reader in another process opened with ``swmr=True`` calls
``Dataset.refresh`` and sees the new shape and data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import sciswift.h5py as sh5

READER = """
import sys
import sciswift.h5py as h5py
f = h5py.File(sys.argv[1], "r", swmr=True)
d = f["samples"]
print(f.swmr_mode, d.shape, flush=True)
for line in sys.stdin:
    d.refresh()
    print(d.shape, d[...].tolist(), d.attrs.get("n"), flush=True)
"""


def test_reader_in_another_process_follows_the_writer(tmp_path: Path) -> None:
    path = str(tmp_path / "swmr.h5")
    f = sh5.File(path, "w", libver="latest")
    ds = f.create_dataset("samples", shape=(0,), maxshape=(None,), dtype="f8", chunks=(4,))
    f.swmr_mode = True
    f.flush()
    reader = subprocess.Popen([sys.executable, "-c", READER, path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().split() == ["True", "(0,)"]
        for step in range(1, 4):
            ds.resize((2 * step,))
            ds[-2:] = [step, step + 0.5]  # the last chunk is rewritten: the reader must drop its copy
            ds.attrs["n"] = step
            ds.flush()
            reader.stdin.write("next\n")
            reader.stdin.flush()
            expected = f"({2 * step},) {[float(v) for s in range(1, step + 1) for v in (s, s + 0.5)]} {step}"
            assert reader.stdout.readline().strip() == expected
    finally:
        if reader.stdin is not None:
            reader.stdin.close()
        reader.wait(timeout=30)
        f.close()
    assert reader.returncode == 0


def test_swmr_mode_switches_on_only(tmp_path: Path) -> None:
    with sh5.File(str(tmp_path / "s.h5"), "w", libver="latest") as f:
        assert f.swmr_mode is False
        f.swmr_mode = True
        assert f.swmr_mode is True
        with pytest.raises(ValueError):
            f.swmr_mode = False
    with sh5.File(str(tmp_path / "s.h5"), "r") as f:
        assert f.swmr_mode is False
        with pytest.raises(OSError):
            f.swmr_mode = True
