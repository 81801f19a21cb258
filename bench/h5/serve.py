"""``sciswift serve`` for the loopback runs: started on a free port over a fresh
data directory, stopped by its PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

__all__ = ["Server", "start_server"]

USER, KEY = "test:tester", "testing"


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: str

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/auth/v1.0"

    def env(self) -> dict[str, str]:
        """The environment SwiftStore reads its credentials from."""
        return {"ST_AUTH": self.auth_url, "ST_USER": USER, "ST_KEY": KEY}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    req = urllib.request.Request(url, headers={"X-Auth-User": USER, "X-Auth-Key": KEY})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return bool(resp.headers.get("X-Auth-Token"))
    except OSError:
        return False


def start_server(data_dir: str, extra_args: list[str] | None = None, timeout: float = 30.0) -> Server:
    """Start ``sciswift serve --quiet`` and wait until it authenticates."""
    port = _free_port()
    log_path = os.path.join(data_dir, "serve.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sciswift.cli.main", "serve", "--port", str(port), "--data",
         os.path.join(data_dir, "data"), "--quiet", *(extra_args or [])],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    log.close()
    server = Server(proc, port, log_path)
    deadline = time.monotonic() + timeout
    while not _answers(server.auth_url):
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            with open(log_path, errors="replace") as fh:
                tail = fh.read()[-2000:]
            raise RuntimeError(f"sciswift serve did not start (see {log_path}):\n{tail}")
        time.sleep(0.1)
    return server
