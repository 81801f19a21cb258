"""Turning timings into the table of ratios (and the bars they are judged by)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

__all__ = ["BARS", "SERVE_BARS", "SWIFT_BARS", "ZARR_WRITE_BAR", "Row", "rows", "render"]

#: Largest acceptable sciswift/h5py time ratio per (workload, phase).
BARS: dict[tuple[str, str], float] = {
    ("bulk", "write"): 2.0,
    ("bulk", "read"): 1.3,
    ("vpic", "write"): 2.0,
    ("vpic", "read"): 1.3,
    ("small", "write"): 2.0,
    ("small", "read"): 2.0,
}
#: zarr-python must take at least this many times sciswift's time on writes.
ZARR_WRITE_BAR = 2.0
#: Largest acceptable (sciswift through ``sciswift serve``)/h5py time ratio.
SERVE_BARS: dict[tuple[str, str], float] = {
    ("bulk", "read"): 4.0,
    ("bulk", "write"): 5.0,
}
#: Longest acceptable time, in seconds, on a real Swift all-in-one.
SWIFT_BARS: dict[tuple[str, str], float] = {
    ("small", "write"): 1.0,
    ("small", "read"): 0.5,
}


@dataclass
class Row:
    """One (workload, phase): seconds per backend, median and best of the runs.
    ``stat`` picks which the ratios use."""

    workload: str
    phase: str
    median: dict[str, float]  # backend -> seconds
    best: dict[str, float]
    stat: str = "best"

    @property
    def times(self) -> dict[str, float]:
        return self.best if self.stat == "best" else self.median

    def ratio(self, num: str, den: str) -> float | None:
        a, b = self.times.get(num), self.times.get(den)
        return None if a is None or b is None or b == 0 else a / b

    def as_json(self) -> dict[str, Any]:
        ratios = {
            "sciswift/h5py": self.ratio("sciswift", "h5py"),
            "zarr/sciswift": self.ratio("zarr", "sciswift"),
            "sciswift-serve/h5py": self.ratio("sciswift-serve", "h5py"),
            "zarr/sciswift-serve": self.ratio("zarr", "sciswift-serve"),
            "sciswift-swift/h5py": self.ratio("sciswift-swift", "h5py"),
        }
        bar = BARS.get((self.workload, self.phase))
        serve_bar = SERVE_BARS.get((self.workload, self.phase))
        swift_bar = SWIFT_BARS.get((self.workload, self.phase))
        swift_time = self.times.get("sciswift-swift")
        return {"workload": self.workload, "phase": self.phase, "median_s": self.median, "best_s": self.best,
                "ratios_of": self.stat, "ratios": ratios, "bar_sciswift_over_h5py": bar,
                "meets_h5py_bar": None if bar is None or ratios["sciswift/h5py"] is None
                else ratios["sciswift/h5py"] <= bar,
                "meets_zarr_write_bar": None if self.phase != "write" or ratios["zarr/sciswift"] is None
                else ratios["zarr/sciswift"] >= ZARR_WRITE_BAR,
                "bar_serve_over_h5py": serve_bar,
                "meets_serve_bar": None if serve_bar is None or ratios["sciswift-serve/h5py"] is None
                else ratios["sciswift-serve/h5py"] <= serve_bar,
                "bar_swift_seconds": swift_bar,
                "meets_swift_bar": None if swift_bar is None or swift_time is None else swift_time <= swift_bar}


def rows(results: dict[tuple[str, str], dict[str, Any]], workloads: list[str], stat: str = "best") -> list[Row]:
    """``results[(workload, backend)]`` is a worker's JSON (or {"error": ...})."""
    out = []
    for wl in workloads:
        phases: list[str] = []
        for (w, _b), res in results.items():
            if w == wl and "runs" in res:
                for run in res["runs"]:
                    phases += [p for p in run if p not in phases]
        for phase in phases:
            med: dict[str, float] = {}
            best: dict[str, float] = {}
            for (w, b), res in results.items():
                if w != wl or "runs" not in res:
                    continue
                times = [run[phase] for run in res["runs"] if phase in run]
                if times:
                    med[b] = statistics.median(times)
                    best[b] = min(times)
            out.append(Row(wl, phase, med, best, stat))
    return out


def _t(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _r(value: float | None, bar: float | None = None, at_least: bool = False) -> str:
    if value is None:
        return "-"
    text = f"{value:.2f}x"
    if bar is None:
        return text
    ok = value >= bar if at_least else value <= bar
    return f"[green]{text}[/]" if ok else f"[red]{text}[/]"


def render(table_rows: list[Row], title: str) -> Any:
    from rich.table import Table

    with_swift = any("sciswift-swift" in row.times for row in table_rows)
    table = Table(title=title, title_justify="left")
    columns = [("workload", "left"), ("phase", "left"), ("h5py", "right"), ("sciswift", "right"),
               ("sci/h5py", "right"), ("bar", "right"), ("zarr", "right"), ("zarr/sci", "right"),
               ("serve", "right"), ("serve/h5py", "right"), ("zarr/serve", "right")]
    if with_swift:
        columns += [("real Swift", "right"), ("Swift/h5py", "right")]
    for col, justify in columns:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in table_rows:
        bar = BARS.get((row.workload, row.phase))
        zbar = ZARR_WRITE_BAR if row.phase == "write" else None
        cells = [
            row.workload, row.phase, _t(row.times.get("h5py")), _t(row.times.get("sciswift")),
            _r(row.ratio("sciswift", "h5py"), bar), f"<={bar}x" if bar else "",
            _t(row.times.get("zarr")), _r(row.ratio("zarr", "sciswift"), zbar, at_least=True),
            _t(row.times.get("sciswift-serve")),
            _r(row.ratio("sciswift-serve", "h5py"), SERVE_BARS.get((row.workload, row.phase))),
            _r(row.ratio("zarr", "sciswift-serve"), zbar, at_least=True),
        ]
        if with_swift:
            seconds = row.times.get("sciswift-swift")
            limit = SWIFT_BARS.get((row.workload, row.phase))
            text = _t(seconds)
            if limit is not None and seconds is not None:
                text = f"[green]{text}[/]" if seconds <= limit else f"[red]{text}[/]"
            cells += [text, _r(row.ratio("sciswift-swift", "h5py"))]
        table.add_row(*cells)
    return table
