"""``sciswift run``: run any command with h5py routed to the object store."""

from __future__ import annotations

import os
import shutil
import sys

import click

__all__ = ["run"]


@click.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--mount", "mounts", multiple=True, metavar="LOCAL=URL",
              help="Make the local directory LOCAL a place in a store: swift://container/prefix, "
                   "file:///dir, memory://container or a directory path. Repeatable; added to SCISWIFT_MOUNTS.")
@click.option("--check", is_flag=True, default=False,
              help="Reach every mount's store first and report; stop if one fails.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(mounts: tuple[str, ...], check: bool, command: tuple[str, ...]) -> None:
    """Run COMMAND with h5py.File routed: mounted paths and swift://, file://,
    memory:// URLs open in the object store, other paths as ordinary HDF5 files.

    \b
    The program is not changed: it still says `import h5py`. Every Python the
    command starts (multiprocessing children, subprocesses, mpirun ranks) is
    routed too; `python` in COMMAND is the Python sciswift is installed in.
    Credentials for swift:// come from ST_AUTH/ST_USER/ST_KEY or OS_*.

    \b
    Examples:
      sciswift run --mount /scratch/run1=swift://wind/run1 -- python vpic_io.py /scratch/run1/particles.h5
      sciswift run --check --mount /scratch=swift://wind
    """
    from sciswift.compat.check import check_all
    from sciswift.compat.hook import child_environment
    from sciswift.compat.mounts import Mount, MountTable
    from sciswift.errors import InvalidInput

    try:
        table = MountTable.from_environment()
        for spec in mounts:
            table.add(Mount.parse(spec))
        env = child_environment(table)
    except InvalidInput as e:
        raise click.UsageError(str(e)) from None
    if check:
        results = check_all(table)
        for r in results:
            click.echo(f"sciswift run: {r}", err=True)
        if not results:
            click.echo("sciswift run: no mounts (give --mount or set SCISWIFT_MOUNTS)", err=True)
        if not all(r.ok for r in results):
            sys.exit(1)
        if not command:
            return
    if not command:
        raise click.UsageError("no command given: sciswift run [--mount LOCAL=URL]... -- COMMAND [ARGS]...")
    program = shutil.which(command[0], path=env.get("PATH"))
    if program is None:
        click.echo(f"sciswift run: command not found: {command[0]}", err=True)
        sys.exit(127)
    sys.stdout.flush()
    sys.stderr.flush()
    # Replace this process, so signals, the exit status and the terminal belong
    # to the program, as if it had been started directly.
    try:
        os.execve(program, list(command), env)
    except OSError as e:
        click.echo(f"sciswift run: cannot run {command[0]}: {e.strerror}", err=True)
        sys.exit(126)
