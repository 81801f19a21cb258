"""``python -m bench [SUITE ...] [-- SUITE ARGS]``: run the benchmark suites.

Every suite runs as its own subprocess (``python -m bench.<suite>``), one after
the other, its output (tables) streamed as it comes. A suite that does not exist
yet is reported as missing, not as a failure. Arguments after ``--`` go to every
suite that is run. The exit status is 1 if any suite failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

SUITES = ("h5", "load", "workloads", "convert", "mount", "h5view", "interop", "net")
ROOT = Path(__file__).resolve().parent


def _exists(suite: str) -> bool:
    return (ROOT / suite / "__main__.py").is_file()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=f"suites to run (default: all of {', '.join(SUITES)})")
    parser.add_argument("--list", action="store_true", help="list the suites and whether they exist")
    args = parser.parse_args(argv)
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(SUITES)}")
    if args.list:
        for suite in SUITES:
            print(f"{suite:<10} {'present' if _exists(suite) else 'missing'}")
        return 0
    outcomes: list[tuple[str, str, float]] = []
    for suite in args.suites or SUITES:
        if not _exists(suite):
            outcomes.append((suite, "missing (bench/%s/__main__.py does not exist yet)" % suite, 0.0))
            continue
        print(f"\n=== bench.{suite} ===", flush=True)
        started = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", f"bench.{suite}", *extra], cwd=ROOT.parent)
        status = "ok" if rc == 0 else f"FAILED (exit status {rc})"
        outcomes.append((suite, status, time.perf_counter() - started))
    _summary(outcomes)
    return 1 if any(status.startswith("FAILED") for _, status, _ in outcomes) else 0


def _summary(outcomes: list[tuple[str, str, float]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="benchmark suites")
    table.add_column("suite")
    table.add_column("status")
    table.add_column("time", justify="right")
    for suite, status, seconds in outcomes:
        style = "green" if status == "ok" else ("yellow" if status.startswith("missing") else "red")
        table.add_row(suite, f"[{style}]{status}[/]", f"{seconds:.1f} s" if seconds else "")
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
