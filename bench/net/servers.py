"""The servers of bench.net, in the server namespace: ``sciswift serve`` and the
real OpenStack Swift all-in-one (tests/support/saio.py), and how many requests a
client made, counted in each server's access log.

Counting: a client ends with a marker request (``GET /info?netbench-mark=ID``)
after its timed work; the requests logged between the previous marker and this
one are its requests. For the all-in-one only the lines of client requests count
(proxy-logging also logs the sub-requests middlewares make, marked with their
source).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.net.link import SERVER_IP, Link, LinkError, wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVE_PORT = 8080
SAIO_PORT = 8081


@dataclass
class Endpoint:
    """One server as the clients see it, and its access log."""

    name: str
    port: int
    log_path: Path
    user: str = "test:tester"
    key: str = "testing"
    #: Proxy-logging's sub-request lines are skipped (real Swift).
    swift_log: bool = False
    _offset: int = field(default=0, repr=False)

    @property
    def url(self) -> str:
        return f"http://{SERVER_IP}:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth/v1.0"

    def mark_offset(self) -> None:
        """Start counting from the end of the log."""
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0

    def requests_until(self, mark: str, timeout: float = 30.0) -> int:
        """Client requests logged since the last count, up to the marker ``mark``."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "rb") as fh:
                fh.seek(self._offset)
                text = fh.read().decode("utf-8", "replace")
            at = text.find(mark)
            if at >= 0:
                break
            if time.monotonic() > deadline:
                raise LinkError(f"marker {mark} never reached {self.log_path}")
            time.sleep(0.05)
        end = text.find("\n", at)
        end = len(text) if end < 0 else end + 1
        lines = text[:at].splitlines()[:-1]  # the marker's own line is not counted
        self._offset += len(text[:end].encode("utf-8"))
        return sum(1 for line in lines if self._is_client_request(line))

    def _is_client_request(self, line: str) -> bool:
        fields = line.split()
        if self.swift_log:
            # proxy-server: client remote date method path proto status referer agent token
            # recvd sent etag txid headers time SOURCE ...; "-" for the client's own requests.
            return len(fields) > 17 and fields[0] == "proxy-server:" and fields[17] == "-"
        return len(fields) > 6 and fields[3].isupper()


def _answers(link: Link, url: str) -> bool:
    probe = subprocess.run(link.in_client([sys.executable, "-c",
                                           "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)",
                                           url]), capture_output=True)
    return probe.returncode == 0


@contextlib.contextmanager
def sciswift_serve(link: Link, workdir: Path, workers: int = 1) -> Iterator[Endpoint]:
    """``sciswift serve`` (durable, as deployed) on SERVER_IP:8080."""
    log_path = workdir / "serve-access.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            link.in_server([sys.executable, "-m", "sciswift.cli.main", "serve", "--host", "0.0.0.0",
                            "--port", str(SERVE_PORT), "--data", str(workdir / "serve-data"),
                            "--workers", str(workers), "--insecure-default-user"]),
            stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL, env=env)
    ep = Endpoint("sciswift serve", SERVE_PORT, log_path)
    try:
        wait_until(lambda: proc.poll() is None and _answers(link, ep.url + "/info"), 60,
                   f"sciswift serve did not answer (log: {log_path})")
        yield ep
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def swift_aio(link: Link, workdir: Path) -> Iterator[Endpoint]:
    """The real Swift all-in-one, its proxy on SERVER_IP:8081 (the account,
    container and object servers on the server namespace's loopback)."""
    root = workdir / "saio"
    script = str(ROOT / "tests" / "support" / "saio.py")
    started = subprocess.run(link.in_server([sys.executable, script, "start", str(root), "--proxy-port",
                                             str(SAIO_PORT), "--proxy-bind-ip", "0.0.0.0"]),
                             capture_output=True, text=True)
    try:
        if started.returncode != 0:
            raise LinkError(f"the Swift all-in-one did not start: {started.stderr.strip()[-1500:]}")
        ep = Endpoint("Swift all-in-one", SAIO_PORT, root / "log" / "proxy-server.log", swift_log=True)
        wait_until(lambda: _answers(link, ep.url + "/info"), 60, "the Swift all-in-one did not answer")
        yield ep
    finally:
        subprocess.run([sys.executable, script, "stop", str(root), "--purge"], capture_output=True)
