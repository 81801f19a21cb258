"""Entry point of the ``sciswift`` command.

Subcommands are imported only when run, so ``sciswift --help`` stays fast and a
missing optional library breaks only the command that needs it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from sciswift import __version__

# name -> (module, attribute, one-line help shown by `sciswift --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("sciswift.cli.serve", "serve", "Start the Swift-compatible object server."),
    "ls": ("sciswift.cli.inspect", "ls", "List groups and datasets of a file (like h5ls)."),
    "dump": ("sciswift.cli.inspect", "dump", "Print a file's structure, attributes and data (like h5dump)."),
    "import": ("sciswift.cli.convert", "import_", "Copy a file (HDF5 or any format) into the store."),
    "export": ("sciswift.cli.convert", "export", "Write a stored file out as HDF5 or another format."),
    "run": ("sciswift.cli.run", "run", "Run an unmodified h5py program against the store."),
    "fsck": ("sciswift.cli.fsck", "fsck", "Check (and repair) a server's data directory or a LocalStore."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n in COMMANDS if self._available(n)] + sorted(super().list_commands(ctx))

    @staticmethod
    def _available(name: str) -> bool:
        return importlib.util.find_spec(COMMANDS[name][0]) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and self._available(cmd_name):
            module, attr, _ = COMMANDS[cmd_name]
            return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][2]) for n in COMMANDS if self._available(n)]
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
    """


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="sciswift")


if __name__ == "__main__":
    main()
