"""The project's own Swift all-in-one launcher (tests/support/saio.py): a second
instance beside the session's, started, checked and stopped by PID."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import saio as saio_mod
from support.saio import Saio, SaioError

pytestmark = [pytest.mark.saio, pytest.mark.slow]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_start_stop_by_pid(tmp_path: Path, saio: Saio) -> None:
    if os.environ.get("SCISWIFT_SKIP_SAIO") == "1":
        pytest.skip("SCISWIFT_SKIP_SAIO=1")
    root = tmp_path / "second"
    cli = [sys.executable, saio_mod.__file__]
    out = subprocess.run([*cli, "start", str(root)], capture_output=True, text=True, check=True).stdout
    try:
        assert "export ST_AUTH=http://127.0.0.1:" in out
        inst = Saio.load(root)
        assert inst.proxy_port != saio.proxy_port  # free ports, beside the session's instance
        assert set(inst.pids) == {"memcached", "account-server", "container-server", "object-server",
                                  "proxy-server", "container-updater"}
        assert all(_alive(p) for p in inst.pids.values())
        assert inst.alive()
        if inst.storage in ("xfs", "tmpfs"):
            assert os.path.ismount(root / "srv" / "node")
        with pytest.raises(SaioError, match="still running"):
            saio_mod.start(root, log=lambda _m: None)
        env = subprocess.run([*cli, "env", str(root)], capture_output=True, text=True, check=True).stdout
        assert f"export ST_AUTH={inst.auth_url}" in env
    finally:
        subprocess.run([*cli, "stop", str(root), "--purge"], capture_output=True, check=True)
    assert not any(_alive(p) for p in inst.pids.values())
    assert not os.path.ismount(root / "srv" / "node") and not (root / "srv").exists()
    assert saio.alive()  # the session's instance was not touched
