"""Batched puts on a LocalStore defer the MD5, and no caller ever sees anything
but the right ETag; a durable store computes it in the background and keeps it
in the index (``sciswift.store.local.settle``)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from sciswift.errors import PreconditionFailed
from sciswift.store.local import LocalStore
from sciswift.store.local.batch import LAZY_ETAG_MIN
from sciswift.store.types import IfMatch, ObjectInfo


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "root", durable=False)
    s.create_container("c")
    return s


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def big(b: bytes) -> bytes:
    """``b`` repeated past the size whose MD5 ``put_many`` leaves for later."""
    return b * (LAZY_ETAG_MIN // len(b) + 1)


def test_every_view_of_a_batched_object_has_its_md5(store: LocalStore) -> None:
    items = {f"k{i}": big(bytes([i])) + bytes(i) for i in range(5)}
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
    store.put_many("c", {"x": big(b"one")})
    with pytest.raises(PreconditionFailed):
        store.put_object("c", "x", big(b"two"), mode=IfMatch(md5(big(b"nope"))))
    store.put_object("c", "x", big(b"two"), mode=IfMatch(md5(big(b"one"))))
    assert store.get_object("c", "x") == big(b"two")


def test_overwritten_object_never_reports_the_old_etag(store: LocalStore) -> None:
    store.put_many("c", {"x": big(b"first")})
    assert store.head_object("c", "x").etag == md5(big(b"first"))
    store.put_many("c", {"x": big(b"second!")})
    assert store.head_object("c", "x").etag == md5(big(b"second!"))
    [entry] = store.list_objects("c")
    assert entry.etag == md5(big(b"second!"))  # type: ignore[union-attr]


def _durable(tmp_path: Path, quiet: float = 0.0) -> LocalStore:
    s = LocalStore(tmp_path / "d", durable=True)
    assert s._settler is not None
    s._settler.QUIET = quiet  # type: ignore[misc]
    s.create_container("c")
    return s


def _indexed_etag(s: LocalStore, name: str) -> str:
    info = s._handles.get("c").indexed_info(name)
    assert info is not None
    return info.etag


def test_durable_store_records_etags_in_the_background(tmp_path: Path) -> None:
    s = _durable(tmp_path)
    items = {f"k{i}": big(bytes([i % 256])) + bytes(i) for i in range(300)}
    s.put_many("c", items)
    assert s._settler is not None and s._settler.wait_idle(30)
    # In the index now: a listing needs no computation (and shows the MD5s).
    assert {n: _indexed_etag(s, n) for n in items} == {n: md5(b) for n, b in items.items()}
    listed = {e.name: e.etag for e in s.list_objects("c") if isinstance(e, ObjectInfo)}
    assert listed == {n: md5(b) for n, b in items.items()}
    s.close()
    # Found in the index by another process's store (no memory of them), and
    # an audit finds nothing wrong with rows that hold what records left out.
    again = LocalStore(tmp_path / "d", durable=True)
    assert again.head_object("c", "k7").etag == md5(items["k7"])
    with again.open_object("c", "k8") as r:
        assert r.info.etag == md5(items["k8"]) and r.read() == items["k8"]
    report = again.audit("c", deep=True)
    assert not report.repairable and not report.damaged, report
    fsck = again.fsck("c", deep=True)
    assert fsck.objects == 300 and not fsck.quarantined and not fsck.damaged
    assert again.head_object("c", "k9").etag == md5(items["k9"])


def test_a_version_put_meanwhile_keeps_its_own_etag(tmp_path: Path) -> None:
    s = _durable(tmp_path, quiet=60.0)  # the settler waits: nothing recorded yet
    s.put_many("c", {"x": big(b"first")})
    assert _indexed_etag(s, "x") == ""
    first = s.head_object("c", "x")  # computed by this reader, to be recorded later
    assert first.etag == md5(big(b"first"))
    s.put_many("c", {"x": big(b"second!")})
    # An ETag computed for the first version is never written to the second's row.
    s.record_etags("c", [("x", first.timestamp, first.size, first.etag)])
    assert _indexed_etag(s, "x") == ""
    assert s.head_object("c", "x").etag == md5(big(b"second!"))
    fresh = LocalStore(tmp_path / "d", durable=True)
    assert fresh.head_object("c", "x").etag == md5(big(b"second!"))
    [entry] = fresh.list_objects("c")
    assert entry.etag == md5(big(b"second!"))  # type: ignore[union-attr]
    s.close()
    fresh.close()


def test_etags_computed_by_readers_are_recorded(tmp_path: Path) -> None:
    s = _durable(tmp_path, quiet=60.0)
    s.put_many("c", {"a": big(b"alpha"), "b": big(b"beta")})
    assert s.head_object("c", "a").etag == md5(big(b"alpha"))
    assert s._settler is not None
    s._settler.QUIET = 0.0  # type: ignore[misc]
    with s._settler._cond:  # wake it from its wait for a quiet minute
        s._settler._cond.notify_all()
    assert s._settler.wait_idle(30)
    assert _indexed_etag(s, "a") == md5(big(b"alpha")) and _indexed_etag(s, "b") == md5(big(b"beta"))
    s.close()


def test_settler_waits_while_the_store_is_used(tmp_path: Path) -> None:
    s = _durable(tmp_path, quiet=2.0)
    s.put_many("c", {"x": big(b"x")})
    s.put_object("c", "other", b"o")
    end = time.monotonic() + 1.5
    while time.monotonic() < end:  # reads keep it busy: nothing settled meanwhile
        s.head_object("c", "other")
        time.sleep(0.05)
    assert _indexed_etag(s, "x") == ""
    assert s._settler is not None and s._settler.wait_idle(30)
    assert _indexed_etag(s, "x") == md5(big(b"x"))
    s.close()


def test_settler_queue_is_bounded(tmp_path: Path) -> None:
    s = _durable(tmp_path, quiet=60.0)
    assert s._settler is not None
    s._settler.MAX_PENDING = 3  # type: ignore[misc]
    s.put_many("c", {f"k{i}": big(bytes([i])) for i in range(5)})  # more than it keeps: none queued
    s.put_many("c", {"a": big(b"a"), "b": big(b"b")})
    assert s._settler.pending() == 2
    assert s.head_object("c", "k4").etag == md5(big(bytes([4])))  # computed when asked
    s.close()


def test_beyond_the_bytes_waiting_batches_compute_their_etags_at_write(tmp_path: Path) -> None:
    """A listing right after a large ingest must not hash it all: once
    ``MAX_PENDING_BYTES`` wait for the settler, batches hash at write again."""
    s = _durable(tmp_path, quiet=60.0)
    assert s._settler is not None
    size = len(big(b"x"))
    s._settler.MAX_PENDING_BYTES = 2 * size  # type: ignore[misc]
    s.put_many("c", {"a": big(b"a"), "b": big(b"b")})  # room: both left for later
    assert _indexed_etag(s, "a") == "" and _indexed_etag(s, "b") == ""
    s.put_many("c", {"d": big(b"d"), "e": big(b"e")})  # 2 x size wait: hashed now
    assert _indexed_etag(s, "d") == md5(big(b"d")) and _indexed_etag(s, "e") == md5(big(b"e"))
    assert s._settler.pending() == 2
    s._settler.QUIET = 0.0  # type: ignore[misc]
    with s._settler._cond:  # the thread waits out the old QUIET otherwise
        s._settler._cond.notify_all()
    assert s._settler.wait_idle(10)
    s.put_many("c", {"f": big(b"f")})  # settled: room again
    assert _indexed_etag(s, "f") == ""
    assert [o.etag for o in s.list_objects("c")] == [md5(big(bytes([c]))) for c in b"abdef"]
    s.close()


def test_a_listing_of_many_lazy_objects_works_them_out_on_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    s = _durable(tmp_path, quiet=60.0)
    items = {f"k{i:02d}": big(bytes([i])) + bytes(i) for i in range(20)}
    s.put_many("c", items)
    threads: set[str] = set()
    settle = LocalStore._settle_listed

    def spy(self: LocalStore, container: str, entry: object) -> object:
        threads.add(threading.current_thread().name)
        return settle(self, container, entry)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalStore, "_settle_listed", spy)
    listed = s.list_objects("c")
    assert [(o.name, o.etag) for o in listed] == [(n, md5(b)) for n, b in sorted(items.items())]
    if (os.cpu_count() or 1) > 1:
        assert threads and all(t.startswith("sciswift-listed") for t in threads)
    s.close()


def test_open_without_etag_computes_none(tmp_path: Path) -> None:
    s = _durable(tmp_path, quiet=60.0)
    s.put_many("c", {"x": big(b"body")})
    with s.open_object("c", "x", need_etag=False) as r:
        assert r.info.etag == "" and r.read() == big(b"body")
    with s.open_object("c", "x") as r:
        assert r.info.etag == md5(big(b"body"))
    s.close()


def test_a_given_md5_is_checked_and_stored_at_once(tmp_path: Path) -> None:
    s = _durable(tmp_path, quiet=60.0)
    s.put_many("c", {"x": big(b"abc")}, etags={"x": md5(big(b"abc"))})
    assert _indexed_etag(s, "x") == md5(big(b"abc"))
    s.close()


def test_settler_quarantines_damage_it_finds(tmp_path: Path) -> None:
    s = _durable(tmp_path, quiet=60.0)
    s.put_many("c", {"x": b"A" * 200_000})
    [(pack,)] = s._handles.get("c")._lookup("SELECT pack FROM objects WHERE name = ?", ("x",))
    path = s._handles.get("c").pack_path(pack)
    with open(path, "r+b") as f:
        f.seek(100_000)
        f.write(b"B")
    assert s._compute_etags("c", ["x"]) == []
    from sciswift.errors import Quarantined
    with pytest.raises(Quarantined):
        s.head_object("c", "x")
    s.close()


def test_deep_fsck_accepts_lazy_etags(store: LocalStore) -> None:
    store.put_many("c", {"x": big(b"abc"), "y": big(b"defg")})
    report = store.fsck("c", deep=True)
    assert report.objects == 2 and report.quarantined == []
    assert store.head_object("c", "y").etag == md5(big(b"defg"))
