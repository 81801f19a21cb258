"""``sciswift serve`` for the loopback runs (through ``sciswift.server.spawn``):
a fresh data directory, the default TempAuth user, stopped by PID."""

from __future__ import annotations

import os
from pathlib import Path

from sciswift.server.spawn import ServerProcess, spawn

__all__ = ["start_server", "credentials"]

USER, KEY = "test:tester", "testing"


def start_server(data_dir: str, extra_args: list[str] | None = None) -> ServerProcess:
    """Start ``sciswift serve --quiet`` over ``data_dir`` (its log beside it)."""
    log_path = Path(data_dir) / "serve.log"
    with open(log_path, "wb") as log:
        return spawn(["--data", os.path.join(data_dir, "data"), "--quiet", *(extra_args or [])], stderr=log,
                     log_path=log_path)


def credentials(server: ServerProcess) -> dict[str, str]:
    """The environment SwiftStore reads its credentials from."""
    return {"ST_AUTH": server.auth_url, "ST_USER": USER, "ST_KEY": KEY}
