"""``sciswift rm``, ``cp``, ``mv``, ``du`` and the listing half of ``ls``: whole
files in a store (``sciswift.files``), with coreutils' conventions (``-r`` for
directories and containers, ``-f`` to ignore missing files and replace
destinations, ``-i`` to confirm each removal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

from sciswift.errors import SciSwiftError

__all__ = ["rm", "cp", "mv", "du", "print_listing"]


def _size(n: int, human: bool) -> str:
    if not human:
        return str(n)
    from rich.filesize import decimal

    return decimal(n)


def _date(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def print_listing(entries: list[Any], human: bool) -> None:
    """One line per file: size, date, kind, name (``swift list --long``-like)."""
    if not entries:
        return
    sizes = [_size(e.size, human) for e in entries]
    width = max(len(s) for s in sizes)
    for entry, size in zip(entries, sizes):
        kind = entry.format or entry.kind if entry.kind == "object" else entry.kind
        objects = f"{entry.objects} objects" if entry.kind not in ("object", "link") else ""
        name = f"{entry.name} -> {entry.target}" if entry.target else entry.name
        click.echo(f"{size:>{width}}  {_date(entry.modified)}  {kind:<8} {objects:>14}  {name}")


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def _each(urls: tuple[str, ...], force: bool, action: Callable[[str], None]) -> None:
    from sciswift.errors import NotFound

    failed = False
    for url in urls:
        try:
            action(url)
        except NotFound as exc:
            if not force:
                click.echo(f"sciswift: {exc}", err=True)
                failed = True
        except SciSwiftError as exc:
            click.echo(f"sciswift: {exc}", err=True)
            failed = True
    if failed:
        sys.exit(1)


@click.command("rm")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option("-r", "-R", "--recursive", is_flag=True, help="Remove containers and directories and all files in them.")
@click.option("-f", "--force", is_flag=True, help="Ignore files that do not exist; never prompt.")
@click.option("-i", "interactive", is_flag=True, help="Ask before each removal.")
@click.option("-v", "--verbose", is_flag=True, help="Say what was removed.")
def rm(urls: tuple[str, ...], recursive: bool, force: bool, interactive: bool, verbose: bool) -> None:
    """Remove files from the store: a native file (all its objects) or an object.

    \b
      sciswift rm swift://wind/run1.h5
      sciswift rm -r swift://wind/old        # a directory, or a whole container
    """
    from sciswift.files import remove

    def action(url: str) -> None:
        if interactive and not force and not click.confirm(f"remove {url}?", default=False, err=True):
            return
        count = remove(url, recursive=recursive)
        if verbose:
            click.echo(f"removed {url} ({count} object{'' if count == 1 else 's'})")

    _each(urls, force, action)


def _copy_command(verb: str, fn_name: str) -> Callable[..., None]:
    def command(urls: tuple[str, ...], recursive: bool, force: bool, verbose: bool) -> None:
        import sciswift.files as sf

        if len(urls) < 2:
            raise click.UsageError(f"{verb} needs a SOURCE and a DEST")
        *sources, dest = urls
        if len(sources) > 1 and not dest.endswith("/"):
            dest = dest + "/"  # several sources go into DEST, as with cp
        fn = getattr(sf, fn_name)

        def action(src: str) -> None:
            entry = fn(src, dest, overwrite=force, recursive=recursive)
            if verbose:
                click.echo(f"{src} -> {entry.url} ({entry.objects} objects, {entry.size} bytes)")

        _each(tuple(sources), False, action)

    return command


_cp_doc = """Copy files within the store (server-side) or between stores.

    \b
    A native file is copied object by object, its root metadata last. DEST may
    name the copy, or a container or directory (ending in /) to copy into.
      sciswift cp swift://wind/run1.h5 swift://backup/
      sciswift cp -r swift://wind swift://wind-2026
    """
_mv_doc = """Move (rename) files: copy, then remove the source once the copy is complete.

    \b
      sciswift mv swift://wind/run1.h5 swift://wind/old/run1.h5
    """


def _make(verb: str, fn_name: str, doc: str) -> click.Command:
    fn = _copy_command(verb, fn_name)
    fn.__doc__ = doc
    fn = click.option("-v", "--verbose", is_flag=True, help="Say what was done.")(fn)
    fn = click.option("-f", "--force", is_flag=True, help="Replace a file at DEST.")(fn)
    fn = click.option("-r", "-R", "--recursive", is_flag=True, help="Copy containers and directories.")(fn)
    fn = click.argument("urls", nargs=-1, required=True, metavar="SOURCE... DEST")(fn)
    return click.command(verb)(fn)


cp = _make("cp", "copy", _cp_doc)
mv = _make("mv", "move", _mv_doc)


@click.command("du", context_settings={"help_option_names": ["--help"]})
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option("-s", "--summarize", is_flag=True, help="Only a total for each URL.")
@click.option("-h", "--human-readable", "human", is_flag=True, help="Sizes like 1.2 GB.")
def du(urls: tuple[str, ...], summarize: bool, human: bool) -> None:
    """Bytes used by files: a file (all its objects), or each file in a
    container or directory and their total.

    \b
      sciswift du -h swift://wind
    """
    import sciswift.files as sf

    def action(url: str) -> None:
        total = sf.disk_usage(url)
        if total.kind == "dir" and not summarize:
            for entry in sf.list_files(url, recursive=True):
                click.echo(f"{_size(entry.size, human)}\t{entry.url}")
        click.echo(f"{_size(total.size, human)}\t{url}")

    _each(urls, False, action)
