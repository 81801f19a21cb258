"""TFRecord: files written by the independent ``tfrecord`` package, compared with
what its reader returns; framing CRCs and the cached record index."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from fmt_helpers import CONTAINER, read, upload
from tfrecord import TFRecordWriter
from tfrecord.reader import tfrecord_loader

from sciswift.errors import CorruptData
from sciswift.formats.ranged import TransferStats
from sciswift.formats.registry import detect, open_object
from sciswift.formats.tfrecord import INDEX_SUFFIX, masked_crc32c
from sciswift.store import MemoryStore, Store

N = 300


def write_examples(path: Path) -> None:
    rng = np.random.default_rng(11)
    w = TFRecordWriter(str(path))
    for i in range(N):
        w.write({
            "label": (i, "int"),
            "vec": (rng.random(3).tolist(), "float"),
            "name": (f"item-{i}".encode(), "byte"),
            "ragged": (list(range(i % 4)), "int"),
            "pair": ([b"a%d" % i, b"b"], "byte"),
            **({"sometimes": (float(i), "float")} if i % 3 else {}),
        })
    w.close()


@pytest.fixture
def tfr(tmp_path: Path) -> Path:
    path = tmp_path / "ex.tfrecord"
    write_examples(path)
    return path


def test_matches_the_tfrecord_package(store: MemoryStore, local_store: Store, tfr: Path) -> None:
    want = list(tfrecord_loader(str(tfr), None))
    for s in (store, local_store):
        upload(s, tfr)
        with open_object(s, CONTAINER, "ex.tfrecord") as root:
            assert root.keys() == ["label", "name", "pair", "ragged", "sometimes", "vec"]
            label, vec, name = read(root["label"]), read(root["vec"]), read(root["name"])
            ragged, pair, sometimes = read(root["ragged"]), read(root["pair"]), read(root["sometimes"])
            assert (label.shape, label.dtype, vec.shape, vec.dtype) == ((N,), np.int64, (N, 3), np.float32)
            assert pair.shape == (N, 2) and ragged.dtype.metadata == {"vlen": np.dtype("int64")}
            for i, rec in enumerate(want):
                assert label[i] == rec["label"][0]
                np.testing.assert_array_equal(vec[i], rec["vec"])
                assert name[i] == bytes(rec["name"])
                np.testing.assert_array_equal(ragged[i], rec["ragged"])
                assert pair[i].tolist() == [b"a%d" % i, b"b"]
                np.testing.assert_array_equal(sometimes[i], rec.get("sometimes", np.zeros(0)))
            part = root["vec"].read((slice(100, 200, 7), slice(1, 3, 1)))
            np.testing.assert_array_equal(part, vec[100:200:7, 1:3])


def test_slice_is_one_request_after_the_index(
    store: MemoryStore, tfr: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sciswift.formats.tfrecord import RecordIndex

    upload(store, tfr)
    open_object(store, CONTAINER, "ex.tfrecord").close()  # walks the file, stores the index
    assert store.has_object(CONTAINER, "ex.tfrecord" + INDEX_SUFFIX)

    def no_walk(*args: object, **kwargs: object) -> RecordIndex:
        raise AssertionError("the record index was rebuilt although a valid one is stored")

    monkeypatch.setattr(RecordIndex, "build", no_walk)
    stats = TransferStats()
    with open_object(store, CONTAINER, "ex.tfrecord", stats=stats) as root:
        opened = (stats.requests, stats.bytes_fetched)
        assert read(root["label"])[5] == 5  # the whole file sits in the open's first 64 KiB
    assert (stats.requests, stats.bytes_fetched) == opened
    # A bigger file: a slice of records is one ranged GET of just those records.
    big = tfr.parent / "big.tfrecord"
    w = TFRecordWriter(str(big))
    for i in range(20000):
        w.write({"label": (i, "int"), "pad": (b"x" * 40, "byte")})
    w.close()
    monkeypatch.undo()
    upload(store, big)
    open_object(store, CONTAINER, "big.tfrecord").close()
    stats = TransferStats()
    with open_object(store, CONTAINER, "big.tfrecord", stats=stats) as root:
        before = (stats.requests, stats.bytes_fetched)
        stats.reset()
        assert root["label"].read((slice(15000, 15010, 1),)).tolist() == list(range(15000, 15010))
    assert stats.requests == 1 and stats.bytes_fetched < 10 * 100  # ten 88-byte records
    assert before[1] < big.stat().st_size / 4  # the open read the index, not the file


def test_not_examples_become_raw_records(store: MemoryStore) -> None:
    buf = io.BytesIO()
    for payload in (b"\xff\xff\xff", b"plain bytes \x00\x01", b""):
        length = struct.pack("<Q", len(payload))
        buf.write(length + struct.pack("<I", masked_crc32c(length)) + payload
                  + struct.pack("<I", masked_crc32c(payload)))
    store.put_object(CONTAINER, "raw.tfrecord", buf.getvalue())
    with open_object(store, CONTAINER, "raw.tfrecord") as root:
        assert root.keys() == ["records"]
        assert read(root["records"]).tolist() == [b"\xff\xff\xff", b"plain bytes \x00\x01", b""]


def test_detected_by_its_length_crc(tfr: Path) -> None:
    head = tfr.read_bytes()[:4096]
    assert detect("no-extension", head).name == "tfrecord"


@pytest.mark.parametrize("where", ["length_crc", "data", "data_crc"])
def test_bad_crc_is_corrupt(store: MemoryStore, tfr: Path, where: str) -> None:
    data = bytearray(tfr.read_bytes())
    length = struct.unpack_from("<Q", data, 0)[0]
    first_len = 12 + length + 4
    base = first_len  # damage the second record
    offset = {"length_crc": base + 9, "data": base + 12 + 2, "data_crc": base + 12 + length + 1}[where]
    data[offset] ^= 0x55
    store.put_object(CONTAINER, "bad.tfrecord", bytes(data))
    with pytest.raises(CorruptData, match=r"data/bad\.tfrecord: record 1 at byte \d+: .*CRC mismatch"):
        open_object(store, CONTAINER, "bad.tfrecord")


def test_truncated_is_corrupt(store: MemoryStore, tfr: Path) -> None:
    store.put_object(CONTAINER, "cut.tfrecord", tfr.read_bytes()[:-7])
    with pytest.raises(CorruptData, match=r"data/cut\.tfrecord: record \d+ .*cut short"):
        open_object(store, CONTAINER, "cut.tfrecord")
