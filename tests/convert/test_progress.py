"""Progress for batch jobs: ``LogProgress`` lines, and what the CLI picks when
stderr is not a terminal."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from sciswift.convert import LogProgress


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_log_progress_writes_a_line_per_interval_and_one_at_the_end() -> None:
    out, clock = io.StringIO(), _Clock()
    p = LogProgress("importing", file=out, interval=10, clock=clock)
    p.start(1_000_000_000, 2)
    clock.now += 4
    p.advance(100_000_000)
    assert out.getvalue() == ""  # not yet 10 s
    clock.now += 6
    p.advance(150_000_000)
    p.dataset_done()
    clock.now += 10
    p.advance(250_000_000)
    clock.now += 1
    p.dataset_done()
    p.close()
    lines = out.getvalue().splitlines()
    assert lines == [
        "importing: 250.0 MB/1.0 GB (25%), 0/2 datasets, 25.0 MB/s, 30 s left",
        "importing: 500.0 MB/1.0 GB (50%), 1/2 datasets, 25.0 MB/s, 20 s left",
        "importing: 500.0 MB/1.0 GB (50%), 2/2 datasets, 23.8 MB/s, 21.0 s",
    ]


def test_batch_job_gets_progress_lines_on_stderr(tmp_path: Path) -> None:
    src = tmp_path / "src.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("x", data=np.arange(100_000, dtype="f8"), chunks=(10_000,), compression="gzip")
    with open(tmp_path / "log", "w") as log:  # stderr is a file, as in a batch job
        done = subprocess.run([sys.executable, "-m", "sciswift.cli.main", "import", str(src),
                               f"file://{tmp_path}/n.h5"], stderr=log, stdout=subprocess.PIPE, text=True)
    assert done.returncode == 0
    text = (tmp_path / "log").read_text()
    assert "importing: 800.0 kB/800.0 kB (100%), 1/1 datasets" in text
    assert "\x1b[" not in text  # no terminal escapes in a log file
