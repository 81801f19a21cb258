"""SwiftStore passes the Store conformance suite against real OpenStack Swift (the
all-in-one the session starts) and against ``sciswift serve``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sciswift.store import Store
from sciswift.store.swift import SwiftStore
from sciswift.testing.store_tests import StoreTests
from support.saio import Saio


@pytest.mark.saio
class TestSwiftStoreOnRealSwift(StoreTests):
    @pytest.fixture
    def store(self, saio: Saio) -> Iterator[Store]:
        with SwiftStore(auth_url=saio.auth_url, user=saio.user, key=saio.key) as store:
            yield store


class TestSwiftStoreOnSciswiftServe(StoreTests):
    @pytest.fixture
    def store(self, sciswift_server) -> Iterator[Store]:  # type: ignore[no-untyped-def]
        with SwiftStore(auth_url=sciswift_server.auth_url, user=sciswift_server.user,
                        key=sciswift_server.key) as store:
            yield store
