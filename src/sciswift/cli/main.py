"""Entry point of the ``sciswift`` command.

Subcommands are imported only when run, so ``sciswift --help`` stays fast and a
missing optional library breaks only the command that needs it, with a message
naming the extra to install. Every subcommand is always listed: one of ours that
fails to import is a bug, and its error is shown as it is.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from sciswift import __version__

# name -> (module, attribute, one-line help shown by `sciswift --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("sciswift.cli.serve", "serve", "Start the Swift-compatible object server."),
    "ls": ("sciswift.cli.inspect", "ls", "List the files in a container, or a file's groups and datasets."),
    "dump": ("sciswift.cli.inspect", "dump", "Print a file's structure, attributes and data (like h5dump)."),
    "import": ("sciswift.cli.convert", "import_", "Copy a file (HDF5 or any format) into the store."),
    "export": ("sciswift.cli.convert", "export", "Write a stored file out as HDF5 or another format."),
    "run": ("sciswift.cli.run", "run", "Run an unmodified h5py program against the store."),
    "cp": ("sciswift.cli.files", "cp", "Copy files (server-side within a store)."),
    "mv": ("sciswift.cli.files", "mv", "Move or rename files."),
    "rm": ("sciswift.cli.files", "rm", "Remove files (a native file with all its objects)."),
    "du": ("sciswift.cli.files", "du", "Bytes used by files, containers and directories."),
    "get": ("sciswift.cli.get", "get", "Read a slice of a stored dataset through the server's data API."),
    "mount": ("sciswift.cli.mount", "mount", "Mount a store location as a file system (FUSE)."),
    "umount": ("sciswift.cli.mount", "umount", "Store pending data and unmount a sciswift mount."),
    "fsck": ("sciswift.cli.fsck", "fsck", "Check (and repair) a server's data directory or a LocalStore."),
}


#: Optional libraries -> the extra that installs them.
EXTRAS: dict[str, str] = {
    "h5py": "hdf5", "astropy": "fits", "pyarrow": "parquet", "uproot": "root", "awkward": "root",
    "scipy": "netcdf", "google": "tfrecord", "zarr": "zarr", "keystoneauth1": "keystone", "mfusepy": "mount",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS) + sorted(super().list_commands(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module, attr, _ = COMMANDS[cmd_name]
            try:
                mod = importlib.import_module(module)
            except ImportError as exc:
                top = (exc.name or "").split(".")[0]
                if not top or top == "sciswift":
                    raise  # our own module is broken: show the real error
                extra = EXTRAS.get(top, "all")
                raise click.ClickException(
                    f"`sciswift {cmd_name}` needs the Python package {top!r}: pip install 'sciswift[{extra}]'"
                ) from None
            return getattr(mod, attr)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][2]) for n in COMMANDS]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sciswift")
def cli() -> None:
    """sciswift: HDF5-style data in an OpenStack Swift object store.

    \b
    Start a local Swift-compatible server:    sciswift serve
    Look inside a stored file:                sciswift ls -r swift://wind/run1.h5
    Run an h5py program against the store:    sciswift run --mount /scratch=swift://wind -- python prog.py
    Mount the store for any program:          sciswift mount swift://wind /mnt/wind
    """


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="sciswift")


if __name__ == "__main__":
    main()
