"""Running plain h5py programs three ways and comparing what they leave behind.

- ``h5py``: the program on local files, with the real h5py (the reference);
- ``localstore``: the same program through ``sciswift run --mount DIR=file:///...``;
- ``serve``: through ``sciswift run --mount DIR=swift://...`` against ``sciswift serve``.

Each way gives the program a working directory path ``workdir``: a real local
directory for ``h5py``, a mount point that does not exist on disk for the others.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sciswift.testing.procs import run_in_session

PROGRAMS = Path(__file__).resolve().parent / "programs"
DUMP = PROGRAMS / "dump.py"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Way:
    """One way of running a program: its name, mounts, extra environment and
    the directory path the program is told to work in."""

    name: str
    workdir: str
    mounts: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def command(self, argv: Sequence[str]) -> list[str]:
        if not self.mounts:
            return [sys.executable, *argv]
        opts = [x for m in self.mounts for x in ("--mount", m)]
        return [sys.executable, "-m", "sciswift.cli.main", "run", *opts, "--", "python", *argv]

    def run(self, argv: Sequence[str], *, timeout: float = 180, check: bool = True,
            cwd: str | os.PathLike[str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``python ARGV`` this way; with ``check``, a non-zero exit fails the
        test showing the program's stderr."""
        env = {**os.environ, **self.env}
        env.pop("SCISWIFT_MOUNTS", None)
        try:
            proc = run_in_session(self.command(argv), env=env, timeout=timeout, cwd=cwd)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name}: {' '.join(map(str, argv))} did not finish in {timeout} s") from None
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{self.name}: {' '.join(map(str, argv))} exited with {proc.returncode}\n"
                f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-5000:]}"
            )
        return proc

    def path(self, name: str) -> str:
        return f"{self.workdir}/{name}"

    def dump(self, names: Sequence[str]) -> dict[str, object]:
        """The canonical description (``programs/dump.py``) of files in ``workdir``."""
        out = self.run([str(DUMP), *(self.path(n) for n in names)])
        return json.loads(out.stdout)  # type: ignore[no-any-return]

    def normalise(self, text: str) -> str:
        return text.replace(self.workdir, "<DIR>")


def h5py_way(tmp: Path) -> Way:
    work = tmp / "h5py"
    work.mkdir(parents=True, exist_ok=True)
    return Way("h5py", str(work))


def mount_point() -> str:
    """A mount point that does not exist locally, so a file that escaped the
    router would fail instead of landing on disk unnoticed."""
    return f"/sciswift-test-mnt/{uuid.uuid4().hex[:12]}"


def localstore_way(tmp: Path) -> Way:
    point = mount_point()
    return Way("localstore", point, (f"{point}={(tmp / 'store').as_uri()}",))


def serve_way(endpoint: object) -> Way:
    point = mount_point()
    container = f"c{uuid.uuid4().hex[:10]}"
    env = {"ST_AUTH": endpoint.auth_url, "ST_USER": endpoint.user, "ST_KEY": endpoint.key}  # type: ignore[attr-defined]
    return Way("serve", point, (f"{point}=swift://{container}/run",), env)


def assert_same(reference: object, other: object, what: str) -> None:
    """Equal JSON-able values; on a difference, show where."""
    if reference == other:
        return
    a = json.dumps(reference, indent=1, sort_keys=True, default=str).splitlines()
    b = json.dumps(other, indent=1, sort_keys=True, default=str).splitlines()
    import difflib

    diff = "\n".join(list(difflib.unified_diff(a, b, "h5py", "sciswift", lineterm="", n=2))[:80])
    raise AssertionError(f"{what} differs:\n{diff}")
