"""``python -m bench.workloads``: the example workloads three ways, 1/2/4 processes.

Each workload is one of examples/ (plain h5py programs), run unchanged:

- ``h5py``: on local files with the real h5py;
- ``localstore``: ``sciswift run --mount DIR=file:///...`` (no server);
- ``serve``: ``sciswift run --mount DIR=swift://bench/...`` against a
  ``sciswift serve`` started for the run (127.0.0.1, a free port).

Times are what each program reports for its own I/O phase (interpreter start and
imports excluded): VPIC-IO's create+write, BD-CATS-IO's parallel read and check,
H5Boss's create+select+subset. Each cell is the best of --repeat runs. Ratios
are to h5py with the same process count; scaling is 1-process time / N-process
time of the same way. A run that fails or exceeds --timeout shows as such.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from sciswift.testing.procs import run_in_session

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
WAYS = ("h5py", "localstore", "serve")
WORKLOADS = ("vpic", "bdcats", "h5boss")


class Failed(Exception):
    """A run that exited non-zero or timed out; the message says which."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``sciswift serve`` over a temporary directory, stopped by PID."""

    def __init__(self, data: Path) -> None:
        self.port = _free_port()
        self.auth = f"http://127.0.0.1:{self.port}/auth/v1.0"
        self.log = open(data.parent / "serve.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sciswift.cli.main", "serve", "--port", str(self.port), "--data", str(data),
             "--quiet"], stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"sciswift serve did not start (see {self.log.name})")
            time.sleep(0.1)

    def _answers(self) -> bool:
        req = urllib.request.Request(self.auth, headers={"X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
        try:
            with urllib.request.urlopen(req, timeout=2):
                return True
        except OSError:
            return False

    def env(self) -> dict[str, str]:
        return {"ST_AUTH": self.auth, "ST_USER": "test:tester", "ST_KEY": "testing"}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Way:
    """How a program is run: plainly, or through ``sciswift run --mount``."""

    def __init__(self, name: str, workdir: str, mount: str | None = None, env: dict[str, str] | None = None) -> None:
        self.name, self.workdir, self.mount, self.env = name, workdir, mount, env or {}

    def run(self, argv: list[str], timeout: float) -> str:
        cmd = [sys.executable, *argv]
        if self.mount:
            cmd = [sys.executable, "-m", "sciswift.cli.main", "run", "--mount", self.mount, "--", "python", *argv]
        try:
            done = run_in_session(cmd, env={**os.environ, **self.env}, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failed(f"timeout>{timeout:.0f}s") from None
        if "MISMATCH" in done.stdout:
            raise Failed("bytes lost (MISMATCH)")
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["?"])[-1][:100]
            raise Failed(f"failed: {tail}")
        return done.stderr


def _seconds(stderr: str, pattern: str) -> float:
    found = re.findall(pattern, stderr)
    if not found:
        raise Failed(f"no time in output: {stderr[-200:]!r}")
    return sum(float(x) for x in found[-1]) if isinstance(found[-1], tuple) else float(found[-1])


def run_workload(way: Way, workload: str, procs: int, a: argparse.Namespace) -> float:
    """One run; returns the program's own time for the workload's I/O phase."""
    particles = f"{way.workdir}/particles-{procs}.h5"
    if workload == "vpic":
        err = way.run([str(EXAMPLES / "vpic_io.py"), particles, str(a.particles), str(procs)], a.timeout)
        return _seconds(err, r"in ([0-9.]+) s")
    if workload == "bdcats":
        err = way.run([str(EXAMPLES / "bdcats.py"), particles, str(procs)], a.timeout)
        return _seconds(err, r"in ([0-9.]+) s")
    prefix = f"{way.workdir}/boss-{procs}-{uuid.uuid4().hex[:6]}"
    err = way.run([str(EXAMPLES / "h5boss.py"), prefix, str(a.plates), str(procs), "--mjds", str(a.mjds),
                   "--fibers", str(a.fibers), "--length", str(a.length)], a.timeout)
    return _seconds(err, r"create ([0-9.]+) s, select ([0-9.]+) s, subset ([0-9.]+) s")


def _cell(t: float | str, ref: float | str) -> str:
    if isinstance(t, str):
        return f"{t:>22}"
    ratio = f"{t / ref:5.2f}x" if isinstance(ref, float) and ref > 0 else "   -  "
    return f"{t:9.3f} s ({ratio})   "


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.workloads", description=__doc__.split("\n\n")[0])
    p.add_argument("--procs", default="1,2,4", help="process counts (default 1,2,4)")
    p.add_argument("--ways", default=",".join(WAYS), help=f"subset of {','.join(WAYS)}")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help=f"subset of {','.join(WORKLOADS)}")
    p.add_argument("--particles", type=int, default=262144, help="VPIC-IO particles per process (default 262144)")
    p.add_argument("--plates", type=int, default=8, help="H5Boss plates (default 8)")
    p.add_argument("--mjds", type=int, default=2, help="H5Boss observations per plate (default 2)")
    p.add_argument("--fibers", type=int, default=25, help="H5Boss fibers per observation (default 25)")
    p.add_argument("--length", type=int, default=256, help="H5Boss samples per spectrum (default 256)")
    p.add_argument("--repeat", type=int, default=1, help="runs per cell, best kept (default 1)")
    p.add_argument("--timeout", type=float, default=45, help="seconds before a run counts as hung (default 45)")
    a = p.parse_args(argv)
    procs = [int(x) for x in a.procs.split(",")]
    ways = [w for w in a.ways.split(",") if w]
    workloads = [w for w in a.workloads.split(",") if w]
    if "bdcats" in workloads and "vpic" not in workloads:
        p.error("bdcats reads what vpic writes: include vpic")
    unknown = set(ways) - set(WAYS) | set(workloads) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown: {', '.join(sorted(unknown))}")

    tmp = Path(tempfile.mkdtemp(prefix="sciswift-bench-"))
    server = None
    results: dict[tuple[str, str, int], float | str] = {}
    try:
        runners: dict[str, Way] = {}
        for w in ways:
            if w == "h5py":
                (tmp / "local").mkdir()
                runners[w] = Way(w, str(tmp / "local"))
            elif w == "localstore":
                runners[w] = Way(w, "/sciswift-bench/local", f"/sciswift-bench/local={(tmp / 'store').as_uri()}")
            else:
                (tmp / "serve-data").mkdir()
                server = Server(tmp / "serve-data")
                runners[w] = Way(w, "/sciswift-bench/serve", "/sciswift-bench/serve=swift://bench/run", server.env())
        for n in procs:
            for w in ways:
                for wl in workloads:
                    best: float | str = "not run"
                    for _ in range(a.repeat):
                        try:
                            t = run_workload(runners[w], wl, n, a)
                        except Failed as e:
                            best = str(e)[:22] if not isinstance(best, float) else best
                            break
                        best = t if isinstance(best, str) else min(best, t)
                    results[(wl, w, n)] = best
                    print(f"  {wl:7s} {w:10s} {n} proc: {best if isinstance(best, str) else f'{best:.3f} s'}",
                          file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nsizes: VPIC-IO {a.particles} particles/process ({a.particles * 36} bytes), "
          f"H5Boss {a.plates} plates x {a.mjds} MJDs x {a.fibers} fibers x 4 datasets of {a.length}")
    header = f"{'workload':8s} {'procs':>5s} " + "".join(f"{w:>22s}" for w in ways)
    print(header)
    print("-" * len(header))
    for wl in workloads:
        for n in procs:
            ref = results.get((wl, "h5py", n), "")
            print(f"{wl:8s} {n:5d} " + "".join(_cell(results[(wl, w, n)], ref) for w in ways))
    print("\nscaling (time with 1 process / time with N):")
    for wl in workloads:
        for w in ways:
            one = results.get((wl, w, 1))
            cells = []
            for n in procs:
                t = results[(wl, w, n)]
                cells.append(f"{n}p {one / t:4.2f}" if isinstance(one, float) and isinstance(t, float) else f"{n}p  -  ")
            print(f"  {wl:8s} {w:10s} " + "  ".join(cells))


if __name__ == "__main__":
    main()
