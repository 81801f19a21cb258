"""S3Store passes the Store conformance suite against ``sciswift serve``'s S3
API and against a real OpenStack Swift's s3api (the all-in-one the session
starts has s3api in its proxy pipeline)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sciswift.store import Store
from sciswift.store.s3 import S3Store
from sciswift.testing.store_tests import StoreTests
from support.saio import Saio


class TestS3StoreOnSciswiftServe(StoreTests):
    @pytest.fixture
    def store(self, sciswift_server) -> Iterator[Store]:  # type: ignore[no-untyped-def]
        with S3Store("test:tester", "testing", endpoint_url=sciswift_server.url) as store:
            yield store


@pytest.mark.saio
class TestS3StoreOnRealSwift(StoreTests):
    @pytest.fixture
    def store(self, saio: Saio) -> Iterator[Store]:
        with S3Store(saio.user, saio.key, endpoint_url=saio.url) as store:
            yield store
