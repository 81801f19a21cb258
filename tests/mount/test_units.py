"""The mount's pure parts without FUSE: the dirty-range set (against a set of
bytes, by hypothesis), the segment plan, sizes and the errno table."""

from __future__ import annotations

import errno
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sciswift.mount.uploader as uploader_module
from sciswift import errors
from sciswift.mount.cache import BlockCache
from sciswift.mount.config import parse_size
from sciswift.mount.errors import errno_for
from sciswift.mount.intervals import IntervalSet
from sciswift.mount.layout import SegmentPlan, Version
from sciswift.mount.openfile import FileState
from sciswift.mount.reader import Fetcher, ReadAhead
from sciswift.mount.uploader import MIN_KEPT_RANGE, Uploader, _patch_runs
from sciswift.store import MemoryStore, segments_container
from sciswift.store.large import SegmentRef

ops = st.lists(st.tuples(st.sampled_from(["add", "cut"]), st.integers(0, 120), st.integers(0, 20)), max_size=40)

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@given(ops, st.integers(0, 130), st.integers(0, 30))
def test_interval_set_matches_a_set_of_bytes(steps: list[tuple[str, int, int]], q: int, qlen: int) -> None:
    s, ref = IntervalSet(), set()
    for op, a, n in steps:
        if op == "add":
            s.add(a, a + n)
            ref |= set(range(a, a + n))
        else:
            s.remove_from(a)
            ref = {x for x in ref if x < a}
    covered = set().union(*(set(range(a, b)) for a, b in s)) if s else set()
    assert covered == ref
    pairs = list(s)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(pairs, pairs[1:]))  # merged, in order
    assert s.total == len(ref)
    window = set(range(q, q + qlen))
    assert s.covers(q, q + qlen) == (window <= ref)
    assert s.intersects(q, q + qlen) == bool(window & ref)
    pieces = list(s.split(q, q + qlen))
    assert [p for p in pieces if p[0] >= p[1]] == []
    assert all((x in ref) == inside for a, b, inside in pieces for x in range(a, b))
    assert sum(b - a for a, b, _ in pieces) == qlen


def test_segment_plan_fixed_cuts_and_reused_boundaries() -> None:
    plan = SegmentPlan(16)
    segs = list(plan.segments(16 * 512 + 100))
    assert segs[0] == (0, 16) and segs[511] == (16 * 511, 16) and segs[512] == (16 * 512, 100)
    assert plan.segment_at(16 * 512 + 5) == (16 * 512, 128)  # the second tier: 8x
    old = Version.segmented("c", "n", "e", 0.0, [SegmentRef("c", "a", "x", 10), SegmentRef("c", "b", "y", 7)])
    plan = SegmentPlan.for_version(old, 16)
    assert list(plan.segments(40)) == [(0, 10), (10, 7), (17, 16), (33, 7)]
    assert list(plan.segments(12)) == [(0, 10), (10, 2)]


def test_version_pieces_in() -> None:
    v = Version.segmented("c", "n", "e", 0.0, [SegmentRef("c", str(i), "x", 10) for i in range(5)])
    assert [p.offset for p in v.pieces_in(15, 31)] == [10, 20, 30]
    assert [p.offset for p in v.pieces_in(0, 10)] == [0]
    assert Version.single("c", "n", "e", 0, 0.0).pieces == ()


@pytest.mark.parametrize("text, value", [("4096", 4096), ("16M", 16 << 20), ("1.5g", 3 << 29), ("10GiB", 10 << 30)])
def test_parse_size(text: str, value: int) -> None:
    assert parse_size(text) == value


def test_parse_size_refuses_nonsense() -> None:
    with pytest.raises(errors.InvalidInput):
        parse_size("lots")


