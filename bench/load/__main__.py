"""Load benchmark: ``sciswift serve`` against a real OpenStack Swift all-in-one,
side by side on this machine, with the same client load.

    python -m bench.load                     # start both, 3 rounds, print the table
    python -m bench.load --rounds 3 --json results.json
    python -m bench.load --swift-auth http://127.0.0.1:8080/auth/v1.0   # an already running Swift

Our server runs on LocalStore with ``durable=True`` (every write fsync'd, as
Swift does), one worker process per CPU. The real Swift is
``tests/support/saio.py`` (Swift 2.38.3: proxy, account, container and object
servers, one worker each as in its defaults). Each round runs the same phases
(4 KiB PUT and GET, 16 MiB PUT and GET, DELETE; 4 client processes with
keep-alive connections) against both, phase by phase, alternating which server
goes first, so that both meet the same machine load, and each phase starts on a
quiet machine (``settle``: dirty pages synced, the CPUs idle). The table shows the median
of the rounds and the ratio ours/Swift, with the project's bars: small PUT and
GET at least 3x Swift's ops/s, large PUT and GET at least 1.5x its MB/s.

The S3 column (``--api s3`` or ``both``, the default) runs the same phases
through the S3 API with boto3: against ``sciswift serve``'s S3 side and against
the all-in-one's s3api (in its proxy pipeline), with the same bars.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.load.client import PHASES, PhaseResult, Workload, authenticate, describe
from bench.load.s3 import S3Endpoint, S3Workload
from sciswift.server.spawn import spawn

BARS = {"small PUT": ("ops_per_s", 3.0), "small GET": ("ops_per_s", 3.0),
        "large PUT": ("mb_per_s", 1.5), "large GET": ("mb_per_s", 1.5)}
BARS.update({f"S3 {k}": v for k, v in list(BARS.items())})


@contextlib.contextmanager
def sciswift_server(workers: int, data: Path) -> Iterator[str]:
    """``sciswift serve`` on a free port over ``data``; yields the auth URL."""
    server = spawn(["--data", str(data), "--workers", str(workers), "--quiet"])
    try:
        yield server.auth_url
    finally:
        server.stop()


@contextlib.contextmanager
def real_swift(args: argparse.Namespace) -> Iterator[tuple[str, str, str]]:
    """The real Swift to compare with: given, or a fresh all-in-one."""
    if args.swift_auth:
        yield args.swift_auth, args.swift_user, args.swift_key
        return
    from tests.support import saio

    with saio.running(args.saio_root) as swift:
        yield swift.auth_url, swift.user, swift.key


def _cpu_idle() -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs so far (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return fields[3], sum(fields)


def settle(max_wait: float = 15.0, idle_share: float = 0.85, window: float = 0.5) -> float:
    """Start a phase on a quiet machine; returns the seconds waited. Dirty pages
    are written out, then the CPUs must be ``idle_share`` idle over ``window``
    (at most ``max_wait`` s in all): what one server still does after its phase
    (the all-in-one's updaters and journal, either's writeback) must not run in
    the next phase, which is the other server's half the time. Measured before
    this: our S3 large PUT, alone 410-433 MB/s, made 362-385 MB/s right after
    the all-in-one's phases."""
    t0 = time.monotonic()
    os.sync()
    while time.monotonic() - t0 < max_wait:
        idle0, total0 = _cpu_idle()
        time.sleep(window)
        idle1, total1 = _cpu_idle()
        if total1 > total0 and (idle1 - idle0) / (total1 - total0) >= idle_share:
            break
    return time.monotonic() - t0


def median(results: list[PhaseResult], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in results)


