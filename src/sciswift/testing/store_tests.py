"""StoreTests: the one conformance suite every Store backend subclasses and passes.

Usage (pytest)::

    class TestMemoryStore(StoreTests):
        @pytest.fixture
        def store(self):
            yield MemoryStore()

The fixture must give an *empty* account (no containers). Tests create uniquely
named containers and clean up after themselves where they can, so a shared remote
account (a real Swift) works too.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from sciswift.errors import (
    AlreadyExists,
    ChecksumMismatch,
    ContainerNotEmpty,
    InvalidInput,
    NotFound,
    NotSupported,
    PreconditionFailed,
    RangeNotSatisfiable,
)
from sciswift.store.base import Store
from sciswift.store.large import (
    SegmentRef,
    content_etag,
    content_size,
    is_large_object,
    segments_container,
    slo_etag,
)
from sciswift.store.links import LinkTarget, link_target
from sciswift.store.types import (
    CREATE,
    ByteRange,
    IfMatch,
    ListingParams,
    ObjectInfo,
    Subdir,
)

__all__ = ["StoreTests"]


def _names(entries: list) -> list[str]:
    return [e.name for e in entries]


def _eventually(store: Store, check: Callable[[], None]) -> None:
    """Run ``check`` until it passes; retried only for as long as the store says its
    account totals may lag (``Store.totals_lag``), so exact stores are checked once."""
    deadline = time.monotonic() + store.totals_lag
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


class StoreTests:
    """Behaviour shared by all backends. Subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:  # pragma: no cover - overridden
        raise NotImplementedError("subclasses provide a 'store' fixture")

    @pytest.fixture
    def container(self, store: Store) -> Iterator[str]:
        name = f"ct-{uuid.uuid4().hex[:10]}"
        assert store.create_container(name) is True
        yield name
        try:
            store.delete_many(name, [o.name for o in store.iter_objects(name)])
            store.delete_container(name)
        except NotFound:
            pass

    # ------------------------------------------------------------ containers
    def test_create_head_delete_container(self, store: Store) -> None:
        name = f"c-{uuid.uuid4().hex[:8]}"
        assert store.create_container(name, metadata={"Color": "blue"}) is True
        assert store.create_container(name) is False
        info = store.head_container(name)
        assert info.name == name
        assert info.object_count == 0 and info.bytes_used == 0
        assert info.metadata.get("color") == "blue"
        store.delete_container(name)
        with pytest.raises(NotFound):
            store.head_container(name)
        with pytest.raises(NotFound):
            store.delete_container(name)

    def test_delete_nonempty_container(self, store: Store, container: str) -> None:
        store.put_object(container, "x", b"1")
        with pytest.raises(ContainerNotEmpty):
            store.delete_container(container)

    def test_post_container_merges_and_removes(self, store: Store, container: str) -> None:
        store.post_container(container, {"a": "1", "b": "2"})
        store.post_container(container, {"b": "", "c": "3"})
        meta = store.head_container(container).metadata
        assert meta.get("a") == "1" and "b" not in meta and meta.get("c") == "3"
        with pytest.raises(NotFound):
            store.post_container(f"missing-{uuid.uuid4().hex}", {"a": "1"})

    def test_container_totals(self, store: Store, container: str) -> None:
        store.put_object(container, "a", b"12345")
        store.put_object(container, "b", b"123")
        store.put_object(container, "a", b"1")  # overwrite adjusts the totals
        info = store.head_container(container)
        assert info.object_count == 2
        assert info.bytes_used == 4

    def test_list_containers(self, store: Store) -> None:
        base = f"lc-{uuid.uuid4().hex[:8]}"
        names = [f"{base}-a", f"{base}-b", f"{base}-c"]
        for n in names:
            store.create_container(n)
        try:
            listed = _names(store.list_containers(ListingParams(prefix=base)))
            assert listed == names
            page = _names(store.list_containers(ListingParams(prefix=base, marker=names[0], limit=1)))
            assert page == [names[1]]
            rev = _names(store.list_containers(ListingParams(prefix=base, reverse=True)))
            assert rev == names[::-1]
            store.put_object(names[0], "o", b"abc")

            def totals() -> None:
                infos = [c for c in store.list_containers(ListingParams(prefix=names[0]))]
                assert infos[0].object_count == 1 and infos[0].bytes_used == 3  # type: ignore[union-attr]

            _eventually(store, totals)
            store.delete_object(names[0], "o")
        finally:
            for n in names:
                store.delete_container(n)

    def test_account_info_and_metadata(self, store: Store, container: str) -> None:
        store.put_object(container, "a", b"xyz")

        def totals() -> None:
            acct = store.account_info()
            assert acct.container_count >= 1
            assert acct.object_count >= 1 and acct.bytes_used >= 3

        _eventually(store, totals)
        if not store.supports_account_metadata:
            with pytest.raises(NotSupported):
                store.post_account({"Project": "sky"})
            return
        store.post_account({"Project": "sky"})
        assert store.account_info().metadata.get("project") == "sky"
        store.post_account({"project": ""})
        assert "project" not in store.account_info().metadata

    def test_bad_container_names(self, store: Store) -> None:
        for bad in ["", "a/b", "x\x00y", "." , "..", "c" * 257]:
            with pytest.raises(InvalidInput):
                store.create_container(bad)

    def test_longest_container_names(self, store: Store, container: str) -> None:
        """Names at the backend's limit (Swift: 256 UTF-8 bytes, one more than
        most filesystems allow in a file name; S3: 63 ASCII characters) work
        like any other."""
        tag = container[:20]
        longest = store.max_container_name_length
        names = [f"{tag}-" + "c" * (longest - len(tag) - 1)]
        if store.unicode_container_names:
            names.append(f"{tag}-" + "é" * ((longest - len(tag) - 1) // 2))
        assert all(len(n.encode()) <= longest for n in names) and len(names[0].encode()) == longest
        try:
            for n in names:
                store.create_container(n, metadata={"Kind": "long"})
                store.put_object(n, "obj", b"in a long container")
            for n in names:
                assert store.get_object(n, "obj") == b"in a long container"
                assert store.head_container(n).metadata == {"kind": "long"}

            def listed() -> None:
                got = _names(store.list_containers(ListingParams(prefix=tag)))
                assert [n for n in got if n in names] == sorted(names, key=lambda s: s.encode())

            _eventually(store, listed)
        finally:
            for n in names:
                try:
                    store.delete_object(n, "obj")
                except NotFound:
                    pass
                try:
                    store.delete_container(n)
                except NotFound:
                    pass
        for n in names:
            with pytest.raises(NotFound):
                store.head_container(n)

    # --------------------------------------------------------------- objects
    def test_put_get_head(self, store: Store, container: str) -> None:
        data = b"hello world" * 100
        info = store.put_object(
            container, "dir/obj.bin", data, content_type="text/plain", metadata={"Temp": "42"}
        )
        assert info.etag == hashlib.md5(data).hexdigest()
        assert info.size == len(data)
        head = store.head_object(container, "dir/obj.bin")
        assert head.etag == info.etag and head.size == len(data)
        assert head.content_type == "text/plain"
        assert head.metadata == {"temp": "42"}
        assert head.timestamp > 0
        assert store.get_object(container, "dir/obj.bin") == data

    def test_put_streams_and_files(self, store: Store, container: str) -> None:
        import io

        chunks = [b"a" * 1000, b"b" * 5000, b"", b"c"]
        info = store.put_object(container, "gen", iter(chunks))
        assert info.size == 6001
        assert store.get_object(container, "gen") == b"".join(chunks)
        store.put_object(container, "file", io.BytesIO(b"from a file"))
        assert store.get_object(container, "file") == b"from a file"

    def test_empty_object(self, store: Store, container: str) -> None:
        info = store.put_object(container, "empty", b"")
        assert info.size == 0 and info.etag == hashlib.md5(b"").hexdigest()
        assert store.get_object(container, "empty") == b""

    def test_missing_object(self, store: Store, container: str) -> None:
        with pytest.raises(NotFound) as ei:
            store.get_object(container, "nope")
        assert "nope" in str(ei.value)
        with pytest.raises(NotFound):
            store.head_object(container, "nope")
        with pytest.raises(NotFound):
            store.delete_object(container, "nope")
        with pytest.raises(NotFound):
            store.put_object(f"missing-{uuid.uuid4().hex}", "x", b"1")
        assert not store.has_object(container, "nope")

    def test_overwrite_replaces_metadata(self, store: Store, container: str) -> None:
        store.put_object(container, "o", b"1", metadata={"a": "1"})
        store.put_object(container, "o", b"22", metadata={"b": "2"})
        head = store.head_object(container, "o")
        assert head.metadata == {"b": "2"} and head.size == 2

    def test_byte_ranges(self, store: Store, container: str) -> None:
        data = bytes(range(256)) * 4
        store.put_object(container, "r", data)
        assert store.get_object(container, "r", ByteRange(10, 20)) == data[10:20]
        assert store.get_object(container, "r", ByteRange(1000)) == data[1000:]
        assert store.get_object(container, "r", ByteRange(1000, 5000)) == data[1000:]
        assert store.get_object(container, "r", ByteRange.last(5)) == data[-5:]
        assert store.get_object(container, "r", ByteRange.last(5000)) == data
        with pytest.raises(RangeNotSatisfiable):
            store.get_object(container, "r", ByteRange(1024, 2000))
        with store.open_object(container, "r", ByteRange(100, 200)) as reader:
            assert reader.info.size == len(data)
            assert (reader.start, reader.stop) == (100, 200)
            assert reader.read(10) == data[100:110]
            assert reader.readall() == data[110:200]

    def test_reader_check_contract(self, store: Store, container: str) -> None:
        """``ObjectReader.check`` on intact bytes: passes without moving the read
        position, over any span within the reader's range, and refuses spans
        outside it (ValueError), whatever the backend can verify."""
        data = bytes(range(256)) * 1024  # 256 KiB: more than one checksummed block where there are blocks
        store.put_object(container, "k", data)
        for byte_range in (None, ByteRange(1000, 200_000), ByteRange.last(3)):
            with store.open_object(container, "k", byte_range) as reader:
                start, stop = reader.start, reader.stop
                assert reader.read(7) == data[start : start + 7]
                reader.check(start, stop)
                reader.check(start, start)
                reader.check(stop - 1, stop)
                for bad in ((start - 1, stop), (start, stop + 1), (stop, start)):
                    if bad[0] >= 0 and bad != (start, start):
                        with pytest.raises(ValueError):
                            reader.check(*bad)
                assert reader.readall() == data[start + 7 : stop]

    def test_put_mode_create(self, store: Store, container: str) -> None:
        store.put_object(container, "once", b"first", mode=CREATE)
        with pytest.raises(AlreadyExists):
            store.put_object(container, "once", b"second", mode=CREATE)
        assert store.get_object(container, "once") == b"first"

    def test_put_mode_if_match(self, store: Store, container: str) -> None:
        info = store.put_object(container, "v", b"v1")
        store.put_object(container, "v", b"v2", mode=IfMatch(info.etag))
        with pytest.raises(PreconditionFailed):
            store.put_object(container, "v", b"v3", mode=IfMatch(info.etag))
        assert store.get_object(container, "v") == b"v2"
        with pytest.raises(PreconditionFailed):
            store.put_object(container, "absent", b"x", mode=IfMatch(info.etag))

    def test_put_etag_verified(self, store: Store, container: str) -> None:
        good = hashlib.md5(b"abc").hexdigest()
        store.put_object(container, "e", b"abc", etag=good)
        with pytest.raises(ChecksumMismatch):
            store.put_object(container, "e", b"abd", etag=good)
        assert store.get_object(container, "e") == b"abc"  # nothing half-written

    def test_delete(self, store: Store, container: str) -> None:
        store.put_object(container, "d", b"1")
        store.delete_object(container, "d")
        with pytest.raises(NotFound):
            store.head_object(container, "d")

    def test_post_object(self, store: Store, container: str) -> None:
        store.put_object(container, "p", b"body", metadata={"a": "1", "b": "2"}, content_type="x/y")
        store.post_object(container, "p", metadata={"c": "3"})
        head = store.head_object(container, "p")
        assert head.metadata == {"c": "3"}
        assert head.content_type == "x/y"
        store.post_object(container, "p", metadata={}, content_type="text/plain")
        assert store.head_object(container, "p").content_type == "text/plain"
        assert store.get_object(container, "p") == b"body"
        with pytest.raises(NotFound):
            store.post_object(container, "nope", metadata={})

    def test_copy_object(self, store: Store, container: str) -> None:
        store.put_object(container, "src", b"payload", metadata={"k": "v"}, content_type="a/b")
        info = store.copy_object(container, "src", container, "dst", metadata={"extra": "1"})
        assert info.etag == hashlib.md5(b"payload").hexdigest()
        head = store.head_object(container, "dst")
        assert head.metadata == {"k": "v", "extra": "1"} and head.content_type == "a/b"
        assert store.get_object(container, "dst") == b"payload"
        store.copy_object(container, "src", container, "fresh", fresh_metadata=True)
        assert store.head_object(container, "fresh").metadata == {}
        with pytest.raises(NotFound):
            store.copy_object(container, "nope", container, "x")

    def test_system_metadata_roundtrip(self, store: Store, container: str) -> None:
        store.put_object(container, "s", b"1", system={"Content-Encoding": "gzip"})
        assert store.head_object(container, "s").system.get("content-encoding") == "gzip"

    def test_unicode_and_odd_names(self, store: Store, container: str) -> None:
        names = ["ünïcödé/ファイル", "a b", "../up", "x/./y", "trailing/", "//double", "a%2Fb", "🙂"]
        for n in names:
            store.put_object(container, n, n.encode())
        for n in names:
            assert store.get_object(container, n) == n.encode()
        listed = _names(store.list_objects(container))
        assert sorted(names, key=lambda s: s.encode()) == listed

    def test_bad_object_names(self, store: Store, container: str) -> None:
        for bad in ["", "a\x00b", "o" * 1025]:
            with pytest.raises(InvalidInput):
                store.put_object(container, bad, b"1")
        store.put_object(container, "o" * 1024, b"1")  # the limit itself is fine

    # -------------------------------------------------------------- listings
    def _fill(self, store: Store, container: str, names: list[str]) -> None:
        for n in names:
            store.put_object(container, n, n.encode())

    def test_listing_order_is_utf8_bytes(self, store: Store, container: str) -> None:
        names = ["b", "a", "\u00e9", "Z", "\uff5e", "a/b", "a0", "\U0001f600"]
        self._fill(store, container, names)
        assert _names(store.list_objects(container)) == sorted(names, key=lambda s: s.encode())

    def test_listing_info(self, store: Store, container: str) -> None:
        store.put_object(container, "one", b"12345", content_type="text/csv")
        [entry] = store.list_objects(container)
        assert isinstance(entry, ObjectInfo)
        assert entry.size == 5 and entry.etag == hashlib.md5(b"12345").hexdigest()
        assert entry.timestamp > 0
        if store.listing_content_types:
            assert entry.content_type == "text/csv"

    def test_listing_metadata_when_asked(self, store: Store, container: str) -> None:
        store.put_object(container, "m", b"x", metadata={"mtime": "1577880000.5", "color": "blue"})
        store.put_object(container, "plain", b"x")
        entries = store.list_objects(container, ListingParams(metadata=True))
        assert _names(entries) == ["m", "plain"]
        if store.listing_metadata:
            m, plain = entries
            assert isinstance(m, ObjectInfo) and isinstance(plain, ObjectInfo)
            assert m.metadata == {"mtime": "1577880000.5", "color": "blue"} and plain.metadata == {}

    def test_listing_paging(self, store: Store, container: str) -> None:
        names = [f"obj{i:03d}" for i in range(25)]
        self._fill(store, container, names)
        got: list[str] = []
        marker = ""
        while True:
            page = _names(store.list_objects(container, ListingParams(marker=marker, limit=7)))
            got += page
            if len(page) < 7:
                break
            marker = page[-1]
        assert got == names
        assert _names(store.list_objects(container, ListingParams(end_marker="obj005"))) == names[:5]
        assert _names(
            store.list_objects(container, ListingParams(marker="obj010", end_marker="obj013"))
        ) == names[11:13]
        assert _names(store.list_objects(container, ListingParams(reverse=True, limit=3))) == names[::-1][:3]
        assert _names(
            store.list_objects(container, ListingParams(reverse=True, marker="obj003"))
        ) == names[:3][::-1]
        assert [i.name for i in store.iter_objects(container, "obj01", page_size=4)] == names[10:20]

    def test_listing_prefix_delimiter(self, store: Store, container: str) -> None:
        names = ["a/1", "a/2", "a/b/3", "b", "c/4", "c/5/6", "d/"]
        self._fill(store, container, names)
        top = store.list_objects(container, ListingParams(delimiter="/"))
        assert [(type(e).__name__, e.name) for e in top] == [
            ("Subdir", "a/"), ("ObjectInfo", "b"), ("Subdir", "c/"), ("Subdir", "d/")
        ]
        under_a = store.list_objects(container, ListingParams(prefix="a/", delimiter="/"))
        assert [(type(e).__name__, e.name) for e in under_a] == [
            ("ObjectInfo", "a/1"), ("ObjectInfo", "a/2"), ("Subdir", "a/b/")
        ]
        assert _names(store.list_objects(container, ListingParams(prefix="c/"))) == ["c/4", "c/5/6"]
        limited = store.list_objects(container, ListingParams(delimiter="/", limit=2))
        assert _names(limited) == ["a/", "b"]
        after = store.list_objects(container, ListingParams(delimiter="/", marker="a/"))
        assert _names(after) == ["b", "c/", "d/"]
        assert all(isinstance(e, Subdir) for e in after if e.name.endswith("/"))

    def test_missing_container_listing(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.list_objects(f"missing-{uuid.uuid4().hex}")

    # ----------------------------------------------------------- bulk, races
    def test_many(self, store: Store, container: str) -> None:
        items = {f"k/{i}": bytes([i]) * i for i in range(40)}
        store.put_many(container, items)
        got = store.get_many(container, [*items, "k/missing"])
        assert got == items
        assert store.delete_many(container, [*items, "k/missing"]) == 40
        assert store.list_objects(container) == []

    def test_many_with_content_types_and_odd_names(self, store: Store, container: str) -> None:
        """Batches keep every name exactly (even ones an archive member path
        would change) and the content types asked for; bigger bodies mix in."""
        items = {f"g/{i}/zarr.json": b'{"n": %d}' % i for i in range(30)}
        items.update({"/lead": b"slash", "./dot": b"dot", "trail/": b"trail", "a//b": b"double",
                      "big": bytes(range(256)) * 400, "é/ü": b"unicode"})
        types = {n: "application/json" for n in items if n.endswith("zarr.json")}
        types["/lead"] = "text/x-lead"
        store.put_many(container, items, content_types=types)
        assert store.get_many(container, list(items)) == items
        for name in ["g/3/zarr.json", "/lead", "./dot", "big"]:
            assert store.head_object(container, name).content_type == types.get(name, "application/octet-stream")
        assert sorted(o.name for o in store.iter_objects(container)) == sorted(items, key=lambda s: s.encode())

    def test_concurrent_writers_leave_one_whole_object(self, store: Store, container: str) -> None:
        bodies = [bytes([i]) * (50_000 + i) for i in range(8)]
        errors: list[BaseException] = []

        def write(b: bytes) -> None:
            try:
                for _ in range(3):
                    store.put_object(container, "hot", b)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=write, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        final = store.get_object(container, "hot")
        assert final in bodies
        assert store.head_object(container, "hot").etag == hashlib.md5(final).hexdigest()
        assert store.head_container(container).object_count == 1

    def test_concurrent_create_only_one_wins(self, store: Store, container: str) -> None:
        if not store.supports_conditional_put:
            pytest.skip(f"{type(store).__name__} does not promise atomic conditional puts")
        wins: list[int] = []
        lock = threading.Lock()

        def create(i: int) -> None:
            try:
                store.put_object(container, "race", str(i).encode(), mode=CREATE)
                with lock:
                    wins.append(i)
            except AlreadyExists:
                pass

        threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1
        assert store.get_object(container, "race") == str(wins[0]).encode()

    # ------------------------------------------------------- symbolic links
    def test_symbolic_links_are_kept_as_themselves(self, store: Store, container: str) -> None:
        """``put_link`` stores a link (dangling ones too) that ``head_link``, the
        listing and ``delete_link`` see as itself, never as its target; where the
        store keeps no links it raises NotSupported and stores nothing."""
        store.put_object(container, "data/target.bin", b"payload")
        try:
            made = store.put_link(container, "links/l", container, "data/target.bin")
        except NotSupported:
            assert not store.keeps_links
            with pytest.raises(NotFound):
                store.head_link(container, "links/l")
            return
        want = LinkTarget(container, "data/target.bin")
        assert link_target(made) == want
        assert link_target(store.head_link(container, "links/l")) == want
        assert link_target(store.head_link(container, "data/target.bin")) is None
        store.put_link(container, "links/dangling é", container, "no/such object")
        listed = {e.name: e for e in store.list_objects(container, ListingParams(prefix="links/"))
                  if isinstance(e, ObjectInfo)}
        assert sorted(listed) == ["links/dangling é", "links/l"]
        assert link_target(listed["links/l"]) == want
        assert link_target(listed["links/dangling é"]) == LinkTarget(container, "no/such object")
        assert link_target(store.head_link(container, "links/dangling é")) == LinkTarget(container, "no/such object")
        store.delete_link(container, "links/dangling é")
        store.delete_link(container, "links/l")
        for name in ("links/l", "links/dangling é"):
            with pytest.raises(NotFound):
                store.head_link(container, name)
        assert store.get_object(container, "data/target.bin") == b"payload"

    def test_deleting_a_link_to_a_large_object_keeps_the_object(self, store: Store, container: str) -> None:
        """``delete_object`` of a link deletes the link only: a large-object
        delete made through it would take the target's segments."""
        if not store.supports_manifests:
            return  # no large objects to lose (S3Store: NotSupported, tested above)
        parts = [b"a" * 1000, b"b" * 1000]
        try:
            refs = self._segments(store, container, parts)
            store.put_manifest(container, "big", refs)
            try:
                store.put_link(container, "to-big", container, "big")
            except NotSupported:
                assert not store.keeps_links
                return
            store.delete_object(container, "to-big")
            with pytest.raises(NotFound):
                store.head_link(container, "to-big")
            assert store.get_manifest(container, "big") == refs
            assert [store.get_object(r.container, r.name) for r in refs] == parts
            store.put_link(container, "dangling", container, "never")
            store.delete_object(container, "dangling")
            with pytest.raises(NotFound):
                store.head_link(container, "dangling")
        finally:
            self._drop_manifests(store, container, "big")

    # ------------------------------------------------- large objects (SLO)
    def _segments(self, store: Store, container: str, parts: list[bytes]) -> list[SegmentRef]:
        seg_container = segments_container(container)
        store.create_container(seg_container)
        refs = []
        for i, body in enumerate(parts):
            info = store.put_object(seg_container, f"big/seg/{i:04d}", body)
            refs.append(SegmentRef(seg_container, info.name, info.etag, len(body)))
        return refs

    def _drop_manifests(self, store: Store, container: str, *names: str) -> None:
        """Delete the large objects ``names`` (those that exist), then every segment."""
        for name in names:
            try:
                store.delete_manifest(container, name)
            except NotFound:
                pass
        self._drop_segments(store, container)

    def _drop_segments(self, store: Store, container: str) -> None:
        seg_container = segments_container(container)
        try:
            store.delete_many(seg_container, [o.name for o in store.iter_objects(seg_container)])
            store.delete_container(seg_container)
        except NotFound:
            pass

    def test_scratch_buffer_io_is_declared(self, store: Store, container: str) -> None:
        """read_many_into / read_parts_into / put_many_filled work where declared, and are refused
        with NotSupported (never silently ignored) where not."""
        fill = lambda name, buf: buf.__setitem__(slice(None), name.encode().ljust(len(buf), b"."))  # noqa: E731
        names = ["sb/a", "sb/b"]
        if store.supports_put_filled:
            store.put_many_filled(container, names, 8, fill)
        else:
            with pytest.raises(NotSupported):
                store.put_many_filled(container, names, 8, fill)
            store.put_many(container, {n: n.encode().ljust(8, b".") for n in names})
        got: dict[str, bytes] = {}
        buf = memoryview(bytearray(8))
        parts: dict[int, bytes] = {}
        spans = [("sb/a", 8, 1, 3), ("sb/b", 8, 0, 8), ("sb/none", 8, 0, 1), ("sb/a", 9, 0, 1)]
        if store.supports_read_into:
            left = store.read_many_into(container, [*names, "sb/none"], buf,
                                        lambda n: got.__setitem__(n, bytes(buf)))
            assert left == ["sb/none"]
            assert got == {n: n.encode().ljust(8, b".") for n in names}
            # a missing name goes to ``absent`` or back to the caller, never both
            # nor neither; another size is left to the caller
            gone: list[str] = []
            got.clear()
            left = store.read_many_into(container, ["sb/none", "sb/a"], memoryview(bytearray(9)),
                                        lambda n: got.__setitem__(n, b""), gone.append)
            assert got == {} and sorted(left + gone) == ["sb/a", "sb/none"] and "sb/a" in left
        else:
            with pytest.raises(NotSupported):
                store.read_many_into(container, names, buf, lambda n: None)
        if store.supports_read_parts:
            # parts: what was asked for; missing objects and other sizes are left
            left_parts = store.read_parts_into(container, spans, lambda i, v: parts.__setitem__(i, bytes(v)))
            assert parts == {0: b"b/", 1: b"sb/b...."} and left_parts == [2, 3]
        else:
            with pytest.raises(NotSupported):
                store.read_parts_into(container, spans, lambda i, v: None)
        store.delete_many(container, names)

    def test_manifest_roundtrip(self, store: Store, container: str) -> None:
        parts = [b"a" * 1000, b"b" * 1000, b"c" * 10]
        if not store.supports_manifests:
            # S3: no large objects of stored segments; refused, nothing stored
            refs = []
            for i, body in enumerate(parts):
                info = store.put_object(container, f"seg/{i}", body)
                refs.append(SegmentRef(container, info.name, info.etag, len(body)))
            with pytest.raises(NotSupported):
                store.put_manifest(container, "big", refs)
            assert not store.has_object(container, "big")
            store.put_object(container, "small", b"x")
            assert store.get_manifest(container, "small") is None
            with pytest.raises(NotFound):
                store.get_manifest(container, "nothing")
            store.delete_many(container, ["small", *(r.name for r in refs)])
            return
        try:
            refs = self._segments(store, container, parts)
            info = store.put_manifest(container, "big", refs, content_type="application/x-hdf5",
                                      metadata={"color": "blue"})
            assert info.size == 2010
            assert info.etag == slo_etag(refs)
            head = store.head_object(container, "big")
            assert is_large_object(head)
            assert content_size(head) == 2010
            assert content_etag(head) == slo_etag(refs)
            assert head.metadata == {"color": "blue"}
            assert head.content_type == "application/x-hdf5"
            assert store.get_manifest(container, "big") == refs
            assert store.get_manifest(container, "big", head=head) == refs  # the caller's HEAD used
            listed = [e for e in store.list_objects(container) if isinstance(e, ObjectInfo)]
            assert [content_size(e) for e in listed if e.name == "big"] == [2010]
            store.put_object(container, "small", b"x")
            assert store.get_manifest(container, "small") is None
            with pytest.raises(NotFound):
                store.get_manifest(container, "nothing")
            # A HEAD gone stale: the large object was replaced by an ordinary one.
            store.put_object(container, "big", b"plain now")
            assert store.get_manifest(container, "big", head=head) is None
            store.delete_object(container, "big")
            with pytest.raises(NotFound):
                store.get_manifest(container, "big", head=head)
        finally:
            for name in ("big", "small"):
                try:
                    store.delete_object(container, name)
                except NotFound:
                    pass
            self._drop_segments(store, container)

    def test_manifest_of_ranged_segments(self, store: Store, container: str) -> None:
        """Segments that are byte ranges of their objects (Swift's ``range``; how a
        file rewritten in part keeps its unchanged bytes): stored, listed back
        exactly, the SLO ETag as Swift computes it, and served as the ranges
        where the store assembles large objects; a range past its object is
        refused, nothing stored."""
        if not store.supports_manifests:  # S3: refused as every manifest is
            info = store.put_object(container, "seg", b"0123456789")
            with pytest.raises(NotSupported):
                store.put_manifest(container, "big", [SegmentRef(container, "seg", info.etag, 5, 2, 10)])
            assert not store.has_object(container, "big")
            store.delete_object(container, "seg")
            return
        try:
            whole = self._segments(store, container, [bytes(range(200)) * 5, b"b" * 1000])
            refs = [whole[0].part(100, 300), whole[1], whole[0].part(0, 10), whole[1].part(999, 1)]
            assert [r.ranged for r in refs] == [True, False, True, True]
            info = store.put_manifest(container, "big", refs)
            assert info.size == 1311
            assert info.etag == slo_etag(refs) != slo_etag(whole)
            assert store.get_manifest(container, "big") == refs
            head = store.head_object(container, "big")
            assert content_size(head) == 1311 and content_etag(head) == slo_etag(refs)
            if not store.is_local:  # a Swift endpoint assembles the object
                expected = (bytes(range(200)) * 5)[100:400] + b"b" * 1000 + bytes(range(10)) + b"b"
                assert store.get_object(container, "big") == expected
            beyond = SegmentRef(whole[0].container, whole[0].name, whole[0].etag, 10, 995, 1000)
            with pytest.raises(InvalidInput):
                store.put_manifest(container, "bad", [whole[1], beyond])
            with pytest.raises(NotFound):
                store.head_object(container, "bad")
        finally:
            self._drop_manifests(store, container, "big", "bad")

    def test_manifest_refuses_bad_segments_and_stores_nothing(self, store: Store, container: str) -> None:
        if not store.supports_manifests:
            pytest.skip("no large objects on this backend: put_manifest is refused (test_manifest_roundtrip)")
        try:
            refs = self._segments(store, container, [b"a" * 100, b"b" * 100])
            missing = SegmentRef(refs[0].container, "big/seg/none", refs[0].etag, 100)
            with pytest.raises(InvalidInput):
                store.put_manifest(container, "big", [refs[0], missing])
            wrong = SegmentRef(refs[1].container, refs[1].name, "0" * 32, 100)
            with pytest.raises(InvalidInput):
                store.put_manifest(container, "big", [refs[0], wrong])
            with pytest.raises(NotFound):
                store.head_object(container, "big")
            store.put_manifest(container, "big", refs)
            with pytest.raises(AlreadyExists):
                store.put_manifest(container, "big", refs, mode=CREATE)
            # Replacing the manifest with fewer segments is atomic and leaves the
            # old segments to the caller.
            store.put_manifest(container, "big", refs[:1])
            assert store.get_manifest(container, "big") == refs[:1]
            assert store.has_object(refs[1].container, refs[1].name)
            # Moving a large object: a manifest under the new name, the old one
            # deleted without its segments.
            store.put_manifest(container, "moved", refs)
            store.delete_manifest(container, "big")
            assert not store.has_object(container, "big")
            assert all(store.has_object(r.container, r.name) for r in refs)
            assert store.get_manifest(container, "moved") == refs
            with pytest.raises(NotFound):
                store.delete_manifest(container, "big")
        finally:
            self._drop_manifests(store, container, "big", "moved")
