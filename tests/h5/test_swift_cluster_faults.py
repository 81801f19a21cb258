"""The h5py API (``sciswift.h5py`` on ``swift://``) on a real 3-node Swift
cluster while it breaks: a VPIC-style particle dump (eight 1-D datasets written
slice by slice, as VPIC's ranks do) with a storage node killed a third of the
way, the proxy killed and restarted two thirds of the way, and 503s and
connection resets (and, in the long run, stalls) injected at random between
client and proxy; then
reads of every value while another node is killed and a third node's link is
cut. Every value the closed file holds must read back exactly; no call may
outlive its timeouts; the short version runs in ``make test``, the long one
(more particles, more rounds) with ``SCISWIFT_FAULTS=long``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import numpy as np
import pytest

import sciswift.h5py as h5py
from cluster_fixtures import Ledger, kill_when
from sciswift.store import SwiftStore
from support.fault_proxy import FaultProxy, Rule
from support.faults import bounded, op_bound
from support.swift_cluster import SwiftCluster

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("swift-cluster")]

NAMES = ("x", "y", "z", "id1", "id2", "px", "py", "pz")
# 9 retries: the proxy restarted mid-dump once took longer than 5 retries'
# 7.3 s to answer again on a loaded 2-core machine, and once (2026-12-07,
# with the other test worker busy) longer than 7 retries' 20 s; 10 attempts
# span ~40 s.
RETRIES, CONNECT, READ = 9, 2.0, 4.0
BOUND = op_bound(RETRIES, CONNECT, READ)


def values(v: int, start: int, count: int) -> np.ndarray:
    """VPIC-IO's values for variable ``v`` at global particle indices start..start+count-1."""
    g = np.arange(start, start + count, dtype=np.int64)
    if v == 3:
        return g.astype(np.int32)
    if v == 4:
        return (2 * g + 1).astype(np.int32)
    return ((g % 100000) * 0.001 + v).astype(np.float32)


