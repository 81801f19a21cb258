"""A chunk object damaged on disk: the engine raises CorruptData naming the
dataset and the chunk, on every read, through LocalStore directly and through
SwiftStore to ``sciswift serve``; never fill values, never wrong numbers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sciswift.engine import ArrayMeta, Hierarchy, build_codecs, describe
from sciswift.engine.dtypes import default_fill
from sciswift.errors import CorruptData
from sciswift.server.spawn import ServerProcess, spawn
from sciswift.store.local import LocalStore
from sciswift.store.swift import SwiftStore
from sciswift.store.url import Location
from sciswift.testing.damage import flip_byte

_count = itertools.count()
DATA = np.arange(64 * 64, dtype="<f4").reshape(64, 64)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    data = tmp_path_factory.mktemp("rot-engine") / "data"
    server = spawn(["--data", str(data), "--quiet"])
    yield server, data / "AUTH_test"
    server.stop()


@pytest.fixture(params=["local", "swift"])
def place(request: pytest.FixtureRequest, tmp_path: Path, served: tuple[ServerProcess, Path]
          ) -> Iterator[tuple[Location, Path]]:
    """A place for one file, and the LocalStore root holding its objects."""
    container = f"e{next(_count)}"
    if request.param == "local":
        root = tmp_path / "root"
        store: LocalStore | SwiftStore = LocalStore(root, durable=False)
    else:
        server, root = served
        store = SwiftStore(auth_url=server.auth_url, user="test:tester", key="testing", backoff=0.01)
    store.create_container(container)
    yield Location(store, container, "run.h5", f"{request.param}:run.h5"), root
    store.close()


def _write(loc: Location, **filters: object) -> None:
    h = Hierarchy(loc, "w")
    h.create_group("grp")
    info = describe(DATA.dtype)
    codecs, _ = build_codecs(info, **filters)
    a = h.create_array("grp/x", ArrayMeta.create(DATA.shape, (16, 16), info, codecs, default_fill(info.dtype)))
    a.write((slice(None), slice(None)), DATA)
    h.close()


@pytest.mark.parametrize("filters", [{}, {"compression": "gzip"}], ids=["raw", "gzip"])
def test_damaged_chunk_names_dataset_and_chunk(place: tuple[Location, Path], filters: dict) -> None:  # type: ignore[type-arg]
    loc, root = place
    _write(loc, **filters)
    flip_byte(root, loc.container, "run.h5/grp/x/c/2/1", 100)
    for _attempt in range(2):  # the first read quarantines it; later ones say so
        h = Hierarchy(loc, "r")
        a = h.array("grp/x")
        assert np.array_equal(a.read((slice(0, 16), slice(None))), DATA[:16])  # other chunks read fine
        with pytest.raises(CorruptData) as ei:
            a.read((slice(None), slice(None)))
        message = str(ei.value)
        assert message.startswith(f"dataset /grp/x: chunk grp/x/c/2/1 ({loc.container}/run.h5/grp/x/c/2/1)"), message
        assert "quarantined" in message
        with pytest.raises(CorruptData, match="chunk grp/x/c/2/1"):
            a.read((slice(32, 48), slice(16, 32)))  # the damaged chunk alone
        h.close()


def test_partial_write_over_a_damaged_chunk_fails(place: tuple[Location, Path]) -> None:
    loc, root = place
    _write(loc)
    flip_byte(root, loc.container, "run.h5/grp/x/c/0/0", 4)
    h = Hierarchy(loc, "r+")
    with pytest.raises(CorruptData, match=r"dataset /grp/x: chunk grp/x/c/0/0"):
        h.array("grp/x").write((slice(0, 1), slice(0, 1)), np.zeros((1, 1), "<f4"))
    h.close()
