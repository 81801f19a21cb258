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
