"""Run ``sciswift serve`` as a child process on a free port (tests, benchmarks,
``make compat-swift``).

The child is started with ``--port 0``; its start banner names the port it got.
It is stopped by its PID (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["ServerProcess", "spawn"]

_PORT = re.compile(r"on (https?)://127\.0\.0\.1:(\d+)")


@dataclass
class ServerProcess:
    """A running ``sciswift serve`` child."""

    proc: subprocess.Popen[bytes]
    port: int
    banner: str
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth/v1.0"

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM (graceful: in-flight requests finish), SIGKILL after ``grace`` s."""
        if self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _answers(port: int, scheme: str = "http") -> bool:
    try:
        if scheme == "https":
            # only "is it up?": the certificate is the test's business
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=2, context=ssl._create_unverified_context()
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/info")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def spawn(args: list[str], stderr: IO[bytes] | int | None = subprocess.DEVNULL, timeout: float = 30.0,
          log_path: Path | None = None) -> ServerProcess:
    """Start ``sciswift serve --port 0 ARGS`` (listening on 127.0.0.1) and
    return once it answers ``/info``. RuntimeError if it exits or stays silent;
    ``log_path`` (where its stderr goes) is quoted in that error."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sciswift.cli.main", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None

    def fail(why: str) -> RuntimeError:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        tail = log_path.read_text(errors="replace")[-2000:] if log_path and log_path.exists() else ""
        return RuntimeError(f"sciswift serve {why}" + (f":\n{tail}" if tail else ""))

    lines: list[str] = []
    port = None
    scheme = "http"
    deadline = time.monotonic() + timeout
    while port is None:
        line = proc.stdout.readline().decode(errors="replace")
        if not line:
            raise fail(f"exited with status {proc.wait()}")
        lines.append(line)
        m = _PORT.search(line)
        if m:
            scheme, port = m.group(1), int(m.group(2))
    for _ in range(3):  # the rest of the banner: auth URL, example, users
        lines.append(proc.stdout.readline().decode(errors="replace"))
    while not _answers(port, scheme):
        if proc.poll() is not None:
            raise fail(f"exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise fail(f"did not answer on port {port} within {timeout:.0f} s")
        time.sleep(0.05)
    return ServerProcess(proc, port, "".join(lines), scheme)
