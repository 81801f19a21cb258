"""pytest plugin: the multi-node Swift cluster and the fault proxy of the fault tests.

- ``swift_cluster``: a real Swift cluster of 3 storage nodes in network
  namespaces, 3 replicas, one proxy (``tests/support/swift_cluster.py``),
  started once per worker that needs it and always removed at the end (its
  processes by PID, its namespaces, bridge and mounts), also when a test fails.
  If it cannot start, its tests fail with the reason; ``SCISWIFT_SKIP_CLUSTER=1``
  skips them instead, explicitly.
- ``healthy_cluster``: the cluster, after making sure every node and link and
  the proxy are up again (a test leaves whatever it broke; the next one starts
  from a whole cluster).
- ``fault_proxy``: a ``FaultProxy`` in front of the cluster's proxy.
- ``ledger``: counts of faults injected (per kind), operations run and writes
  acknowledged, verified and lost, summed over the session and printed at its
  end (``SCISWIFT_FAULTS_REPORT=FILE`` also writes them as JSON).
- ``faults_long``: True under ``SCISWIFT_FAULTS=long`` (``make faults``): the
  tests then run more rounds on more data; ``make test`` runs the short ones.

The cluster tests are marked ``cluster`` and grouped on one xdist worker.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import swift_cluster
from support.fault_proxy import FaultProxy

_SHARED_ENV = "SCISWIFT_TEST_SHARED"


def faults_mode_long() -> bool:
    return os.environ.get("SCISWIFT_FAULTS", "short") == "long"


class Ledger:
    """What the fault tests did, for the closing summary."""

    def __init__(self) -> None:
        self.faults: Counter[str] = Counter()
        self.operations: Counter[str] = Counter()
        self.writes_acknowledged = 0
        self.writes_verified = 0
        self.writes_lost = 0
        self.longest_operation = 0.0

    def fault(self, kind: str, n: int = 1) -> None:
        self.faults[kind] += n

    def faults_from(self, proxy: FaultProxy) -> None:
        for kind, n in proxy.counts.items():
            self.faults[f"proxy {kind}"] += n
        proxy.counts.clear()

    def op(self, kind: str, n: int = 1, seconds: float = 0.0) -> None:
        self.operations[kind] += n
        self.longest_operation = max(self.longest_operation, seconds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "faults": dict(self.faults), "operations": dict(self.operations),
            "writes_acknowledged": self.writes_acknowledged, "writes_verified": self.writes_verified,
            "writes_lost": self.writes_lost, "longest_operation_s": round(self.longest_operation, 2),
        }


def kill_when(cluster: swift_cluster.SwiftCluster, proxy: FaultProxy, method: str, path: str, after: int,
              node: int, ledger: Ledger, what: str, *, even_if_late: bool = True) -> threading.Thread:
    """A watcher that kills ``node`` (0: restarts the proxy) once ``after``
    requests ``method`` ``path`` went through the fault proxy, or after 120 s
    of waiting for them; with ``even_if_late`` False, a watcher whose count
    never came does nothing (the test then finds the fault missing)."""
    def watch() -> None:
        deadline = time.monotonic() + 120
        while proxy.seen(method, path) < after and time.monotonic() < deadline:
            time.sleep(0.005)
        if even_if_late or time.monotonic() < deadline:
            if node:
                cluster.stop_node(node)
            else:
                cluster.restart_proxy()
            ledger.fault(what)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


_LEDGER = Ledger()


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return _LEDGER


@pytest.fixture(scope="session")
def faults_long() -> bool:
    return faults_mode_long()


def _ledger_file(config: pytest.Config) -> Path | None:
    shared = os.environ.get(_SHARED_ENV)
    if not shared:
        return None
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    return Path(shared) / f"faults-ledger-{worker}.json"


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = _ledger_file(session.config)
    if path is not None and (_LEDGER.faults or _LEDGER.operations):
        path.write_text(json.dumps(_LEDGER.as_dict()))


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    shared = os.environ.get(_SHARED_ENV)
    if not shared or hasattr(config, "workerinput"):
        return
    total = Ledger()
    for f in Path(shared).glob("faults-ledger-*.json"):
        d = json.loads(f.read_text())
        total.faults.update(d["faults"])
        total.operations.update(d["operations"])
        total.writes_acknowledged += d["writes_acknowledged"]
        total.writes_verified += d["writes_verified"]
        total.writes_lost += d["writes_lost"]
        total.longest_operation = max(total.longest_operation, d["longest_operation_s"])
    if not (total.faults or total.operations):
        return
    tr = terminalreporter
    tr.section("faults on the Swift cluster")
    tr.write_line(f"faults injected: {sum(total.faults.values())}")
    for kind, n in sorted(total.faults.items()):
        tr.write_line(f"  {kind:32s} {n}")
    tr.write_line(f"operations run: {sum(total.operations.values())}")
    for kind, n in sorted(total.operations.items()):
        tr.write_line(f"  {kind:32s} {n}")
    tr.write_line(f"writes acknowledged {total.writes_acknowledged}, verified {total.writes_verified}, "
                  f"lost {total.writes_lost}; longest operation {total.longest_operation:.1f} s")
    report = os.environ.get("SCISWIFT_FAULTS_REPORT")
    if report:
        Path(report).write_text(json.dumps(total.as_dict(), indent=2) + "\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    # The safety net of the controlling process: a worker that died without its
    # finalizers leaves its cluster recorded in the shared folder.
    shared = os.environ.get(_SHARED_ENV)
    if not shared or hasattr(config, "workerinput"):
        return
    for state in Path(shared).glob("cluster-*/run/cluster.json"):
        try:
            swift_cluster.stop(state.parent.parent, log=lambda _m: None)
        except swift_cluster.ClusterError:
            pass


@pytest.fixture(scope="session")
def swift_cluster_instance(request: pytest.FixtureRequest) -> Iterator[swift_cluster.SwiftCluster]:
    if os.environ.get("SCISWIFT_SKIP_CLUSTER") == "1":
        pytest.skip("SCISWIFT_SKIP_CLUSTER=1: the multi-node Swift cluster tests are skipped on request")
    shared = Path(os.environ[_SHARED_ENV])
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    root = shared / f"cluster-{worker}"
    try:
        cluster = swift_cluster.start(root, log=lambda _m: None)
    except swift_cluster.ClusterError as e:
        pytest.fail(f"the multi-node Swift cluster could not be started: {e}\n"
                    "Set SCISWIFT_SKIP_CLUSTER=1 to skip the tests that need it.", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def healthy_cluster(swift_cluster_instance: swift_cluster.SwiftCluster) -> swift_cluster.SwiftCluster:
    """The cluster with every node, link and the proxy up."""
    cluster = swift_cluster_instance
    for node in cluster.nodes:
        cluster.restore_link(node.index)
        if len(node.pids) < 3 or not all(swift_cluster.running_ours(p, cluster.root) for p in node.pids.values()):
            cluster.start_node(node.index)
    if not swift_cluster.running_ours(cluster.pids.get("proxy-server", 0), cluster.root):
        cluster.start_proxy()
    return cluster


@pytest.fixture
def fault_proxy(healthy_cluster: swift_cluster.SwiftCluster, ledger: Ledger) -> Iterator[FaultProxy]:
    proxy = FaultProxy(("127.0.0.1", healthy_cluster.proxy_port), seed=int(time.time()))
    try:
        yield proxy
    finally:
        ledger.faults_from(proxy)
        proxy.close()
