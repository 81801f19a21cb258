"""What the HDF5 view reads from the store, and its read contract: opening reads
the consolidated metadata only; a read inside one chunk's range fetches that
chunk (or, for a sharded array, the shard's index and that inner chunk); absent
chunks read as fill; pass-through chunks are the chunk objects' bytes."""

from __future__ import annotations

import gzip
import json
import random
import threading
import uuid
import zlib
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
from sciswift.h5view import HDF5View, ServeError, open_view
from sciswift.h5view.passthrough import zlib_bound
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
        if name == "zipped":
            # Passed through as a zlib stream (HDF5's deflate), zero-padded to zlib's bound.
            assert size == zlib_bound(32 * 25 * 8)
            inflater = zlib.decompressobj()
            got = inflater.decompress(got)
            assert inflater.eof and not inflater.unused_data.strip(b"\0")
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


#: h5py filter arguments, and the stored codecs sciswift.h5py writes for them.
PASS_CASES: dict[str, dict[str, Any]] = {
    "plain": {},
    "shuffled": {"shuffle": True, "fletcher32": True},  # numcodecs.shuffle + crc32c
    "gzip": {"compression": "gzip", "compression_opts": 4},  # gzip (with the zlib framing field)
    "all": {"shuffle": True, "compression": "gzip", "compression_opts": 6, "fletcher32": True},
}


def _direct_chunks(path: Path, name: str) -> list[bytes]:
    with h5py.File(path, "r") as f:
        dsid = f[name].id
        out = []
        for i in range(dsid.get_num_chunks()):
            mask, raw = dsid.read_direct_chunk(dsid.get_chunk_info(i).chunk_offset)
            assert mask == 0
            out.append(raw)
        return out


def test_pass_through_bytes_are_the_chunk_objects(native_url: Callable[[str], str],
                                                  location: Callable[[str], Location], tmp_path: Path) -> None:
    """Chunks are served as HDF5 stores them, made from the chunk objects without
    decoding: the same bytes h5py writes for the same data and filters (deflated
    chunks zero-padded to zlib's bound), and HDF5 applies its own filters."""
    url = native_url("pass.h5")
    data = (np.arange(50 * 40, dtype="<i4") * 3).reshape(50, 40)
    ref = tmp_path / "h5py.h5"
    with sh.File(url, "w") as f, h5py.File(ref, "w") as r:
        for name, kwargs in PASS_CASES.items():
            f.create_dataset(name, data=data, chunks=(16, 16), **kwargs)
            r.create_dataset(name, data=data, chunks=(16, 16), **kwargs)
    loc = location(url)
    h = Hierarchy(loc, "a")
    info = describe(np.dtype("<i4"))
    codecs = [info.array_codec, {"name": "numcodecs.shuffle", "configuration": {"elementsize": 4}},
              {"name": "numcodecs.zlib", "configuration": {"level": 6}}]
    h.create_array("zlib", ArrayMeta.create((50, 40), (16, 16), info, codecs, 0)).write(
        (slice(None), slice(None)), data)
    h.close()
    kv = Hierarchy(loc, "r").kv
    assert [c["name"] for c in json.loads(kv.get("all/zarr.json"))["codecs"]] == ["bytes", "numcodecs.shuffle", "gzip",
                                                                          "crc32c"]
    path = view_file(loc, tmp_path / "pass.h5")
    verbose = run([H5LS, "-v", f"{path}/all"]).stdout
    assert "shuffle-2" in verbose and "deflate-1" in verbose and "fletcher32-3" in verbose
    bound = zlib_bound(16 * 16 * 4)
    with h5py.File(path, "r") as f, h5py.File(ref, "r") as r:
        for name in (*PASS_CASES, "zlib"):
            dset = f[name]
            assert np.array_equal(dset[:], data), name  # HDF5 checked and undid its filters
            assert (dset.shuffle, dset.fletcher32) == (r.get(name, dset).shuffle, r.get(name, dset).fletcher32)
            assert dset.compression == ("gzip" if name in ("gzip", "all", "zlib") else None)
        assert f["gzip"].compression_opts == 4 and f["all"].compression_opts == 6
    served = _direct_chunks(path, "plain"), _direct_chunks(ref, "plain")
    assert served[0] == served[1] == [kv.get(f"plain/c/{i}/{j}") for i in range(4) for j in range(3)]
    # shuffle + crc32c: the stored body, with HDF5's Fletcher-32 in place of the CRC-32C.
    mine, h5pys = _direct_chunks(path, "shuffled"), _direct_chunks(ref, "shuffled")
    assert mine == h5pys
    stored = kv.get("shuffled/c/1/1")
    assert mine[4][:-4] == stored[:-4] and mine[4][-4:] != stored[-4:]
    # gzip: the zlib stream sliced out of the member, then zeros up to the declared size.
    mine, h5pys = _direct_chunks(path, "gzip"), _direct_chunks(ref, "gzip")
    m = kv.get("gzip/c/1/1")
    assert mine[4] == m[16:18] + m[22:-8] + m[18:22] + bytes(bound - (len(m) - 24))
    for a, b in zip(mine, h5pys):
        assert len(a) == bound and a[:len(b)] == b and not a[len(b):].strip(b"\0")  # zlib makes HDF5's stream
    # shuffle + gzip + fletcher32: the stream, zeros, and a Fletcher-32 over both.
    mine, h5pys = _direct_chunks(path, "all"), _direct_chunks(ref, "all")
    for a, b in zip(mine, h5pys):
        assert len(a) == bound + 4 and a[:len(b) - 4] == b[:-4] and not a[len(b) - 4:-4].strip(b"\0")
    # numcodecs.zlib (written by other Zarr tools): the stored stream, zero-padded.
    stored = kv.get("zlib/c/1/1")
    assert _direct_chunks(path, "zlib")[4] == stored + bytes(bound - len(stored))


