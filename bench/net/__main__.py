"""Network benchmark: sciswift against h5py + fsspec, HDF5's S3 driver and
zarr-python, over an emulated link, with ``sciswift serve`` and a real Swift.

    python -m bench.net                                  # 1, 10 and 50 ms, both servers, every client
    python -m bench.net --rtt 10 --servers serve --repeat 3 --json out.json
    python -m bench.net --workloads small list --clients sciswift h5py-fsspec

Needs root (it makes network namespaces), iproute2, and where the kernel has no
``tc netem`` (as here) ``iptables-legacy`` (Debian: ``apt-get install iptables``).
The servers run in one namespace, the clients in another, joined by a veth pair
at ``--rate`` (1 Gbit/s) with the round-trip time set per column (bench.net.link).
Every measurement is a fresh client process (``bench.net.client``): the time of
the operation, authentication and open included, the best of ``--repeat`` runs,
and the requests it made, counted in the server's access log. The table shows
each client's time and requests and its time as a multiple of sciswift's.
Namespaces, delays and servers are removed at the end, also after a failure or
Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.net.client import READS, WRITES
from bench.net.link import Link
from bench.net.servers import Endpoint, sciswift_serve, swift_aio

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ("sciswift", "h5py-fsspec", "h5py-s3", "zarr-fsspec", "sciswift-h5")
WORKLOADS = ("small", "list", "bulk_read", "bulk_write", "random", "vpic_write", "vpic_read", "vpic_read1")
LABELS = {
    "small": "open + read one small dataset",
    "list": "open + list 1,000 datasets",
    "bulk_read": "read 64 MiB (64 chunks)",
    "bulk_write": "write 64 MiB (64 chunks)",
    "random": "200 random 64x64 windows",
    "vpic_write": "VPIC write (8 x 8 MiB)",
    "vpic_read": "VPIC read, all 8 variables",
    "vpic_read1": "VPIC read, one variable",
}


def _writers(client: str) -> bool:
    return client in ("sciswift", "zarr-fsspec")


def _h5py_s3_python() -> str | None:
    """h5py-s3's own Python (it installs as ``h5py``), made as the tests make it."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.saio import cache_dir

    venv = cache_dir() / "h5py-s3-venv"
    if not (venv / ".ready").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "h5py-s3"],
                             capture_output=True, text=True)
        if pip.returncode != 0:
            print(f"h5py-s3 could not be installed; skipping it:\n{pip.stderr[-500:]}", file=sys.stderr)
            return None
        (venv / ".ready").write_text("h5py-s3\n")
    return str(venv / "bin" / "python")


class Runner:
    def __init__(self, link: Link, repeat: int, s3_python: str | None) -> None:
        self.link = link
        self.repeat = repeat
        self.s3_python = s3_python

    def client(self, ep: Endpoint, client: str, workload: str, timeout: float = 900) -> dict[str, Any]:
        python = self.s3_python if client == "h5py-s3" else sys.executable
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
        if client == "h5py-s3":
            env["PYTHONPATH"] = str(ROOT)  # bench.net.client only: h5py-s3 brings its own h5py
        argv = self.link.in_client([python or sys.executable, "-m", "bench.net.client", client, workload,
                                    "--url", ep.url, "--user", ep.user, "--key", ep.key])
        out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        if out.returncode != 0:
            return {"error": (out.stderr.strip().splitlines() or ["?"])[-1][:200]}
        return json.loads(out.stdout.strip().splitlines()[-1])

    def measure(self, ep: Endpoint, client: str, workload: str) -> dict[str, Any]:
        best: dict[str, Any] | None = None
        for _ in range(self.repeat):
            ep.mark_offset()
            got = self.client(ep, client, workload)
            if "error" in got:
                return got
            got["requests"] = ep.requests_until(got["mark"])
            if best is None or got["seconds"] < best["seconds"]:
                best = got
        assert best is not None
        return best


