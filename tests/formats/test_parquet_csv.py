"""Parquet and CSV: compared row by row with what pyarrow reads from the same file."""

from __future__ import annotations

import csv as stdlib_csv
import datetime
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from fmt_helpers import CONTAINER, read, site_files, upload

from sciswift.errors import CorruptData
from sciswift.formats.arrow import NULLS_GROUP, flatten_fields
from sciswift.formats.csv import sniff
from sciswift.formats.nodes import vlen_base
from sciswift.formats.ranged import TransferStats
from sciswift.formats.registry import open_object
from sciswift.store import MemoryStore, Store

PARQUET_FILES = site_files("**/*.parquet")
CSV_FILES = site_files("**/*.csv")


def leaf_columns(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return {name: table.column(name) for name in table.column_names}


def same(got: Any, want: Any) -> bool:
    """One value as presented vs pyarrow's Python value."""
    if isinstance(want, float) and np.isnan(want):
        return bool(np.isnan(got))
    if isinstance(want, datetime.datetime):
        if want.tzinfo is not None:  # values are presented in UTC
            want = want.astimezone(datetime.UTC).replace(tzinfo=None)
        return np.datetime64(want) == got
    if isinstance(want, datetime.date):
        return np.datetime64(want) == got
    if isinstance(want, datetime.timedelta):
        return np.timedelta64(want) == got
    if isinstance(want, list):
        return np.asarray(got).tolist() == want
    return bool(got == want)


def compare_table(root: Any, table: pa.Table, where: str) -> int:
    """Every supported leaf column, row by row; returns the number of columns checked."""
    columns = leaf_columns(table)
    nulls = root[NULLS_GROUP] if NULLS_GROUP in root.keys() else None
    checked = 0
    unsupported = {s.split(" (")[0] for s in root.attrs.get("_unsupported_columns", [])}
    for path, _type, _, _ in flatten_fields(table.schema):
        key = path.replace("/", "_")
        if path in unsupported:
            assert key not in root.keys()
            continue
        node = root[key]
        values = read(node)
        want = columns[path].to_pylist()
        assert values.shape[0] == len(want) == node.shape[0], f"{where}:{path}"
        mask = read(nulls[key]) if nulls is not None and key in nulls.keys() else np.zeros(len(want), bool)
        for i, w in enumerate(want):
            if w is None:
                assert mask[i], f"{where}:{path}[{i}] should be null"
            else:
                assert not mask[i] and same(values[i], w), f"{where}:{path}[{i}]: {values[i]!r} != {w!r}"
        if vlen_base(node.dtype) is str:
            assert all(isinstance(v, str) for v in values)
        # A row slice reads the same rows.
        if len(want) > 3:
            part = node.read((slice(1, len(want), 2),) + tuple(slice(0, n, 1) for n in node.shape[1:]))
            assert len(part) == len(range(1, len(want), 2))
            for j, v in zip(range(1, len(want), 2), part, strict=True):
                if want[j] is not None:
                    assert same(v, want[j])
        checked += 1
    return checked


@pytest.mark.parametrize("path", PARQUET_FILES, ids=os.path.basename)
def test_shipped_parquet_matches_pyarrow(store: MemoryStore, path: str) -> None:
    name = upload(store, path)
    with open_object(store, CONTAINER, name) as root:
        assert compare_table(root, pq.read_table(path), name) >= 1
        meta = pq.ParquetFile(path).metadata.metadata or {}
        assert {k.decode() for k in meta} <= set(root.attrs)


def variety_table(n: int = 50) -> pa.Table:
    rng = np.random.default_rng(3)
    ints = rng.integers(-100, 100, n)
    mask = rng.random(n) < 0.2
    return pa.table({
        "i8": pa.array(ints, pa.int8()), "u16": pa.array(np.abs(ints), pa.uint16()),
        "i64_nulls": pa.array(ints, pa.int64(), mask=mask), "u64": pa.array(np.abs(ints), pa.uint64()),
        "f16": pa.array(rng.random(n).astype(np.float16)), "f32": pa.array(rng.random(n).astype(np.float32)),
        "f64_nulls": pa.array(rng.random(n), mask=mask), "flag": pa.array(ints > 0, mask=mask),
        "text": pa.array([f"row {i} ü" if i % 7 else None for i in range(n)]),
        "blob": pa.array([bytes([i % 256]) * (i % 4) for i in range(n)], pa.binary()),
        "fixed": pa.array([b"%03d" % i for i in range(n)], pa.binary(3)),
        "day": pa.array([datetime.date(2020, 1, 1) + datetime.timedelta(days=i) for i in range(n)]),
        "ts": pa.array(np.arange(n) * 10**9, pa.timestamp("ns", tz="Europe/Paris")),
        "dur": pa.array(np.arange(n), pa.duration("ms")),
        "cat": pa.array(["red", "green", "blue", "red", "red"] * (n // 5)).dictionary_encode(),
        "lst": pa.array([list(range(i % 4)) if i % 9 else None for i in range(n)], pa.list_(pa.int32())),
        "vec": pa.array([[float(i), -float(i)] for i in range(n)], pa.list_(pa.float64(), 2)),
        "point": pa.array([{"x": i, "y": {"z": str(i)}} for i in range(n)]),
        "money": pa.array([i for i in range(n)]).cast(pa.decimal128(30, 2)),
    })


@pytest.mark.parametrize("codec", ["none", "snappy", "zstd", "gzip"])
@pytest.mark.parametrize("version", ["1.0", "2.6"])
def test_generated_parquet_matches_pyarrow(store: MemoryStore, tmp_path: Path, codec: str, version: str) -> None:
    path = tmp_path / "v.parquet"
    table = variety_table()
    pq.write_table(table, path, compression=codec, row_group_size=16, data_page_version=version[0] + ".0"
                   if version == "1.0" else "2.0", version=version)
    upload(store, path)
    with open_object(store, CONTAINER, "v.parquet") as root:
        assert compare_table(root, pq.read_table(path), "v.parquet") == len(flatten_fields(table.schema)) - 1
        assert list(root.attrs["_unsupported_columns"]) == ["money (decimal128(30, 2))"]
        assert root["i8"].chunks == (16,) and root["vec"].shape == (50, 2)
        assert root["point.y.z"].dtype.kind == "O" and root["ts"].attrs["timezone"] == "Europe/Paris"
        assert set(root[NULLS_GROUP].keys()) >= {"i64_nulls", "f64_nulls", "flag", "text", "lst"}


def test_parquet_on_local_store(local_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "v.parquet"
    pq.write_table(variety_table(), path, row_group_size=10)
    upload(local_store, path)
    with open_object(local_store, CONTAINER, "v.parquet") as root:
        assert compare_table(root, pq.read_table(path), "v.parquet") > 10


def test_parquet_reads_only_needed_row_groups(store: MemoryStore) -> None:
    table = pa.table({"a": np.arange(100_000, dtype=np.int64), "b": np.arange(100_000, dtype=np.float64)})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="none", row_group_size=10_000, use_dictionary=False)
    store.put_object(CONTAINER, "rg.parquet", buf.getvalue())
    stats = TransferStats()
    with open_object(store, CONTAINER, "rg.parquet", stats=stats) as root:
        stats.reset()
        assert root["b"].read((slice(55_000, 55_010, 1),)).tolist() == list(range(55_000, 55_010))
        # One row group of one column: 80 KB of 1.6 MB.
        assert stats.bytes_fetched < 100_000


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_parquet_is_corrupt(store: MemoryStore, cut: float) -> None:
    buf = io.BytesIO()
    pq.write_table(variety_table(), buf)
    data = buf.getvalue()
    store.put_object(CONTAINER, "cut.parquet", data[: int(len(data) * cut)])
    with pytest.raises(CorruptData, match=r"data/cut\.parquet.*Parquet"):
        open_object(store, CONTAINER, "cut.parquet")


# ------------------------------------------------------------------ CSV
def csv_oracle(path: str, sample: bytes) -> pa.Table:
    """pyarrow's reading of the file, told where the header is, what the delimiter
    is (the standard library's sniffer decides; detection is tested separately),
    and to skip ``#`` comment lines."""
    delimiter, header = sniff(sample, ",")
    leading = 0
    for line in sample.splitlines():
        if not line.startswith(b"#"):
            break
        leading += 1
    return pcsv.read_csv(
        path,
        read_options=pcsv.ReadOptions(autogenerate_column_names=not header, skip_rows=leading),
        parse_options=pcsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=lambda row: "skip" if row.text.startswith("#") else "error"
        ),
    )


@pytest.mark.parametrize("path", CSV_FILES, ids=os.path.basename)
def test_shipped_csv_matches_pyarrow(store: MemoryStore, path: str) -> None:
    name = upload(store, path, "shipped.csv")
    with open(path, "rb") as f:
        sample = f.read(65536)
    try:
        table = csv_oracle(path, sample)
    except pa.ArrowInvalid:
        # pyarrow itself cannot read it (ragged rows): neither can we, and we say so.
        with pytest.raises(CorruptData, match=r"data/shipped\.csv.*CSV"):
            open_object(store, CONTAINER, name)
        return
    with open_object(store, CONTAINER, name) as root:
        assert compare_table(root, table, name) >= 1


def test_csv_header_and_delimiter_detection(store: MemoryStore) -> None:
    cases = {
        "with_header.csv": (b"x,y,name\n1,2.5,foo\n2,,bar\n3,4,baz\n", ["x", "y", "name", NULLS_GROUP]),
        "no_header.csv": (b"1;2.5;foo\n2;3;bar\n3;4;baz\n", ["f0", "f1", "f2"]),
        "tabs.tsv": (b"a\tb\n1\t2\n3\t4\n", ["a", "b"]),
    }
    for name, (body, keys) in cases.items():
        store.put_object(CONTAINER, name, body)
        with open_object(store, CONTAINER, name) as root:
            assert root.keys() == keys, name
            # The standard library reads the same cells.
            rows = list(stdlib_csv.reader(io.StringIO(body.decode()), delimiter=sniff(body, ",")[0]))
            first_col = read(root[keys[0]]).tolist()
            assert [str(v) for v in first_col] == [r[0] for r in rows[-len(first_col):]]
    with open_object(store, CONTAINER, "with_header.csv") as root:
        assert np.isnan(read(root["y"])[1]) and read(root[NULLS_GROUP]["y"]).tolist() == [False, True, False]


def test_binary_csv_is_corrupt(store: MemoryStore) -> None:
    store.put_object(CONTAINER, "junk.csv", os.urandom(2000) + b"\x00")
    with pytest.raises(CorruptData, match=r"data/junk\.csv.*CSV"):
        open_object(store, CONTAINER, "junk.csv")


def test_ragged_csv_is_corrupt(store: MemoryStore) -> None:
    store.put_object(CONTAINER, "ragged.csv", b"a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(CorruptData, match=r"data/ragged\.csv.*CSV"):
        open_object(store, CONTAINER, "ragged.csv")


# Timestamp columns: pyarrow's v0.7.1 file (a timezone-aware column and index) and
# sunpy's data-manager CSV (a column of ISO times).
TIMESTAMP_SAMPLES = [
    ("pyarrow/tests/data/parquet/v0.7.1.column-metadata-handling.parquet", ["c", "__index_level_1__"]),
    ("sunpy/data/data_manager/tests/db_testdata.csv", ["time"]),
]


@pytest.mark.parametrize("sample, columns", TIMESTAMP_SAMPLES, ids=lambda s: os.path.basename(str(s)))
def test_timestamp_columns_export_to_hdf5(tmp_path: Path, sample: str, columns: list[str]) -> None:
    """A Parquet/CSV object with datetime64 columns exports to HDF5 (HDF5 has no
    datetime type: h5py's opaque datetime64, which h5py reads back as the same
    dtype), values and NaT fill as pyarrow reads them; before, the export failed
    with h5py's "No conversion path for dtype"."""
    import h5py

    from sciswift.convert import export_file

    found = site_files(sample)
    if not found:
        pytest.skip(f"{sample} is not installed")
    (path,) = found
    src = tmp_path / os.path.basename(path)
    src.write_bytes(Path(path).read_bytes())
    out = tmp_path / "out.h5"
    export_file(str(src), str(out))
    table = pq.read_table(path) if path.endswith(".parquet") else pcsv.read_csv(path)
    with h5py.File(out) as f:
        for name in columns:
            want = table.column(name).to_numpy()
            got = f[name][()]
            assert got.dtype.kind == "M" and got.dtype == want.dtype, name
            assert np.array_equal(got, want.astype(got.dtype)), name
            assert np.isnat(f[name].fillvalue), name
            assert np.array_equal(f[name][1:], want[1:]), name
