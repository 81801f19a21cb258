"""Group commit of LocalStore's syncs (``sciswift.store.local.syncs``): a
shared sync covers every change made before it, its failure reaches every put
it covered, and concurrent durable puts stay durable and listed."""

from __future__ import annotations

import errno
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sciswift.store import LocalStore
from sciswift.store.local.syncs import GroupSync

THREADS = 8


def _run_together(n: int, work) -> list[BaseException | None]:  # type: ignore[no-untyped-def]
    """Run ``work(i)`` in ``n`` threads started at once; each one's error or None."""
    start = threading.Barrier(n)
    out: list[BaseException | None] = [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a waiter never returned"
    return out


def test_each_caller_is_covered_by_a_sync_started_after_its_change() -> None:
    made: list[int] = []  # changes, in order
    lock = threading.Lock()
    finished: list[int] = []  # for each completed call: how many changes it covered

    def slow_sync() -> None:
        with lock:
            covered = len(made)
        time.sleep(0.05)
        with lock:
            finished.append(covered)

    group = GroupSync(slow_sync)

    def work(i: int) -> None:
        for _ in range(5):
            with lock:
                made.append(i)
                mine = len(made)  # my change is the mine-th
            group.sync()
            with lock:
                assert any(covered >= mine for covered in finished), (mine, finished)

    assert _run_together(THREADS, work) == [None] * THREADS
    assert group.calls == len(finished)
    # Shared: far fewer calls than the 40 changes (the first takes one alone,
    # then each call covers whoever arrived during the one before).
    assert group.calls < 5 * THREADS // 2, group.calls


def test_a_failed_sync_fails_every_caller_it_covered() -> None:
    entered = threading.Event()

    def sync() -> None:
        if group.calls == 1:
            entered.set()
            time.sleep(0.3)  # the others queue up behind this call...
            return
        raise OSError(errno.EIO, "Input/output error")  # ...and share this one

    group = GroupSync(sync)

    def work(i: int) -> None:
        if i:
            entered.wait(10)
        group.sync()

    errors = _run_together(THREADS, work)
    assert errors[0] is None
    assert group.calls == 2
    for e in errors[1:]:
        assert isinstance(e, OSError) and e.errno == errno.EIO, errors
    assert len({id(e) for e in errors[1:]}) == THREADS - 1  # each its own exception object
    group._sync = lambda: None
    group.sync()  # a later call is a new batch, unaffected
    assert group.calls == 3


def _objects_dir_syncs(monkeypatch: pytest.MonkeyPatch, root: Path, behave) -> list[str]:  # type: ignore[no-untyped-def]
    """Patch os.fsync so that syncs of the objects directory go through
    ``behave(n)`` (n: how many came before); returns the log of them."""
    real = os.fsync
    log: list[str] = []

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("/objects"):
            log.append("objects")
            behave(len(log) - 1)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return log


def test_concurrent_durable_puts_share_directory_syncs_and_all_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path / "acct", durable=True)
    store.create_container("c")
    log = _objects_dir_syncs(monkeypatch, tmp_path, lambda n: time.sleep(0.2 if n == 0 else 0))
    bodies = {f"obj-{i}": os.urandom(4096) for i in range(THREADS)}
    names = sorted(bodies)
    assert _run_together(THREADS, lambda i: store.put_object("c", names[i], bodies[names[i]])) == [None] * THREADS
    assert 2 <= len(log) < THREADS, log  # one slow sync, the rest shared
    assert [e.name for e in store.list_objects("c")] == names
    for name, body in bodies.items():
        assert store.get_object("c", name) == body
    store.close()
    reopened = LocalStore(tmp_path / "acct", durable=True)
    assert [e.name for e in reopened.list_objects("c")] == names


