"""``sciswift ls`` on containers and prefixes, ``du``, ``cp``, ``mv``, ``rm`` against
``sciswift serve`` (SwiftStore over HTTP), and the same through ``sciswift.files``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result

import sciswift.files as sf
import sciswift.h5py as sh5
from sciswift.errors import AlreadyExists, InvalidInput, NotFound
from sciswift.store.url import parse_location


@pytest.fixture
def bucket(sciswift_server, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ST_AUTH", sciswift_server.auth_url)
    monkeypatch.setenv("ST_USER", sciswift_server.user)
    monkeypatch.setenv("ST_KEY", sciswift_server.key)
    url = f"swift://files-{uuid.uuid4().hex[:8]}"
    for name in ("run1.h5", "old/run0.h5"):
        with sh5.File(f"{url}/{name}", "w") as f:
            f.create_dataset("x", data=np.arange(1000), chunks=(100,))
    loc = parse_location(url)
    loc.store.put_object(loc.container, "table.parquet", b"PAR1 not really PAR1")
    return url


def test_ls_lists_files_not_chunks(run: Callable[..., Result], bucket: str) -> None:
    result = run("ls", bucket)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[-1] for line in lines] == ["old/", "run1.h5", "table.parquet"]
    run1 = next(line for line in lines if line.endswith("run1.h5"))
    assert " native " in run1 and "12 objects" in run1
    assert " parquet " in next(line for line in lines if line.endswith("table.parquet"))
    deep = run("ls", "-r", bucket).output.splitlines()
    assert [line.split()[-1] for line in deep] == ["old/run0.h5", "run1.h5", "table.parquet"]
    assert "Dataset {1000}" in run("ls", f"{bucket}/run1.h5").output  # a file: its contents, as before
    assert run("ls", f"{bucket}/old").output.split()[-1] == "run0.h5"
    missing = run("ls", f"{bucket}/nothing")
    assert missing.exit_code == 1 and f"{bucket}/nothing" in missing.output


def test_ls_shows_links_and_their_targets(run: Callable[..., Result], bucket: str) -> None:
    loc = parse_location(bucket)
    loc.store.put_link(loc.container, "latest.h5", loc.container, "run1.h5")
    lines = run("ls", bucket).output.splitlines()
    link = next(line for line in lines if "latest.h5" in line)
    assert " link " in link and link.endswith(f"latest.h5 -> {loc.container}/run1.h5")
    [entry] = [e for e in sf.list_files(bucket) if e.name == "latest.h5"]
    assert entry.kind == "link" and entry.target == f"{loc.container}/run1.h5" and entry.objects == 1


def test_du_cp_mv_rm(run: Callable[..., Result], bucket: str) -> None:
    size = sf.stat(f"{bucket}/run1.h5").size
    du = run("du", "-s", bucket).output.split()
    assert int(du[0]) == 2 * size + 20
    assert run("cp", f"{bucket}/run1.h5", f"{bucket}/copy/").exit_code == 0
    assert run("mv", f"{bucket}/copy/run1.h5", f"{bucket}/run2.h5").exit_code == 0
    with sh5.File(f"{bucket}/run2.h5") as f:
        np.testing.assert_array_equal(f["x"][10:13], [10, 11, 12])
    refused = run("cp", f"{bucket}/run1.h5", f"{bucket}/run2.h5")
    assert refused.exit_code == 1 and "run2.h5: exists" in refused.output
    assert run("cp", "-f", f"{bucket}/run1.h5", f"{bucket}/run2.h5").exit_code == 0
    not_recursive = run("rm", f"{bucket}/old")
    assert not_recursive.exit_code == 1 and "use recursive removal (-r)" in not_recursive.output
    assert run("rm", "-r", f"{bucket}/old", f"{bucket}/table.parquet").exit_code == 0
    assert run("rm", f"{bucket}/gone.h5").exit_code == 1
    assert run("rm", "-f", f"{bucket}/gone.h5").exit_code == 0
    names = [e.name for e in sf.list_files(bucket, recursive=True)]
    assert names == ["run1.h5", "run2.h5"]
    assert run("rm", "-r", bucket).exit_code == 0
    with pytest.raises(NotFound):
        sf.list_files(bucket)


def test_python_api(bucket: str) -> None:
    entry = sf.stat(f"{bucket}/run1.h5")
    assert (entry.kind, entry.objects, entry.url) == ("native", 12, f"{bucket}/run1.h5")
    assert sf.stat(f"{bucket}/table.parquet").format == "parquet"
    assert sf.disk_usage(bucket).objects == 25
    with pytest.raises(InvalidInput, match="is a file"):
        sf.list_files(f"{bucket}/run1.h5")
    with pytest.raises(InvalidInput, match="same file"):
        sf.copy(f"{bucket}/run1.h5", f"{bucket}/run1.h5")
    with pytest.raises(AlreadyExists):
        sf.copy(f"{bucket}/run1.h5", f"{bucket}/old/run0.h5")
    moved = sf.move(f"{bucket}/old", f"{bucket}/archive", recursive=True)
    assert moved.objects == 12 and [e.name for e in sf.list_files(f"{bucket}/archive")] == ["run0.h5"]
    with pytest.raises(NotFound, match="old/run0.h5"):
        sf.stat(f"{bucket}/old/run0.h5")
    assert sf.remove(f"{bucket}/archive/run0.h5") == 12


def test_a_copy_without_its_root_metadata_is_not_a_file(bucket: str, tmp_path: Path) -> None:
    """The root zarr.json is copied last: a copy cut short before it does not open."""
    loc = parse_location(f"{bucket}/run1.h5")
    names = [o.name for o in loc.store.iter_objects(loc.container, "run1.h5/")]
    order: list[str] = []
    original = sf._copy_objects

    def spy(src, dst, names, src_base, dst_base):  # type: ignore[no-untyped-def]
        order.extend(names)
        return original(src, dst, names, src_base, dst_base)

    sf._copy_objects = spy  # type: ignore[assignment]
    try:
        sf.copy(f"{bucket}/run1.h5", f"{bucket}/c.h5")
    finally:
        sf._copy_objects = original  # type: ignore[assignment]
    assert sorted(order) == sorted(names) and order[-1] == "run1.h5/zarr.json"
