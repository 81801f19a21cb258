"""SwiftStore on a real 3-node Swift cluster (3 replicas) while it breaks: a
storage node killed during writes and during reads, its link cut, the proxy
restarted mid-transfer, and 503s, resets, delays and stalls injected between
client and proxy. The bars: every acknowledged write reads back with the right
bytes, no operation outlives its timeouts and retries, and an error that
reaches the caller names the object and says what to do.

``make test`` runs a short version; ``SCISWIFT_FAULTS=long`` (``make faults``)
runs more rounds on more data."""

from __future__ import annotations

import hashlib
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cluster_fixtures import Ledger
from sciswift.errors import NotFound, StoreUnavailable
from sciswift.store import SwiftStore
from sciswift.store.types import CREATE, ByteRange
from support.fault_proxy import FaultProxy, Rule
from support.faults import Acknowledged, advises, body, bounded, op_bound, run_threads
from support.swift_cluster import SwiftCluster

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("swift-cluster")]

MiB = 1 << 20
RETRIES, CONNECT, READ = 5, 2.0, 4.0
BOUND = op_bound(RETRIES, CONNECT, READ)
# Sizes cycle through small, medium, one MiB and a static large object (3 segments).
SIZES = (1_000, 100_000, MiB, 5 * MiB // 2)


def make_store(auth_url: str, user: str, key: str, read_timeout: float = READ) -> SwiftStore:
    return SwiftStore(auth_url, user, key, retries=RETRIES, connect_timeout=CONNECT, read_timeout=read_timeout,
                      large_object_threshold=2 * MiB, segment_size=MiB, max_workers=8)


@pytest.fixture
def store(healthy_cluster: SwiftCluster) -> Iterator[SwiftStore]:
    s = make_store(healthy_cluster.auth_url, healthy_cluster.user, healthy_cluster.key)
    yield s
    s.close()


@pytest.fixture
def container(store: SwiftStore) -> str:
    name = f"f{uuid.uuid4().hex[:10]}"
    store.create_container(name)
    return name


def write_all(store: SwiftStore, container: str, names: list[str], acked: Acknowledged, ledger: Ledger,
              on_progress: Callable[[int], None], workers: int = 4) -> list[BaseException]:
    """PUT ``names`` from ``workers`` threads, calling ``on_progress(done)`` after each."""
    todo: queue.Queue[str] = queue.Queue()
    for n in names:
        todo.put(n)
    done = itertools.count(1)

    def work(_: int) -> None:
        while True:
            try:
                name = todo.get_nowait()
            except queue.Empty:
                return
            size = SIZES[int(name.rsplit("-", 1)[1]) % len(SIZES)]
            data = body(name, size)
            t0 = time.monotonic()
            bounded(BOUND * 4, f"PUT {name}", store.put_object, container, name, data)
            ledger.op("SwiftStore put", seconds=time.monotonic() - t0)
            acked.add(name, data)
            on_progress(next(done))

    return run_threads(workers, work)


def read_all(store: SwiftStore, container: str, acked: Acknowledged, ledger: Ledger,
             on_progress: Callable[[int], None], workers: int = 4) -> list[str]:
    """GET every acknowledged object (whole, ranged and streamed in turn) from
    ``workers`` threads; returns the names read back wrong."""
    names: queue.Queue[str] = queue.Queue()
    for n in sorted(acked.md5):
        names.put(n)
    wrong: list[str] = []
    done = itertools.count(1)

    def work(i: int) -> None:
        while True:
            try:
                name = names.get_nowait()
            except queue.Empty:
                return
            t0 = time.monotonic()
            kind = (i + len(wrong)) % 3
            if kind == 0:
                data = bounded(BOUND, f"GET {name}", store.get_object, container, name)
            elif kind == 1:
                with store.open_object(container, name) as r:
                    data = bounded(BOUND * 2, f"streamed GET {name}", r.read)
            else:
                head = store.head_object(container, name)
                half = head.size // 2
                data = store.get_object(container, name, ByteRange(0, half)) + \
                    store.get_object(container, name, ByteRange(half))
            ledger.op("SwiftStore get", seconds=time.monotonic() - t0)
            if hashlib.md5(data).hexdigest() != acked.md5[name]:
                wrong.append(name)
            on_progress(next(done))

    errors = run_threads(workers, work)
    assert not errors, errors[:3]
    return wrong


def check_all_there(cluster: SwiftCluster, store: SwiftStore, container: str, acked: Acknowledged,
                    ledger: Ledger, *, settle: bool = True) -> None:
    """The bar, once the cluster is whole again (and, after node faults, its
    replicators ran): every acknowledged write reads back right and is listed."""
    if settle:
        cluster.settle()
    lost = acked.verify(store, container)
    ledger.writes_acknowledged += len(acked)
    ledger.writes_verified += len(acked) - len(lost)
    ledger.writes_lost += len(lost)
    assert lost == [], f"acknowledged writes lost or damaged: {lost[:10]}"
    listed = {o.name for o in store.list_objects(container)}
    assert set(acked.md5) <= listed, sorted(set(acked.md5) - listed)[:10]


def test_a_node_killed_during_writes_and_during_reads(
    healthy_cluster: SwiftCluster, store: SwiftStore, container: str, ledger: Ledger, faults_long: bool
) -> None:
    cluster = healthy_cluster
    rounds = 3 if faults_long else 1
    per_round = 120 if faults_long else 40
    acked = Acknowledged()
    for r in range(rounds):
        victim = 1 + r % 3
        hard = r % 2 == 0
        names = [f"r{r}/obj-{i}" for i in range(per_round)]
        stopped = threading.Event()

        def progress(done: int, victim: int = victim, hard: bool = hard,
                     stopped: threading.Event = stopped) -> None:
            if done == per_round // 3 and not stopped.is_set():
                stopped.set()
                cluster.stop_node(victim, hard=hard)
                ledger.fault(f"node stopped during writes ({'SIGKILL' if hard else 'SIGTERM'})")

        errors = write_all(store, container, names, acked, ledger, progress)
        assert stopped.is_set()
        # One node of three down: Swift still has a quorum, so every write succeeds.
        assert errors == [], errors[:3]
        cluster.start_node(victim)

        reader_victim = 1 + (r + 1) % 3
        stopped.clear()

        def read_progress(done: int, v: int = reader_victim, stopped: threading.Event = stopped) -> None:
            if done == len(acked) // 2 and not stopped.is_set():
                stopped.set()
                cluster.stop_node(v)
                ledger.fault("node stopped during reads (SIGKILL)")

        wrong = read_all(store, container, acked, ledger, read_progress)
        assert stopped.is_set() and wrong == [], wrong[:10]
        cluster.start_node(reader_victim)
    check_all_there(cluster, store, container, acked, ledger)


def test_a_cut_link_during_writes_and_reads(
    healthy_cluster: SwiftCluster, store: SwiftStore, container: str, ledger: Ledger, faults_long: bool
) -> None:
    """Packets to the node vanish (no refusal): the proxy's connect timeout moves
    it on to the other replicas."""
    cluster = healthy_cluster
    n = 90 if faults_long else 30
    acked = Acknowledged()
    cut = threading.Event()

    def progress(done: int) -> None:
        if done == n // 3 and not cut.is_set():
            cut.set()
            cluster.cut_link(2)
            ledger.fault("link cut during writes")

    errors = write_all(store, container, [f"obj-{i}" for i in range(n)], acked, ledger, progress)
    assert cut.is_set() and errors == [], errors[:3]
    wrong = read_all(store, container, acked, ledger, lambda _d: None)  # node 2 still cut off
    assert wrong == []
    cluster.restore_link(2)
    check_all_there(cluster, store, container, acked, ledger)


@pytest.mark.parametrize("direction", ["upload", "download"])
def test_the_proxy_restarted_mid_transfer(
    healthy_cluster: SwiftCluster, fault_proxy: FaultProxy, ledger: Ledger, faults_long: bool, direction: str
) -> None:
    """A transfer under way when the proxy is killed and started again: the
    store retries (a PUT is sent again whole, a streamed GET resumes where it
    broke off, pinned to the same ETag), and the bytes are right."""
    cluster = healthy_cluster
    store = make_store(fault_proxy.url + "/auth/v1.0", cluster.user, cluster.key)
    container = f"p{uuid.uuid4().hex[:10]}"
    store.create_container(container)
    # More than the sockets' buffers hold, so the restart cuts the transfer.
    size = (64 if faults_long else 24) * MiB
    data = body(f"proxy-{direction}", size)
    store.large_object_threshold = 128 * MiB  # one object: the transfer itself must survive
    if direction == "download":
        store.put_object(container, "big", data)
    # A slow link (16 MiB/s), so the restart lands in the middle of the transfer.
    fault_proxy.add(Rule("throttle", path=f"/{container}/big", rate=16 * MiB, times=None))
    start_bytes = fault_proxy.bytes_up if direction == "upload" else fault_proxy.bytes_down
    result: dict[str, Any] = {}

    def transfer() -> None:
        t0 = time.monotonic()
        try:
            if direction == "upload":
                store.put_object(container, "big", data)
            else:
                with store.open_object(container, "big") as r:
                    result["data"] = r.read()
        except BaseException as e:  # noqa: BLE001 - checked below
            result["error"] = e
        result["seconds"] = time.monotonic() - t0

    t = threading.Thread(target=transfer)
    t.start()
    deadline = time.monotonic() + 30
    while (fault_proxy.bytes_up if direction == "upload" else fault_proxy.bytes_down) - start_bytes < size // 3:
        assert time.monotonic() < deadline and t.is_alive(), "the transfer never got going"
        time.sleep(0.005)
    cluster.restart_proxy()
    ledger.fault(f"proxy restarted mid-{direction} (SIGKILL)")
    t.join(BOUND * 2)
    assert not t.is_alive(), f"the {direction} hung after the proxy restart"
    assert "error" not in result, result.get("error")
    ledger.op(f"SwiftStore {direction} across a proxy restart", seconds=result["seconds"])
    # The transfer was cut and taken up again (a PUT sent again; a GET resumed).
    assert fault_proxy.seen("PUT" if direction == "upload" else "GET", f"/{container}/big") >= 2
    if direction == "download":
        assert len(result["data"]) == size
        assert hashlib.md5(result["data"]).hexdigest() == hashlib.md5(data).hexdigest()
    acked = Acknowledged()
    acked.add("big", data)
    fault_proxy.clear()
    check_all_there(cluster, store, container, acked, ledger, settle=False)
    store.close()


# Each operation: (name, does it write, callable(store, container, i) -> None)
def _operations() -> list[tuple[str, Callable[[SwiftStore, str, int, Acknowledged], None]]]:
    def put(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        data = body(f"put-{i}", 50_000 + i)
        s.put_object(c, f"put-{i}", data)
        a.add(f"put-{i}", data)

    def put_large(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        data = body(f"slo-{i}", 5 * MiB // 2)
        s.put_object(c, f"slo-{i}", data)
        a.add(f"slo-{i}", data)

    def create(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        data = body(f"new-{i}", 3_000)
        s.put_object(c, f"new-{i}", data, mode=CREATE)
        a.add(f"new-{i}", data)

    def get(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        assert hashlib.md5(s.get_object(c, "base")).hexdigest() == a.md5["base"]

    def stream(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        with s.open_object(c, "base") as r:
            assert hashlib.md5(r.read()).hexdigest() == a.md5["base"]

    def ranged(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        assert s.get_object(c, "base", ByteRange(1000, 2000)) == body("base", 300_000)[1000:2000]

    def head_list(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        assert s.head_object(c, "base").size == 300_000
        assert "base" in {o.name for o in s.list_objects(c)}

    def post(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        s.post_object(c, "base", metadata={"round": str(i)})
        assert s.head_object(c, "base").metadata["round"] == str(i)

    def copy(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        s.copy_object(c, "base", c, f"copy-{i}")
        a.md5[f"copy-{i}"] = a.md5["base"]

    def delete(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        s.put_object(c, f"gone-{i}", b"short-lived")
        s.delete_object(c, f"gone-{i}")
        with pytest.raises(NotFound):
            s.head_object(c, f"gone-{i}")

    def many(s: SwiftStore, c: str, i: int, a: Acknowledged) -> None:
        items = {f"many-{i}/{k}": body(f"many-{i}/{k}", 2_000 + k) for k in range(8)}
        s.put_many(c, items)
        for k, v in items.items():
            a.add(k, v)
        got = s.get_many(c, list(items))
        assert got == items

    return [("put", put), ("put large", put_large), ("create-only put", create), ("get", get),
            ("streamed get", stream), ("ranged get", ranged), ("head+list", head_list), ("post", post),
            ("copy", copy), ("delete", delete), ("put_many+get_many", many)]


def _transient_faults() -> list[tuple[str, Callable[[str], list[Rule]]]]:
    """Faults the retries must absorb: each hits the operation's requests twice."""
    return [
        ("503", lambda c: [Rule("status", path=f"/{c}", times=2)]),
        ("reset before", lambda c: [Rule("reset", path=f"/{c}", times=2)]),
        ("reset mid-upload", lambda c: [Rule("reset", method="PUT", path=f"/{c}/", stage="request",
                                             after_bytes=10_000, times=2)]),
        ("answer lost", lambda c: [Rule("reset", method="PUT|POST|DELETE", path=f"/{c}/", stage="response",
                                        after_bytes=0, times=1)]),
        ("reset mid-download", lambda c: [Rule("reset", method="GET", path=f"/{c}/", stage="response",
                                               after_bytes=50_000, times=2)]),
        ("delay 1 s", lambda c: [Rule("delay", path=f"/{c}", delay=1.0, times=2)]),
        ("stall", lambda c: [Rule("stall", path=f"/{c}", times=1)]),
        ("stall mid-download", lambda c: [Rule("stall", method="GET", path=f"/{c}/", stage="response",
                                               after_bytes=50_000, times=1)]),
    ]


def test_injected_faults_are_absorbed(
    healthy_cluster: SwiftCluster, fault_proxy: FaultProxy, ledger: Ledger, faults_long: bool
) -> None:
    """Every operation meets every transient fault (short version: a rotation
    that gives each operation and each fault several meetings) and succeeds,
    with the right bytes, within its bound."""
    cluster = healthy_cluster
    # The cluster itself is whole here: a stall costs a 2 s read timeout.
    store = make_store(fault_proxy.url + "/auth/v1.0", cluster.user, cluster.key, read_timeout=2.0)
    container = f"i{uuid.uuid4().hex[:10]}"
    store.create_container(container)
    acked = Acknowledged()
    base = body("base", 300_000)
    store.put_object(container, "base", base)
    acked.add("base", base)
    ops, faults = _operations(), _transient_faults()
    if faults_long:
        pairs = [(o, f) for _ in range(2) for o in ops for f in faults]
    else:  # every operation and every fault, twice each at least (3 and 8 are coprime)
        pairs = [(ops[k % len(ops)], faults[(3 * k) % len(faults)]) for k in range(2 * len(faults))]
    failures = []
    for i, ((op_name, op), (fault_name, rules)) in enumerate(pairs):
        fault_proxy.clear()
        fault_proxy.add(*rules(container))
        t0 = time.monotonic()
        try:
            bounded(BOUND * 3, f"{op_name} with {fault_name}", op, store, container, i, acked)
        except Exception as e:  # noqa: BLE001 - collected, reported together
            failures.append(f"{op_name} with {fault_name}: {type(e).__name__}: {e}")
        ledger.op(f"SwiftStore {op_name}", seconds=time.monotonic() - t0)
    fault_proxy.clear()
    assert failures == []
    assert fault_proxy.total() >= len(pairs) // 2  # the faults did happen
    check_all_there(cluster, store, container, acked, ledger, settle=False)
    store.close()


@pytest.mark.parametrize("fault", ["503", "reset", "stall"])
def test_lasting_faults_end_in_an_error_that_names_the_object(
    healthy_cluster: SwiftCluster, fault_proxy: FaultProxy, ledger: Ledger, fault: str
) -> None:
    """A fault that outlasts every retry: the call ends within its bound, with
    StoreUnavailable naming the object and saying what to do; nothing is
    half-written (the object keeps its old bytes)."""
    cluster = healthy_cluster
    # Fewer retries and a short read timeout: a lasting stall costs each attempt
    # its whole read timeout.
    store = SwiftStore(fault_proxy.url + "/auth/v1.0", cluster.user, cluster.key, retries=1,
                       connect_timeout=CONNECT, read_timeout=1.5)
    bound = op_bound(1, CONNECT, 1.5)
    container = f"l{uuid.uuid4().hex[:10]}"
    store.create_container(container)
    store.put_object(container, "kept", b"old bytes")
    action = {"503": "status", "reset": "reset", "stall": "stall"}[fault]
    fault_proxy.add(Rule(action, method="PUT|GET", path=f"/{container}/kept", times=None))
    for what, call in (("PUT", lambda: store.put_object(container, "kept", b"new bytes")),
                       ("GET", lambda: store.get_object(container, "kept"))):
        t0 = time.monotonic()
        with pytest.raises(StoreUnavailable) as exc:
            bounded(bound, f"{what} under a lasting {fault}", call)
        ledger.op(f"SwiftStore {what} under a lasting fault", seconds=time.monotonic() - t0)
        assert advises(exc.value, f"{container}/kept"), str(exc.value)
    fault_proxy.clear()
    assert store.get_object(container, "kept") == b"old bytes"
    store.close()
