"""LocalStore with several processes and threads writing one container at once:
single puts (object files) and batched puts (packs) of the same and of different
names, deletes, compare-and-swap, and readers running through all of it."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import traceback
from pathlib import Path

import pytest
from local_store_checks import assert_consistent

import sciswift.store.local.store as local_store_module
from sciswift.errors import AlreadyExists, InvalidInput
from sciswift.store.local import LocalStore
from sciswift.store.types import CREATE, IfMatch, ListingParams, ObjectInfo

PROCESSES = 4
THREADS = 2
OWN = 40  # objects private to each thread
SHARED = 8  # objects every thread overwrites
ROUNDS = 3


def _body(proc: int, thread: int, key: int) -> bytes:
    return f"p{proc}-t{thread}-k{key}|".encode() * (50 + 13 * proc + thread)


def _worker(
    root: str, proc: int, durable: bool, start: threading.Barrier, out: multiprocessing.Queue  # type: ignore[type-arg]
) -> None:
    store = LocalStore(root, durable=durable)
    start.wait(60)  # every process starts writing at the same moment
    wins: list[str] = []
    errors: list[str] = []

    def run(thread: int) -> None:
        try:
            for r in range(ROUNDS):
                for k in range(OWN):
                    store.put_object("c", f"own/p{proc}/t{thread}/{k}", _body(proc, thread, k))
                for k in range(SHARED):
                    store.put_object("c", f"shared/{k}", _body(proc, thread, k))
                # The same names again, packed: files and packs replace each other.
                store.put_many("c", {f"shared/{k}": _body(proc, thread, k) for k in range(0, SHARED, 2)})
                store.put_many("c", {f"batch/p{proc}/t{thread}/{r}/{k}": b"b" * k for k in range(20)})
                for k in range(SHARED):
                    try:
                        store.put_object("c", f"once/{k}", _body(proc, thread, k), mode=CREATE)
                        wins.append(f"once/{k}")
                    except AlreadyExists:
                        pass
                # A counter incremented with compare-and-swap: no update may be lost.
                while True:
                    current = store.head_object("c", "counter")
                    value = int(store.get_object("c", "counter"))
                    try:
                        store.put_object("c", "counter", str(value + 1).encode(), mode=IfMatch(current.etag))
                        break
                    except Exception as e:  # PreconditionFailed: somebody else won, retry
                        if type(e).__name__ != "PreconditionFailed":
                            raise
            store.delete_many("c", [f"batch/p{proc}/t{thread}/0/{k}" for k in range(20)])
        except BaseException as e:  # pragma: no cover - reported to the parent
            errors.append(f"{e!r} {getattr(e, 'sqlite_errorname', '')}\n{traceback.format_exc()}")

    writing = True
    valid = {k: {_body(p, t, k) for p in range(PROCESSES) for t in range(THREADS)} for k in range(SHARED)}

    def read() -> None:
        """Every read of a shared object, whole or streamed, is one whole version."""
        try:
            while writing:
                for k in range(SHARED):
                    assert store.get_object("c", f"shared/{k}") in valid[k]
                    with store.open_object("c", f"shared/{k}") as reader:
                        body = reader.read()
                        assert body in valid[k] and reader.info.etag == hashlib.md5(body).hexdigest()
                got = store.get_many("c", [f"shared/{k}" for k in range(SHARED)])
                assert all(got[f"shared/{k}"] in valid[k] for k in range(SHARED))
        except BaseException as e:  # pragma: no cover - reported to the parent
            errors.append(f"reader: {e!r}\n{traceback.format_exc()}")

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    reader = threading.Thread(target=read)
    for t in threads:
        t.start()
    reader.start()
    for t in threads:
        t.join()
    writing = False
    reader.join()
    out.put((wins, errors))


def _check(root: str, results: list[tuple[list[str], list[str]]]) -> None:
    store = LocalStore(root)
    # Every error whole (tracebacks included): pytest's own diff cuts them short.
    errors = [f"process {i}: {e}" for i, (_, errs) in enumerate(results) for e in errs]
    assert not errors, "\n".join(errors)
    all_wins = sorted(w for wins, _ in results for w in wins)
    assert all_wins == sorted(f"once/{k}" for k in range(SHARED))  # exactly one winner each
    listing = [e for e in store.list_objects("c") if isinstance(e, ObjectInfo)]
    names = [e.name for e in listing]
    expected = (
        {f"own/p{p}/t{t}/{k}" for p in range(PROCESSES) for t in range(THREADS) for k in range(OWN)}
        | {f"shared/{k}" for k in range(SHARED)}
        | {f"once/{k}" for k in range(SHARED)}
        | {f"batch/p{p}/t{t}/{r}/{k}" for p in range(PROCESSES) for t in range(THREADS)
           for r in range(1, ROUNDS) for k in range(20)}
        | {"counter"}
    )
    assert names == sorted(expected, key=lambda s: s.encode())
    assert int(store.get_object("c", "counter")) == PROCESSES * THREADS * ROUNDS
    for e in listing:
        data = store.get_object("c", e.name)
        assert hashlib.md5(data).hexdigest() == e.etag == store.head_object("c", e.name).etag
        assert len(data) == e.size
    for k in range(SHARED):
        data = store.get_object("c", f"shared/{k}")
        assert data in {_body(p, t, k) for p in range(PROCESSES) for t in range(THREADS)}
    info = store.head_container("c")
    assert info.object_count == len(expected)
    assert info.bytes_used == sum(e.size for e in listing)
    assert store.account_info().object_count == len(expected)
    report = store.fsck()  # nothing for fsck to fix
    assert (report.index_repaired, report.damaged, report.packs_removed) == ([], [], 0)
    assert len(store.list_objects("c", ListingParams(prefix="own/p0/", delimiter="/"))) == THREADS
    # Files only for current versions; every pack holds a live record.
    assert_consistent(store, {e.name: store.get_object("c", e.name) for e in listing})


def _run(tmp_path: Path, durable: bool, start_method: str) -> None:
    root = str(tmp_path / "acct")
    LocalStore(root).create_container("c")
    LocalStore(root).put_object("c", "counter", b"0")
    LocalStore(root).put_many("c", {f"shared/{k}": _body(0, 0, k) for k in range(SHARED)})
    ctx = multiprocessing.get_context(start_method)
    out = ctx.Queue()
    start = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_worker, args=(root, p, durable, start, out)) for p in range(PROCESSES)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    _check(root, results)


def test_processes_and_threads_fast_mode(tmp_path: Path) -> None:
    _run(tmp_path, durable=False, start_method="fork")


def test_processes_and_threads_durable_spawned(tmp_path: Path) -> None:
    _run(tmp_path, durable=True, start_method="spawn")


def test_a_root_created_by_another_process_meanwhile_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ranks of one program open their first files at once, each making the
    missing root: the one that finds it made between its check and its own
    creation uses it (it was refused as "not a directory")."""
    root = tmp_path / "store"
    real_isdir = os.path.isdir

    def isdir_then_another_creates(path: str) -> bool:
        found = real_isdir(path)
        if path == str(root) and not found:
            os.mkdir(root)  # the other process, right after this check
        return found

    monkeypatch.setattr(local_store_module.os.path, "isdir", isdir_then_another_creates)
    store = LocalStore(root)
    monkeypatch.undo()
    store.create_container("c")
    assert [c.name for c in store.list_containers()] == ["c"]


def test_many_threads_create_one_root_at_once(tmp_path: Path) -> None:
    root = tmp_path / "fresh" / "store"
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_it() -> None:
        start.wait(10)
        try:
            LocalStore(root)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert root.is_dir()


def test_a_root_that_is_a_file_is_refused_by_name(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.write_text("not a store")
    for create in (True, False):
        with pytest.raises(InvalidInput, match="exists and is not a directory"):
            LocalStore(root, create=create)
