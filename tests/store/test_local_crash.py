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
        with commits.get_lock():
            commits.value += 1
        i += 1


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
        commits = ctx.Value("i", 0)
        p = ctx.Process(target=_writer, args=(root, durable, i % 2 == 1, i % 3, commits))
        p.start()
        # Let 0, 1 or 2 writes complete, then kill at a random moment of the next.
        deadline = time.monotonic() + 30
        while commits.value < i % 3 and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(p.pid, signal.SIGKILL)  # type: ignore[arg-type]
        p.join(10)
        assert p.exitcode == -signal.SIGKILL

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
