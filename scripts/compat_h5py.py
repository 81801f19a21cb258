#!/usr/bin/env python3
"""``make compat-h5py``: h5py's own test suite against ``sciswift.h5py``.

Runs the h5py-compat tool (``run.sh``: h5py 3.16.0's unmodified high-level tests,
574 scored) twice:

- over LocalStore: module ``sciswift.h5py``; the tests' temporary file paths
  become LocalStore containers (directories) of those names;
- over MemoryStore: module ``sciswift.testing.h5compat_memory``, which maps every
  path into the process-wide ``memory://`` store.

and prints both scores. Results (report.txt, failures.tsv, pytest.log per run)
go under ``--out`` (default ``build/h5py-compat``).

    python scripts/compat_h5py.py
    python scripts/compat_h5py.py --only memory -- -k TestCopy   # pytest args after --

The tool folder is ``--tools``, else ``$SCISWIFT_H5PY_COMPAT_TOOLS``, else
``/work/shared/tools/h5py-compat``. Exit status: 0 when both runs were scored
(1 if ``--min-score`` is given and a score is below it).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = {
    "local": "sciswift.h5py",
    "memory": "sciswift.testing.h5compat_memory",
}
SCORE = re.compile(r"^SCORE (\d+)/(\d+) = ([\d.]+)%", re.M)


def run(tools: Path, name: str, module: str, out: Path, extra: list[str]) -> tuple[int, int, float] | None:
    env = dict(os.environ)
    env["PYTHON"] = sys.executable
    env["H5T_OUTDIR"] = str(out / name)
    # A hung test must not hang the target: pytest-timeout is part of the dev extra.
    args = ["bash", str(tools / "run.sh"), module, "--timeout=60", *extra]
    proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    sys.stdout.write(proc.stdout[-2500:] if proc.returncode == 0 else proc.stdout + proc.stderr)
    m = SCORE.search(proc.stdout)
    if proc.returncode not in (0, 1) or m is None:
        print(f"h5py-compat over {name}: not scored (exit {proc.returncode})", file=sys.stderr)
        return None
    return int(m.group(1)), int(m.group(2)), float(m.group(3))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", type=Path,
                        default=Path(os.environ.get("SCISWIFT_H5PY_COMPAT_TOOLS", "/work/shared/tools/h5py-compat")))
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "h5py-compat")
    parser.add_argument("--only", choices=sorted(RUNS), action="append", help="run only this backend (repeatable)")
    parser.add_argument("--min-score", type=float, default=None, help="fail if a score (percent) is below this")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    ns = parser.parse_args()
    if not (ns.tools / "run.sh").is_file():
        print(f"h5py-compat tool not found at {ns.tools} (set --tools or SCISWIFT_H5PY_COMPAT_TOOLS)", file=sys.stderr)
        return 2
    ns.out.mkdir(parents=True, exist_ok=True)
    scores: dict[str, tuple[int, int, float] | None] = {}
    for name in ns.only or sorted(RUNS):
        print(f"=== h5py's test suite with {RUNS[name]} over {name} store", flush=True)
        scores[name] = run(ns.tools, name, RUNS[name], ns.out.resolve(), ns.pytest_args)
    print()
    failed = False
    for name, score in scores.items():
        if score is None:
            print(f"{name:>7}: not scored")
            failed = True
            continue
        passed, total, pct = score
        print(f"{name:>7}: SCORE {passed}/{total} = {pct:.1f}%  (details: {ns.out / name / 'failures.tsv'})")
        if ns.min_score is not None and pct < ns.min_score:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
