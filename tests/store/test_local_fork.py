"""LocalStore across ``fork``: a parent that used the store, forked children
that open it again, and the parent closing its own handle while they write.

SQLite keeps lock bookkeeping per process; a child that inherits an open
connection believes it holds locks it does not, and another process may then
reset the WAL under its reads. The store closes idle handles before a fork."""

from __future__ import annotations

import gc
import multiprocessing
import os
from pathlib import Path

import sciswift.store.local.handles as handles_module
from sciswift.store.local import LocalStore
from sciswift.store.local.container import Container

CHILDREN = 4
ROUNDS = 12
NAMES = 20


def _child(root: str, i: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    errors: list[str] = []
    try:
        for r in range(ROUNDS):
            store = LocalStore(root, durable=False)
            for k in range(NAMES):
                store.put_object("c", f"p{i}/{k}", bytes([i, k]) * (100 + r))
                assert len(store.get_object("c", f"p{(i + 1) % CHILDREN}/{k}")) >= 1
            store.list_objects("c")
            store.close()  # closing connections is what lets a process reset the WAL
    except Exception as e:  # reported to the parent
        errors.append(f"{e!r} {getattr(e, 'sqlite_errorname', '')}")
    out.put(errors)


def test_forked_children_after_parent_used_the_store(tmp_path: Path) -> None:
    root = str(tmp_path / "acct")
    parent = LocalStore(root, durable=False)
    parent.create_container("c")
    parent.put_many("c", {f"p{i}/{k}": b"x" for i in range(CHILDREN) for k in range(NAMES)})
    assert parent._handles.open_count == 1  # the parent holds an open index connection
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(root, i, out)) for i in range(CHILDREN)]
    for p in procs:
        p.start()
    assert parent._handles.open_count == 0  # closed before the fork, reopened on use
    assert parent.get_object("c", "p0/0") is not None  # the parent goes on using it
    parent.close()
    del parent
    gc.collect()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert results == [[]] * CHILDREN
    check = LocalStore(root)
    for i in range(CHILDREN):
        for k in range(NAMES):
            assert check.get_object("c", f"p{i}/{k}") == bytes([i, k]) * (100 + ROUNDS - 1)
    assert check.fsck().damaged == []


def _open_handle_of_dropped_store(root: str) -> Container:
    """A container handle whose store was dropped without ``close``: the handle
    outlives it (its own references keep it until the garbage collector runs),
    with its SQLite connections open."""
    store = LocalStore(root, durable=False)
    store.create_container("c")
    store.put_object("c", "a", b"1")
    handle = store._handles.get("c")
    del store
    return handle


def test_a_dropped_stores_idle_handle_is_closed_before_a_fork(tmp_path: Path) -> None:
    """``LocalStore(root).put_object(...)`` in a parent, then multiprocessing's
    fork: the store object is gone by then but its handle is not, and a child
    inheriting its open connection corrupted the index under four writer
    processes (one CI-like run in seven: "file is not a database" in BEGIN
    IMMEDIATE, then readers missing objects)."""
    gc.disable()  # the handle must still be alive at the fork, as when no collection ran
    try:
        handle = _open_handle_of_dropped_store(str(tmp_path / "acct"))
        assert not handle.closed
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        assert handle.closed
    finally:
        gc.enable()


def test_a_child_never_closes_an_inherited_handle(tmp_path: Path) -> None:
    """A handle busy at the fork stays open in the parent; in the child it is
    abandoned (the parent's connections are never closed by the child, even once
    nothing of the child refers to them), and the child's own use of the store
    opens a handle of its own."""
    root = str(tmp_path / "acct")
    gc.disable()
    try:
        handle = _open_handle_of_dropped_store(root)
        with handle.read_txn():  # busy: the fork cannot close it
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                ok = handle.closed and any(c is handle for c in handles_module._abandoned)
                del handle
                gc.enable()
                gc.collect()
                store = LocalStore(root, durable=False)
                store.put_object("c", "b", b"2")
                ok = ok and store.get_object("c", "a") == b"1"
                os.write(write, b"1" if ok else b"0")
                os._exit(0)
            os.close(write)
            with os.fdopen(read, "rb") as f:
                answer = f.read()
            os.waitpid(pid, 0)
        assert answer == b"1"
        assert not handle.closed  # the parent's own handle is untouched by the fork
        assert LocalStore(root).get_object("c", "b") == b"2"
    finally:
        gc.enable()