def test_fletcher32_covers_the_padding(native_url: Callable[[str], str], location: Callable[[str], Location],
                                       tmp_path: Path) -> None:
    """HDF5 verifies the served Fletcher-32 over the whole declared chunk, zero
    padding included: a flipped byte there fails the read."""
    url = native_url("check.h5")
    data = np.arange(64 * 64, dtype="<f4").reshape(64, 64)
    with sh.File(url, "w") as f:
        f.create_dataset("x", data=data, chunks=(32, 32), compression="gzip", fletcher32=True)
    path = view_file(location(url), tmp_path / "check.h5")
    offset, address, size = _chunk_ranges(path, "x")[0]
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["x"][:], data)
    with open(path, "r+b") as fh:
        fh.seek(address + size - 6)  # in the padding (the stream of a ramp is short)
        assert fh.read(1) == b"\0"
        fh.seek(address + size - 6)
        fh.write(b"\1")
    with h5py.File(path, "r") as f:
        with pytest.raises(OSError):
            f["x"][:32, :32]
        assert np.array_equal(f["x"][32:, 32:], data[32:, 32:])


def _gzip_member_with_many_blocks(data: bytes) -> bytes:
    """A valid gzip member longer than zlib's bound: one stored block per 7 bytes."""
    co = zlib.compressobj(0, zlib.DEFLATED, 31)
    parts = [co.compress(data[i:i + 7]) + co.flush(zlib.Z_FULL_FLUSH) for i in range(0, len(data), 7)]
    return b"".join(parts) + co.flush()


def test_gzip_chunks_of_other_writers_pass_through(native_url: Callable[[str], str],
                                                   location: Callable[[str], Location], tmp_path: Path) -> None:
    """gzip members without sciswift's framing field (other Zarr tools, older
    sciswift) are reframed when read (one inflate for the Adler-32); one whose
    deflate data exceeds zlib's bound is deflated again. The form is seen per
    chunk, so one dataset may mix them."""
    url = native_url("mixed.h5")
    data = np.arange(48 * 20, dtype="<f8").reshape(48, 20) / 3
    with sh.File(url, "w") as f:
        f.create_dataset("x", data=data, chunks=(16, 20), compression="gzip", compression_opts=5)
    loc = location(url)
    h = Hierarchy(loc, "a")
    arr = h.array("x")
    plain = gzip.compress(data[16:32].tobytes(), 6, mtime=0)  # what zarr-python writes
    loose = _gzip_member_with_many_blocks(data[32:].tobytes())
    bound = zlib_bound(16 * 20 * 8)
    assert plain[3] == 0 and len(loose) > bound + 18  # no extra field; beyond the bound
    arr.write_chunk_bytes((1, 0), plain)
    arr.write_chunk_bytes((2, 0), loose)
    h.close()
    assert np.array_equal(sh.File(url, "r")["x"][:], data)
    path = view_file(loc, tmp_path / "mixed.h5")
    with h5py.File(path, "r") as f:
        assert f["x"].compression == "gzip"
        assert np.array_equal(f["x"][:], data)
    chunks = _direct_chunks(path, "x")
    assert all(len(c) == bound for c in chunks)
    assert chunks[1][:2] == b"\x78\x5e" and chunks[1][2:].startswith(plain[10:-8])  # the same deflate data
    for k, chunk in enumerate(chunks):
        inflater = zlib.decompressobj()
        assert inflater.decompress(chunk) == data[16 * k:16 * (k + 1)].tobytes() and inflater.eof


