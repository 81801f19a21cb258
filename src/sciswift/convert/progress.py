"""Progress of a conversion: bytes and datasets copied.

The library reports through the small ``Progress`` protocol; ``NullProgress``
ignores everything (library use, tests) and ``RichProgress`` draws two bars on a
terminal (bytes with rate and time left, datasets with a count).
"""

from __future__ import annotations

import sys
from typing import IO, Any, Protocol

from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, ProgressColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichBars
from rich.text import Text

__all__ = ["Progress", "NullProgress", "RichProgress"]


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
