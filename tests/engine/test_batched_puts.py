"""A bulk write to a store that batches puts (SwiftStore on ``sciswift serve``)
sends its chunks in a few archives, not one PUT each; a store that does not
(real Swift, whose bulk upload stores files one by one) gets plain PUTs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sciswift.h5py as sh5
from sciswift.store.swift import SwiftStore


@pytest.fixture
def swift_url(swift_container: str) -> str:
    return swift_container


def _spies(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[str]]:
    archives: list[int] = []
    singles: list[str] = []
    put_archive, put_object = SwiftStore._put_archive, SwiftStore.put_object

    def archive(self: SwiftStore, container: str, names: list[str], *args: Any) -> None:
        archives.append(len(names))
        put_archive(self, container, names, *args)

    def single(self: SwiftStore, container: str, name: str, *args: Any, **kwargs: Any) -> Any:
        singles.append(name)
        return put_object(self, container, name, *args, **kwargs)

    monkeypatch.setattr(SwiftStore, "_put_archive", archive)
    monkeypatch.setattr(SwiftStore, "put_object", single)
    return archives, singles


DATA = np.random.default_rng(9).random((1024, 1024), dtype=np.float32)  # 64 chunks of 64 KiB


def test_a_bulk_write_goes_in_archives(swift_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    archives, singles = _spies(monkeypatch)
    with sh5.File(f"{swift_url}/a.h5", "w") as f:
        f.create_dataset("x", data=DATA, chunks=(128, 128))
    assert sum(archives) == 64 and len(archives) <= 2
    assert not [n for n in singles if "/c/" in n]  # no chunk went alone
    with sh5.File(f"{swift_url}/a.h5") as f:
        np.testing.assert_array_equal(f["x"][...], DATA)


def test_without_batched_uploads_chunks_go_as_plain_puts(swift_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SwiftStore, "_offers", lambda self, feature: False)  # as on a real Swift
    archives, singles = _spies(monkeypatch)
    with sh5.File(f"{swift_url}/b.h5", "w") as f:
        f.create_dataset("x", data=DATA, chunks=(128, 128))
    assert archives == [] and len([n for n in singles if "/c/" in n]) == 64
    with sh5.File(f"{swift_url}/b.h5") as f:
        np.testing.assert_array_equal(f["x"][...], DATA)


def test_archived_chunks_carry_a_crc32c_and_given_md5s_stay(swift_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    import crc32c

    import sciswift.store.swift.store as swift_store
    from sciswift.store.url import parse_location

    records: list[tuple[dict[str, str], dict[str, int]]] = []
    real = swift_store.tar_pieces

    def spy(names: list[str], items: Any, types: Any, etags: Any = None, crcs: Any = None) -> Any:
        records.append((dict(etags or {}), dict(crcs or {})))
        return real(names, items, types, etags, crcs)

    monkeypatch.setattr(swift_store, "tar_pieces", spy)
    loc = parse_location(swift_url)
    store, container = loc.store, loc.container
    store.create_container(container)
    items = {loc.key(f"k/{i}"): bytes([i]) * 5000 for i in range(20)}
    given = loc.key("k/3")
    store.put_many(container, items, etags={given: hashlib.md5(items[given]).hexdigest()})
    [(etags, crcs)] = records
    assert etags == {given: hashlib.md5(items[given]).hexdigest()}  # the caller's MD5 is what the server checks
    assert crcs == {n: crc32c.crc32c(d) for n, d in items.items() if n != given}
    assert store.get_many(container, list(items)) == items
