"""``sciswift mount`` on a real 3-node Swift cluster while it breaks: the
VPIC-IO kernel (C, MPI-IO, HDF5) writes through the mount while a storage node
is killed, the proxy is killed and restarted, and 503s and connection resets
are injected between the mount and the proxy; its file must be byte-identical to the kernel's file on a local disk.
BD-CATS then reads every value back through the mount while another node is
killed and a third one's link is cut. A fault that outlasts the retries is EIO
at close, a log line naming the file and the cause, and the stored object is
unchanged. Short in ``make test``; ``SCISWIFT_FAULTS=long`` runs more ranks,
more particles and more rounds."""

from __future__ import annotations

import errno
import filecmp
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from cluster_fixtures import Ledger, kill_when
from sciswift.store import SwiftStore
from support.fault_proxy import FaultProxy, Rule
from support.swift_cluster import SwiftCluster

from .conftest import Mounted, mpirun

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("swift-cluster")]

TUNING = {"SCISWIFT_RETRIES": "5", "SCISWIFT_CONNECT_TIMEOUT": "2", "SCISWIFT_READ_TIMEOUT": "4"}


def random_faults(container: str, rate: float) -> list[Rule]:
    path = f"/{container}"
    return [
        Rule("status", path=path, times=None, probability=rate),
        Rule("reset", path=path, times=None, probability=rate),
        Rule("reset", method="PUT", path=path, stage="request", after_bytes=100_000, times=None, probability=rate),
        Rule("reset", method="PUT", path=path, stage="response", after_bytes=0, times=None, probability=rate),
        Rule("reset", method="GET", path=path, stage="response", after_bytes=100_000, times=None, probability=rate),
    ]


def test_vpic_through_the_mount_survives_node_kills_link_cuts_and_injected_faults(
    healthy_cluster: SwiftCluster, fault_proxy: FaultProxy, mount: Callable[..., Mounted], kernels: Path,
    tmp_path: Path, ledger: Ledger, faults_long: bool
) -> None:
    cluster = healthy_cluster
    ranks = 4 if faults_long else 2
    particles = 200_000 if faults_long else 40_000  # per rank; 32 bytes each: 1.2 MiB a rank (short)
    reference = tmp_path / "reference.h5"
    mpirun(ranks, str(kernels / "vpicio"), str(reference), str(particles))
    direct = SwiftStore(cluster.auth_url, cluster.user, cluster.key)
    container = f"m{uuid.uuid4().hex[:10]}"
    direct.create_container(container)
    env = {**cluster.env(fault_proxy.url + "/auth/v1.0"), **TUNING}
    m = mount(f"swift://{container}", "--segment-size", "1M", env=env)
    rounds = 2 if faults_long else 1
    for r in range(rounds):
        fault_proxy.clear()
        fault_proxy.add(*random_faults(container, 0.03))
        puts = fault_proxy.seen("PUT", f"/{container}")
        target = m.path / f"vpic-{r}.h5"
        watcher = kill_when(cluster, fault_proxy, "PUT", f"/{container}", puts + 2, 1 + r % 3, ledger,
                            "node killed during VPIC-IO through the mount", even_if_late=False)
        restarter = kill_when(cluster, fault_proxy, "PUT", f"/{container}", puts + 4, 0, ledger,
                              "proxy restarted during VPIC-IO through the mount (SIGKILL)", even_if_late=False)
        t0 = time.monotonic()
        mpirun(ranks, str(kernels / "vpicio"), str(target), str(particles), timeout=300)
        ledger.op("mount: VPIC-IO run", seconds=time.monotonic() - t0)
        for w in (watcher, restarter):
            w.join(30)
            assert not w.is_alive()
        ledger.writes_acknowledged += 1
        # The file, through the mount and from the store, is the kernel's file on a local disk.
        assert filecmp.cmp(target, reference, shallow=False), "the file read through the mount differs"
        assert direct.get_object(container, target.name) == reference.read_bytes()
        cluster.start_node(1 + r % 3)

        # BD-CATS reads everything back: a node killed half-way, then a link cut.
        gets = fault_proxy.seen("GET", f"/{container}")
        reader = kill_when(cluster, fault_proxy, "GET", f"/{container}", gets + 2, 1 + (r + 1) % 3, ledger,
                           "node killed during BD-CATS through the mount", even_if_late=False)
        out = mpirun(ranks, str(kernels / "bdcats"), str(target), timeout=300).stdout
        reader.join(30)
        assert "0 mismatching values" in out, out
        ledger.op("mount: BD-CATS run")
        cluster.start_node(1 + (r + 1) % 3)
        # As in tests/h5/test_swift_cluster_faults.py: the node that missed writes
        # catches up before a second replica is taken away.
        cluster.settle()
        cluster.cut_link(1 + (r + 2) % 3)
        ledger.fault("link cut during BD-CATS through the mount")
        out = mpirun(ranks, str(kernels / "bdcats"), str(target), timeout=300).stdout
        assert "0 mismatching values" in out, out
        ledger.op("mount: BD-CATS run")
        cluster.restore_link(1 + (r + 2) % 3)
        ledger.writes_verified += 1
    assert fault_proxy.total() > 0

    # A fault that outlasts every retry: EIO at close, a log line naming the
    # file and the cause, the stored object unchanged.
    fault_proxy.clear()
    (m.path / "kept.txt").write_bytes(b"old content")
    fault_proxy.add(Rule("status", method="PUT", path=f"/{container}/kept.txt", times=None))
    f = open(m.path / "kept.txt", "wb")
    f.write(b"new content")
    t0 = time.monotonic()
    with pytest.raises(OSError) as exc:
        f.close()
    ledger.op("mount: close under a lasting 503", seconds=time.monotonic() - t0)
    assert exc.value.errno == errno.EIO
    assert time.monotonic() - t0 < 60
    line = next(line for line in m.log.splitlines() if "EIO close /kept.txt" in line)
    assert f"{container}/kept.txt" in line and "try again" in line, line
    assert direct.get_object(container, "kept.txt") == b"old content"
    fault_proxy.clear()  # the pending content goes out once Swift takes it again
    deadline = time.monotonic() + 60
    while direct.get_object(container, "kept.txt") != b"new content":
        assert time.monotonic() < deadline, "the pending content was never stored"
        time.sleep(0.5)
    assert os.path.ismount(m.path)
    direct.close()
