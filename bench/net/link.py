"""Two test hosts joined by an emulated link: network namespaces, a veth pair,
a rate limit and a delay, all made here and all removed again.

Topology (``Link``): namespace ``<tag>s`` (the servers, 198.18.0.1) and
``<tag>c`` (the clients, 198.18.0.2; 198.18.0.0/15 is the range set aside for
network benchmarks), joined by one veth pair. Each end sends through a token
bucket at the link rate (``tc qdisc ... tbf``). The delay: ``tc netem`` where the
kernel has it; this machine's kernel has no ``sch_netem``, so otherwise each
namespace holds back the packets that arrive over the veth for half the
round-trip time in ``bench.net.delay`` (netfilter queue verdicts, an
``iptables-legacy`` rule in the raw table; the delayers run SCHED_FIFO when
allowed, so a busy machine delays them less).

Everything is undone by ``close`` (and on the way out of ``with``): the delay
processes are stopped by PID, and deleting the namespaces removes the veth pair,
its queues and its firewall rules. Processes started inside the namespaces are
the caller's to stop first (by PID).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SERVER_IP = "198.18.0.1"
CLIENT_IP = "198.18.0.2"


class LinkError(RuntimeError):
    """The emulated link could not be made; the message says what is missing."""


def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(argv, capture_output=True, text=True)
    if check and out.returncode != 0:
        raise LinkError(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr.strip()}")
    return out


class Link:
    """The two namespaces and the link between them (see the module docstring)."""

    def __init__(self, rate: str = "1gbit", tag: str | None = None) -> None:
        tag = tag or f"scinet{os.getpid() % 100000}"
        self.rate = rate
        self.server_ns = f"{tag}s"
        self.client_ns = f"{tag}c"
        self.server_dev = f"{tag}s"[-15:]
        self.client_dev = f"{tag}c"[-15:]
        self.rtt_ms: float | None = None
        self.netem = False
        self._delayers: list[subprocess.Popen[bytes]] = []
        self._made: list[str] = []

    # ------------------------------------------------------------ commands
    def ns_argv(self, ns: str, argv: list[str]) -> list[str]:
        """``argv`` run in namespace ``ns`` (network only: the file system and
        mounts stay those of this process)."""
        return ["nsenter", f"--net=/run/netns/{ns}", "--", *argv]

    def in_server(self, argv: list[str]) -> list[str]:
        return self.ns_argv(self.server_ns, argv)

    def in_client(self, argv: list[str]) -> list[str]:
        return self.ns_argv(self.client_ns, argv)

    # ------------------------------------------------------------ life cycle
    def open(self) -> Link:
        for tool in ("ip", "tc", "nsenter"):
            if shutil.which(tool) is None:
                raise LinkError(f"{tool} is missing (Debian: apt-get install iproute2 util-linux)")
        if os.geteuid() != 0:
            raise LinkError("bench.net makes network namespaces: run it as root")
        try:
            for ns in (self.server_ns, self.client_ns):
                _run(["ip", "netns", "add", ns])
                self._made.append(ns)
                _run(["ip", "-n", ns, "link", "set", "lo", "up"])
            _run(["ip", "link", "add", self.server_dev, "netns", self.server_ns, "type", "veth",
                  "peer", "name", self.client_dev, "netns", self.client_ns])
            for ns, dev, ip in ((self.server_ns, self.server_dev, SERVER_IP), (self.client_ns, self.client_dev, CLIENT_IP)):
                _run(["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev])
                _run(["ip", "-n", ns, "link", "set", dev, "up"])
            self.netem = self._try_netem()
            if not self.netem:
                self._prepare_queue_delay()
        except BaseException:
            self.close()
            raise
        return self

    def _ends(self) -> tuple[tuple[str, str], tuple[str, str]]:
        return (self.server_ns, self.server_dev), (self.client_ns, self.client_dev)

    def _try_netem(self) -> bool:
        ns, dev = self._ends()[0]
        probe = _run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "netem", "delay", "0ms"], check=False)
        if probe.returncode != 0:
            return False
        _run(["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"])
        return True

    def _prepare_queue_delay(self) -> None:
        iptables = shutil.which("iptables-legacy")
        if iptables is None:
            raise LinkError("this kernel has no tc netem, and the delay stand-in needs iptables-legacy "
                            "(Debian: apt-get install iptables)")
        # A token bucket at the link rate; its queue holds twice the bandwidth-delay
        # product of the longest round trip measured (50 ms), as a router's would.
        for ns, dev in self._ends():
            _run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", self.rate,
                  "burst", "256kb", "limit", "16mb"])
            _run(self.ns_argv(ns, [iptables, "-t", "raw", "-A", "PREROUTING", "-i", dev, "-j", "NFQUEUE",
                                   "--queue-num", "0", "--queue-bypass"]))

    def set_rtt(self, rtt_ms: float) -> None:
        """Make the round-trip time ``rtt_ms`` (half of it each way)."""
        half = rtt_ms / 2
        if self.netem:
            for ns, dev in self._ends():
                verb = "change" if self.rtt_ms is not None else "add"
                _run(["tc", "-n", ns, "qdisc", verb, "dev", dev, "root", "netem", "delay", f"{half}ms",
                      "rate", self.rate, "limit", "100000"])
            self.rtt_ms = rtt_ms
            return
        self._stop_delayers()
        root = str(Path(__file__).resolve().parents[2])
        for ns, _ in self._ends():
            env = {**os.environ, "PYTHONPATH": root}
            proc = subprocess.Popen(self.ns_argv(ns, [sys.executable, "-m", "bench.net.delay", "--delay-ms", str(half)]),
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self._delayers.append(proc)
            line = proc.stdout.readline() if proc.stdout else b""
            if not line.startswith(b"delaying"):
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise LinkError(f"the delay in {ns} did not start: {err.strip()[-500:]}")
            try:
                os.sched_setscheduler(proc.pid, os.SCHED_FIFO, os.sched_param(50))
            except (PermissionError, OSError):
                pass  # ordinary priority: more jitter on a busy machine, nothing else
        self.rtt_ms = rtt_ms

    def _stop_delayers(self) -> None:
        for proc in self._delayers:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
        self._delayers = []

    def close(self) -> None:
        """Stop the delays and delete the namespaces (with the veth pair)."""
        self._stop_delayers()
        for ns in reversed(self._made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self._made = []

    def __enter__(self) -> Link:
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def wait_until(check: Any, timeout: float, what: str) -> None:
    """Poll ``check()`` until it is true; LinkError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise LinkError(f"{what} within {timeout:.0f} s")
        time.sleep(0.2)
