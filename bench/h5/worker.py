"""One backend running one workload, in its own process (started by __main__).

``python -m bench.h5.worker --backend B --workload W --size S --repeat N``
prints one JSON document on stdout: the phase timings of every repetition. Each
repetition writes a fresh file (a new name); all are deleted after the last one
(see ``_WRITTEN``); warm-up repetitions run first and are not reported.

``--profile OUT`` runs one more repetition under cProfile, the main thread and
every thread started meanwhile (sciswift's I/O pool) profiled separately, and
writes the hot spots as text to OUT.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import threading
import zlib
from typing import Any

import numpy as np

from bench.h5.backends import get_backend
from bench.h5.workloads import PHASE_HOOKS, SIZES, WORKLOADS

# Files written by the repetitions, deleted only after the last one: on ext4 a
# file created within minutes of many deletions has its inode allocation scan
# past every recently deleted inode (recently_deleted() in the kernel; measured
# 15 us -> 800 us per create), which would charge the one-file-per-chunk stores
# for the benchmark's own clean-up rather than for their writes.
_WRITTEN: list[tuple[Any, Any]] = []


def _run_once(args: argparse.Namespace, rep: str) -> dict[str, float]:
    backend = get_backend(args.backend)
    workload = WORKLOADS[args.workload]
    loc = backend.location(args.workdir, f"{args.workload}-{rep}")
    _WRITTEN.append((backend, loc))
    return workload.run(backend, loc, SIZES[args.size], np.random.default_rng(zlib.crc32(rep.encode())))


def _profiled(args: argparse.Namespace) -> dict[str, float]:
    """One more repetition with its timed phases profiled (one profile per phase
    for the main thread; threads started meanwhile get one profile each for the
    whole repetition, since they cannot be switched from here)."""
    phases: dict[str, cProfile.Profile] = {}
    thread_profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_thread_profile(*_: Any) -> None:
        # Called once as the profile hook of each new thread: replace it by a
        # profiler of that thread's own.
        prof = cProfile.Profile()
        with lock:
            thread_profiles.append(prof)
        sys.setprofile(None)
        prof.enable()

    def before(phase: str) -> None:
        phases[phase] = cProfile.Profile()
        phases[phase].enable()

    def after(phase: str) -> None:
        phases[phase].disable()

    PHASE_HOOKS.append((before, after))
    threading.setprofile(start_thread_profile)
    try:
        result = _run_once(args, "profile")
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
        PHASE_HOOKS.remove((before, after))
    with open(args.profile, "w") as out:
        out.write(f"# {args.backend} / {args.workload} / size {args.size}: {json.dumps(result)}\n")
        for phase, prof in phases.items():
            out.write(_top(pstats.Stats(prof), f"{phase} phase, main thread", args.top))
        if thread_profiles:
            stats = pstats.Stats(thread_profiles[0])
            for prof in thread_profiles[1:]:
                stats.add(prof)
            out.write(_top(stats, f"{len(thread_profiles)} pool threads, whole repetition "
                                  "(idle waits show as lock acquire)", args.top))
    return result


def _top(stats: pstats.Stats, title: str, n: int) -> str:
    buf = io.StringIO()
    stats.stream = buf  # type: ignore[attr-defined]
    buf.write(f"\n## {title}: by own time\n")
    stats.sort_stats("tottime").print_stats(n)
    buf.write(f"\n## {title}: by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(n)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.h5.worker")
    parser.add_argument("--backend", required=True)
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--size", default="full", choices=sorted(SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    get_backend(args.backend).preload()
    for i in range(args.warmup):
        _run_once(args, f"warmup{i}")
    runs = [_run_once(args, f"run{i}") for i in range(args.repeat)]
    profile = _profiled(args) if args.profile else None
    for backend, loc in _WRITTEN:
        backend.remove(loc)
    json.dump({"backend": args.backend, "workload": args.workload, "size": args.size, "runs": runs,
               "profile_run": profile}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
