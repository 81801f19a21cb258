"""Deflate in two framings (``sciswift.engine.deflate``) and the HDF5 <-> Zarr chunk
translation (``sciswift.engine.hdf5chunks``), against zlib, gzip, numcodecs and
h5py's own chunk bytes."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import h5py
import numcodecs
import numpy as np
import pytest

from sciswift.engine.codecs import build_codecs, codec_style, portable_codecs
from sciswift.engine.deflate import HEADER_SIZE, GzipCodec, gzip_to_zlib, zlib_to_gzip
from sciswift.engine.dtypes import describe
from sciswift.engine.hdf5chunks import translator
from sciswift.errors import CorruptData

DATA = np.cumsum(np.random.default_rng(3).normal(size=50_000)).astype("f4").tobytes()


def test_gzip_codec_writes_standard_gzip_carrying_the_zlib_stream() -> None:
    member = GzipCodec(level=6).encode(DATA)
    assert gzip.decompress(member) == DATA  # any gzip reader
    assert numcodecs.GZip().decode(member) == DATA  # zarr-python's codec
    assert GzipCodec().decode(member) == DATA
    # The HDF5 deflate bytes are a slice of it: exactly what zlib makes at that level.
    assert gzip_to_zlib(member) == zlib.compress(DATA, 6)
    assert len(gzip_to_zlib(member)) == len(member) - 24
    assert member[12:16] == b"Sz\x06\x00" and len(member) > HEADER_SIZE


# Both inflaters: libdeflate when the chunk's size is known, ISA-L when it is not.
SIZES = [pytest.param(len(DATA), id="size-known"), pytest.param(None, id="size-unknown")]


@pytest.mark.parametrize("size", SIZES)
def test_hdf5_deflate_chunk_rewraps_both_ways_byte_for_byte(size: int | None) -> None:
    stream = zlib.compress(DATA, 4)
    member = zlib_to_gzip(stream, size)
    assert gzip.decompress(member) == DATA
    assert gzip_to_zlib(member) == stream
    assert zlib_to_gzip(memoryview(stream), size) == member


def test_foreign_gzip_becomes_a_zlib_stream_without_recompressing() -> None:
    foreign = numcodecs.GZip(level=5).encode(DATA)  # no zlib framing field
    stream = gzip_to_zlib(foreign)
    assert zlib.decompress(stream) == DATA
    start = len(foreign) - 8 - (len(stream) - 6)
    assert stream[2:-4] == foreign[start:-8]  # the same deflate data
    bad = bytearray(foreign)
    bad[-6] ^= 0xFF  # its CRC-32: the inflate for the Adler-32 checks it
    with pytest.raises(CorruptData):
        gzip_to_zlib(bytes(bad))


def _bad_adler() -> bytes:
    stream = bytearray(zlib.compress(DATA))
    stream[-1] ^= 0x01
    return bytes(stream)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("bad", [
    b"", b"\x78\x9c", zlib.compress(DATA)[:-7], b"not zlib at all", _bad_adler(),
    zlib.compress(DATA) + b"\0\0\0\0",  # trailing bytes would end up inside the gzip member
    zlib.compress(DATA) + zlib.compress(b"x"),
], ids=["empty", "header-only", "truncated", "not-zlib", "bad-adler", "trailing-zeros", "two-streams"])
def test_damaged_deflate_chunks_raise_corrupt_data(bad: bytes, size: int | None) -> None:
    with pytest.raises(CorruptData):
        zlib_to_gzip(bad, size)


@pytest.mark.parametrize("size", [len(DATA) - 1, len(DATA) + 1, 0])
def test_deflate_chunk_of_another_size_than_the_chunk_is_refused(size: int) -> None:
    with pytest.raises(CorruptData, match="bytes"):
        zlib_to_gzip(zlib.compress(DATA), size)


def test_gzip_decode_takes_any_member_and_checks_it() -> None:
    # libdeflate, sized by the member's ISIZE; zlib for what it does not take.
    codec = GzipCodec()
    for member in (codec.encode(DATA), gzip.compress(DATA), numcodecs.GZip(level=1).encode(DATA)):
        assert bytes(codec.decode(member)) == DATA
        assert bytes(codec.decode(memoryview(member))) == DATA
    assert bytes(codec.decode(gzip.compress(b""))) == b""
    two = gzip.compress(DATA[:1000]) + gzip.compress(DATA[1000:3000])
    assert bytes(codec.decode(two)) == zlib.decompress(two, 31)  # as zlib reads it: the first member
    for cut in (len(GzipCodec().encode(DATA)) - 3, 30, 5):
        with pytest.raises(CorruptData):
            codec.decode(GzipCodec().encode(DATA)[:cut])
    wrong_size = bytearray(GzipCodec().encode(DATA))
    wrong_size[-4:] = (len(DATA) + 8).to_bytes(4, "little")
    with pytest.raises(CorruptData):
        codec.decode(bytes(wrong_size))
    huge = bytearray(GzipCodec().encode(DATA))
    huge[-4:] = (0xFFFFFFF0).to_bytes(4, "little")  # past 1032:1: not given to libdeflate
    with pytest.raises(CorruptData):
        codec.decode(bytes(huge))


def test_damaged_gzip_raises_corrupt_data() -> None:
    member = bytearray(GzipCodec().encode(DATA))
    member[-6] ^= 0xFF  # the CRC
    with pytest.raises(CorruptData):
        GzipCodec().decode(bytes(member))
    with pytest.raises(CorruptData):
        gzip_to_zlib(b"\x1f\x8b")


def _h5_chunk(tmp_path: Path, **filters: object) -> tuple[list[tuple[int, tuple[int, ...]]], bytes, np.ndarray]:
    """h5py's own stored bytes of one chunk, and its filter pipeline."""
    data = np.frombuffer(DATA, dtype="f4")[:4096].reshape(64, 64)
    with h5py.File(tmp_path / "c.h5", "w") as f:
        ds = f.create_dataset("x", data=data, chunks=(64, 64), **filters)
        dcpl = ds.id.get_create_plist()
        pipeline = [(dcpl.get_filter(i)[0], tuple(dcpl.get_filter(i)[2])) for i in range(dcpl.get_nfilters())]
        return pipeline, ds.id.read_direct_chunk((0, 0))[1], data


