"""What the HDF5 view reads from the store, and its read contract: opening reads
the consolidated metadata only; a read inside one chunk's range fetches that
chunk (or, for a sharded array, the shard's index and that inner chunk); absent
chunks read as fill; pass-through chunks are the chunk objects' bytes."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from view_helpers import H5LS, CountingStore, compare, materialize, run, view_file

import sciswift.h5py as sh
from sciswift.engine import ArrayMeta, Hierarchy, describe
from sciswift.engine.codecs import shard_codecs
from sciswift.h5view import HDF5View, open_view
from sciswift.h5view.serving import zlib_bound
from sciswift.store import ByteRange, Location, parse_location


def _counted(loc: Location) -> tuple[Location, CountingStore]:
    store = CountingStore(loc.store)
    return Location(store, loc.container, loc.prefix, loc.display), store  # type: ignore[arg-type]


def _chunk_ranges(path: Path, name: str) -> list[tuple[tuple[int, ...], int, int]]:
    """``(chunk offset, address, size)`` of every chunk, as HDF5 reads the view."""
    with h5py.File(path, "r") as f:
        dsid = f[name].id
        return [(info.chunk_offset, info.byte_offset, info.size)
                for info in (dsid.get_chunk_info(i) for i in range(dsid.get_num_chunks()))]


@pytest.fixture
def grid_file(native_url: Callable[[str], str]) -> tuple[str, np.ndarray]:
    url = native_url("grid.h5")
    data = np.arange(100 * 60, dtype="<f8").reshape(100, 60)
    with sh.File(url, "w") as f:
        f.create_dataset("raw", data=data, chunks=(32, 25))
        f.create_dataset("zipped", data=data, chunks=(32, 25), compression="gzip")
        sparse = f.create_dataset("sparse", shape=(100, 60), chunks=(32, 25), dtype="<i4", fillvalue=-7)
        sparse[40:41, 30:31] = 5
        for i in range(20):
            f.create_dataset(f"small/{i}", data=np.full(4, i))
        f.attrs["note"] = "x" * 100
    return url, data


def test_open_reads_only_the_consolidated_metadata(grid_file: tuple[str, np.ndarray],
                                                   location: Callable[[str], Location]) -> None:
    loc, store = _counted(location(grid_file[0]))
    view = open_view(loc)
    assert [name.rpartition("/")[2] for name, _ in store.gets] == ["zarr.json"]
    assert view.size > view.data_start > view.metadata_size > 0
    # Reading every byte before the chunk data fetches nothing more.
    view.read(0, view.data_start)
    assert len(store.gets) == 1


def test_a_chunk_range_fetches_that_chunk_only(grid_file: tuple[str, np.ndarray],
                                               location: Callable[[str], Location], tmp_path: Path) -> None:
    url, data = grid_file
    path = view_file(location(url), tmp_path / "view.h5")
    for name in ("raw", "zipped"):
        ranges = _chunk_ranges(path, name)
        assert len(ranges) == 4 * 3  # every chunk of the grid, edge chunks included
        offset, address, size = ranges[7]
        loc, store = _counted(location(url))
        view = open_view(loc)
        store.gets.clear()
        got = view.read(address, size)
        assert len(got) == size
        coords = tuple(o // c for o, c in zip(offset, (32, 25)))
        assert [n for n, _ in store.gets] == [f"{loc.prefix + '/' if loc.prefix else ''}{name}/c/{coords[0]}/{coords[1]}"]
        # Read again in pieces (as FUSE splits reads): served from the view's cache.
        for lo in range(0, size, 4096):
            assert view.read(address + lo, min(4096, size - lo)) == got[lo:lo + 4096]
        assert len(store.gets) == 1
        chunk = np.frombuffer(got, "<f8").reshape(32, 25)
        r, c = offset
        assert np.array_equal(chunk[: min(32, 100 - r), : min(25, 60 - c)], data[r:r + 32, c:c + 25])


def test_absent_chunks_read_as_fill(grid_file: tuple[str, np.ndarray], location: Callable[[str], Location],
                                    tmp_path: Path) -> None:
    url, _ = grid_file
    path = view_file(location(url), tmp_path / "view.h5")
    with h5py.File(path, "r") as f:
        got = f["sparse"][:]
        assert f["sparse"].fillvalue == -7
    want = np.full((100, 60), -7, "<i4")
    want[40, 30] = 5
    assert np.array_equal(got, want)
    offset, address, size = _chunk_ranges(path, "sparse")[0]
    loc, store = _counted(location(url))
    view = open_view(loc)
    store.gets.clear()
    assert view.read(address, size) == np.full(32 * 25, -7, "<i4").tobytes()
    assert len(store.gets) == 1  # one attempt, found absent


def test_pass_through_bytes_are_the_chunk_objects(native_url: Callable[[str], str],
                                                  location: Callable[[str], Location], tmp_path: Path) -> None:
    """Uncompressed, shuffled+Fletcher-32 and zlib chunks are served as stored, and
    HDF5 applies its own filters to them."""
    url = native_url("pass.h5")
    data = (np.arange(50 * 40, dtype="<i4") * 3).reshape(50, 40)
    with sh.File(url, "w") as f:
        f.create_dataset("plain", data=data, chunks=(16, 16))
        f.create_dataset("shuffled", data=data, chunks=(16, 16), shuffle=True, fletcher32=True)
    loc = location(url)
    h = Hierarchy(loc, "a")
    info = describe(np.dtype("<i4"))
    codecs = [info.array_codec, {"name": "numcodecs.shuffle", "configuration": {"elementsize": 4}},
              {"name": "numcodecs.zlib", "configuration": {"level": 6}}]
    h.create_array("zlib", ArrayMeta.create((50, 40), (16, 16), info, codecs, 0)).write(
        (slice(None), slice(None)), data)
    h.close()
    path = view_file(loc, tmp_path / "pass.h5")
    verbose = run([H5LS, "-v", f"{path}/zlib"]).stdout
    assert "shuffle-2" in verbose and "deflate-1" in verbose
    kv = Hierarchy(loc, "r").kv
    with h5py.File(path, "r") as f:
        for name in ("plain", "shuffled", "zlib"):
            dset = f[name]
            assert np.array_equal(dset[:], data), name
            mask, raw = dset.id.read_direct_chunk((16, 16))
            stored = kv.get(f"{name}/c/1/1")
            assert mask == 0
            if name == "zlib":
                assert len(raw) == zlib_bound(16 * 16 * 4) and raw.rstrip(b"\0") == stored.rstrip(b"\0")
            else:
                assert raw == stored, name


def test_sharded_array_is_served_per_inner_chunk(native_url: Callable[[str], str],
                                                 location: Callable[[str], Location], tmp_path: Path) -> None:
    url = native_url("sharded.h5")
    with sh.File(url, "w"):
        pass
    loc = location(url)
    data = np.arange(30 * 22, dtype=">f4").reshape(30, 22)
    h = Hierarchy(loc, "a")
    info = describe(data.dtype)
    inner = [info.array_codec, {"name": "zstd", "configuration": {"level": 3, "checksum": False}}]
    arr = h.create_array("s", ArrayMeta.create((30, 22), (16, 20), info, shard_codecs(inner, (4, 5)), np.float32(-1)))
    arr.write((slice(0, 20), slice(None)), data[:20])  # the last row of shards stays absent
    h.close()
    path = view_file(loc, tmp_path / "sharded.h5")
    with h5py.File(path, "r") as f:
        assert f["s"].chunks == (4, 5) and f["s"].dtype == np.dtype(">f4")
        want = data.copy()
        want[20:] = -1
        assert np.array_equal(f["s"][:], want)
    offset, address, size = [r for r in _chunk_ranges(path, "s") if r[0] == (8, 10)][0]
    loc2, store = _counted(loc)
    view = open_view(loc2)
    store.gets.clear()
    got = np.frombuffer(view.read(address, size), ">f4").reshape(4, 5)
    assert np.array_equal(got, data[8:12, 10:15])
    shard = f"{loc.prefix + '/' if loc.prefix else ''}s/c/0/0"
    assert [n for n, _ in store.gets] == [shard, shard]
    assert store.gets[0][1] == ByteRange.last(16 * 16 + 4)  # the index: 4x4 (offset, size) pairs, crc32c


def test_read_contract(grid_file: tuple[str, np.ndarray], location: Callable[[str], Location]) -> None:
    view = open_view(location(grid_file[0]))
    assert view.read(view.size - 10, 100) == view.read(view.size - 10, 10)
    assert len(view.read(view.size - 10, 100)) == 10
    assert view.read(view.size, 10) == b"" and view.read(view.size + 5, 10) == b""
    assert view.read(0, 8) == b"\x89HDF\r\n\x1a\n"
    with pytest.raises(ValueError):
        view.read(-1, 3)
    view.close()
    with pytest.raises(ValueError, match="closed"):
        view.read(0, 8)


def test_concurrent_reads_agree(grid_file: tuple[str, np.ndarray], location: Callable[[str], Location],
                                tmp_path: Path) -> None:
    view = open_view(location(grid_file[0]))
    whole = view.read(0, view.size)
    rng = random.Random(3)
    jobs = [(o, rng.randrange(1, 70000)) for o in (rng.randrange(view.size) for _ in range(400))]
    fresh: HDF5View = open_view(location(grid_file[0]))
    errors: list[str] = []

    def work(part: list[tuple[int, int]]) -> None:
        for off, n in part:
            if fresh.read(off, n) != whole[off:off + n]:
                errors.append(f"{off}+{n}")

    threads = [threading.Thread(target=work, args=(jobs[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert materialize(fresh, tmp_path / "again.h5", rng).read_bytes() == whole


def test_etag_follows_the_metadata(grid_file: tuple[str, np.ndarray], location: Callable[[str], Location]) -> None:
    url, _ = grid_file
    first = open_view(location(url)).etag
    assert open_view(location(url)).etag == first
    with sh.File(url, "a") as f:
        f.attrs["changed"] = 1
    assert open_view(location(url)).etag != first


def test_no_native_file(location: Callable[[str], Location], native_url: Callable[[str], str]) -> None:
    from sciswift.errors import NotFound

    with pytest.raises(NotFound, match="no native file"):
        open_view(location(native_url("missing.h5")))


def test_over_swift_on_sciswift_serve(sciswift_server: Any, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path) -> None:
    """The view over SwiftStore (ranged GETs, suffix ranges for shard indexes)
    against ``sciswift serve``: h5py reads what was written."""
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    url = f"swift://h5view-{uuid.uuid4().hex[:8]}/run1.h5"
    data = np.arange(70 * 30, dtype="<f4").reshape(70, 30)
    with sh.File(url, "w") as f:
        f.create_dataset("raw", data=data, chunks=(16, 16))
        f.create_dataset("zipped", data=data, chunks=(16, 16), compression="gzip", fillvalue=-1)
        f.create_dataset("names", data=np.array(["a", "bé", ""], dtype=object), dtype=sh.string_dtype())
        f["raw"].attrs["units"] = "K"
    loc = parse_location(url)
    h = Hierarchy(loc, "a")
    info = describe(data.dtype)
    h.create_array("sharded", ArrayMeta.create((70, 30), (32, 16), info, shard_codecs([info.array_codec], (8, 8)),
                                               np.float32(0))).write((slice(None), slice(None)), data)
    h.close()
    path = view_file(loc, tmp_path / "swift.h5", random.Random(5))
    with sh.File(url, "r") as src, h5py.File(path, "r") as view:
        assert compare(src, view, chunks={"/sharded": (8, 8)}) == 4
