"""File-level behaviour: open modes, consolidated metadata, safe concurrent flushes."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from sciswift.engine import ArrayMeta, Hierarchy, build_codecs, describe
from sciswift.errors import AlreadyExists, CorruptData, NotFound
from sciswift.store.url import Location


def _array(h: Hierarchy, path: str, n: int = 4):  # type: ignore[no-untyped-def]
    info = describe(np.dtype("<i4"))
    codecs, _ = build_codecs(info)
    return h.create_array(path, ArrayMeta.create((n,), (n,), info, codecs, 0))


def test_modes(location: Location) -> None:
    with pytest.raises(NotFound):
        Hierarchy(location, "r")
    with pytest.raises(NotFound):
        Hierarchy(location, "r+")
    h = Hierarchy(location, "w-")
    h.create_group("g")
    h.close()
    with pytest.raises(AlreadyExists):
        Hierarchy(location, "x")
    assert Hierarchy(location, "a").children("") == ["g"]
    h = Hierarchy(location, "w")  # truncates
    assert h.children("") == []
    h.close()
    assert Hierarchy(location, "r").children("") == []
    with pytest.raises(ValueError):
        Hierarchy(location, "q")


def test_read_only_refuses_writes(location: Location) -> None:
    Hierarchy(location, "w").close()
    h = Hierarchy(location, "r")
    with pytest.raises(ValueError):
        h.create_group("g")


def test_open_is_one_request(location: Location) -> None:
    h = Hierarchy(location, "w")
    for i in range(20):
        h.create_group(f"g{i}")
        _array(h, f"g{i}/d").write((slice(None),), np.arange(4))
    h.close()
    h = Hierarchy(location, "r")
    opened = h.kv.requests
    for i in range(20):
        assert h.kind(f"g{i}/d") == "array"
        assert h.children(f"g{i}") == ["d"]
    assert h.kv.requests == opened  # everything came from consolidated metadata
    assert opened <= 2  # container check + root zarr.json


def test_every_node_has_its_own_zarr_json(location: Location) -> None:
    h = Hierarchy(location, "w")
    h.create_group("a")
    h.create_group("a/b")
    _array(h, "a/b/c")
    h.close()
    store, c = location.store, location.container
    for key in ["zarr.json", "a/zarr.json", "a/b/zarr.json", "a/b/c/zarr.json"]:
        doc = json.loads(store.get_object(c, location.key(key)))
        assert doc["zarr_format"] == 3
    root = json.loads(store.get_object(c, location.key("zarr.json")))
    assert set(root["consolidated_metadata"]["metadata"]) == {"a", "a/b", "a/b/c"}


def test_delete_and_move(location: Location) -> None:
    h = Hierarchy(location, "w")
    h.create_group("a")
    _array(h, "a/x").write((slice(None),), [1, 2, 3, 4])
    h.move("a", "b")
    assert h.children("") == ["b"]
    assert h.array("b/x").read((slice(None),)).tolist() == [1, 2, 3, 4]
    h.close()
    h = Hierarchy(location, "r+")
    assert h.array("b/x").read((slice(None),)).tolist() == [1, 2, 3, 4]
    h.delete("b")
    h.close()
    h = Hierarchy(location, "r")
    assert h.children("") == []
    assert h.kv.list_prefix("b/") == []


def test_concurrent_writers_keep_every_node(location: Location) -> None:
    Hierarchy(location, "w").close()
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            h = Hierarchy(location, "a")
            h.create_group(f"w{i}")
            _array(h, f"w{i}/d").write((slice(None),), np.full(4, i))
            h.close()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    h = Hierarchy(location, "r")
    assert sorted(h.children("")) == sorted(f"w{i}" for i in range(8))
    for i in range(8):
        assert h.array(f"w{i}/d").read((slice(None),)).tolist() == [i] * 4


def test_disjoint_hyperslabs_sharing_chunks_all_land(location: Location) -> None:
    h = Hierarchy(location, "w")
    info = describe(np.dtype("<i4"))
    codecs, _ = build_codecs(info)
    h.create_array("x", ArrayMeta.create((1000,), (64,), info, codecs, 0))
    h.close()
    handles = [Hierarchy(location, "r+") for _ in range(4)]

    def write(i: int) -> None:
        arr = handles[i].array("x")
        # Interleaved 25-element slabs: every 64-element chunk is shared by writers.
        for start in range(i * 25, 1000, 100):
            arr.write((slice(start, start + 25),), np.arange(start, start + 25))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = Hierarchy(location, "r").array("x").read((slice(None),))
    assert got.tolist() == list(range(1000))


def test_corrupt_metadata_is_reported(location: Location) -> None:
    Hierarchy(location, "w").close()
    location.store.put_object(location.container, location.key("zarr.json"), b"{not json")
    with pytest.raises(CorruptData) as ei:
        Hierarchy(location, "r")
    assert "zarr.json" in str(ei.value)


@pytest.mark.saio
def test_writers_merge_on_real_swift(saio) -> None:  # type: ignore[no-untyped-def]
    """Real Swift ignores If-Match on PUT, so SwiftStore checks it with a HEAD
    just before the PUT. That still notices a writer that closed the file while
    another had it open: the later close merges instead of putting back the file
    as it saw it at open (which dropped the other writer's nodes, silently)."""
    import uuid

    from sciswift.store.swift import SwiftStore

    with SwiftStore(auth_url=saio.auth_url, user=saio.user, key=saio.key) as store:
        assert not store.supports_conditional_put  # what this case is about
        container = f"merge-{uuid.uuid4().hex[:8]}"
        store.create_container(container)
        location = Location(store, container, "run1.h5", f"swift://{container}/run1.h5")
        Hierarchy(location, "w").close()
        first = Hierarchy(location, "a")
        assert first.children("") == []  # everything it knows is loaded
        first.create_group("first")
        second = Hierarchy(location, "a")
        second.create_group("second")
        _array(second, "second/d").write((slice(None),), np.arange(4))
        second.close()
        first.close()
        merged = Hierarchy(location, "r")
        assert merged.children("") == ["first", "second"]
        assert merged.array("second/d").read((slice(None),)).tolist() == [0, 1, 2, 3]
        store.delete_many(container, [o.name for o in store.iter_objects(container)])
        store.delete_container(container)
