"""The Sci-Swift quickstart commands, verbatim, against ``sciswift serve``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from .conftest import RunningServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(script: str, *args: str, server: RunningServer, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **server.env())
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_upload_then_list(disk_server: RunningServer, tmp_path: Path) -> None:
    up = run("upload.py", "swift", "1.h5", "wind", "100", "100", server=disk_server, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    with h5py.File(tmp_path / "1.h5", "r") as f:
        local = f["wind"][...]
    assert local.shape == (100, 100) and local.dtype == np.float64

    listed = run("list.py", "swift", server=disk_server, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert "1.h5" in names

    # the stored object is the same HDF5 file, byte for byte
    _, body = disk_server.connection().get_object("swift", "1.h5")
    assert body == (tmp_path / "1.h5").read_bytes()


def test_list_of_missing_container_is_a_clear_error(server: RunningServer, tmp_path: Path) -> None:
    out = run("list.py", "no-such-container", server=server, cwd=tmp_path)
    assert out.returncode == 1
    assert "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_examples_default_to_the_embedded_server_values() -> None:
    for script in ("upload.py", "list.py"):
        text = (EXAMPLES / script).read_text()
        assert "http://127.0.0.1:12345/auth/v1.0" in text
        assert '"test:tester"' in text and '"testing"' in text