def test_a_failed_shared_directory_sync_fails_every_put_it_covered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path / "acct", durable=True)
    store.create_container("c")
    entered = threading.Event()

    def behave(n: int) -> None:
        if n == 0:
            entered.set()
            time.sleep(0.3)
            return
        raise OSError(errno.EIO, "Input/output error")

    _objects_dir_syncs(monkeypatch, tmp_path, behave)

    def work(i: int) -> None:
        if i:
            entered.wait(10)
        store.put_object("c", f"obj-{i}", b"x" * 4096)

    errors = _run_together(THREADS, work)
    assert errors[0] is None
    # Not acknowledged: every put whose rename the failed sync had to cover.
    assert all(isinstance(e, OSError) and e.errno == errno.EIO for e in errors[1:]), errors


def _body(name: str) -> bytes:
    return name.encode() * 100


def _put_from_process(root: str, worker: int, count: int) -> None:
    store = LocalStore(root, durable=True)

    def work(i: int) -> None:
        for k in range(count):
            store.put_object("c", f"p{worker}-t{i}-{k}", _body(f"p{worker}-t{i}-{k}"))

    assert _run_together(4, work) == [None] * 4
    store.close()


def test_durable_puts_from_several_processes_and_threads_all_listed(tmp_path: Path) -> None:
    root = str(tmp_path / "acct")
    LocalStore(root, durable=True).create_container("c")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_put_from_process, args=(root, w, 10)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    store = LocalStore(root, durable=True)
    expected = sorted(f"p{w}-t{i}-{k}" for w in range(2) for i in range(4) for k in range(10))
    assert [e.name for e in store.list_objects("c")] == expected
    for name in expected:
        assert store.get_object("c", name) == _body(name)


def _cdir(store: LocalStore) -> Path:
    return Path(store.root) / "c"


def test_durable_put_syncs_file_and_journal_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a put's power-loss safety rests on, call by call (the temp file's
    sync runs on a helper thread): its data and its journal entry are on disk
    before the rename, the directory after it, all before the put returns."""
    store = LocalStore(tmp_path / "acct", durable=True)
    store.create_container("c")
    store.put_object("c", "obj", b"old")
    events: list[str] = []

    def record(kind: str, real):  # type: ignore[no-untyped-def]
        def call(*args):  # type: ignore[no-untyped-def]
            if isinstance(args[0], int):
                target = os.path.relpath(os.readlink(f"/proc/self/fd/{args[0]}"), _cdir(store))
            else:
                target = os.path.relpath(args[-1], _cdir(store))
            events.append(f"{kind} {target.split('/')[0]}")
            return real(*args)

        return call

    monkeypatch.setattr(os, "fsync", record("fsync", os.fsync))
    monkeypatch.setattr(os, "fdatasync", record("fdatasync", os.fdatasync))
    monkeypatch.setattr(os, "rename", record("rename", os.rename))
    store.put_object("c", "obj", b"new" * 1000)
    events.append("returned")
    rename = events.index("rename objects")
    assert events.index("fdatasync tmp") < rename, events
    assert events.index("fdatasync journal") < rename, events
    assert rename < events.index("fsync objects") < events.index("returned"), events
    assert store.get_object("c", "obj") == b"new" * 1000


def test_a_failed_background_sync_of_the_temp_file_fails_the_put(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path / "acct", durable=True)
    store.create_container("c")
    store.put_object("c", "obj", b"old")
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        if "/tmp/" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    with pytest.raises(OSError) as caught:
        store.put_object("c", "obj", b"new")
    assert caught.value.errno == errno.EIO
    monkeypatch.undo()
    # Never renamed into place, and not left behind.
    assert store.get_object("c", "obj") == b"old"
    assert [(e.name, e.size) for e in store.list_objects("c")] == [("obj", 3)]
    assert os.listdir(_cdir(store) / "tmp") == []


def test_durable_puts_in_atexit_handlers_still_land(tmp_path: Path) -> None:
    """At interpreter exit no helper thread can start (what the h5py layer's
    ``atexit`` close of files left open meets): the syncs run in the caller."""
    root = tmp_path / "acct"
    script = f"""
import atexit
from sciswift.store import LocalStore
store = LocalStore({str(root)!r}, durable=True)
store.create_container("c")
atexit.register(lambda: store.put_object("c", "at-exit", b"written at exit"))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert LocalStore(root, durable=True).get_object("c", "at-exit") == b"written at exit"
