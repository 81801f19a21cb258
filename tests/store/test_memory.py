"""MemoryStore passes the Store conformance suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sciswift.store import MemoryStore, Store
from sciswift.testing.store_tests import StoreTests


class TestMemoryStore(StoreTests):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        yield MemoryStore()


def test_named_stores_are_shared() -> None:
    a = MemoryStore.named("shared-test")
    assert MemoryStore.named("shared-test") is a
    assert MemoryStore.named("other-test") is not a
