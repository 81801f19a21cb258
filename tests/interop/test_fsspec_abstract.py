"""fsspec's own abstract test suite (``fsspec.tests.abstract``: copy, get, put,
open, pipe) against ``swift://`` on ``sciswift serve``: the oracle for what
fsspec users expect of a file system. Swift has no empty directories (a prefix
exists while objects are below it), which the suite allows for."""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

fsspec = pytest.importorskip("fsspec")
abstract = pytest.importorskip("fsspec.tests.abstract")


class SwiftFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture(scope="class")
    @classmethod
    def fs(cls, sciswift_server) -> Any:  # type: ignore[no-untyped-def]
        return fsspec.filesystem("swift", auth_url=sciswift_server.auth_url, user=sciswift_server.user,
                                 key=sciswift_server.key, skip_instance_cache=True)

    @pytest.fixture
    def fs_join(self) -> Any:
        return posixpath.join

    @pytest.fixture
    def fs_path(self, fs) -> Iterator[str]:  # type: ignore[no-untyped-def]
        container = "abstract-" + uuid.uuid4().hex[:12]
        fs.mkdir(container)
        yield container
        fs.rm(container, recursive=True)

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False


class TestSwiftCopy(abstract.AbstractCopyTests, SwiftFixtures):  # type: ignore[misc]
    pass


class TestSwiftGet(abstract.AbstractGetTests, SwiftFixtures):  # type: ignore[misc]
    pass


class TestSwiftPut(abstract.AbstractPutTests, SwiftFixtures):  # type: ignore[misc]
    pass


class TestSwiftOpen(abstract.AbstractOpenTests, SwiftFixtures):  # type: ignore[misc]
    pass


class TestSwiftPipe(abstract.AbstractPipeTests, SwiftFixtures):  # type: ignore[misc]
    pass