@pytest.mark.parametrize("exc, code", [
    (errors.NotFound("x"), errno.ENOENT),
    (errors.AlreadyExists("x"), errno.EEXIST),
    (errors.ContainerNotEmpty("x"), errno.ENOTEMPTY),
    (errors.PermissionDenied("x"), errno.EACCES),
    (errors.InvalidName("object name is 2000 bytes, longer than 1024"), errno.ENAMETOOLONG),
    (errors.InvalidName("object name 'a' contains NUL"), errno.EINVAL),
    (errors.StoreUnavailable("down"), errno.EIO),
    (errors.CorruptData("bad"), errno.EIO),
    (OSError(errno.ENOSPC, "full"), errno.ENOSPC),
    (RuntimeError("bug"), errno.EIO),
])
def test_errno_table(exc: BaseException, code: int) -> None:
    assert errno_for(exc, "op", "/p") == code


def test_read_ahead_refills_in_long_runs() -> None:
    """A sequential reader is read ahead in pieces of at least half the window,
    not one block per read."""
    ra = ReadAhead()
    asked: list[tuple[int, int]] = []
    for i in range(64):
        start, stop = ra.advance(i * 128 * KiB, 128 * KiB, MiB, 64 * MiB)
        if stop > start:
            asked.append((start, stop))
    assert asked, "a sequential reader is read ahead"
    assert all(b > a for a, b in asked)
    assert all(b <= c for (_, b), (c, _) in zip(asked, asked[1:])), "nothing is asked for twice"
    # after the first refill, each asks for at least half the window then in force
    assert all(b - a >= MiB for a, b in asked)
    assert len(asked) <= 8 < 64


def test_read_ahead_fill_only_for_scattered_reads_of_a_fair_part() -> None:
    size = 256 * MiB
    # Reads of 2 MiB spans at scattered places: a fill once there were 4 jumps
    # and 8 MiB (1/32) was read, and only once.
    ra = ReadAhead()
    fills = []
    for at in [200, 17, 90, 150, 33, 240, 5, 120]:
        for k in range(16):
            ra.advance(at * MiB + k * 128 * KiB, 128 * KiB, MiB, 64 * MiB)
        fills.append(ra.wants_fill(size, GiB))
    assert fills.count(True) == 1 and fills.index(True) == 4
    # A sequential reader never jumps; the kernel's overlapping read-ahead
    # (reads a few MiB out of order) is not a jump either.
    seq = ReadAhead()
    for i in range(0, 256, 4):
        for off in (i + 2, i, i + 3, i + 1):
            seq.advance(off * MiB, MiB, MiB, 64 * MiB)
            assert not seq.wants_fill(size, GiB)
    assert seq.jumps == 0
    # ... nor are two of its 8 MiB windows served in reverse order (a loaded
    # machine: the later window's reads first).
    swapped = ReadAhead()
    for i in range(0, 256, 16):
        for off in [*range(i + 8, i + 16), *range(i, i + 8)]:
            swapped.advance(off * MiB, MiB, MiB, 64 * MiB)
            assert not swapped.wants_fill(size, GiB)
    assert swapped.jumps == 0
    # h5ls / h5dump -H of a big file: a few small reads here and there.
    meta = ReadAhead()
    for at in (0, 4096, 90 * MiB, 1000, 200 * MiB, 3 * MiB, 150 * MiB, 77):
        meta.advance(at, 4096, MiB, 64 * MiB)
    assert meta.jumps >= 4 and not meta.wants_fill(size, GiB)
    # Scattered reads of a file larger than the limit are not filled.
    big = ReadAhead()
    for at in range(0, 10 * GiB, GiB):
        big.advance(at, 64 * MiB, MiB, 64 * MiB)
    assert not big.wants_fill(10 * GiB, GiB)


# ---------------------------------------------------------------- file times (mtime)
@pytest.mark.parametrize("text, ns", [
    ("1577880000.123456789", 1_577_880_000_123_456_789),  # rclone: nine decimals
    ("1577880000.123457", 1_577_880_000_123_457_000),  # swift upload: "%f"
    ("1577880000", 1_577_880_000_000_000_000),
    (" 1577880000.5 ", 1_577_880_000_500_000_000),
    ("1577880000.1234567891234", 1_577_880_000_123_456_789),  # past the ns: cut
    ("0", 0),
    ("-1.5", None), ("1e9", None), ("abc", None), ("", None), ("1.2.3", None),
    ("\u0661\u0662\u0663", None),  # digits of another script: not a time
    ("1234567890123.0", None),  # more than 12 digits of seconds
])
def test_mtime_metadata_is_read_exactly(text: str, ns: int | None) -> None:
    from sciswift.mount.mtime import parse_mtime

    assert parse_mtime({"mtime": text}) == ns


