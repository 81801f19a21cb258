"""Progress of a conversion: bytes and datasets copied.

The library reports through the small ``Progress`` protocol; ``NullProgress``
ignores everything (library use, tests), ``RichProgress`` draws two bars on a
terminal (bytes with rate and time left, datasets with a count) and
``LogProgress`` writes a line every ``interval`` seconds, for batch jobs whose
stderr is a log file.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any, Protocol

from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, ProgressColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichBars
from rich.text import Text

__all__ = ["Progress", "NullProgress", "RichProgress", "LogProgress"]


class Progress(Protocol):
    def start(self, total_bytes: int, total_datasets: int) -> None:
        """The work ahead, known once the source has been surveyed."""

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more of dataset data are copied."""

    def dataset_done(self) -> None:
        """One more dataset is complete."""

    def close(self) -> None:
        """The copy ended (successfully or not); stop any display."""


class NullProgress:
    """Reports nothing."""

    def start(self, total_bytes: int, total_datasets: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def dataset_done(self) -> None:
        pass

    def close(self) -> None:
        pass


class _AmountColumn(ProgressColumn):
    """``1.2/10.0 GB 95.1 MB/s`` on the byte bar, ``3/10`` on the dataset bar."""

    def render(self, task: Any) -> Text:
        if task.fields.get("unit") != "bytes":
            return Text(f"{int(task.completed)}/{int(task.total or 0)}", style="progress.download")
        speed = task.finished_speed or task.speed
        rate = f" {decimal(int(speed))}/s" if speed else ""
        return Text(f"{decimal(int(task.completed))}/{decimal(int(task.total or 0))}{rate}", style="progress.download")


class RichProgress:
    """Two rich progress bars on ``file`` (stderr by default)."""

    def __init__(self, description: str, file: IO[str] | None = None) -> None:
        self._bars = RichBars(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), _AmountColumn(),
            TimeRemainingColumn(), console=Console(file=file or sys.stderr),
        )
        self._description = description
        self._bytes: Any = None
        self._count: Any = None

    def start(self, total_bytes: int, total_datasets: int) -> None:
        self._bytes = self._bars.add_task(self._description, total=total_bytes, unit="bytes")
        self._count = self._bars.add_task("datasets", total=total_datasets, unit="datasets")
        self._bars.start()

    def advance(self, nbytes: int) -> None:
        if self._bytes is not None:
            self._bars.advance(self._bytes, nbytes)

    def dataset_done(self) -> None:
        if self._count is not None:
            self._bars.advance(self._count, 1)

    def close(self) -> None:
        if self._bytes is not None:
            self._bars.stop()
            self._bytes = self._count = None


class LogProgress:
    """A line on ``file`` (stderr by default) at most every ``interval`` seconds and
    one at the end::

        importing: 212.3 MB/498.1 MB (43%), 3/7 datasets, 96.2 MB/s, 3 s left

    Calls may come from any thread."""

    def __init__(self, description: str, file: IO[str] | None = None, interval: float = 10.0,
                 clock: Any = time.monotonic) -> None:
        self._description = description
        self._file = file
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._total = self._done = self._datasets = self._datasets_done = 0
        self._started = self._last = 0.0
        self._active = False

    def start(self, total_bytes: int, total_datasets: int) -> None:
        with self._lock:
            self._total, self._datasets = total_bytes, total_datasets
            self._started = self._last = self._clock()
            self._active = True

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self._done += nbytes
            self._maybe_log()

    def dataset_done(self) -> None:
        with self._lock:
            self._datasets_done += 1
            self._maybe_log()

    def close(self) -> None:
        with self._lock:
            if self._active:
                self._log(self._clock(), final=True)
                self._active = False

    def _maybe_log(self) -> None:
        now = self._clock()
        if self._active and now - self._last >= self._interval:
            self._log(now)

    def _log(self, now: float, final: bool = False) -> None:
        self._last = now
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        pct = f" ({100 * self._done // self._total}%)" if self._total else ""
        parts = [f"{self._description}: {decimal(self._done)}/{decimal(self._total)}{pct}",
                 f"{self._datasets_done}/{self._datasets} datasets", f"{decimal(int(rate))}/s"]
        if final:
            parts.append(f"{elapsed:.1f} s")
        elif rate > 0 and self._total > self._done:
            parts.append(f"{(self._total - self._done) / rate:.0f} s left")
        print(", ".join(parts), file=self._file or sys.stderr, flush=True)
