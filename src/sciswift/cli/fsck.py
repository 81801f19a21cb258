"""``sciswift fsck``: check the objects of a server's data directory or a LocalStore.

The checks are the store's (``LocalStore.audit``: read-only; ``LocalStore.fsck``:
repairs); this module finds the stores under DATA, shows progress on a terminal,
prints one line per problem and sets the exit status.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from sciswift.errors import CorruptData, SciSwiftError

__all__ = ["fsck", "EXIT_DAMAGE"]

EXIT_DAMAGE = 1
"""Exit status when damaged or quarantined objects were found (2: bad usage)."""


def _stores(data: Path) -> tuple[str, list[tuple[str, Path]]]:
    """What DATA is, and its stores as ``(account label, root)``."""
    from sciswift.cli.datadir import server_accounts
    from sciswift.store.local import RESERVED_PREFIX
    from sciswift.store.url import ROOT_MARKER

    if not data.is_dir():
        raise click.BadParameter(f"{data} is not a directory", param_hint="DATA")
    if (data / ROOT_MARKER).is_file():
        return "a LocalStore", [("", data)]
    accounts = server_accounts(data)
    if accounts:
        return f"a server data directory, {len(accounts)} account(s)", [(p.name, p) for p in accounts]
    children = [p for p in data.iterdir() if p.is_dir() and not p.is_symlink()]
    if any((p / "container.json").is_file() for p in children if not p.name.startswith(RESERVED_PREFIX)):
        return "a LocalStore", [("", data)]
    if not any(data.iterdir()):
        return "an empty directory", []
    raise click.BadParameter(
        f"{data} is neither a `sciswift serve` data directory (account directories holding "
        f"{ROOT_MARKER}) nor a LocalStore (holding {ROOT_MARKER}, or container directories with "
        "container.json)",
        param_hint="DATA",
    )


class _Bars:
    """A rich progress bar per container (on stderr), as ``AuditProgress``."""

    def __init__(self, progress: Any, label: str) -> None:
        self._progress = progress
        self._label = label
        self._task: Any = None

    def start(self, container: str, records: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(f"{self._label}{container}", total=max(records, 1))

    def advance(self, nbytes: int) -> None:
        self._progress.advance(self._task)


def _progress(show: bool | None) -> Any:
    if show is False or (show is None and not sys.stderr.isatty()):
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


def _line(kind: str, label: str, subject: str, what: str) -> None:
    where = f"{label}/{subject}" if label and not subject.startswith("/") else subject
    click.echo(f"{kind:<12} {where}: {what}")


@click.command("fsck")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--deep", is_flag=True,
              help="Also read every object's body and compare it with its checksums (slow: reads all the data).")
@click.option("--repair", is_flag=True,
              help="Quarantine damaged objects and repair what can be repaired (indexes, dead writers' journals "
                   "and temporary files, unused packs). Safe while a server runs on DATA.")
@click.option("-q", "--quiet", is_flag=True, help="Only the problems and the summary line.")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Show a progress bar  [default: when stderr is a terminal]")
def fsck(data: Path, deep: bool, repair: bool, quiet: bool, show_progress: bool | None) -> None:
    """Check the stored objects under DATA for damage.

    DATA is the data directory of `sciswift serve` (--data; one LocalStore per
    account) or one LocalStore root. Every object's record is checked (its
    metadata, its size, where it lives); with --deep every body is read and
    compared with its block checksums too. Without --repair nothing is changed.

    \b
    Each problem is one line:
      DAMAGED      a record that fails its checks (its data is not trustworthy)
      QUARANTINED  an object set aside as damaged earlier: reads of it fail
                   (HTTP 404 with X-Sciswift-Quarantined) until it is put
                   again (restored from a copy) or deleted
      REPAIRABLE   an index entry out of date, a dead writer's journal or
                   temporary file, an unused pack: fixed by --repair (and by
                   the store's own recovery) without losing data
      REPAIRED     what --repair did

    \b
    Exit status: 0 when no damaged or quarantined object was found, 1 when
    some were (also after --repair quarantined them: their data is lost
    here), 2 when DATA is not a sciswift data directory.

    \b
      sciswift fsck /srv/sciswift-data
      sciswift fsck --deep --repair /srv/sciswift-data
    """
    from sciswift.store.local import AuditReport, LocalStore

    # The store logs each quarantine (for servers); here REPAIRED lines say it.
    logging.getLogger("sciswift.store").addHandler(logging.NullHandler())
    kind, stores = _stores(data)
    if not quiet:
        click.echo(f"sciswift fsck: {data} ({kind}); {'deep check (every body)' if deep else 'records and indexes'}"
                   f"{', repairing' if repair else ''}")
    total = AuditReport()
    damage = False
    for label, root in stores:
        try:
            store = LocalStore(root, create=False)
        except SciSwiftError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            report = _audit(store, label, deep, show_progress)
            for f in report.damaged:
                _line("DAMAGED", label, f.subject, f.what)
            if repair:
                found, after = _repair(store, report, label)
                damage |= found
                for f in after.damaged:
                    _line("DAMAGED", label, f.subject, f"{f.what} (not repaired)")
                report.damaged += after.damaged
                report.quarantined = after.quarantined
            else:
                for f in report.repairable:
                    _line("REPAIRABLE", label, f.subject, f.what)
            for f in report.quarantined:
                _line("QUARANTINED", label, f.subject, f.what)
            total.merge(report)
        except SciSwiftError as exc:
            raise click.ClickException(f"{root}: {exc}") from None
        finally:
            store.close()
    damage |= not total.clean
    _summary(total, deep, repair, quiet, data)
    sys.exit(EXIT_DAMAGE if damage else 0)


def _audit(store: Any, label: str, deep: bool, show_progress: bool | None) -> Any:
    """``store.audit``, with a progress bar (stopped before anything is printed)."""
    bars = _progress(show_progress)
    if bars is None:
        return store.audit(deep=deep)
    with bars:
        return store.audit(deep=deep, progress=_Bars(bars, f"{label}/" if label else ""))


def _repair(store: Any, report: Any, label: str) -> tuple[bool, Any]:
    """Quarantine the objects ``report`` (an audit) found damaged (a read through
    the store does it), then ``fsck`` the store and audit it again; whether
    anything was damaged, and the audit after the repair."""
    damaged = False
    for f in report.damaged:
        damaged = True
        if f.container is None or f.name is None:
            continue  # a file no index entry names: fsck sets it aside
        try:
            with store.open_object(f.container, f.name) as reader:
                reader.check(reader.start, reader.stop)
        except CorruptData:
            pass  # quarantined now (or already)
        except SciSwiftError:
            continue  # deleted meanwhile
        _line("REPAIRED", label, f.subject, "quarantined")
    fixed = store.fsck(deep=False)
    damaged |= bool(fixed.quarantined or fixed.damaged)
    after = store.audit(deep=False)
    for path in fixed.quarantined:
        _line("REPAIRED", label, path, "damaged record set aside")
    still = {(f.subject, f.what) for f in after.repairable}
    for f in report.repairable:
        if (f.subject, f.what) not in still:
            _line("REPAIRED", label, f.subject, f"{f.what} (fixed)")
    for f in after.repairable:
        _line("REPAIRABLE", label, f.subject, f"{f.what} (not repaired: a write in progress?)")
    return damaged, after


def _summary(total: Any, deep: bool, repair: bool, quiet: bool, data: Path) -> None:
    from rich.filesize import decimal

    checked = f" ({decimal(total.bytes_checked)} of bodies checked)" if deep else ""
    unchecked = f", {total.unchecked} without a checksum to check" if total.unchecked else ""
    problems = (f"{len(total.damaged)} damaged, {len(total.quarantined)} quarantined"
                + ("" if repair else f", {len(total.repairable)} repairable"))
    click.echo(f"{total.objects} object(s) in {total.containers} container(s){checked}{unchecked}: {problems}")
    if quiet:
        return
    if total.damaged and not repair:
        click.echo(f"To quarantine the damaged objects (reads of them then fail cleanly) and repair the rest: "
                   f"sciswift fsck --repair{' --deep' if deep else ''} {data}")
    elif total.repairable and not repair and total.clean:
        click.echo(f"No data is damaged; to repair the rest: sciswift fsck --repair {data}")
    if total.quarantined:
        click.echo("Quarantined objects have lost their data in this store: put them again from a copy, or "
                   "delete them.")