def test_mtime_metadata_round_trips_to_the_ns() -> None:
    from sciswift.mount.mtime import format_mtime, parse_mtime

    for ns in (0, 1, 999_999_999, 1_577_880_000_123_456_789, 1_796_611_848_440_273_216):
        text = format_mtime(ns)
        assert parse_mtime({"mtime": text}) == ns
        assert abs(float(text) - ns / 1e9) < 1e-6  # what swiftclient's float() reads
    assert parse_mtime({}) is None


# ---------------------------------------------------------------- modes
@pytest.mark.parametrize("text, bits", [
    ("0100755", 0o755), ("100644", 0o644), ("0100600", 0o600), (" 0640 ", 0o640),
    ("0104755", 0o755),  # set-uid in the store: not shown
    ("755", 0o755), ("0", 0),
    ("33261", 0o755), ("33188", 0o644), ("33279", 0o777),  # s3fs's decimal st_mode
    ("040755", None), ("16877", None),  # a directory's mode: not a file's
    ("rwxr-xr-x", None), ("0o755", None), ("0100789", None), ("", None), ("12345678", None),
    ("\u0667\u0665\u0665", None),
])
def test_mode_metadata_is_read_as_octal_permission_bits(text: str, bits: int | None) -> None:
    from sciswift.mount.filemode import parse_mode

    assert parse_mode({"mode": text}) == bits


def test_mode_metadata_round_trips() -> None:
    from sciswift.mount.filemode import format_mode, parse_mode

    for bits in (0o644, 0o755, 0o600, 0o000, 0o777):
        assert parse_mode({"mode": format_mode(bits)}) == bits
    assert format_mode(0o4755) == "0100755" and parse_mode({}) is None


# ---------------------------------------------------------------- listed files completed by HEADs
class _SwiftLikeListings:
    """A MemoryStore seen as real Swift's listings are: no metadata in them; HEADs counted."""

    listing_metadata = False

    def __init__(self) -> None:
        import threading

        from sciswift.store.memory import MemoryStore

        self._store = MemoryStore()
        self._lock = threading.Lock()
        self.heads = 0

    def list_objects(self, container: str, params: object = None) -> list[object]:
        from dataclasses import replace

        from sciswift.store.types import ListingParams, ObjectInfo

        got = self._store.list_objects(container, params if isinstance(params, ListingParams) else ListingParams())
        return [replace(e, metadata={}) if isinstance(e, ObjectInfo) else e for e in got]

    def head_object(self, container: str, name: str) -> object:
        with self._lock:
            self.heads += 1
        return self._store.head_object(container, name)

    def head_link(self, container: str, name: str) -> object:  # what the mount's lookups ask
        return self.head_object(container, name)

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def test_listed_files_get_their_own_times_from_heads_in_rounds() -> None:
    from sciswift.mount.mtime import format_mtime
    from sciswift.mount.namespace import HEAD_AHEAD, Namespace

    store = _SwiftLikeListings()
    store.create_container("c")
    t0 = 1_577_880_000_000_000_007
    for i in range(40):
        store.put_object("c", f"d/f{i:02d}", b"x" * i, metadata={"mtime": format_mtime(t0 + i)})
    store.put_object("c", "d/plain", b"p")
    ns = Namespace(store, "c", "", ttl=30.0)  # type: ignore[arg-type]
    names = ns.listdir("/d")
    assert len(names) == 41 and store.heads == 0  # `ls`: names only, no HEAD
    first = ns.lookup("/d/f00")
    assert first.time_ns() == t0 and first.complete
    assert store.heads <= HEAD_AHEAD  # the asked file and the next ones, at once
    for i in range(40):
        assert ns.lookup(f"/d/f{i:02d}").time_ns() == t0 + i
    plain = ns.lookup("/d/plain")
    assert plain.own_mtime_ns is None and plain.time_ns() == int(plain.mtime * 1e9)
    assert store.heads == 41  # each file once
    server_times = Namespace(store, "c", "", ttl=30.0, own_times=False)  # type: ignore[arg-type]
    server_times.listdir("/d")
    assert server_times.lookup("/d/f05").own_mtime_ns is None and store.heads == 41


