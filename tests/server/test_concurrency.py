"""Concurrent writers against a LocalStore-backed server: nothing hangs, nothing is lost."""

from __future__ import annotations

import threading
import time
import uuid

from .conftest import RunningServer


def test_container_puts_racing_object_puts_finish(disk_server: RunningServer) -> None:
    """Container PUT/POSTs rewrite the container's metadata while other clients
    write objects into it (what several ``sciswift run`` processes opening files
    in one container do). Once, LocalStore judged its busy handle stale on each
    metadata rewrite and the server deadlocked."""
    container = f"race-{uuid.uuid4().hex[:8]}"
    disk_server.connection().put_container(container)
    errors: list[BaseException] = []
    written: list[str] = []
    stop = time.monotonic() + 2.0

    def objects(k: int) -> None:
        conn = disk_server.connection()
        i = 0
        while time.monotonic() < stop:
            name = f"w{k}/o{i}"
            conn.put_object(container, name, name.encode())
            written.append(name)
            i += 1

    def container_writes() -> None:
        conn = disk_server.connection()
        i = 0
        while time.monotonic() < stop:
            if i % 2:
                conn.post_container(container, {"X-Container-Meta-Round": str(i)})
            else:
                conn.put_container(container)
            i += 1

    def guard(fn, *args):  # type: ignore[no-untyped-def]
        def run() -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        return run

    threads = [threading.Thread(target=guard(objects, k), daemon=True) for k in range(4)]
    threads += [threading.Thread(target=guard(container_writes), daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not [t for t in threads if t.is_alive()], "requests hung"
    assert not errors, errors
    _, listing = disk_server.connection().get_container(container, full_listing=True)
    assert sorted(o["name"] for o in listing) == sorted(written)
    assert len(written) > 20
