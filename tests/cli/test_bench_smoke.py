"""``make bench`` runs: the suite runner and the h5 suite at tiny sizes (a smoke
test; the numbers themselves are the benchmark's business, not the tests')."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_suite_list_reports_missing_suites() -> None:
    result = _bench("--list")
    assert result.returncode == 0
    for suite in ("h5", "load", "workloads"):
        present = (ROOT / "bench" / suite / "__main__.py").is_file()
        assert f"{suite:<10} {'present' if present else 'missing'}" in result.stdout.splitlines()


def test_h5_suite_runs_at_tiny_size(tmp_path: Path) -> None:
    result = _bench("h5", "--", "--size", "tiny", "--workloads", "bulk,small", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "sci/h5py" in result.stdout and "h5 " in result.stdout and "ok" in result.stdout
    doc = json.loads((tmp_path / "h5-latest.json").read_text())
    assert doc["size"] == "tiny"
    phases = {(row["workload"], row["phase"]) for row in doc["rows"]}
    assert phases == {("bulk", "write"), ("bulk", "read"), ("small", "write"), ("small", "read")}
    for row in doc["rows"]:
        assert set(row["median_s"]) == {"h5py", "sciswift", "sciswift-serve", "zarr"}
        assert all(t > 0 for t in row["median_s"].values())
        assert row["ratios"]["sciswift/h5py"] > 0


@pytest.mark.slow  # the server, 2 clients and ~6 s of load
def test_soak_runs_briefly_and_judges(tmp_path: Path) -> None:
    """``make soak`` (scripts/soak.py) for a few seconds: samples taken, every
    request answered correctly, a verdict and its reasons written out."""
    out = tmp_path / "soak.json"
    result = subprocess.run([sys.executable, "scripts/soak.py", "--minutes", "0.1", "--interval", "2",
                             "--warmup", "0", "--clients", "2", "--json", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "verdict:" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert len(doc["rows"]) >= 2
    assert sum(r["requests"] for r in doc["rows"]) > 20
    assert all(r["errors"] == 0 for r in doc["rows"]), [r["error_samples"] for r in doc["rows"]]
    assert all(r["rss_mib"] > 10 and r["fds"] > 3 for r in doc["rows"])
    assert any(n.startswith("RSS ") for n in doc["notes"]) and result.returncode == (0 if doc["flat"] else 1)
