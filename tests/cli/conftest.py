"""Fixtures for the command-line tests: small files of each kind, and a runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner, Result

from sciswift.cli.main import cli


@pytest.fixture
def run() -> Callable[..., Result]:
    """``run("ls", "-r", path)``: the sciswift command, output captured (not a TTY)."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def h5file(tmp_path: Path) -> Path:
    """A small HDF5 file with groups, links, filters, attributes and a reference."""
    path = tmp_path / "sample.h5"
    with h5py.File(path, "w") as f:
        f.attrs["title"] = "sample"
        g = f.create_group("grp")
        t = g.create_dataset("temperature", data=np.arange(2000, dtype="f4").reshape(40, 50), chunks=(10, 25),
                             compression="gzip", compression_opts=5, shuffle=True, fillvalue=-1.0)
        t.attrs["units"] = "K"
        g.create_dataset("small", data=np.array([1, 2, 3], dtype=">i2"))
        f["link"] = h5py.SoftLink("/grp/small")
        f["alias"] = t
        f.create_dataset("names", data=["alpha", "beta"], dtype=h5py.string_dtype())
        f.attrs["ref"] = g.ref
    return path