@pytest.mark.parametrize("filters", [
    {}, {"compression": "gzip"}, {"compression": "gzip", "shuffle": True},
    {"compression": "gzip", "shuffle": True, "fletcher32": True}, {"fletcher32": True}, {"shuffle": True},
])
def test_translator_maps_h5py_chunks_onto_our_codecs(tmp_path: Path, filters: dict) -> None:
    from sciswift.engine.codecs import Pipeline

    pipeline, raw, data = _h5_chunk(tmp_path, **filters)
    info = describe(np.dtype("f4"))
    codecs, _ = build_codecs(info, portable=False, **filters)  # type: ignore[arg-type]
    tr = translator(pipeline, codecs, 4)
    assert tr is not None
    stored = tr.to_zarr(raw)
    assert stored is not None
    np.testing.assert_array_equal(Pipeline(codecs, info).decode(bytes(stored), (64, 64)), data)
    assert bytes(tr.to_hdf5(stored)) == raw  # and back, byte for byte
    assert tr.to_zarr(raw, filter_mask=1) is None  # a skipped filter: decode instead


def test_translator_refuses_pipelines_that_differ(tmp_path: Path) -> None:
    info = describe(np.dtype("f4"))
    gz, _ = build_codecs(info, compression="gzip", portable=False)
    sgz, _ = build_codecs(info, compression="gzip", shuffle=True, portable=False)
    blosc, _ = build_codecs(info, compression="gzip", shuffle=True, portable=True)
    assert translator([(1, (4,))], sgz, 4) is None  # shuffle on one side only
    assert translator([(2, (4,)), (1, (4,))], gz, 4) is None
    assert translator([(2, (4,)), (1, (4,))], blosc, 4) is None
    assert translator([(32000, ())], gz, 4) is None  # lzf
    assert translator([(1, (4,))], gz, 4, big_endian=True) is None  # byte order differs


def test_fletcher32_chunk_with_a_bad_checksum_is_refused(tmp_path: Path) -> None:
    pipeline, raw, _ = _h5_chunk(tmp_path, compression="gzip", fletcher32=True)
    codecs, _ = build_codecs(describe(np.dtype("f4")), compression="gzip", fletcher32=True, portable=False)
    tr = translator(pipeline, codecs, 4)
    assert tr is not None
    bad = bytearray(raw)
    bad[-1] ^= 0xFF
    with pytest.raises(CorruptData):
        tr.to_zarr(bytes(bad))


def test_codec_choice_default_and_portable(monkeypatch: pytest.MonkeyPatch) -> None:
    info = describe(np.dtype("<f8"))

    def names(**kw: object) -> list[str]:
        return [c["name"] for c in build_codecs(info, **kw)[0]]  # type: ignore[arg-type]

    monkeypatch.delenv("SCISWIFT_CODECS", raising=False)
    assert names(compression="gzip", fletcher32=True) == ["bytes", "gzip", "crc32c"]
    assert names(compression="gzip", shuffle=True) == ["bytes", "numcodecs.shuffle", "gzip"]
    assert names(compression="lzf") == ["bytes", "numcodecs.lz4"]
    assert names(compression="zstd") == ["bytes", "zstd"]
    assert names(compression="gzip", shuffle=True, portable=True) == ["bytes", "blosc"]
    conf = build_codecs(info, compression="gzip", compression_opts=7, shuffle=True, portable=True)[0][1]
    assert conf["configuration"] == {"cname": "zlib", "clevel": 7, "shuffle": "shuffle", "typesize": 8,
                                     "blocksize": 0}
    assert names(compression="lzf", portable=True) == ["bytes", "blosc"]
    assert names(shuffle=True, portable=True) == ["bytes"]
    assert names(scaleoffset=2, portable=True) == ["bytes"]
    assert names(compression="gzip", portable=True) == ["bytes", "gzip"]
    spec = build_codecs(info, compression="lzf", shuffle=True, portable=True)[1]
    assert spec["compression"] == "lzf" and spec["shuffle"] is True  # still reported as asked
    monkeypatch.setenv("SCISWIFT_CODECS", "portable")
    assert portable_codecs() and names(compression="gzip", shuffle=True) == ["bytes", "blosc"]
    with codec_style(False):
        assert names(compression="gzip", shuffle=True) == ["bytes", "numcodecs.shuffle", "gzip"]
    monkeypatch.setenv("SCISWIFT_CODECS", "fast")
    with pytest.raises(ValueError, match="SCISWIFT_CODECS"):
        portable_codecs()
