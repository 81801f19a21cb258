"""``sciswift get`` and ``sciswift.client.DataClient`` against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sciswift.client import DataAPIError, DataClient, open_url


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sciswift.cli.main", *args], env={**os.environ, **env},
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_get_to_npy_csv_bin_and_stdout(disk_server: Any, bucket: str, sample: dict[str, Any],
                                       tmp_path: Path) -> None:
    env = disk_server.env()
    url = f"swift://{bucket}/run1.h5"
    r = _cli(["get", url, "/g/grid", "--select", "[0:10, :]", "-o", "out.npy"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), sample["grid"][0:10, :])
    r = _cli(["get", url, "/g/grid", "-s", "3, ::25", "-o", "row.csv"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert [float(v) for v in (tmp_path / "row.csv").read_text().split()] == sample["grid"][3, ::25].tolist()
    r = _cli(["get", f"swift://{bucket}/sky/m13.fits", "/PRIMARY/data", "-s", "2", "-o", "r.raw"], env, tmp_path)
    assert r.returncode == 0 and "dtype <i2, shape [80]" in r.stderr
    np.testing.assert_array_equal(np.fromfile(tmp_path / "r.raw", "<i2"), sample["image"][2])
    r = _cli(["get", url, "/line", "-s", "10:13"], env, tmp_path)
    assert json.loads(r.stdout) == pytest.approx(sample["line"][10:13].tolist())
    r = _cli(["get", url, "/g/grid", "--meta"], env, tmp_path)
    assert json.loads(r.stdout)["shape"] == [40, 50]


def test_get_errors_are_one_line(disk_server: Any, bucket: str, sample: dict[str, Any], tmp_path: Path) -> None:
    env = disk_server.env()
    r = _cli(["get", f"swift://{bucket}/run1.h5", "/g/grid", "-s", "0:3, ::0", "-o", "x.npy"], env, tmp_path)
    assert r.returncode == 1
    assert "step 0 on axis 1 must be at least 1 (HTTP 400)" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.npy").exists()
    r = _cli(["get", f"swift://{bucket}/run1.h5", "/g/grid"], {"ST_AUTH": "", "ST_USER": "", "ST_KEY": ""},
             tmp_path)
    assert r.returncode == 1 and "ST_AUTH" in r.stderr


def test_client_reads_slices_and_public_http_urls(disk_server: Any, bucket: str, sample: dict[str, Any]) -> None:
    storage_url, token = disk_server.auth()
    client = DataClient(storage_url, token)
    np.testing.assert_array_equal(client.read(f"{bucket}/run1.h5", "/g/cube", "1, 2:4"), sample["cube"][1, 2:4])
    assert client.attrs(f"{bucket}/run1.h5", "/g/grid")["units"] == "m/s"
    assert "/g/grid" in client.paths(f"{bucket}/run1.h5")
    with pytest.raises(DataAPIError) as info:
        client.read(f"{bucket}/run1.h5", "/g/grid", "99")
    assert info.value.status == 400
    anonymous, file = open_url(f"{storage_url}/{bucket}/run1.h5", environ={})
    assert file == f"{bucket}/run1.h5" and anonymous.token is None
    with pytest.raises(DataAPIError) as info:
        anonymous.meta(file)
    assert info.value.status == 401
    temp, _ = open_url(f"{storage_url}/{bucket}/run1.h5?temp_url_sig=ab&temp_url_expires=1", environ={})
    assert temp.params == {"temp_url_sig": "ab", "temp_url_expires": "1"}


@pytest.mark.saio
def test_get_on_real_swift_says_it_has_no_data_api(saio: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenStack Swift has no ``/api``: its HTML 400 became the message; now the
    command names the endpoint and says how to read the file instead."""
    import uuid

    import sciswift.h5py as h5py

    url = f"swift://get-{uuid.uuid4().hex[:8]}/run1.h5"
    for name, value in saio.env().items():
        monkeypatch.setenv(name, value)  # sciswift.h5py finds the account as the command does
    with h5py.File(url, "w") as f:
        f["x"] = np.arange(5)
    for args in (["get", url, "/x"], ["get", url, "/", "--meta"]):
        r = _cli(args, saio.env(), tmp_path)
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert "<html>" not in r.stderr
        assert "OpenStack Swift 2.38.3, which has no sciswift data API" in r.stderr
        assert "sciswift dump -d PATH --data URL" in r.stderr