def _fmt(cell: dict[str, Any] | None, base: dict[str, Any] | None) -> str:
    if cell is None:
        return "-"
    if "error" in cell:
        return "fails"
    text = f"{cell['seconds'] * 1000:.0f} ms / {cell['requests']}"
    if base and "seconds" in base and base is not cell:
        text += f" ({cell['seconds'] / base['seconds']:.1f}x)"
    return text


def table(results: dict[str, Any], clients: list[str]) -> list[str]:
    """Markdown: one row per (server, RTT, workload), time / requests (x sciswift's time)."""
    lines = ["| server | RTT | operation | " + " | ".join(clients) + " |",
             "|---|---|---|" + "---|" * len(clients)]
    for key, row in results.items():
        server, rtt, workload = key.split("|")
        base = row.get("sciswift")
        cells = [_fmt(row.get(c), base) for c in clients]
        lines.append(f"| {server} | {rtt} ms | {LABELS[workload]} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.net", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rtt", type=float, nargs="+", default=[1, 10, 50], help="round-trip times (ms)")
    ap.add_argument("--rate", default="1gbit", help="link rate (tc units)")
    ap.add_argument("--servers", nargs="+", choices=("serve", "saio"), default=["serve", "saio"])
    ap.add_argument("--clients", nargs="+", choices=CLIENTS, default=list(CLIENTS))
    ap.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    ap.add_argument("--repeat", type=int, default=3, help="runs per cell (the best counts)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--workdir", type=Path, help="folder for the servers' data (default: temporary)")
    args = ap.parse_args(argv)

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    s3_python = _h5py_s3_python() if "h5py-s3" in args.clients else None
    results: dict[str, Any] = {}
    rtts: dict[str, float] = {}
    with ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-net-")))
        workdir.mkdir(parents=True, exist_ok=True)
        link = stack.enter_context(Link(args.rate))
        link.set_rtt(min(args.rtt))
        servers: list[Endpoint] = []
        if "serve" in args.servers:
            servers.append(stack.enter_context(sciswift_serve(link, workdir)))
        if "saio" in args.servers:
            servers.append(stack.enter_context(swift_aio(link, workdir)))
        runner = Runner(link, args.repeat, s3_python)
        print(f"link: {args.rate}, delay by {'tc netem' if link.netem else 'bench.net.delay (no netem here)'}",
              flush=True)
        for ep in servers:
            t = time.perf_counter()
            done = runner.client(ep, "sciswift", "setup", timeout=1800)
            if "error" in done:
                raise SystemExit(f"setup on {ep.name} failed: {done['error']}")
            print(f"data written to {ep.name} in {time.perf_counter() - t:.0f} s", flush=True)
        for rtt in args.rtt:
            link.set_rtt(rtt)
            for ep in servers:
                probe = runner.client(ep, "sciswift", "probe")
                rtts[f"{ep.name}|{rtt:g}"] = probe.get("seconds", float("nan"))
                print(f"\n{ep.name}, RTT {rtt:g} ms (an HTTP round trip measures "
                      f"{probe.get('seconds', float('nan')) * 1000:.1f} ms)", flush=True)
                for workload in args.workloads:
                    row: dict[str, Any] = {}
                    for client in args.clients:
                        if workload in WRITES and not _writers(client):
                            continue
                        if client == "h5py-s3" and s3_python is None:
                            continue
                        row[client] = runner.measure(ep, client, workload)
                        print(f"  {workload:11} {client:12} {_fmt(row[client], row.get('sciswift'))}", flush=True)
                    results[f"{ep.name}|{rtt:g}|{workload}"] = row
    lines = table(results, args.clients)
    print("\n" + "\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"rate": args.rate, "netem": link.netem, "http_rtt_s": rtts,
                                         "results": results, "reads": READS, "writes": WRITES}, indent=1))
    return 0


if __name__ == "__main__":
    if shutil.which("nsenter") is None:
        raise SystemExit("bench.net needs nsenter (util-linux)")
    sys.exit(main())
