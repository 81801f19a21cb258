"""Running a program under test (or under a benchmark) as a child in its own session."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence

__all__ = ["run_in_session"]


def run_in_session(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (text output captured, no stdin) in a session of its own, so
    that on timeout the whole group (its worker processes too) is killed; then
    ``subprocess.TimeoutExpired`` is raised."""
    child = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(env),
                             cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)
