"""LocalStore under SIGKILL: a writer killed at any moment leaves the old object or
the new one, whole, with a matching ETag, and an index that agrees after recovery."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from sciswift.store.local import LocalStore
from sciswift.store.types import ObjectInfo

SIZE = 6 << 20  # large enough that a kill often lands mid-write


def _bodies() -> list[bytes]:
    return [bytes([v]) * SIZE for v in range(1, 4)]


def _writer(root: str, durable: bool, streamed: bool, start: int, commits: Any) -> None:
    """Overwrite the object forever with the bodies in turn (until killed),
    counting completed writes in ``commits``."""
    store = LocalStore(root, durable=durable)
    bodies = _bodies()
    i = start
    while True:
        body = bodies[i % len(bodies)]
        if streamed:
            w = store.open_writer("c", "big", metadata={"version": str(i % len(bodies))})
            for k in range(0, SIZE, 1 << 20):
                w.write(body[k : k + (1 << 20)])
            w.commit()
        else:
            store.put_object("c", "big", body, metadata={"version": str(i % len(bodies))})
        commits.value += 1  # a RawValue: a lock held by a killed writer would never be freed
        i += 1


def _kill_after(p: Any, done: Any, count: int, delay: float) -> None:
    """Start ``p``, wait until it has counted ``count`` completed writes in
    ``done``, then SIGKILL it ``delay`` seconds later (in the middle of the next)."""
    p.start()
    deadline = time.monotonic() + 30
    while done.value < count and time.monotonic() < deadline:
        time.sleep(0.0005)
    time.sleep(delay)
    os.kill(p.pid, signal.SIGKILL)
    p.join(10)
    assert p.exitcode == -signal.SIGKILL


@pytest.mark.parametrize("durable", [False, True])
def test_sigkill_mid_write_leaves_old_or_new(tmp_path: Path, durable: bool) -> None:
    root = str(tmp_path / "acct")
    setup = LocalStore(root, durable=False)
    setup.create_container("c")
    initial = b"initial" * 1000
    setup.put_object("c", "big", initial)
    setup.close()
    valid = {hashlib.md5(b).hexdigest(): b for b in [initial, *_bodies()]}
    rng = random.Random(1234)
    ctx = multiprocessing.get_context("fork")
    kills = 12 if durable else 25
    seen: set[str] = set()
    for i in range(kills):
        commits = ctx.RawValue("i", 0)
        # Let 0, 1 or 2 writes complete, then kill at a random moment of the next.
        _kill_after(ctx.Process(target=_writer, args=(root, durable, i % 2 == 1, i % 3, commits)),
                    commits, i % 3, rng.uniform(0.0, 0.03))

        store = LocalStore(root, durable=False)
        head = store.head_object("c", "big")
        data = store.get_object("c", "big")
        assert head.etag in valid, f"kill {i}: unknown ETag {head.etag}"
        assert hashlib.md5(data).hexdigest() == head.etag and data == valid[head.etag]
        assert head.size == len(data)
        # The index (listing, totals) agrees with the file once recovery has run.
        [entry] = store.list_objects("c")
        assert isinstance(entry, ObjectInfo) and (entry.etag, entry.size) == (head.etag, head.size)
        info = store.head_container("c")
        assert (info.object_count, info.bytes_used) == (1, len(data))
        assert os.listdir(os.path.join(root, "c", "tmp")) == []  # the dead writer's temp is gone
        seen.add(head.etag)
        store.close()
    # Kills landed after completed overwrites too, not only before the first one.
    assert seen - {hashlib.md5(initial).hexdigest()}


# ------------------------------------------------------------------ packs
NAMES = [f"obj/{i:02d}" for i in range(24)]
BIG = "obj/big"  # above the (lowered) pack threshold: a file of its own even in a batch
NEW = "obj/new"  # only the single-step test writes it
ALL = [*NAMES, BIG, NEW]
_PACK_MAX = 20_000

State = dict[str, "bytes | None"]


def _body(name: str, version: int) -> bytes:
    if name == BIG:
        return f"{name}@{version}|".encode() * 3000  # ~40 kB
    return f"{name}@{version}|".encode() * (20 + sum(name.encode()) % 150)


def _ops(seed: int, count: int) -> list[tuple[str, int, list[str]]]:
    """A reproducible mix of batched puts (packs), single puts (files) and deletes."""
    rng = random.Random(seed)
    ops = []
    for i in range(count):
        kind = rng.choice(["many", "many", "plain", "delete"])
        names = sorted(rng.sample([*NAMES, BIG], rng.randint(3, 12)))
        ops.append((kind, seed * 1000 + i, names))
    return ops


def _apply(state: State, op: tuple[str, int, list[str]]) -> State:
    kind, version, names = op
    new = dict(state)
    for n in names:
        new[n] = None if kind == "delete" else _body(n, version)
    return new


def _run_ops(store: LocalStore, ops: list[tuple[str, int, list[str]]], done: Any) -> None:
    for kind, version, names in ops:
        if kind == "many":
            store.put_many("c", {n: _body(n, version) for n in names})
        elif kind == "plain":
            for n in names:
                store.put_object("c", n, _body(n, version))
        else:
            store.delete_many("c", names)
        done.value += 1  # a RawValue: a lock held by a killed writer would never be freed


def _op_writer(root: str, durable: bool, seed: int, done: Any) -> None:
    import sciswift.store.local.batch as local_module
    from sciswift.store.local.container import Container

    local_module.PACK_MAX_OBJECT = _PACK_MAX  # type: ignore[misc]
    # Widen the window between a commit and the removal of what it replaced, so
    # that random kills land in it too (it is otherwise a few microseconds).
    real_after_commit = Container._after_commit

    def slow_after_commit(self, dead, report):  # type: ignore[no-untyped-def]
        time.sleep(0.002)
        real_after_commit(self, dead, report)

    Container._after_commit = slow_after_commit  # type: ignore[method-assign]
    _run_ops(LocalStore(root, durable=durable), _ops(seed, 10_000), done)


def _observe(store: LocalStore) -> State:
    return {n: (store.get_object("c", n) if store.has_object("c", n) else None) for n in ALL}


def _check_after_crash(root: str, before: State, after: State, what: str) -> State:
    """Reopen the store (recovery runs): every object is its old or its new version,
    whole; every view agrees; and fsck finds nothing left to fix."""
    from local_store_checks import assert_consistent

    store = LocalStore(root, durable=False)
    try:
        state = _observe(store)
        for n in state:
            assert state[n] in (before[n], after[n]), f"{what}: {n} is neither old nor new"
        assert_consistent(store, {n: b for n, b in state.items() if b is not None})
        assert os.listdir(os.path.join(root, "c", "tmp")) == []
        report = store.fsck()
        assert (report.index_repaired, report.damaged, report.quarantined) == ([], [], []), what
        assert (report.packs_removed, report.temp_removed, report.journals_replayed) == (0, 0, 0), what
        return state
    finally:
        store.close()


def _setup_pack_store(root: str) -> State:
    """Half the names as files, half packed, the big one packed too (for now)."""
    store = LocalStore(root, durable=False)
    store.create_container("c")
    state: State = {n: None for n in ALL}
    for op in (("plain", 1, NAMES[:12]), ("many", 2, [*NAMES[12:], BIG])):
        _run_ops(store, [op], multiprocessing.RawValue("i", 0))
        state = _apply(state, op)
    store.close()
    return state


@pytest.mark.parametrize("durable", [False, True])
def test_sigkill_during_pack_writes_and_commits(tmp_path: Path, durable: bool) -> None:
    """Kill a writer of batched puts, single puts and deletes at random moments;
    the writer after it carries on from whatever state it left."""
    root = str(tmp_path / "acct")
    state = _setup_pack_store(root)
    rng = random.Random(99)
    ctx = multiprocessing.get_context("fork")
    outcomes: set[tuple[str, str]] = set()
    for kill in range(20 if durable else 40):
        done = ctx.RawValue("i", 0)
        _kill_after(ctx.Process(target=_op_writer, args=(root, durable, kill + 1, done)),
                    done, kill % 4, rng.uniform(0.0, 0.01))
        ops = _ops(kill + 1, done.value + 1)
        before = state
        for op in ops[: done.value]:
            before = _apply(before, op)
        after = _apply(before, ops[done.value])
        state = _check_after_crash(root, before, after, f"kill {kill} in {ops[-1]}")
        kind = ops[done.value][0]
        moved = [n for n in ALL if before[n] != after[n]]
        outcomes.add((kind, "new" if all(state[n] == after[n] for n in moved) else
                      "old" if all(state[n] == before[n] for n in moved) else "part"))
    # Kills landed before and after batched commits, not only between operations.
    assert ("many", "old") in outcomes and {("many", "new"), ("many", "part")} & outcomes


def _die_at(point: str) -> None:
    """In the child: make the next batched put die at ``point``."""
    from sciswift.store.local import container as _local_container
    from sciswift.store.local.container import Container

    def die(*_args: Any, **_kwargs: Any) -> None:
        os._exit(17)

    def then_die(real: Any) -> Any:
        def call(*args: Any) -> None:
            real(*args)
            os._exit(17)

        return call

    if point == "pack half written":
        real_write = _local_container.write_records

        def half(fd, items):  # type: ignore[no-untyped-def]
            real_write(fd, items[: len(items) // 2])
            os._exit(17)

        _local_container.write_records = half  # type: ignore[assignment]
    elif point in ("pack published", "compaction: new pack published"):
        Container._publish = then_die(Container._publish)  # type: ignore[method-assign]
    elif point == "file renamed, not committed":
        Container._rename_into = then_die(Container._rename_into)  # type: ignore[method-assign]
    elif point == "committed, old files still there":
        Container._after_commit = die  # type: ignore[method-assign]
    elif point in ("old files gone, dead pack still there", "compaction: committed, old pack still there"):
        Container.remove_pack = die  # type: ignore[method-assign]


def _batch_dies(root: str, durable: bool, point: str, op: tuple[str, int, list[str]]) -> None:
    import sciswift.store.local.batch as local_module

    local_module.PACK_MAX_OBJECT = _PACK_MAX  # type: ignore[misc]
    store = LocalStore(root, durable=durable)
    _die_at(point)
    _run_ops(store, [op], multiprocessing.RawValue("i", 0))
    os._exit(0)  # pragma: no cover - the op was meant to die


@pytest.mark.parametrize("durable", [False, True])
@pytest.mark.parametrize(
    ("point", "committed"),
    [
        ("pack half written", False),
        ("pack published", False),
        ("file renamed, not committed", False),
        ("committed, old files still there", True),
        ("old files gone, dead pack still there", True),
        ("compaction: new pack published", True),
        ("compaction: committed, old pack still there", True),
    ],
)
def test_kill_at_each_step_of_a_batched_put(tmp_path: Path, durable: bool, point: str, committed: bool) -> None:
    """A batch over files (plain -> packed), packed objects (the old pack dies),
    new names and one large object (a file of its own), killed at each step; and
    single puts over packed objects that leave their pack mostly dead, killed
    while it is compacted (after the puts themselves are done)."""
    root = str(tmp_path / "acct")
    before = _setup_pack_store(root)
    op = ("many", 3, [*NAMES[6:18], NEW, BIG])
    if point == "old files gone, dead pack still there":
        op = ("many", 3, [*NAMES[6:], NEW, BIG])  # every record of the old pack dies
    elif point.startswith("compaction"):
        op = ("plain", 3, [NAMES[12], NAMES[13], BIG])  # BIG is most of the pack's bytes
    after = _apply(before, op)
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_batch_dies, args=(root, durable, point, op))
    p.start()
    p.join(30)
    assert p.exitcode == 17
    from sciswift.store.local.container import object_file_name

    left = {n for n in ALL if os.path.exists(os.path.join(root, "c", "objects", object_file_name(n)))}
    if point == "committed, old files still there":
        assert left >= set(NAMES[6:12])  # replaced by packed versions, not yet removed
    elif point == "old files gone, dead pack still there":
        assert left == set(NAMES[:6]) | {BIG}
        assert len(os.listdir(os.path.join(root, "c", "packs"))) == 2  # the old one is dead
    elif point.startswith("compaction"):
        assert len(os.listdir(os.path.join(root, "c", "packs"))) == 2  # old and new, one of them dead
    state = _check_after_crash(root, before, after, point)
    if committed:
        assert state == after
    elif point == "file renamed, not committed":
        # The large object's file was in place: the file is the truth, as for any put.
        assert state == {**before, BIG: after[BIG]}
    else:
        assert state == before