def report(ours: dict[str, list[PhaseResult]], theirs: dict[str, list[PhaseResult]], rounds: int) -> list[str]:
    lines = [
        f"median of {rounds} round{'s' if rounds != 1 else ''}",
        f"{'phase':13} {'sciswift':>14} {'swift':>14} {'ratio':>7}   bar",
    ]
    for phase in [p for p in (*PHASES, *(f"S3 {q}" for q in PHASES)) if p in ours and p in theirs]:
        attr, bar = BARS.get(phase, ("ops_per_s", None))
        unit = "ops/s" if attr == "ops_per_s" else "MB/s"
        a, b = median(ours[phase], attr), median(theirs[phase], attr)
        ratio = a / b if b else float("inf")
        verdict = "" if bar is None else (f">= {bar:.1f}x  {'PASS' if ratio >= bar else 'FAIL'}")
        lines.append(f"{phase:13} {a:8.1f} {unit:5} {b:8.1f} {unit:5} {ratio:6.2f}x   {verdict}")
    errors = sum(r.errors for rs in list(ours.values()) + list(theirs.values()) for r in rs)
    lines.append(f"request errors: {errors}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--small-count", type=int, default=1000)
    ap.add_argument("--small-size", type=int, default=4096)
    ap.add_argument("--large-count", type=int, default=20)
    ap.add_argument("--large-size", type=int, default=16 * 1024 * 1024)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="sciswift worker processes")
    ap.add_argument("--data", help="sciswift data folder (default: a temporary one, removed after)")
    ap.add_argument("--swift-auth", help="auth URL of a running Swift to compare with (default: start one)")
    ap.add_argument("--swift-user", default="test:tester")
    ap.add_argument("--swift-key", default="testing")
    ap.add_argument("--saio-root", help="folder for the all-in-one (default: temporary)")
    ap.add_argument("--api", choices=("swift", "s3", "both"), default="both",
                    help="the Swift API (http.client), the S3 API (boto3), or both")
    ap.add_argument("--json", help="write all results to this file")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="sciswift-bench-"))
    data = Path(args.data) if args.data else tmp / "data"
    ours: dict[str, list[PhaseResult]] = {}
    theirs: dict[str, list[PhaseResult]] = {}
    load = dict(concurrency=args.concurrency, small_count=args.small_count, small_size=args.small_size,
                large_count=args.large_count, large_size=args.large_size)
    try:
        with sciswift_server(args.workers, data) as our_auth, real_swift(args) as (s_auth, s_user, s_key):
            print(f"sciswift: {our_auth} (LocalStore durable, {args.workers} workers, data {data})")
            print(f"swift:    {s_auth}")
            print(f"load: {args.concurrency} client processes, {args.small_count} x {args.small_size} B, "
                  f"{args.large_count} x {args.large_size} B", flush=True)
            endpoints = [("sciswift", our_auth, "test:tester", "testing", ours),
                         ("swift", s_auth, s_user, s_key, theirs)]
            for rnd in range(1, args.rounds + 1):
                print(f"round {rnd} (load average {os.getloadavg()[0]:.1f})", flush=True)
                # Phase by phase, alternating which server goes first, so both
                # meet the same machine load (a shared machine drifts a lot).
                order = endpoints if rnd % 2 else endpoints[::-1]
                works: list[tuple[str, Any, dict[str, list[PhaseResult]]]] = []
                if args.api in ("swift", "both"):
                    works += [(label, Workload(authenticate(auth, user, key, label), **load), into)  # type: ignore[arg-type]
                              for label, auth, user, key, into in order]
                if args.api in ("s3", "both"):
                    works += [(label, S3Workload(S3Endpoint(auth.rsplit("/auth/", 1)[0], user, key, label),
                                                 **load), into)  # type: ignore[arg-type]
                              for label, auth, user, key, into in order]
                for kind in ("swift", "s3"):
                    group = [w for w in works if isinstance(w[1], S3Workload) == (kind == "s3")]
                    for phase in PHASES:
                        for label, work, into in group:
                            settle()
                            r = work.phase(phase)
                            print(describe(r, label), flush=True)
                            for e in r.error_samples:
                                print(f"      {e}")
                            into.setdefault(r.label, []).append(r)
                for _, work, _ in works:
                    work.finish()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = report(ours, theirs, args.rounds)
    lines.insert(1, f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)")
    print("\n" + "\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "load": load, "workers": args.workers,
            "sciswift": {k: [r.as_dict() for r in v] for k, v in ours.items()},
            "swift": {k: [r.as_dict() for r in v] for k, v in theirs.items()},
            "summary": lines,
        }, indent=1))
    failed = any("FAIL" in ln for ln in lines) or "request errors: 0" not in lines[-1]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
