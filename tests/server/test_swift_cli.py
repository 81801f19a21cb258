"""The real ``swift`` CLI (python-swiftclient) against ``sciswift serve``."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .conftest import RunningServer

SWIFT = str(Path(sys.executable).parent / "swift")


def swift(server: RunningServer, *args: str, cwd: Path | None = None, check: bool = True) -> str:
    env = dict(os.environ, **server.env())
    proc = subprocess.run([SWIFT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"swift {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr


@pytest.fixture(params=["memory", "disk"])
def any_server(request: pytest.FixtureRequest) -> RunningServer:
    return request.getfixturevalue("server" if request.param == "memory" else "disk_server")


def test_stat_lists_the_account(server: RunningServer) -> None:
    out = swift(server, "stat")
    assert "Account: AUTH_test" in out
    assert "Containers:" in out and "Bytes:" in out


@pytest.mark.parametrize("mode", ["slo", "dlo"])
def test_segmented_upload_downloads_identical_bytes(any_server: RunningServer, tmp_path: Path, mode: str) -> None:
    data = os.urandom(5 * 1024 * 1024 + 123)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    cont = f"seg-{mode}-{uuid.uuid4().hex[:8]}"
    extra = ["--use-dlo"] if mode == "dlo" else []
    swift(any_server, "upload", "--segment-size", "1048576", *extra, cont, "big.bin", cwd=tmp_path)
    stat = swift(any_server, "stat", cont, "big.bin")
    assert ("X-Static-Large-Object: True" if mode == "slo" else f"Manifest: {cont}_segments/big.bin/") in stat
    assert f"Content Length: {len(data)}" in stat
    out = tmp_path / "out.bin"
    swift(any_server, "download", cont, "big.bin", "-o", str(out))
    assert hashlib.md5(out.read_bytes()).hexdigest() == hashlib.md5(data).hexdigest()
    segments = swift(any_server, "list", f"{cont}_segments").split()
    assert len(segments) == 6  # 5 full MiB segments and the 123-byte tail
    swift(any_server, "delete", cont, "big.bin")
    assert swift(any_server, "list", cont).strip() == ""
    if mode == "slo":  # deleting an SLO removes its segments too
        assert swift(any_server, "list", f"{cont}_segments").strip() == ""


def test_post_metadata_then_stat(server: RunningServer, tmp_path: Path) -> None:
    cont = f"meta-{uuid.uuid4().hex[:8]}"
    (tmp_path / "a.txt").write_text("hello")
    swift(server, "upload", cont, "a.txt", cwd=tmp_path)
    swift(server, "post", "-m", "Color:blue", "-m", "Shape:round", cont, "a.txt")
    stat = swift(server, "stat", cont, "a.txt")
    assert "Meta Color: blue" in stat and "Meta Shape: round" in stat
    assert "Content Type: text/plain" in stat  # guessed from the name
    swift(server, "post", "-m", "Team:wind", cont)
    assert "Meta Team: wind" in swift(server, "stat", cont)


def test_list_prefix_and_delete(server: RunningServer, tmp_path: Path) -> None:
    cont = f"list-{uuid.uuid4().hex[:8]}"
    for name in ("run1.h5", "run2.h5", "notes.txt"):
        (tmp_path / name).write_bytes(name.encode())
        swift(server, "upload", cont, name, cwd=tmp_path)
    assert swift(server, "list", "--prefix", "run", cont).split() == ["run1.h5", "run2.h5"]
    assert swift(server, "list", cont).split() == ["notes.txt", "run1.h5", "run2.h5"]
    swift(server, "delete", cont, "run1.h5")
    assert swift(server, "list", cont).split() == ["notes.txt", "run2.h5"]
    swift(server, "delete", cont)
    assert cont not in swift(server, "list").split()


def test_wrong_key_is_refused(server: RunningServer) -> None:
    env = dict(os.environ, **server.env(key="not-the-key"))
    proc = subprocess.run([SWIFT, "stat"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "401" in proc.stderr or "Unauthorized" in proc.stderr
