"""The interop tests reach sciswift the way users do: ``swift://`` through fsspec's
entry-point registry and ``engine="sciswift"`` through xarray's, both declared in
pyproject.toml.

An installed sciswift older than this tree (an editable install whose metadata
predates these entry points) does not declare them; then the entry points of this
tree's pyproject.toml are published for this test process in a stand-in
distribution (a ``.dist-info`` on sys.path), so fsspec and xarray still find them
through ``importlib.metadata`` exactly as after ``pip install``.
"""

from __future__ import annotations

import importlib.metadata
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"
GROUPS = ("fsspec.specs", "xarray.backends")


def _declared() -> dict[str, dict[str, str]]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return {g: dict(project.get("entry-points", {}).get(g, {})) for g in GROUPS}


def _publish_missing_entry_points() -> None:
    declared = _declared()
    missing = {
        g: {n: v for n, v in eps.items() if n not in {e.name for e in importlib.metadata.entry_points(group=g)}}
        for g, eps in declared.items()
    }
    if not any(missing.values()):
        return
    root = Path(tempfile.mkdtemp(prefix="sciswift-eps-"))
    info = root / "sciswift_entry_points-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sciswift-entry-points\nVersion: 0\n")
    lines = []
    for group, eps in missing.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in eps.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    sys.path.append(str(root))
    importlib.invalidate_caches()
    if "fsspec" in sys.modules:
        sys.modules["fsspec"].process_entries()
    if "xarray.backends.plugins" in sys.modules:
        sys.modules["xarray.backends.plugins"].list_engines.cache_clear()


_publish_missing_entry_points()


@pytest.fixture
def swift_env(sciswift_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The test account of ``sciswift serve`` in ST_AUTH/ST_USER/ST_KEY."""
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
