"""Batched puts on a non-durable LocalStore defer the MD5, and no caller ever sees
anything but the right ETag."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sciswift.errors import PreconditionFailed
from sciswift.store.local import LocalStore
from sciswift.store.types import IfMatch, ObjectInfo


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "root", durable=False)
    s.create_container("c")
    return s


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def test_every_view_of_a_batched_object_has_its_md5(store: LocalStore) -> None:
    items = {f"k{i}": bytes([i]) * (1000 + i) for i in range(5)}
    store.put_many("c", items)
    for name, body in items.items():
        assert store.head_object("c", name).etag == md5(body)
        with store.open_object("c", name) as r:
            assert r.info.etag == md5(body)
        assert store.get_object("c", name) == body
    listed = [e for e in store.list_objects("c") if isinstance(e, ObjectInfo)]
    assert {e.name: e.etag for e in listed} == {n: md5(b) for n, b in items.items()}
    copied = store.copy_object("c", "k1", "c", "copy")
    assert copied.etag == md5(items["k1"])
    assert store.post_object("c", "k2", metadata={"a": "1"}).etag == md5(items["k2"])
    assert store.head_object("c", "k2").etag == md5(items["k2"])


def test_if_match_against_a_lazy_etag(store: LocalStore) -> None:
    store.put_many("c", {"x": b"one"})
    with pytest.raises(PreconditionFailed):
        store.put_object("c", "x", b"two", mode=IfMatch(md5(b"nope")))
    store.put_object("c", "x", b"two", mode=IfMatch(md5(b"one")))
    assert store.get_object("c", "x") == b"two"


def test_overwritten_object_never_reports_the_old_etag(store: LocalStore) -> None:
    store.put_many("c", {"x": b"first"})
    assert store.head_object("c", "x").etag == md5(b"first")
    store.put_many("c", {"x": b"second!"})
    assert store.head_object("c", "x").etag == md5(b"second!")
    [entry] = store.list_objects("c")
    assert entry.etag == md5(b"second!")  # type: ignore[union-attr]


def test_durable_stores_hash_at_write(tmp_path: Path) -> None:
    s = LocalStore(tmp_path / "d", durable=True)
    s.create_container("c")
    s.put_many("c", {"x": b"abc"})
    assert s.head_object("c", "x").etag == md5(b"abc")


def test_deep_fsck_accepts_lazy_etags(store: LocalStore) -> None:
    store.put_many("c", {"x": b"abc", "y": b"defg"})
    report = store.fsck("c", deep=True)
    assert report.objects == 2 and report.quarantined == []
    assert store.head_object("c", "y").etag == md5(b"defg")
