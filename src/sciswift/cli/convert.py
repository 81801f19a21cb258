"""``sciswift import`` and ``sciswift export``: copy files into and out of the store.

The work is done by ``sciswift.convert`` (``import_file``/``export_file``); this
module parses arguments, shows progress (a bar on a terminal, a log line every
``--progress-interval`` seconds otherwise) and reports.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

from sciswift.errors import SciSwiftError

__all__ = ["import_", "export"]


def _progress(label: str, quiet: bool, show: bool | None, interval: float) -> Any:
    """A bar on a terminal; log lines when stderr is a file or pipe (batch jobs)."""
    from sciswift.convert import LogProgress, NullProgress, RichProgress

    if quiet or show is False:
        return NullProgress()
    if sys.stderr.isatty():
        return RichProgress(label)
    return LogProgress(label, interval=interval)


def _run(action: Callable[..., Any], verb: str, source: str, dest: str, quiet: bool, **kwargs: Any) -> None:
    started = time.perf_counter()
    try:
        report = action(source, dest, **kwargs)
    except SciSwiftError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # h5py and the filesystem speak OSError
        raise click.ClickException(f"{verb} {source} -> {dest} failed: {exc}") from None
    elapsed = time.perf_counter() - started
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if not quiet:
        from rich.filesize import decimal

        click.echo(f"{verb} {source} -> {dest}: {report.summary()}; {decimal(report.bytes)} in {elapsed:.2f} s")


_common = [
    click.option("--path", default="/", show_default=True, help="Copy only this group of the source."),
    click.option("--overwrite", is_flag=True, help="Replace DEST if it exists."),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary (notes and errors still)."),
    click.option("--progress/--no-progress", "show_progress", default=None,
                 help="Show progress: a bar on a terminal, else a log line every --progress-interval s  "
                      "[default: --progress]"),
    click.option("--progress-interval", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
                 metavar="SECONDS", help="Seconds between progress lines when stderr is not a terminal."),
]


def _with_common(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_common):
        fn = option(fn)
    return fn


@click.command("import")
@click.argument("source")
@click.argument("dest")
@_with_common
@click.option("--portable-codecs", "portable", is_flag=True, default=None,
              help="Write only Zarr v3 core codecs (blosc for shuffle+gzip, lzf ...), so every Zarr reader "
                   "reads the file; chunks are then recompressed  [default: SCISWIFT_CODECS, else off]")
@click.option("--recompress", is_flag=True,
              help="Decode and re-encode every chunk instead of copying compressed chunks as they are.")
def import_(source: str, dest: str, path: str, overwrite: bool, quiet: bool, show_progress: bool | None,
            progress_interval: float, portable: bool | None, recompress: bool) -> None:
    """Copy SOURCE into the store as a native file at DEST.

    \b
    SOURCE: a local HDF5 file, an HDF5 object in the store, any file or object a
    format plugin reads (FITS, Parquet, ROOT, CSV, netCDF, npy/npz, TFRecord),
    or another native file. Groups, datasets (chunk shapes, filters, fill
    values), attributes with their dtypes, links and references are kept.
    Compressed HDF5 chunks (gzip, shuffle, fletcher32) are copied without
    recompressing them.

    \b
      sciswift import run1.h5 swift://wind/run1.h5
      sciswift import swift://sky/table.parquet swift://sky/table.h5
    """
    from sciswift.convert import import_file

    _run(import_file, "imported", source, dest, quiet, path=path, overwrite=overwrite,
         progress=_progress("importing", quiet, show_progress, progress_interval),
         portable_codecs=portable, pass_through=not recompress)


@click.command("export")
@click.argument("source")
@click.argument("dest")
@click.option("--format", "fmt", default=None, metavar="NAME",
              help="hdf5, netcdf4, netcdf3, parquet, csv, fits, npy, npz  [default: from DEST's extension; "
                   ".nc is netcdf4]")
@click.option("--drop-attrs", is_flag=True,
              help="CSV: leave attributes out (by default they go to a sidecar DEST.attrs.json).")
@_with_common
@click.option("--recompress", is_flag=True,
              help="Decode and re-encode every chunk instead of copying compressed chunks as they are.")
def export(source: str, dest: str, fmt: str | None, drop_attrs: bool, path: str, overwrite: bool, quiet: bool,
           show_progress: bool | None, progress_interval: float, recompress: bool) -> None:
    """Write SOURCE out as one file: a local file or one object in the store.

    \b
    As HDF5 (.h5, .hdf5: everything import keeps), netCDF-4 (.nc; netCDF-3 with
    --format netcdf3) or any format a plugin can write, where the data's shape
    fits it (a table of equal-length columns for Parquet and CSV, images and
    tables for FITS ...); otherwise the error names the dataset that does not
    fit. DEST is replaced only once complete; a new local file's mode follows
    the umask.

    \b
      sciswift export swift://wind/run1.h5 run1.h5
      sciswift export swift://wind/run1.h5 run1.nc
      sciswift export swift://wind/run1.h5 swift://wind/run1.parquet
    """
    from sciswift.convert import export_file

    _run(export_file, "exported", source, dest, quiet, format=fmt, path=path, overwrite=overwrite,
         progress=_progress("exporting", quiet, show_progress, progress_interval), drop_attrs=drop_attrs,
         pass_through=not recompress)