@pytest.fixture
def through_proxy(fault_proxy: FaultProxy, healthy_cluster: SwiftCluster,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A container, with ``swift://`` URLs going through the fault proxy."""
    for k, v in healthy_cluster.env(fault_proxy.url + "/auth/v1.0").items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SCISWIFT_RETRIES", str(RETRIES))
    monkeypatch.setenv("SCISWIFT_CONNECT_TIMEOUT", str(CONNECT))
    monkeypatch.setenv("SCISWIFT_READ_TIMEOUT", str(READ))
    container = f"h{uuid.uuid4().hex[:10]}"
    store = SwiftStore(healthy_cluster.auth_url, healthy_cluster.user, healthy_cluster.key)
    store.create_container(container)
    store.close()
    yield container


def random_faults(container: str, rate: float, stall_rate: float = 0.0) -> list[Rule]:
    """503s and resets (before a request, mid-upload, mid-download, a lost
    answer) on the file's requests, each with probability ``rate``; stalls
    (each costs a read timeout) with ``stall_rate``."""
    path = f"/{container}/"
    return [
        Rule("stall", path=path, times=None, probability=stall_rate),
        Rule("status", path=path, times=None, probability=rate),
        Rule("reset", path=path, times=None, probability=rate),
        Rule("reset", method="PUT", path=path, stage="request", after_bytes=30_000, times=None, probability=rate),
        Rule("reset", method="PUT", path=path, stage="response", after_bytes=0, times=None, probability=rate),
        Rule("reset", method="GET", path=path, stage="response", after_bytes=30_000, times=None,
             probability=rate),
    ]


def test_vpic_dump_and_reads_survive_node_kills_link_cuts_and_injected_faults(
    healthy_cluster: SwiftCluster, fault_proxy: FaultProxy, through_proxy: str, ledger: Ledger, faults_long: bool
) -> None:
    cluster, container = healthy_cluster, through_proxy
    ranks = 4
    per_rank = (1 << 18) if faults_long else (1 << 15)
    total = ranks * per_rank
    chunk = per_rank // 4  # every rank's slice is four chunk objects
    url = f"swift://{container}/vpic.h5"
    rounds = 2 if faults_long else 1
    for r in range(rounds):
        fault_proxy.clear()
        fault_proxy.add(*random_faults(container, 0.04, 0.005 if faults_long else 0.0))
        # Kill a node once a third of the chunk objects are on their way.
        puts = fault_proxy.seen("PUT", f"/{container}/")
        watcher = kill_when(cluster, fault_proxy, "PUT", f"/{container}/", puts + ranks * 8 * 4 // 3, 1 + r % 3,
                            ledger, "node killed during the VPIC dump")
        # ... and restart the proxy (SIGKILL) two thirds of the way.
        restarter = kill_when(cluster, fault_proxy, "PUT", f"/{container}/", puts + ranks * 8 * 4 * 2 // 3, 0,
                              ledger, "proxy restarted during the VPIC dump (SIGKILL)")
        t0 = time.monotonic()
        with h5py.File(url, "w") as f:
            step = f.create_group(f"Step#{r}")
            dsets = [step.create_dataset(n, shape=(total,), dtype="i4" if v in (3, 4) else "f4", chunks=(chunk,))
                     for v, n in enumerate(NAMES)]
            for v, d in enumerate(dsets):
                for rank in range(ranks):
                    bounded(BOUND * 8, f"writing {NAMES[v]} of rank {rank}", d.__setitem__,
                            slice(rank * per_rank, (rank + 1) * per_rank), values(v, rank * per_rank, per_rank))
                    ledger.op("h5py dataset slice write")
            f.attrs["particles"] = total
        ledger.op("h5py VPIC dump", seconds=time.monotonic() - t0)
        for w in (watcher, restarter):
            w.join(30)
            assert not w.is_alive(), "a fault never came: the dump made fewer requests than planned"
        ledger.writes_acknowledged += len(NAMES)  # the closed file's datasets

        # Reads: the killed node stays down, another is killed half-way, a third cut off.
        gets_before = fault_proxy.seen("GET", f"/{container}/")
        reader_watch = kill_when(cluster, fault_proxy, "GET", f"/{container}/", gets_before + 8, 1 + (r + 1) % 3,
                                 ledger, "node killed during VPIC reads")
        wrong = []
        with h5py.File(url, "r") as f:
            assert f.attrs["particles"] == total
            for v, n in enumerate(NAMES):
                d = f[f"Step#{r}/{n}"]
                got = bounded(BOUND * 8, f"reading {n}", d.__getitem__, slice(None))
                ledger.op("h5py dataset read")
                if not np.array_equal(got, values(v, 0, total)):
                    wrong.append(n)
        reader_watch.join(30)
        assert wrong == [], f"datasets read back wrong: {wrong}"
        cluster.start_node(1 + r % 3)
        # Two nodes down would leave no quorum: read again with one node cut off instead.
        cluster.start_node(1 + (r + 1) % 3)
        # The node killed during the dump missed writes, and the proxy avoids the one
        # just restarted for error_suppression_interval: cut off the third now and the
        # only replica it asks is the stale one (X-Newest cannot help; seen: the
        # file's first root document, 1 run in 3). A cluster's replicators bring the
        # stale node up to date first, as they do in any deployment.
        cluster.settle()
        cluster.cut_link(1 + (r + 2) % 3)
        ledger.fault("link cut during VPIC reads")
        with h5py.File(url, "r") as f:
            for v, n in enumerate(NAMES):
                got = bounded(BOUND * 8, f"reading {n} with a node cut off", f[f"Step#{r}/{n}"].__getitem__,
                              slice(rank * per_rank, (rank + 1) * per_rank))
                ledger.op("h5py dataset read")
                assert np.array_equal(got, values(v, rank * per_rank, per_rank)), n
        cluster.restore_link(1 + (r + 2) % 3)
        ledger.writes_verified += len(NAMES)
    assert fault_proxy.total() > 0  # faults were injected, and absorbed
