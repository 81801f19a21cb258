"""Import and export copy stored chunks as bytes (``sciswift.convert.chunkcopy``):
the chunk bytes h5py stored come back byte for byte, a chunk stored with a filter
skipped is decoded instead, and data matches h5py's reading everywhere."""

from __future__ import annotations

import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

import sciswift.h5py as sh5
from sciswift.convert import import_file
from sciswift.convert.api import export_file

DATA = np.round(np.cumsum(np.random.default_rng(5).normal(size=(120, 90)), axis=1), 2).astype("f4")
FILTERS = {
    "gzip": {"compression": "gzip"},
    "shuffle_gzip_fletcher": {"compression": "gzip", "shuffle": True, "fletcher32": True},
    "plain": {},
    "big_endian_gzip": {"compression": "gzip", "dtype": ">f8"},
    "lzf": {"compression": "lzf"},  # no byte-level equivalent: decoded and re-encoded
}


def _source(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        for name, kw in FILTERS.items():
            kw = dict(kw)
            dt = kw.pop("dtype", "f4")
            f.create_dataset(name, data=DATA.astype(dt), chunks=(32, 40), **kw)
        sparse = f.create_dataset("sparse", shape=(1000,), dtype="i4", chunks=(100,), compression="gzip",
                                  fillvalue=-1)
        sparse[300:420] = 7
    return path


def test_import_then_export_gives_back_the_same_chunk_bytes(tmp_path: Path) -> None:
    src = _source(tmp_path / "src.h5")
    native = f"file://{tmp_path}/n.h5"
    report = import_file(str(src), native)
    assert report.passed_through == 5  # every dataset but lzf
    back = tmp_path / "back.h5"
    report = export_file(native, str(back))
    assert report.passed_through == 5
    with h5py.File(src) as a, h5py.File(back) as b, sh5.File(native) as n:
        for name in a:
            np.testing.assert_array_equal(n[name][...], a[name][...])
            np.testing.assert_array_equal(b[name][...], a[name][...])
            assert (b[name].compression, b[name].shuffle, b[name].fletcher32) == \
                (a[name].compression, a[name].shuffle, a[name].fletcher32)
            assert b[name].id.get_num_chunks() == a[name].id.get_num_chunks(), name
            if name != "lzf":
                for i in range(a[name].id.get_num_chunks()):
                    offset = a[name].id.get_chunk_info(i).chunk_offset
                    assert b[name].id.read_direct_chunk(offset) == a[name].id.read_direct_chunk(offset), name
        assert b["sparse"].fillvalue == -1 and b["sparse"][0] == -1


def test_native_gzip_chunks_are_standard_and_carry_the_hdf5_bytes(tmp_path: Path) -> None:
    src = _source(tmp_path / "src.h5")
    native = f"file://{tmp_path}/n.h5"
    import_file(str(src), native)
    with h5py.File(src) as a, sh5.File(native) as n:
        raw = a["gzip"].id.read_direct_chunk((32, 40))[1]
        stored = n["gzip"]._arr._arr.read_chunk_bytes((1, 1))
        import gzip

        assert gzip.decompress(stored) == zlib.decompress(raw)  # a plain gzip member to other readers
        assert n["gzip"].id.read_direct_chunk((32, 40)) == (0, raw)


def test_a_chunk_stored_with_a_filter_skipped_is_decoded(tmp_path: Path) -> None:
    src = tmp_path / "mask.h5"
    with h5py.File(src, "w") as f:
        ds = f.create_dataset("x", shape=(4, 10), dtype="i4", chunks=(2, 10), compression="gzip")
        ds[0:2] = np.arange(20).reshape(2, 10)
        # HDF5 records a skipped deflate in the chunk's filter mask (bit 0)
        ds.id.write_direct_chunk((2, 0), np.arange(100, 120, dtype="i4").tobytes(), filter_mask=1)
    with h5py.File(src) as f:
        expected = f["x"][...]
        assert f["x"].id.get_chunk_info(1).filter_mask == 1
    np.testing.assert_array_equal(expected[2:], np.arange(100, 120).reshape(2, 10))
    native = f"file://{tmp_path}/n.h5"
    import_file(str(src), native)
    with sh5.File(native) as n:
        np.testing.assert_array_equal(n["x"][...], expected)


def test_recompress_and_portable_codecs_decode_every_chunk(tmp_path: Path) -> None:
    src = _source(tmp_path / "src.h5")
    report = import_file(str(src), f"file://{tmp_path}/r.h5", pass_through=False)
    assert report.passed_through == 0
    report = import_file(str(src), f"file://{tmp_path}/p.h5", portable_codecs=True)
    assert report.passed_through == 4  # gzip stays gzip; shuffle+gzip became blosc, lzf blosc-lz4
    with h5py.File(src) as a, sh5.File(f"file://{tmp_path}/p.h5") as p:
        codecs = [c["name"] for c in p["shuffle_gzip_fletcher"]._arr._arr.pipeline.json]
        assert codecs == ["bytes", "blosc", "crc32c"]
        np.testing.assert_array_equal(p["shuffle_gzip_fletcher"][...], a["shuffle_gzip_fletcher"][...])
        assert p["shuffle_gzip_fletcher"].shuffle and p["shuffle_gzip_fletcher"].compression == "gzip"


def test_damaged_source_chunk_names_the_dataset_and_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "bad.h5"
    with h5py.File(src, "w") as f:
        ds = f.create_dataset("broken", shape=(4, 10), dtype="i4", chunks=(2, 10), compression="gzip")
        ds.id.write_direct_chunk((0, 0), b"\x78\x9cnot deflate data")
    native = tmp_path / "n.h5"
    from sciswift.convert import ConversionError

    with pytest.raises(ConversionError, match="/broken"):
        import_file(str(src), f"file://{native}")
    assert not native.exists()


def test_direct_chunk_api_matches_h5py(tmp_path: Path) -> None:
    """sciswift's DatasetID.read/write_direct_chunk take the bytes h5py's do."""
    with h5py.File(tmp_path / "h.h5", "w") as f:
        ds = f.create_dataset("x", data=DATA, chunks=(32, 40), compression="gzip", shuffle=True)
        raw = ds.id.read_direct_chunk((64, 40))
    with sh5.File(f"file://{tmp_path}/s.h5", "w") as g:
        d = g.create_dataset("x", shape=DATA.shape, dtype="f4", chunks=(32, 40), compression="gzip", shuffle=True)
        d.id.write_direct_chunk((64, 40), raw[1])
        np.testing.assert_array_equal(d[64:96, 40:80], DATA[64:96, 40:80])
        assert d.id.read_direct_chunk((64, 40)) == raw
        assert [i.chunk_offset for i in _iter(d)] == [(64, 40)]
        with pytest.raises(ValueError, match="not the offset of a chunk"):
            d.id.write_direct_chunk((1, 0), raw[1])
        lzf = g.create_dataset("l", shape=(10,), dtype="f4", chunks=(5,), compression="lzf")
        with pytest.raises(NotImplementedError, match="/l"):
            lzf.id.write_direct_chunk((0,), b"x")


def _iter(d: object) -> list:
    seen: list = []
    d.id.chunk_iter(seen.append)  # type: ignore[attr-defined]
    return seen


def test_stored_hdf5_object_imports_by_ranged_reads(tmp_path: Path) -> None:
    """An uploaded .h5 object: chunk bytes come by ranged GETs, still passed through."""
    import uuid

    from sciswift.store.url import parse_location

    src = _source(tmp_path / "src.h5")
    bucket = f"memory://pt-{uuid.uuid4().hex[:8]}"
    loc = parse_location(f"{bucket}/up.h5")
    loc.store.create_container(loc.container)
    loc.store.put_object(loc.container, loc.prefix, src.read_bytes())
    report = import_file(f"{bucket}/up.h5", f"{bucket}/native.h5")
    assert report.passed_through == 5
    with h5py.File(src) as a, sh5.File(f"{bucket}/native.h5") as n:
        for name in a:
            np.testing.assert_array_equal(n[name][...], a[name][...])
