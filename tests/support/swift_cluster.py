"""A small real OpenStack Swift cluster: storage nodes in network namespaces.

The all-in-one (``saio.py``) runs one of each Swift server on loopback; this
launcher runs the same Swift (``swift==2.38.3``, the same cached venv) as a small
cluster that can be broken on purpose:

- ``nodes`` storage nodes (3 by default), each in a network namespace of its own
  (``ip netns``) with its own address on a private /24, joined by veth pairs to a
  bridge in the root namespace, and its own disk (a tmpfs); each runs an account,
  a container and an object server (single-process, ``workers = 0``);
- rings with ``replicas`` copies (3 by default: every node holds every object);
- one proxy (with tempauth, s3api, bulk, SLO/DLO as the all-in-one's) and
  memcached on 127.0.0.1 in the root namespace, so clients reach it as usual.

Faults a test can cause (``SwiftCluster`` methods): ``stop_node`` (SIGKILL or
SIGTERM of a node's servers) and ``start_node``; ``cut_link``/``restore_link``
(the node's veth taken down: packets vanish, connections time out);
``restart_proxy``. ``settle()`` runs the object updater and the object and
container replicators once on every node, so replicas missed during a fault
catch up (objects replicate with ``ssync``: no rsync daemon; a container
database that a node lacks entirely would need rsync, so containers are made
while all nodes are up).

The proxy's timeouts are shortened so that faults cost seconds, not minutes:
``conn_timeout`` 0.5 s, ``node_timeout`` 3 s, and a node that failed is avoided
for ``error_suppression_interval`` 5 s (Swift's defaults: 0.5, 10 and 60 s; with
60 s, a node restarted after a crash is still avoided for a minute, and a second
node failing meanwhile leaves too few for a write quorum: 503 until then).

Python::

    from support import swift_cluster
    with swift_cluster.running() as cluster:
        store = SwiftStore(cluster.auth_url, cluster.user, cluster.key)
        cluster.stop_node(2)

Command line::

    python tests/support/swift_cluster.py start ROOT [--nodes 3] [--replicas 3]
    python tests/support/swift_cluster.py env ROOT
    python tests/support/swift_cluster.py stop ROOT

Needs root (namespaces, veths, a bridge, tmpfs mounts), Debian's iproute2 and
util-linux's ``nsenter`` (the servers enter their node's network namespace
only: see ``_in_netns``).
Everything a cluster creates is recorded in ``ROOT/run/cluster.json`` (and in
``/run/sciswift-clusters/TAG.json``) before it is created, and ``stop`` removes
exactly that: its processes (by PID, after checking each still runs a command of
this ROOT), its namespaces, its bridge (which takes the veths with it) and its
mounts, also after a failed start. A cluster whose owning process died without
stopping it (a test run killed outright) is removed by the next ``start``.

Only the standard library: any Python 3.11 runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__:
    from . import saio
else:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import saio  # type: ignore[no-redef]

__all__ = ["Node", "SwiftCluster", "ClusterError", "start", "stop", "running", "running_ours", "main"]

Log = saio.Log
_PORTS = {"object-server": 6200, "container-server": 6201, "account-server": 6202}
_NODE_SERVERS = ("account-server", "container-server", "object-server")


class ClusterError(saio.SaioError):
    """The cluster could not be set up, started, changed or stopped (the message
    says why and what to do)."""


def _ip_cmd() -> str:
    found = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin")
    if not found:
        raise ClusterError("the Swift cluster needs the `ip` command: apt-get install iproute2")
    return found


def _sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ClusterError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc


@dataclass
class Node:
    """One storage node: its namespace, address, interfaces and server PIDs."""

    index: int
    ip: str
    netns: str
    veth_host: str
    veth_node: str
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def device(self) -> str:
        return f"d{self.index}"


@dataclass
class SwiftCluster:
    """A running cluster (see the module docstring). Methods change it; ``stop()``
    (or leaving ``with``) removes everything it created."""

    root: Path
    tag: str
    subnet: str
    bridge: str
    proxy_port: int
    memcached_port: int
    venv: Path
    replicas: int
    nodes: list[Node] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)
    mounts: list[str] = field(default_factory=list)
    startup_seconds: float = 0.0
    owner_pid: int = 0

    # ------------------------------------------------------------ addresses
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth/v1.0"

    @property
    def user(self) -> str:
        return saio.USERS[0].name

    @property
    def key(self) -> str:
        return saio.USERS[0].key

    def env(self, auth_url: str | None = None) -> dict[str, str]:
        """``ST_AUTH``/``ST_USER``/``ST_KEY`` (``auth_url`` to go through a proxy of the test's)."""
        return {"ST_AUTH": auth_url or self.auth_url, "ST_USER": self.user, "ST_KEY": self.key}

    def node(self, index: int) -> Node:
        return self.nodes[index - 1]

    # --------------------------------------------------------------- faults
    def stop_node(self, index: int, *, hard: bool = True) -> None:
        """Stop node ``index``'s servers: SIGKILL (a crash) or SIGTERM."""
        node = self.node(index)
        _stop_groups(self.root, node.pids, signal.SIGKILL if hard else signal.SIGTERM)
        node.pids = {}
        self.save()

    def start_node(self, index: int, timeout: float = 30.0) -> None:
        """Start node ``index``'s servers again; returns when they answer."""
        node = self.node(index)
        for server in _NODE_SERVERS:
            if not running_ours(node.pids.get(server, 0), self.root):
                node.pids[server] = _spawn(self, f"node{index}-{server}",
                                           _swift(self, f"swift-{server}", f"node{index}/{server}.conf"),
                                           netns=node.netns)
        self.save()
        _wait_node(self, node, timeout)

    def cut_link(self, index: int) -> None:
        """Take node ``index``'s link down: its packets vanish (no reset, no refusal)."""
        _sh(_ip_cmd(), "link", "set", self.node(index).veth_host, "down")

    def restore_link(self, index: int) -> None:
        _sh(_ip_cmd(), "link", "set", self.node(index).veth_host, "up")

    def stop_proxy(self, *, hard: bool = True) -> None:
        _stop_groups(self.root, {"proxy-server": self.pids.pop("proxy-server", 0)},
                     signal.SIGKILL if hard else signal.SIGTERM)
        self.save()

    def start_proxy(self, timeout: float = 30.0) -> None:
        self.pids["proxy-server"] = _spawn(self, "proxy-server", _swift(self, "swift-proxy-server",
                                                                          "proxy-server.conf"))
        self.save()
        _wait_auth(self, timeout)

    def restart_proxy(self, *, hard: bool = True, timeout: float = 30.0) -> None:
        """Stop the proxy (SIGKILL by default: connections in flight are cut) and
        start it again on the same port."""
        self.stop_proxy(hard=hard)
        self.start_proxy(timeout)

    def settle(self, timeout: float = 120.0) -> None:
        """Run the object updater and the object and container replicators once
        on every running node (all nodes at once), so replicas missed during a
        fault catch up."""
        procs = []
        for node in self.nodes:
            if not node.pids:
                continue
            cmd = _in_netns(node.netns, [str(self.venv / "bin" / "python"), str(self.root / "etc" / "settle.py"),
                                         str(self.root / "etc" / "swift.conf"),
                                         str(self.root / "etc" / f"node{node.index}")])
            procs.append((node, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
        failed = []
        for node, proc in procs:
            try:
                _, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            if proc.returncode != 0:
                failed.append(f"node {node.index}: {err.strip()[-1500:]}")
        if failed:
            raise ClusterError("settling the cluster failed: " + "; ".join(failed))

    # ------------------------------------------------------------ lifetime
    def stop(self, *, log: Log | None = None) -> None:
        """Remove everything this cluster created (idempotent)."""
        _teardown(self, log or (lambda _m: None))

    def __enter__(self) -> SwiftCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def save(self) -> None:
        """Record the state under ``root`` and in the machine's registry (which
        outlives ``root``: see ``_sweep_abandoned``)."""
        state = asdict(self)
        state["root"], state["venv"] = str(self.root), str(self.venv)
        text = json.dumps(state, indent=2) + "\n"
        for path in (_state_file(self.root), _REGISTRY / f"{self.tag}.json"):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, path)

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> SwiftCluster:
        path = _state_file(Path(root).resolve())
        try:
            state = json.loads(path.read_text())
        except FileNotFoundError:
            raise ClusterError(f"no Swift cluster recorded at {path}") from None
        state["root"], state["venv"] = Path(state["root"]), Path(state["venv"])
        state["nodes"] = [Node(**n) for n in state["nodes"]]
        return cls(**state)

    def alive(self) -> bool:
        """True if every recorded process runs and the proxy authenticates."""
        pids = [*self.pids.values(), *(p for n in self.nodes for p in n.pids.values())]
        if not pids or not all(running_ours(p, self.root) for p in pids):
            return False
        try:
            saio._authenticate(self.auth_url, saio.USERS[0], timeout=5)
        except (OSError, saio.SaioError):
            return False
        return True


def _state_file(root: Path) -> Path:
    return root / "run" / "cluster.json"


# Every cluster of this machine, by tag, with the PID of the process that owns it
# (0: started from the command line, stopped by hand).
_REGISTRY = Path("/run/sciswift-clusters")


def _sweep_abandoned(log: Log) -> None:
    """Remove clusters whose owning process is gone (a test run killed before
    its cleanup could run): their namespaces, bridges, mounts and processes."""
    for entry in sorted(_REGISTRY.glob("*.json")):
        try:
            state = json.loads(entry.read_text())
        except (OSError, ValueError):
            continue
        owner = int(state.get("owner_pid", 0))
        if not owner or Path(f"/proc/{owner}").exists():
            continue
        state["root"], state["venv"] = Path(state["root"]), Path(state["venv"])
        state["nodes"] = [Node(**n) for n in state["nodes"]]
        log(f"removing the cluster {state['tag']} of process {owner}, which is gone")
        with contextlib.suppress(ClusterError):
            _teardown(SwiftCluster(**state), log)


# ------------------------------------------------------------------- start
def _pick_subnet() -> ipaddress.IPv4Network:
    """A free /24 in 10.213.0.0/16 (none of the host's addresses or routes in it)."""
    used = _sh(_ip_cmd(), "-4", "route", "show", "table", "all").stdout + _sh(_ip_cmd(), "-4", "addr").stdout
    for third in range(1 + secrets.randbelow(200), 255):
        net = ipaddress.IPv4Network(f"10.213.{third}.0/24")
        if f"10.213.{third}." not in used:
            return net
    raise ClusterError("no free /24 left in 10.213.0.0/16 for the cluster's bridge")


def start(
    root: str | os.PathLike[str],
    *,
    nodes: int = 3,
    replicas: int = 3,
    node_size: str = "1g",
    log_level: str = "INFO",
    timeout: float = 60.0,
    owned: bool = True,
    log: Log = saio._default_log,
) -> SwiftCluster:
    """Build and start a cluster under ``root`` (wiped first); returns when auth
    works and every node answers. On any failure everything created so far is
    removed again and ClusterError says why. An ``owned`` cluster belongs to
    this process: if it ends without stopping it, the next ``start`` on this
    machine removes it."""
    if os.geteuid() != 0:
        raise ClusterError("the Swift cluster needs root (network namespaces, a bridge, tmpfs mounts)")
    if not 1 <= replicas <= nodes:
        raise ClusterError(f"replicas must be between 1 and the number of nodes ({nodes}), not {replicas}")
    root = Path(root).resolve()
    with contextlib.suppress(ClusterError):
        old = SwiftCluster.load(root)
        if old.alive():
            raise ClusterError(f"a Swift cluster is still running at {root}; stop it first")
        old.stop()
    ip = _ip_cmd()
    _sweep_abandoned(log)
    memcached = saio._ensure_program("memcached", "memcached", log)
    venv = saio.ensure_venv(log=log)
    t0 = time.monotonic()
    for sub in ("etc", "run", "log", "srv"):
        shutil.rmtree(root / sub, ignore_errors=True)
        (root / sub).mkdir(parents=True)
    tag = secrets.token_hex(2)
    net = _pick_subnet()
    hosts = list(net.hosts())
    cluster = SwiftCluster(root=root, tag=tag, subnet=str(net), bridge=f"ssw{tag}br", venv=venv,
                           proxy_port=saio._free_port(), memcached_port=saio._free_port(), replicas=replicas,
                           owner_pid=os.getpid() if owned else 0)
    cluster.nodes = [Node(i, str(hosts[10 + i]), f"sciswift-{tag}-n{i}", f"ssw{tag}h{i}", f"ssw{tag}n{i}")
                     for i in range(1, nodes + 1)]
    cluster.save()  # from here on, stop() knows what to remove
    try:
        _sh(ip, "link", "add", cluster.bridge, "type", "bridge")
        _sh(ip, "addr", "add", f"{hosts[0]}/{net.prefixlen}", "dev", cluster.bridge)
        _sh(ip, "link", "set", cluster.bridge, "up")
        for node in cluster.nodes:
            _sh(ip, "netns", "add", node.netns)
            _sh(ip, "link", "add", node.veth_host, "type", "veth", "peer", "name", node.veth_node)
            _sh(ip, "link", "set", node.veth_node, "netns", node.netns)
            _sh(ip, "link", "set", node.veth_host, "master", cluster.bridge)
            _sh(ip, "link", "set", node.veth_host, "up")
            _sh(ip, "netns", "exec", node.netns, ip, "addr", "add", f"{node.ip}/{net.prefixlen}",
                "dev", node.veth_node)
            _sh(ip, "netns", "exec", node.netns, ip, "link", "set", node.veth_node, "up")
            _sh(ip, "netns", "exec", node.netns, ip, "link", "set", "lo", "up")
            disk = root / "srv" / f"node{node.index}"
            (disk).mkdir(parents=True)
            cluster.mounts.append(str(disk))
            cluster.save()
            _sh("mount", "-t", "tmpfs", "-o", f"size={node_size},mode=0755", f"sciswift-{tag}-n{node.index}",
                str(disk))
            (disk / node.device).mkdir()
        _write_configs(cluster, log_level)
        saio._run([str(venv / "bin" / "python"), str(root / "etc" / "prepare.py"), str(root)],
                  "building the cluster's rings")
        cluster.pids["memcached"] = _spawn(cluster, "memcached", [
            memcached, "-l", "127.0.0.1", "-p", str(cluster.memcached_port), "-U", "0", "-m", "64",
            "-c", "1024", "-u", saio._user_name()])
        for node in cluster.nodes:
            for server in _NODE_SERVERS:
                node.pids[server] = _spawn(cluster, f"node{node.index}-{server}",
                                           _swift(cluster, f"swift-{server}", f"node{node.index}/{server}.conf"),
                                           netns=node.netns)
        cluster.pids["proxy-server"] = _spawn(cluster, "proxy-server",
                                              _swift(cluster, "swift-proxy-server", "proxy-server.conf"))
        cluster.save()
        for node in cluster.nodes:
            _wait_node(cluster, node, timeout)
        _wait_auth(cluster, timeout)
    except BaseException:
        cluster.stop(log=log)
        raise
    cluster.startup_seconds = time.monotonic() - t0
    cluster.save()
    log(f"Swift {saio.SWIFT_VERSION} cluster of {nodes} nodes ({replicas} replicas) ready at {cluster.url} "
        f"in {cluster.startup_seconds:.1f} s (subnet {net}, root {root})")
    return cluster


@contextlib.contextmanager
def running(root: str | os.PathLike[str] | None = None, **options: object) -> Iterator[SwiftCluster]:
    """A started cluster for the duration of a ``with`` block (in a temporary
    folder, removed afterwards, without ``root``)."""
    with contextlib.ExitStack() as stack:
        if root is None:
            root = stack.enter_context(tempfile.TemporaryDirectory(prefix="sciswift-cluster-"))
        cluster = start(root, **options)  # type: ignore[arg-type]
        stack.callback(cluster.stop)
        yield cluster


def stop(root: str | os.PathLike[str], *, log: Log = saio._default_log) -> None:
    """Stop the cluster recorded under ``root`` (from any process)."""
    try:
        cluster = SwiftCluster.load(root)
    except ClusterError:
        log(f"no cluster recorded under {root}")
        return
    cluster.stop(log=log)
    log("stopped")


def _swift(cluster: SwiftCluster, script: str, conf: str) -> list[str]:
    etc = cluster.root / "etc"
    return [str(cluster.venv / "bin" / "python"), str(etc / "launch.py"), str(etc / "swift.conf"),
            script, str(etc / conf), "-v"]


def _in_netns(netns: str, cmd: list[str]) -> list[str]:
    """``cmd`` run in network namespace ``netns`` only. Not ``ip netns exec``: that
    also gives the command a mount namespace of its own, a copy of ours, and a
    FUSE mount made before the copy (the mount tests') then lives on in it after
    we unmount ours, so its process never ends. ``nsenter`` execs the command,
    so its PID is the command's."""
    nsenter = shutil.which("nsenter") or shutil.which("nsenter", path="/usr/bin:/bin")
    if not nsenter:
        raise ClusterError("the Swift cluster needs nsenter: apt-get install util-linux")
    return [nsenter, f"--net=/run/netns/{netns}", *cmd]


def _spawn(cluster: SwiftCluster, name: str, cmd: list[str], netns: str | None = None) -> int:
    """Start ``cmd`` in its own session (in ``netns``); returns its PID."""
    if netns is not None:
        cmd = _in_netns(netns, cmd)
    with open(cluster.root / "log" / f"{name}.log", "ab") as out:
        out.write(f"=== {time.strftime('%H:%M:%S')} starting {name}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=cluster.root)
    _children[proc.pid] = proc  # reaped by _reap (no zombies while the test process lives)
    return proc.pid


_children: dict[int, subprocess.Popen[bytes]] = {}


def running_ours(pid: int, root: Path) -> bool:
    """True while ``pid`` runs a command of this cluster. A child of this process
    is asked directly; another's is recognised by its command line, read again
    if it comes back empty (it does for a moment while a process execs)."""
    if not pid:
        return False
    proc = _children.get(pid)
    if proc is not None:
        return proc.poll() is None
    for _ in range(5):
        if saio._is_ours(pid, root):
            return True
        if not Path(f"/proc/{pid}").exists():
            return False
        time.sleep(0.01)
    return False


def _wait_node(cluster: SwiftCluster, node: Node, timeout: float) -> None:
    """Wait until the node's three servers accept connections."""
    deadline = time.monotonic() + timeout
    for server, port in _PORTS.items():
        while True:
            pid = node.pids.get(server, 0)
            if not running_ours(pid, cluster.root):
                log_file = cluster.root / "log" / f"node{node.index}-{server}.log"
                text = log_file.read_text(errors="replace") if log_file.exists() else ""
                tail = text[text.rfind("=== "):][-3000:]
                raise ClusterError(f"node {node.index}'s {server} (pid {pid}) is not running; "
                                   f"{log_file} ends:\n{tail}")
            with socket.socket() as s:
                s.settimeout(1)
                if s.connect_ex((node.ip, port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise ClusterError(f"node {node.index}'s {server} does not answer on {node.ip}:{port} "
                                   f"after {timeout:.0f} s; logs in {cluster.root}/log")
            time.sleep(0.1)


def _wait_auth(cluster: SwiftCluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        pid = cluster.pids.get("proxy-server", 0)
        if not running_ours(pid, cluster.root):
            tail = (cluster.root / "log" / "proxy-server.log").read_text(errors="replace")[-2000:]
            raise ClusterError(f"the proxy (pid {pid}) exited during start-up:\n{tail}")
        try:
            url, token = saio._authenticate(cluster.auth_url, saio.USERS[0], timeout=5)
            req = urllib.request.Request(url, method="HEAD", headers={"X-Auth-Token": token})
            with urllib.request.urlopen(req, timeout=10):
                return
        except (OSError, saio.SaioError) as e:
            last = str(e)
        if time.monotonic() > deadline:
            raise ClusterError(f"cluster proxy at {cluster.url} not ready after {timeout:.0f} s ({last})")
        time.sleep(0.1)


# -------------------------------------------------------------------- stop
def _stop_groups(root: Path, pids: dict[str, int], sig: int) -> None:
    """Signal each process group of ``pids`` that still runs a command of ``root``
    and wait (10 s, then SIGKILL) until it is gone (and reaped)."""
    groups = [pid for pid in pids.values() if running_ours(pid, root)]
    for pid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
    deadline = time.monotonic() + 10
    for pid in groups:
        while saio._group_alive(pid) and time.monotonic() < deadline:
            _reap()
            time.sleep(0.02)
        if saio._group_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    for pid in groups:
        proc = _children.pop(pid, None)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
    _reap()


def _reap() -> None:
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def _teardown(cluster: SwiftCluster, log: Log) -> None:
    ip = _ip_cmd()
    pids = {f"node{n.index}-{s}": p for n in cluster.nodes for s, p in n.pids.items()}
    pids.update(cluster.pids)
    _stop_groups(cluster.root, pids, signal.SIGTERM)
    for node in cluster.nodes:
        node.pids = {}
        if _sh(ip, "netns", "pids", node.netns, check=False).stdout.strip():
            log(f"namespace {node.netns} still holds processes; deleting it anyway")
        _sh(ip, "netns", "del", node.netns, check=False)  # takes the node's veth end, hence the pair
        _sh(ip, "link", "del", node.veth_host, check=False)
    _sh(ip, "link", "del", cluster.bridge, check=False)
    for mount in cluster.mounts:
        if os.path.ismount(mount) and _sh("umount", mount, check=False).returncode != 0:
            _sh("umount", "-l", mount, check=False)
    cluster.pids = {}
    cluster.mounts = [m for m in cluster.mounts if os.path.ismount(m)]
    with contextlib.suppress(OSError):
        cluster.save()
    leftovers = [n.netns for n in cluster.nodes if n.netns in _sh(ip, "netns", "list", check=False).stdout]
    if leftovers or cluster.mounts:
        raise ClusterError(f"could not remove {leftovers + cluster.mounts}")
    (_REGISTRY / f"{cluster.tag}.json").unlink(missing_ok=True)


# ----------------------------------------------------------------- configs
_PREPARE = '''\
import json, os, sys
from swift.common.ring import RingBuilder

root = sys.argv[1]
state = json.load(open(os.path.join(root, "run", "cluster.json")))
ports = {"account": 6202, "container": 6201, "object": 6200}
for ring, port in ports.items():
    builder = RingBuilder(6, state["replicas"], 0)
    for node in state["nodes"]:
        builder.add_dev({"id": node["index"] - 1, "region": 1, "zone": node["index"], "ip": node["ip"],
                         "port": port, "replication_ip": node["ip"], "replication_port": port,
                         "device": "d%d" % node["index"], "weight": 100.0, "meta": ""})
    builder.rebalance(seed=1)
    builder.get_ring().save(os.path.join(root, "etc", ring + ".ring.gz"))
probe = os.path.join(root, "srv", "node1", "d1", ".xattr-probe")
open(probe, "w").close()
try:
    os.setxattr(probe, "user.swift.metadata", b"x" * 16384)
except OSError as e:
    sys.exit(f"the nodes' tmpfs cannot hold Swift's metadata xattrs: {e}")
finally:
    os.unlink(probe)
'''

# One interpreter per node runs each background daemon once (settle()).
_SETTLE = '''\
import sys
import swift.common.utils
swift.common.utils.SWIFT_CONF_FILE = sys.argv[1]
from swift.common.utils import readconf
from swift.obj.updater import ObjectUpdater
from swift.obj.replicator import ObjectReplicator
from swift.container.replicator import ContainerReplicator

etc = sys.argv[2]
for cls, conf, section in ((ObjectUpdater, "object-server.conf", "object-updater"),
                           (ObjectReplicator, "object-server.conf", "object-replicator"),
                           (ContainerReplicator, "container-server.conf", "container-replicator")):
    cls(readconf(f"{etc}/{conf}", section)).run_once()
'''


def _write_configs(cluster: SwiftCluster, log_level: str) -> None:
    etc, run = cluster.root / "etc", cluster.root / "run"
    user = saio._user_name()
    (etc / "launch.py").write_text(saio._LAUNCHER)
    (etc / "prepare.py").write_text(_PREPARE)
    (etc / "settle.py").write_text(_SETTLE)
    (etc / "swift.conf").write_text(textwrap.dedent(f"""\
        [swift-hash]
        swift_hash_path_prefix = sciswift-cluster-{cluster.tag}
        swift_hash_path_suffix = sciswift-cluster-{cluster.tag}

        [storage-policy:0]
        name = gold
        default = yes
        """))
    for node in cluster.nodes:
        d = etc / f"node{node.index}"
        d.mkdir()
        for server, port in _PORTS.items():
            kind = server.split("-")[0]
            daemons = {
                "object": """
                    [object-replicator]
                    sync_method = ssync
                    concurrency = 2
                    [object-updater]
                    interval = 1
                    [object-auditor]
                    """,
                "container": """
                    [container-replicator]
                    [container-updater]
                    interval = 1
                    [container-auditor]
                    [container-sharder]
                    """,
                "account": """
                    [account-replicator]
                    [account-auditor]
                    [account-reaper]
                    """,
            }[kind]
            (d / f"{server}.conf").write_text(textwrap.dedent(f"""\
                [DEFAULT]
                swift_dir = {etc}
                devices = {cluster.root}/srv/node{node.index}
                mount_check = false
                disable_fallocate = true
                bind_ip = {node.ip}
                bind_port = {port}
                workers = 0
                user = {user}
                log_name = node{node.index}-{server}
                log_level = {log_level}
                log_address = {run}/no-syslog
                recon_cache_path = {run}/node{node.index}

                [pipeline:main]
                pipeline = {server}

                [app:{server}]
                use = egg:swift#{kind}
                """) + textwrap.dedent(daemons))
        (run / f"node{node.index}").mkdir(exist_ok=True)
    (etc / "proxy-server.conf").write_text(textwrap.dedent(f"""\
        [DEFAULT]
        swift_dir = {etc}
        bind_ip = 127.0.0.1
        bind_port = {cluster.proxy_port}
        workers = 1
        user = {user}
        log_name = proxy-server
        log_level = {log_level}
        log_address = {run}/no-syslog

        [pipeline:main]
        pipeline = {saio.PROXY_PIPELINE}

        [app:proxy-server]
        use = egg:swift#proxy
        account_autocreate = true
        allow_account_management = true
        conn_timeout = 0.5
        node_timeout = 3
        recoverable_node_timeout = 3
        client_timeout = 30
        error_suppression_interval = 5

        """) + saio.proxy_filter_sections(cluster.memcached_port))


# ---------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/support/swift_cluster.py",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="build and start a cluster under ROOT")
    p_start.add_argument("root")
    p_start.add_argument("--nodes", type=int, default=3)
    p_start.add_argument("--replicas", type=int, default=3)
    p_start.add_argument("--log-level", default="INFO")
    for name in ("stop", "env"):
        sub.add_parser(name).add_argument("root")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            cluster = start(args.root, nodes=args.nodes, replicas=args.replicas, log_level=args.log_level,
                            owned=False)
            for k, v in cluster.env().items():
                print(f"export {k}={v}")
        elif args.command == "stop":
            stop(args.root)
        else:
            for k, v in SwiftCluster.load(args.root).env().items():
                print(f"export {k}={v}")
    except ClusterError as e:
        print(f"swift_cluster: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
