"""``python -m bench.h5``: sciswift against h5py and zarr-python, side by side.

Workloads (sizes for ``--size full``; see workloads.py):

  (a) bulk    write then read a 4096 x 4096 float32 dataset chunked 256 x 256
  (b) random  200 random 64 x 64 reads of that dataset
  (c) small   1,000 datasets of 100 float64 (one attribute each) in nested
              groups, then reopen and read them all
  (d) vpic    8 arrays of 8 Mi float32 (VPIC-IO-like), written then read,
              every library with the same 1 Mi-element chunks (like with like)
  (e) vpic_default  the same with each library's default layout (h5py:
              contiguous); shown, not judged by a bar

Backends: h5py on a local file, sciswift over LocalStore, zarr-python 3.1 over
zarr.storage.LocalStore, and sciswift over SwiftStore to a ``sciswift serve`` (one
worker per CPU: ``--serve-workers``)
this script starts on loopback (and stops by PID); with ``--real-swift`` also
sciswift over SwiftStore to a real OpenStack Swift all-in-one it starts
(``tests/support/saio.py``, Swift 2.38.3 from PyPI in a venv of its own). Every (backend, workload)
pair runs in its own process; each repetition writes a fresh file. The OS page
cache is not dropped (that needs root): reads come from a file just written, for
every backend alike. Each pair runs ``--repeat`` times after ``--warmup``
unreported runs; the table shows their median (``--stat best`` for the best,
the run least disturbed by other load on a shared machine); the JSON keeps
every run, the best and the median.

Results: a table on stdout, JSON in bench/results/h5-<time>.json (and
h5-latest.json). ``--profile`` also writes cProfile hot spots of one more run of
each sciswift backend to bench/results/profile-h5-<backend>-<workload>.txt.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.h5.backends import BACKENDS, DEFAULT_BACKENDS
from bench.h5.report import render, rows
from bench.h5.serve import credentials, start_server
from bench.h5.workloads import SIZES, WORKLOADS

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _versions() -> dict[str, str]:
    import h5py
    import numpy
    import zarr

    import sciswift

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    return {"python": platform.python_version(), "numpy": numpy.__version__, "h5py": h5py.__version__,
            "hdf5": h5py.version.hdf5_version, "zarr": zarr.__version__, "sciswift": sciswift.__version__,
            "git": commit, "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.system()}"}


def _run_worker(backend: str, workload: str, args: argparse.Namespace, workdir: str, env: dict[str, str],
                profile: str | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.h5.worker", "--backend", backend, "--workload", workload,
           "--size", args.size, "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--workdir", workdir]
    if profile:
        cmd += ["--profile", profile]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env},
                          cwd=Path(__file__).resolve().parents[2], timeout=args.timeout)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"],
                "stderr": proc.stderr[-4000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.h5", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="full", choices=sorted(SIZES))
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per pair (default 5; tiny: 1)")
    parser.add_argument("--warmup", type=int, default=None, help="unreported runs first (default 1; tiny: 0)")
    parser.add_argument("--backends", default=",".join(DEFAULT_BACKENDS),
                        help=f"comma-separated, of {', '.join(BACKENDS)} (default: {','.join(DEFAULT_BACKENDS)})")
    parser.add_argument("--real-swift", action="store_true",
                        help="also run sciswift against a real Swift all-in-one (backend sciswift-swift)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated (default: all)")
    parser.add_argument("--stat", default="median", choices=["best", "median"],
                        help="which time of the runs the table and ratios use (default: median)")
    parser.add_argument("--no-serve", action="store_true", help="skip the sciswift serve backend")
    parser.add_argument("--serve-args", default="", help="extra arguments for sciswift serve (e.g. --no-durable)")
    parser.add_argument("--serve-workers", type=int, default=os.cpu_count() or 1,
                        help="sciswift serve worker processes (default: one per CPU, as bench.load and a "
                             "deployment would run it)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one more run of each sciswift backend and workload (cProfile)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes (default bench/results)")
    parser.add_argument("--workdir", default=None, help="scratch directory (default: a new temporary one)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per (backend, workload) pair")
    args = parser.parse_args(argv)
    tiny = args.size == "tiny"
    args.repeat = args.repeat if args.repeat is not None else (1 if tiny else 5)
    args.warmup = args.warmup if args.warmup is not None else (0 if tiny else 1)
    backends = [b for b in args.backends.split(",") if b and not (args.no_serve and b == "sciswift-serve")]
    if args.real_swift and "sciswift-swift" not in backends:
        backends.append("sciswift-swift")
    workloads = [w for w in args.workloads.split(",") if w]
    for name in backends:
        if name not in BACKENDS:
            parser.error(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    for name in workloads:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")

    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # the table is wide; keep it whole in logs
    load_before = os.getloadavg()
    scratch = args.workdir or tempfile.mkdtemp(prefix="sciswift-bench-")
    os.makedirs(scratch, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    server = None
    envs: dict[str, dict[str, str]] = {}  # backend -> the credentials its workers get
    results: dict[tuple[str, str], dict[str, Any]] = {}
    stack = contextlib.ExitStack()
    try:
        if "sciswift-serve" in backends:
            server = start_server(tempfile.mkdtemp(prefix="serve-", dir=scratch),
                                  ["--workers", str(args.serve_workers), *args.serve_args.split()])
            envs["sciswift-serve"] = credentials(server)
            console.print(f"[dim]sciswift serve: pid {server.proc.pid}, port {server.port}, {args.serve_workers} worker(s)[/]")
        if "sciswift-swift" in backends:
            sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
            from support.saio import running

            console.print("[dim]starting a real Swift all-in-one ...[/]", end=" ")
            saio = stack.enter_context(running(log=lambda _m: None))
            envs["sciswift-swift"] = saio.env()
            console.print(f"[dim]{saio.url}[/]")
        for wl in workloads:
            for backend in backends:
                console.print(f"[dim]{wl} / {backend} ...[/]", end=" ")
                profile = None
                if args.profile and backend.startswith("sciswift"):
                    profile = str(args.out / f"profile-h5-{backend}-{wl}.txt")
                res = _run_worker(backend, wl, args, scratch, envs.get(backend, {}), profile)
                results[(wl, backend)] = res
                console.print("[red]failed: " + " ".join(res["error"]) + "[/]" if "error" in res else "done")
    finally:
        if server is not None:
            server.stop()
        stack.close()
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)

    size = SIZES[args.size]
    table_rows = rows(results, workloads, args.stat)
    title = (f"bench.h5 --size {args.size}: {args.stat} of {args.repeat} runs (after {args.warmup} warm-up); "
             f"ratios are time/time")
    console.print(render(table_rows, title))
    console.print(f"[dim]load average (1, 5, 15 min) before: {load_before}, after: {os.getloadavg()} on "
                  f"{os.cpu_count()} CPUs[/]")
    console.print("[dim]sci/h5py and serve/h5py: lower is better (bar: at most); zarr/sci and zarr/serve: "
                  "higher is better (bar on writes: at least 2x).[/]")
    for (wl, backend), res in results.items():
        if "error" in res:
            console.print(f"[red]{wl} / {backend} failed:[/]\n{res['stderr']}")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    doc = {
        "suite": "h5", "when": stamp, "command": " ".join(["python -m bench.h5", *(argv or sys.argv[1:])]),
        "size": args.size, "size_params": size.__dict__, "repeat": args.repeat, "warmup": args.warmup,
        "stat": args.stat, "load_average": {"before": load_before, "after": os.getloadavg()},
        "versions": _versions(), "serve_args": args.serve_args, "serve_workers": args.serve_workers,
        "page_cache": "not dropped (needs root); every file is written fresh, so reads hit the page cache "
                      "for every backend alike",
        "rows": [r.as_json() for r in table_rows],
        "raw": [{"workload": w, "backend": b, **res} for (w, b), res in results.items()],
    }
    for name in (f"h5-{stamp}.json", "h5-latest.json"):
        (args.out / name).write_text(json.dumps(doc, indent=1, default=str))
    console.print(f"[dim]results: {args.out / f'h5-{stamp}.json'}[/]")
    return 1 if any("error" in res for res in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
