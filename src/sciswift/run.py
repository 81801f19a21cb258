"""``python -m sciswift.run [--mount LOCAL=URL]... [--check] script.py [args...]``

Runs a Python program with h5py routed (``sciswift.compat``): ``h5py.File`` on a
mounted path or a ``swift://``, ``file://`` or ``memory://`` URL opens through
sciswift.h5py, anything else through the real h5py. The mounts come from the
options and from ``SCISWIFT_MOUNTS`` (entries separated by ``;``). Like
``python``, it takes ``-m module`` or ``-c code`` instead of a script, and the
program sees ``sys.argv`` as if run directly. Python processes the program starts
(multiprocessing, subprocess, mpirun) are routed too.

``sciswift run`` is the same for any command, not only Python scripts.
"""

from __future__ import annotations

import os
import runpy
import sys

__all__ = ["main"]

_USAGE = (
    "usage: python -m sciswift.run [--mount LOCAL=URL]... [--check] (script.py | -m module | -c code) [args...]"
)


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"sciswift.run: {message}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    """Parse our options up to the program, install the router, run the program.
    Returns the exit status for the options' errors; the program's own exit
    status comes through SystemExit."""
    from sciswift.compat.mounts import MountTable
    from sciswift.errors import InvalidInput

    args = list(sys.argv[1:] if argv is None else argv)
    specs: list[str] = []
    check = False
    while args and args[0].startswith("-") and args[0] not in ("-m", "-c", "-"):
        opt = args.pop(0)
        if opt in ("-h", "--help"):
            print(_USAGE)
            print(__doc__.split("\n\n", 1)[1].rstrip())
            return 0
        if opt == "--check":
            check = True
        elif opt == "--mount" and args:
            specs.append(args.pop(0))
        elif opt.startswith("--mount="):
            specs.append(opt[len("--mount="):])
        elif opt == "--":
            break
        else:
            return _fail(f"unknown option {opt!r}\n{_USAGE}")
    if not args:
        return _fail(f"no program given\n{_USAGE}")
    try:
        table = MountTable.from_environment()
        for spec in specs:
            table.add(_parse(spec))
    except InvalidInput as e:
        return _fail(str(e))
    if check:
        from sciswift.compat.check import check_all

        results = check_all(table)
        for r in results:
            sys.stderr.write(f"sciswift.run: {r}\n")
        if not all(r.ok for r in results):
            return 1

    from sciswift.compat.hook import child_environment, install

    os.environ.clear()
    os.environ.update(child_environment(table))
    install(table)
    _run_program(args)
    return 0


def _parse(spec: str):
    from sciswift.compat.mounts import Mount

    return Mount.parse(spec)


def _run_program(args: list[str]) -> None:
    """Run ``args`` the way ``python ARGS`` would, in this process."""
    if args[0] == "-m":
        if len(args) < 2:
            raise SystemExit(_fail("-m needs a module name"))
        sys.argv = [args[1], *args[2:]]
        sys.path[0] = os.getcwd()
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    elif args[0] == "-c":
        if len(args) < 2:
            raise SystemExit(_fail("-c needs the code to run"))
        sys.argv = ["-c", *args[2:]]
        sys.path[0] = ""
        code = compile(args[1], "<string>", "exec")
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})  # noqa: S102 - what python -c does
    else:
        script = args[0]
        if not os.path.exists(script):
            raise SystemExit(_fail(f"can't open file {script!r}: no such file"))
        sys.argv = list(args)
        # As `python script.py` does: the script's directory, not the current one.
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    sys.exit(main())
