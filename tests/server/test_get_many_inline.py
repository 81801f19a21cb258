"""``?get-many`` opens groups of objects on the event loop while that is quick,
and hands them to the pool for a while after one was slow (``INLINE_BUDGET``)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from sciswift.server import get_many
from sciswift.server.auth import TempAuth
from sciswift.server.backend import Backend
from sciswift.server.config import ServerConfig
from sciswift.store.base import ObjectReader


def _backend(tmp_path: Path) -> Backend:
    config = ServerConfig(backend="local", data_dir=tmp_path / "data").with_default_user()
    return Backend(config, TempAuth(config.users, b"k" * 32, 3600))


@pytest.mark.parametrize("budget, pooled", [(10.0, 0), (0.0, get_many.INLINE_PAUSE)])
def test_groups_run_inline_until_one_is_slow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             budget: float, pooled: int) -> None:
    be = _backend(tmp_path)
    store = be.store("AUTH_test", create=True)
    assert store is not None
    store.create_container("c")
    bodies = {f"o{i}": bytes([i]) * (100_000 + i) for i in range(get_many.GROUP)}
    store.put_many("c", bodies)
    where: list[str] = []
    real = get_many._open_group

    def recorded(*args: Any) -> Any:
        where.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(get_many, "_open_group", recorded)
    monkeypatch.setattr(get_many, "INLINE_BUDGET", budget)

    async def run() -> None:
        loop_thread = threading.current_thread().name
        for _ in range(get_many.INLINE_PAUSE + 2):
            found = await get_many._opening(be, store, "c", list(bodies))
            for body, got in zip(bodies.values(), found):
                assert isinstance(got, tuple)
                info, reader, checked = got
                assert info.size == len(body) and checked
                assert isinstance(reader, ObjectReader)
                with reader:
                    assert reader.read() == body
        # The first group on the loop; after a slow one, the pool's threads.
        assert where[0] == loop_thread
        assert sum(w != loop_thread for w in where) == pooled
        assert all(w.startswith("sciswift-store") for w in where if w != loop_thread)
        assert where[-1] == loop_thread

    try:
        asyncio.run(run())
    finally:
        be.close()
