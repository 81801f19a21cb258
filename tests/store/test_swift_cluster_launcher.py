"""The cluster launcher cleans up after itself: a cluster whose owning process
was killed outright (no finalizer ran) is removed by the next start, with its
processes, namespaces, bridge and mounts; a start that fails removes what it had
made."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import swift_cluster

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("swift-cluster")]

TESTS = Path(__file__).resolve().parents[1]


def _exists(kind: str, name: str) -> bool:
    out = subprocess.run(["ip", kind, "list"] if kind == "netns" else ["ip", "link", "show", name],
                         capture_output=True, text=True).stdout
    return name in out


def test_a_cluster_whose_owner_was_killed_is_removed_by_the_next_start(tmp_path: Path) -> None:
    root = tmp_path / "abandoned"
    owner = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]); "
         "from support import swift_cluster as c; c.start(sys.argv[2], log=lambda m: None); "
         "print('up', flush=True); time.sleep(600)", str(TESTS), str(root)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "up"
        cluster = swift_cluster.SwiftCluster.load(root)
        pids = [p for n in cluster.nodes for p in n.pids.values()] + list(cluster.pids.values())
        assert all(swift_cluster.running_ours(p, root) for p in pids)
    finally:
        os.kill(owner.pid, signal.SIGKILL)  # no cleanup of its own
        owner.wait()
    assert _exists("netns", cluster.nodes[0].netns) and os.path.ismount(cluster.mounts[0])

    swift_cluster._sweep_abandoned(lambda m: None)  # what every start does first

    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() and swift_cluster.saio._is_ours(p, root) for p in pids):
        assert time.monotonic() < deadline, "processes of the abandoned cluster still run"
        time.sleep(0.05)
    assert not any(_exists("netns", n.netns) for n in cluster.nodes)
    assert not _exists("link", cluster.bridge)
    assert not any(os.path.ismount(m) for m in cluster.mounts)
    assert not (Path("/run/sciswift-clusters") / f"{cluster.tag}.json").exists()


def test_a_failed_start_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[swift_cluster.SwiftCluster] = []
    real = swift_cluster._write_configs

    def broken(cluster: swift_cluster.SwiftCluster, log_level: str) -> None:
        made.append(cluster)
        real(cluster, log_level)
        (cluster.root / "etc" / "proxy-server.conf").write_text("[DEFAULT]\nthis is not a Swift config\n")

    monkeypatch.setattr(swift_cluster, "_write_configs", broken)
    with pytest.raises(swift_cluster.ClusterError):
        swift_cluster.start(tmp_path / "broken", log=lambda m: None, timeout=20)
    (cluster,) = made
    assert not any(_exists("netns", n.netns) for n in cluster.nodes)
    assert not _exists("link", cluster.bridge)
    assert not any(os.path.ismount(cluster.root / "srv" / f"node{n.index}") for n in cluster.nodes)
    pids = [p for n in swift_cluster.SwiftCluster.load(tmp_path / "broken").nodes for p in n.pids.values()]
    assert pids == []
