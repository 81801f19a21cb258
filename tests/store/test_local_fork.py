"""LocalStore across ``fork``: a parent that used the store, forked children
that open it again, and the parent closing its own handle while they write.

SQLite keeps lock bookkeeping per process; a child that inherits an open
connection believes it holds locks it does not, and another process may then
reset the WAL under its reads. The store closes idle handles before a fork."""

from __future__ import annotations

import gc
import multiprocessing
from pathlib import Path

from sciswift.store.local import LocalStore

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