def test_damaged_chunks(native_url: Callable[[str], str], location: Callable[[str], Location],
                        tmp_path: Path) -> None:
    """A CRC-32C that does not match fails the read with ServeError naming the
    dataset and chunk; damaged deflate data passes through and HDF5's own check
    (its inflate and Adler-32) refuses it."""
    url = native_url("damaged.h5")
    data = np.arange(40 * 10, dtype="<i8").reshape(40, 10)
    with sh.File(url, "w") as f:
        f.create_dataset("summed", data=data, chunks=(20, 10), fletcher32=True)
        f.create_dataset("zipped", data=data, chunks=(20, 10), compression="gzip")
    loc = location(url)
    h = Hierarchy(loc, "a")
    for name in ("summed", "zipped"):
        arr = h.array(name)
        stored = bytearray(arr.read_chunk_bytes((1, 0)))
        stored[30] ^= 0xFF
        arr.write_chunk_bytes((1, 0), bytes(stored))
    h.close()
    view = open_view(loc)
    path = tmp_path / "damaged.h5"
    with open(path, "wb") as fh:
        fh.write(view.read(0, view.data_start))
        fh.truncate(view.size)
    address = {name: [r[1] for r in _chunk_ranges(path, name)] for name in ("summed", "zipped")}
    size = 20 * 10 * 8 + 4
    with pytest.raises(ServeError, match=r"dataset /summed: chunk summed/c/1/0: crc32c checksum mismatch"):
        view.read(address["summed"][1], size)
    assert np.array_equal(np.frombuffer(view.read(address["summed"][0], size - 4), "<i8"), data[:20].ravel())
    with open(path, "r+b") as fh:
        for a in address["zipped"]:
            fh.seek(a)
            fh.write(view.read(a, zlib_bound(size - 4)))
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["zipped"][:20], data[:20])
        with pytest.raises(OSError, match="filter returned failure"):
            f["zipped"][20:]


def test_a_damaged_chunk_spoils_no_page_of_another_dataset(native_url: Callable[[str], str],
                                                          location: Callable[[str], Location],
                                                          tmp_path: Path) -> None:
    """A mount reads the view by 4 KiB pages, and a page holding bytes of a chunk
    that cannot be served is EIO as a whole: each dataset's data starts on a
    page of its own, so the values of the dataset after a damaged chunk (and
    the metadata) still read."""
    url = native_url("pages.h5")
    data = np.arange(3000, dtype="<f8")
    with sh.File(url, "w") as f:
        f.create_dataset("a", data=data, chunks=(1000,), compression="zstd")
        f.create_dataset("b", data=data[:10] + 0.5)
    loc = location(url)
    h = Hierarchy(loc, "a")
    h.array("a").write_chunk_bytes((2,), b"not zstd at all")  # the last chunk before b's data
    h.close()
    view = open_view(loc)
    assert view.data_start % 4096 == 0
    path = tmp_path / "pages.h5"
    failed = []
    with open(path, "wb") as fh:
        for page in range(0, view.size, 4096):
            try:
                fh.write(view.read(page, 4096))
            except ServeError:
                failed.append(page)
                fh.write(bytes(min(4096, view.size - page)))
    assert failed and all(page >= view.data_start for page in failed)
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["b"][:], data[:10] + 0.5)
        assert np.array_equal(f["a"][:1000], data[:1000])


def test_large_checksummed_chunks_are_read_by_ranges(native_url: Callable[[str], str],
                                                     location: Callable[[str], Location], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks above WHOLE_OBJECT_MAX served at their own size are read by byte
    ranges as asked; a crc32c chunk's Fletcher-32 trailer is computed from the
    whole object once."""
    import sciswift.h5view.serving as serving

    url = native_url("big.h5")
    data = np.arange(64 * 64, dtype="<f8").reshape(64, 64)
    with sh.File(url, "w") as f:
        f.create_dataset("x", data=data, chunks=(32, 64), shuffle=True, fletcher32=True)
    whole = view_file(location(url), tmp_path / "whole.h5").read_bytes()
    monkeypatch.setattr(serving, "WHOLE_OBJECT_MAX", 4096)
    loc, store = _counted(location(url))
    view = open_view(loc)
    offset, address, size = _chunk_ranges(tmp_path / "whole.h5", "x")[1]
    assert size == 32 * 64 * 8 + 4
    store.gets.clear()
    assert view.read(address + 100, 1000) == whole[address + 100:address + 1100]
    assert store.gets == [(store.gets[0][0], ByteRange(100, 1100))]
    assert view.read(address + size - 10, 10) == whole[address + size - 10:address + size]
    assert [r for _, r in store.gets[1:]] == [ByteRange(size - 10, size - 4), None]
    assert view.read(address + size - 2, 2) == whole[address + size - 2:address + size]
    assert len(store.gets) == 3  # the trailer is kept
    assert materialize(view, tmp_path / "ranged.h5", random.Random(2)).read_bytes() == whole


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