def test_patch_runs_join_close_writes_and_give_up_past_half() -> None:
    """Which bytes of a partly written segment are sent (the rest is kept as
    ranges of its old object): written runs, joined across small gaps; None
    when that is more than half the segment (sent whole)."""
    seg = 16 << 20
    dirty = IntervalSet()
    assert _patch_runs(dirty, 0, seg) is None  # nothing written
    dirty.add(100, 200)
    dirty.add(200 + MIN_KEPT_RANGE - 1, 300 + MIN_KEPT_RANGE)  # a gap too small to keep
    dirty.add(8 << 20, (8 << 20) + 10)
    assert _patch_runs(dirty, 0, seg) == [(100, 300 + MIN_KEPT_RANGE), (8 << 20, (8 << 20) + 10)]
    assert _patch_runs(dirty, 4 << 20, 8 << 20) == [(8 << 20, (8 << 20) + 10)]  # only this segment's
    dirty.add(1 << 20, 9 << 20)  # more than half: whole
    assert _patch_runs(dirty, 0, seg) is None


def test_many_partial_rewrites_stay_under_the_segment_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commit after commit of small writes at new places: pieces are added as
    ranges until MAX_PIECES, then written segments are sent whole; every
    version reads back exactly, and the store holds only the segment objects
    the last manifest uses."""
    monkeypatch.setattr(uploader_module, "MIN_KEPT_RANGE", 64)
    monkeypatch.setattr(uploader_module, "MAX_PIECES", 20)
    seg = 4096
    store = MemoryStore()
    store.create_container("c")
    fetcher = Fetcher(store, BlockCache(tmp_path / "cache", 1 << 30), block_size=1024)
    up = Uploader(store, fetcher, segment_size=seg)
    rng = random.Random(7)
    data = bytearray(rng.randbytes(4 * seg + 100))
    state = FileState("/f", "c", "f", None, staging_dir=tmp_path, segment_size=seg, content_type="x")
    state.write(0, bytes(data))
    up.commit(state)
    counts = []
    try:
        for _ in range(40):
            at, size = rng.randrange(len(data) - 50), rng.randrange(1, 50)
            patch = rng.randbytes(size)
            state.write(at, patch)
            data[at:at + size] = patch
            up.commit(state)
            refs = store.get_manifest("c", "f")
            assert refs is not None
            counts.append(len(refs))
            assert len(refs) <= 20
            assert state.read(fetcher, 0, len(data)) == bytes(data)
            fresh = Fetcher(store, BlockCache(tmp_path / f"c{len(counts)}", 1 << 30), block_size=1024)
            version = Version.segmented("c", "f", "", 0.0, refs)
            assert fresh.read(version, 0, len(data)) == bytes(data)
            fresh.close()
            names = {o.name for o in store.iter_objects(segments_container("c"))}
            assert names == {r.name for r in refs}
    finally:
        up.close()
        fetcher.close()
    assert max(counts) >= 18 and any(r.ranged for r in refs), counts  # ranges were used, up to the cap


def test_mountinfo_paths_and_fuse_option_values() -> None:
    from sciswift.mount.daemon import mountinfo_path
    from sciswift.mount.fs import fuse_option_value

    assert mountinfo_path(rb"/mnt/a\040b\011\134c/" + "ü".encode()) == "/mnt/a b\t\\c/ü".encode()
    assert mountinfo_path(b"/plain") == b"/plain"
    assert fuse_option_value("sciswift:swift://a,b\\c") == "sciswift:swift://a\\,b\\\\c"


class _GatedStore(MemoryStore):
    """A MemoryStore whose segment uploads wait for ``gate`` (an early upload
    held in flight)."""

    def __init__(self) -> None:
        super().__init__()
        import threading

        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()  # an upload is at the gate

    def put_object(self, container: str, name: str, data: object, **kwargs: object) -> object:  # type: ignore[override]
        if container.endswith("_segments") and not self.gate.is_set():
            self.waiting.set()
            assert self.gate.wait(10)
        return super().put_object(container, name, data, **kwargs)  # type: ignore[arg-type]


def test_a_segment_written_while_its_early_upload_is_in_flight_is_stored_as_last_written(tmp_path: Path) -> None:
    """A large object with small segments (another client's, or ranged patches
    of this mount's) is truncated under the segment size while an early upload
    of one of its segments is in flight, that segment is written again, and the
    file grows past the segment size: the commit stores the last bytes written,
    not the early upload's (the write took the small-file shortcut and kept no
    generation for the segment, so the upload, finished later, was reused)."""
    store = _GatedStore()
    store.create_container("c")
    seg_container = segments_container("c")
    store.create_container(seg_container)
    old = random.Random(1).randbytes(10_000)
    refs = []
    for i in range(10):  # 1,000-byte segments, the file 10,000 bytes
        info = store.put_object(seg_container, f"f/old/{i}", old[i * 1000:(i + 1) * 1000])
        refs.append(SegmentRef(seg_container, f"f/old/{i}", info.etag, 1000))
    info = store.put_manifest("c", "f", refs)
    base = Version.segmented("c", "f", info.etag, 0.0, refs)
    fetcher = Fetcher(store, BlockCache(tmp_path / "cache", 1 << 30), block_size=1024)
    up = Uploader(store, fetcher, segment_size=4096)
    state = FileState("/f", "c", "f", base, staging_dir=tmp_path, segment_size=4096, content_type="x")
    try:
        first, last, tail = b"1" * 1000, b"2" * 1000, b"3" * 100
        store.gate.clear()
        ready = state.write(1000, first)
        assert ready == [(1000, 1000)]
        up.upload_early(state, ready)  # in flight (its bytes read) until the gate opens
        assert store.waiting.wait(10)
        state.truncate(2000)
        up.upload_early(state, state.write(1000, last))
        up.upload_early(state, state.write(9000, tail))
        store.gate.set()
        assert up.commit(state)
        expected = old[:1000] + last + bytes(7000) + tail
        stored = store.get_manifest("c", "f")
        assert stored is not None
        fresh = Fetcher(store, BlockCache(tmp_path / "fresh", 1 << 30), block_size=1024)
        try:
            assert fresh.read(Version.segmented("c", "f", "", 0.0, stored), 0, len(expected)) == expected
        finally:
            fresh.close()
        assert state.read(fetcher, 0, len(expected)) == expected
    finally:
        store.gate.set()
        up.close()
        fetcher.close()


def test_interval_set_joins_interleaved_small_ranges() -> None:
    """Two writers' 4-byte pieces at stride 8, one behind the other (the
    shapes of ``add``'s short cuts: a new range, one grown, two joined, one
    already covered), end as one range."""
    s = IntervalSet()
    for i in range(100):
        s.add(8 * i, 8 * i + 4)
    assert len(list(s)) == 100
    for i in range(100):
        s.add(8 * i + 4, 8 * i + 8)
        s.add(8 * i, 8 * i + 2)  # already covered
    assert list(s) == [(0, 800)]
    s.add(900, 904)
    s.add(896, 900)  # grows the last range downwards
    s.add(0, 1000)  # swallows both
    assert list(s) == [(0, 1000)]


def test_a_state_reads_staging_past_the_stored_version_in_one_piece(tmp_path: Path) -> None:
    """Past ``base_limit`` a read is one pread of staging: what was written,
    zeros in the gaps and past staging's end, nothing of a truncated tail."""
    state = FileState("/f", "c", "f", None, staging_dir=tmp_path, segment_size=1 << 20, content_type="x")
    fetcher = Fetcher(MemoryStore(), BlockCache(tmp_path / "cache", 1 << 20), block_size=4096)
    for i in range(1000):
        state.write(8 * i, b"abcd")
    state.truncate(4000)  # cuts staging
    state.truncate(9000)  # the tail reads as zeros again
    expected = b"abcd\0\0\0\0" * 500 + bytes(5000)
    assert state.read(fetcher, 0, 10_000) == expected
    assert state.read(fetcher, 3998, 10) == expected[3998:4008]
    state.discard()
