"""import/export against ``sciswift serve`` through SwiftStore (real HTTP, the
Swift API), as the CLI examples run them: swift:// URLs with ST_AUTH/ST_USER/ST_KEY."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from roundtrip_compare import differences

import sciswift.h5py as sh5
from sciswift.convert import export_file, import_file
from sciswift.store.url import parse_location


@pytest.fixture
def swift_env(sciswift_server, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    return f"swift://conv-{uuid.uuid4().hex[:8]}"


def test_import_and_export_through_the_server(swift_env: str, made: Callable[[str], Path], tmp_path: Path) -> None:
    for kind in ("dtypes", "references", "structure", "dims"):
        src = made(kind)
        url = f"{swift_env}/{kind}.h5"
        import_file(str(src), url)
        export_file(url, str(tmp_path / f"{kind}.out.h5"))
        assert differences(src, tmp_path / f"{kind}.out.h5") == [], kind


def test_parquet_object_to_native_and_back(swift_env: str) -> None:
    table = pa.table({"x": np.arange(100, dtype="i4"), "y": np.linspace(0, 1, 100)})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    loc = parse_location(f"{swift_env}/table.parquet")
    loc.store.create_container(loc.container)
    loc.store.put_object(loc.container, loc.prefix, sink.getvalue())
    import_file(f"{swift_env}/table.parquet", f"{swift_env}/table.h5")
    with sh5.File(f"{swift_env}/table.h5") as f:
        np.testing.assert_array_equal(f["x"][()], np.arange(100))
    export_file(f"{swift_env}/table.h5", f"{swift_env}/copy.parquet")
    back = pq.read_table(io.BytesIO(loc.store.get_object(loc.container, "copy.parquet")))
    assert back.equals(table.select(back.column_names))


def test_passed_through_chunks_travel_in_archives(swift_env: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import h5py

    from sciswift.store.swift import SwiftStore

    data = np.round(np.cumsum(np.random.default_rng(3).normal(size=(64, 256, 256)), axis=0), 2).astype("f4")
    src = tmp_path / "field.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("t", data=data, chunks=(1, 128, 128), compression="gzip")  # 256 chunks
    archives: list[int] = []
    real = SwiftStore._put_archive

    def spy(self: SwiftStore, container: str, names: list[str], *args: object) -> None:
        archives.append(len(names))
        real(self, container, names, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SwiftStore, "_put_archive", spy)
    url = f"{swift_env}/field.h5"
    report = import_file(str(src), url)
    assert report.passed_through == 1
    assert sum(archives) >= 240 and len(archives) < 40  # not one PUT per chunk
    with sh5.File(url) as n:
        np.testing.assert_array_equal(n["t"][...], data)
