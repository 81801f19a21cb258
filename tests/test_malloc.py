"""sciswift.malloc: applied by the engine on import and by each server worker, never against the user's choice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import sciswift.engine, sciswift.malloc as m; print(m._applied)"


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "SCISWIFT_MALLOC_TUNING"}
    clean.update(env)
    done = subprocess.run([sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_importing_the_engine_tunes_malloc() -> None:
    assert _probe() == "True"


@pytest.mark.parametrize(
    "env",
    [{"SCISWIFT_MALLOC_TUNING": "0"}, {"MALLOC_TRIM_THRESHOLD_": "1048576"}, {"MALLOC_MMAP_THRESHOLD_": "1048576"}],
)
def test_users_choice_wins(env: dict[str, str]) -> None:
    assert _probe(**env) == "False"


def test_tune_runs_once() -> None:
    from sciswift import malloc

    first = malloc.tune()
    assert malloc.tune() is first
